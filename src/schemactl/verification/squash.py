"""`schemactl squash --through V`: pairs 0001..V folded into one, `V_squashed`, whose replay
gives exactly the schema theirs gives (proved by pg_dump of both replays, and its down back to
an empty database), so that every later `diff`, `check` and CI run replays one file.

The pair's header says what it replaces (`-- schemactl:squashes 0001-0042`). Databases the old
files brought to V or beyond count it as applied; a database between 0001 and V is refused by
`apply` (status.py), and `rollback` stops above it (runner.py). What cannot be folded into
schema SQL is refused with the reason: a Python migration (code), a file for some environments
only, and rows a file inserts (a new database would lack them). UPDATE and DELETE statements
(backfills) change rows a new database does not have: they are named, not carried.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import engine
from ..errors import UnverifiedMigration, UsageError
from ..project import ddl, headers, migfiles
from ..project.config import Config
from ..project.migration import Migration
from ..scratch import sandbox
from . import steps, verify

Progress = Callable[[str], None]
_COMMENTS = re.compile(r"^(?:\s*--[^\n]*(?:\n|$))*\s*")  # a statement's leading comment lines
_ROWS_IN = re.compile(r"(insert|copy|merge)\b", re.IGNORECASE)
_ROWS_CHANGED = re.compile(r"(update|delete)\b", re.IGNORECASE)


@dataclass
class SquashResult:
    """What `squash` replaced and wrote (paths relative to the project)."""

    replaced: list[str]
    up: str
    down: str
    backfills: list[str] = field(default_factory=list)  # statements not carried, file:line

    def to_json(self) -> dict[str, Any]:
        return {
            "replaced": self.replaced,
            "up_file": self.up,
            "down_file": self.down,
            "backfills": self.backfills,
        }


def squash(config: Config, through: int | str, progress: Progress = lambda _: None) -> SquashResult:
    """Replace pairs 0001..`through` by one verified pair (see the module docstring)."""
    with migfiles.writer_lock(config.root, progress):
        pairs = migfiles.list_migrations(config.generated)
        last = migfiles.parse_version(through, {p.version: p for p in pairs}, "--through")
        chosen = [Migration.read(p, config.root) for p in pairs if p.version <= last]
        if len(chosen) < 2:
            raise UsageError(
                f"--through {last:04d}: nothing to squash (one pair)",
                hint="name a later version",
            )
        backfills = _foldable(config, chosen)
        first = chosen[0].squashes[0] if chosen[0].squashes else 1
        name = f"{last:04d}_squashed"
        up, down, major = _folded(config, chosen, progress)
        note = f"-- schemactl:squashes {first:04d}-{last:04d}"
        up_text, down_text = headers.with_verification(
            f"{headers.generated(name, 'up', []).rstrip()}\n{note}\n\n{up}",
            f"{headers.generated(name, 'down', [])}\n{down}",
            [],
            f"replays to the schema of {first:04d}-{last:04d}, down returns to empty",
            major,
        )
        up_path = config.generated / f"{name}.up.sql"
        down_path = config.generated / f"{name}.down.sql"
        old = sorted({path for m in chosen for path in (m.pair.up, m.pair.down)})
        migfiles.replace_pairs(config.generated, old, up_path, up_text, down_path, down_text)
    return SquashResult(
        [m.name for m in chosen], config.rel(up_path), config.rel(down_path), backfills
    )


def _foldable(config: Config, chosen: list[Migration]) -> list[str]:
    """Refuse what cannot be folded into schema SQL; the backfills that are left behind."""
    backfills = []
    for m in chosen:
        why = (
            "is a Python migration (code cannot be folded into SQL)"
            if m.python
            else "runs in some environments only (-- schemactl:environments)"
            if m.environments is not None
            else None
        )
        texts = [] if m.python else [_COMMENTS.sub("", s.text, count=1) for s in m.up.statements]
        inserts = [s for s in texts if _ROWS_IN.match(s)]
        if inserts and why is None:
            why = "inserts rows, which a new database would lack after a squash"
        if why:
            raise UsageError(
                f"{config.rel(m.pair.up)} {why}",
                hint=f"squash through the version before it (--through {m.version - 1:04d})",
            )
        backfills += [
            f"{config.rel(m.pair.up)}: {s.splitlines()[0][:80]}"
            for s in texts
            if _ROWS_CHANGED.match(s)
        ]
    return backfills


def _folded(config: Config, chosen: list[Migration], progress: Progress) -> tuple[str, str, int]:
    """Up and down of the squashed pair, proved: up on an empty database dumps as the replay
    of the old files does, down on that replay dumps as an empty database."""
    schemas = config.schema_filter
    pinned = ddl.pinned_extensions(ddl.discover(config.schemas, config.load_order, config.root))
    with sandbox.sandbox(config) as box:
        progress(f"replaying {len(chosen)} migrations")
        history = box.create_database("history")
        sandbox.replay(box, history, [m.up_script for m in chosen])
        empty = box.create_database("empty")
        was, wanted = steps.inspect(box, empty, schemas), steps.inspect(box, history, schemas)
        up, down = engine.both_directions(was, wanted, pinned)
        progress("proving the squashed pair: its replay against the old files'")
        replayed, nothing = (
            verify.snapshot(box, history, schemas),
            verify.snapshot(box, empty, schemas),
        )
        problems = steps.verify_direction(box, empty, "up", up, replayed, schemas)
        problems += steps.verify_direction(box, history, "down", down, nothing, schemas)
        major = box.server_version() // 10000
    if problems:
        raise UnverifiedMigration(
            "the squashed pair does not replay to the old files' schema; nothing was changed",
            hint="squash through an earlier version, or report the objects named below",
            detail=problems,
        )
    return up, down, major
