"""The steps that `diff`, `check`, `verify` and `diff --db` are made of, each one thing and none
knowing which runs beside it (that is `flow.py`'s and the command's business):

load schemas/ · replay the history · inspect a side (or read it kept) · the changes (engine,
declared renames, online plan) · judge them (destructive, convertible) · verify one direction
by pg_dump · try the pair on sample rows · write the pair.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import engine
from ..connect import dburl
from ..engine import expand, online, renames
from ..engine.destructive import DestructiveStatement, find_destructive, refuse_unconvertible
from ..errors import DestructiveChangeError
from ..grammar import sqltext
from ..project import ddl, headers, migfiles
from ..project.config import Config, SchemaFilter
from ..project.migfiles import MigrationPair
from ..project.migration import Migration, Script
from ..project.sqlfiles import SQLFile
from ..scratch import pgbinaries, pgserver, sandbox
from . import snapcache, verify

Progress = Callable[[str], None]


def load_schemas(box: pgserver.Sandbox, files: list[SQLFile]) -> str:
    """A new database with the DDL of schemas/ loaded: the state wanted."""
    db = box.create_database("target")
    sandbox.load_schemas(box, db, files)
    return db


def replay(
    box: pgserver.Sandbox, root: Path, pairs: list[MigrationPair], history_key: str = ""
) -> str:
    """A new database with the migrations replayed: the state the history produces. A copy of
    the replay an earlier run kept for the same history (`history_key`: scratch/kept.py), else
    the files read, checked and run."""
    if (template := box.template(history_key)) is not None:
        return box.copy_database(template, "replay")
    scripts = [Migration.read(p, root).up_script for p in pairs]
    db = box.create_database("replay")
    sandbox.replay(box, db, scripts)
    return db


def loading(files: int, pairs: int, load: bool, replay: bool, kept: bool = False) -> str:
    """The progress line of the two loads, naming what earlier runs spared (`kept`: the replay
    is a copy of one an earlier run kept)."""
    doing, known = [], []
    if load:
        doing.append(f"loading {count_of(files, 'schema file')}")
    else:
        known.append("schemas/")
    if replay and kept:
        doing.append(f"copying the replay of {count_of(pairs, 'migration')} kept by an earlier run")
    elif replay:
        doing.append(f"replaying {count_of(pairs, 'migration')}")
    else:
        known.append("the migrations")
    said = " and ".join(doing) or "nothing to load"
    return said + (f" ({' and '.join(known)}: unchanged since an earlier run)" if known else "")


def count_of(count: int, word: str) -> str:
    """`count` and `word`, plural unless one ("3 schema files")."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def inspection(
    box: pgserver.Sandbox, schemas: SchemaFilter, key: str, db: Callable[[], str]
) -> Any:
    """The engine's inspection of a side: the one kept under `key` (snapcache) when there is
    one, else `db()` (waited for only then) inspected and kept under `key`; "" keeps nothing
    (a renamed copy is no state of the files)."""
    if key and (kept := snapcache.load_inspection(key)) is not None:
        return kept
    return inspect(box, db(), schemas, key)


def inspect(box: pgserver.Sandbox, db: str, schemas: SchemaFilter, key: str = "") -> Any:
    """`db` inspected (engine.inspect), and kept under `key` unless it is ""."""
    engine.ready()  # sqlalchemy_url imports SQLAlchemy (upstream.ready)
    found = engine.inspect(box.sqlalchemy_url(db), schemas)
    if key:
        with contextlib.suppress(Exception):  # a cache only ever costs speed
            snapcache.keep_inspection(key, found)
    return found


def changes(
    was: Any,
    wanted: Any,
    files: list[SQLFile],
    applied: list[renames.Rename],
    config: Config,
    raw: tuple[str, str] | None = None,
) -> tuple[str, str]:
    """Up and down from the two inspections (or the engine's `raw` statements from them):
    the engine's statements, the declared renames made around them, and (with `online`) both
    as online plans, since a rollback runs on the same live traffic."""
    up, down = raw or engine.both_directions(was, wanted, ddl.pinned_extensions(files))
    up, down = renames.around(up, down, applied)
    if up and config.online:
        up, down = (
            online.plan(sql, config.online_lock_timeout, online.Existing(*found))
            for sql, found in (
                (up, engine.tables_and_indexes(was)),
                (down, engine.tables_and_indexes(wanted)),
            )
        )
    return up, down


def expand_contract(
    box: pgserver.Sandbox,
    db: str,
    raw: tuple[str, str],
    applied: list[renames.Rename],
    inspections: tuple[Any, Any],
    files: list[SQLFile],
    config: Config,
) -> expand.Plan | None:
    """The expand/contract plan of the engine's `raw` statements (None: nothing needs one),
    read against `db`, the database the engine compared from."""
    with contextlib.closing(box.connect(db)) as conn:
        return expand.plan(
            conn, raw, applied, inspections, expand.backfills(files),
            config.expand_contract_lock_timeout,
        )  # fmt: skip


@dataclass
class Judgement:
    """What the statements of `up` can do to stored data (before anything runs)."""

    hazards: list[DestructiveStatement] = field(default_factory=list)
    renames: list[str] = field(default_factory=list)  # drops that look like renames: hints

    @property
    def destructive(self) -> list[DestructiveStatement]:
        return [h for h in self.hazards if h.loses_data]

    @property
    def may_fail(self) -> list[DestructiveStatement]:
        return [h for h in self.hazards if not h.loses_data]


def judge(up: str, down: str, was: Any, wanted: Any, refuse: bool) -> Judgement:
    """Judge a pair before it runs: a type change PostgreSQL cannot convert is refused
    (NeedsHandWriting), and with `refuse` so is data loss (DestructiveChangeError, naming the
    statements and any drop that looks like a rename)."""
    up_changes = engine.type_changes(was, wanted, up)
    refuse_unconvertible({"up": up_changes, "down": engine.type_changes(wanted, was, down)})
    found = Judgement(find_destructive(up, up_changes))
    if found.destructive:
        statements = [st.text for st in sqltext.split(up)[0]]
        found.renames = renames.looks_renamed(statements, was.upstream, wanted.upstream)
    if found.destructive and refuse:
        n = len(found.destructive)
        raise DestructiveChangeError(
            f"the migration would lose data ({n} destructive statement{'s' if n > 1 else ''})",
            hint="review them, then run again with --allow-destructive"
            + "".join(f"; or, {h}" for h in found.renames),
            statements=[f"{d.reason}: {d.statement}" for d in found.destructive],
        )
    return found


def verify_direction(
    box: pgserver.Sandbox,
    db: str,
    label: str,
    text: str,
    want: verify.Snapshot,
    schemas: SchemaFilter,
) -> list[str]:
    """Run `text` (up or down, as generated) on `db` and compare (`verify_run`)."""
    return verify_run(
        box, db, label, Script(SQLFile(Path(label), label, text), True), want, schemas
    )


def verify_run(
    box: pgserver.Sandbox,
    db: str,
    label: str,
    script: Script,
    want: verify.Snapshot,
    schemas: SchemaFilter,
) -> list[str]:
    """Run `script` on `db` as `apply` would and compare the result with `want` by pg_dump;
    the problems found, each a line starting with `label`."""
    error = sandbox.run_migration(box, db, script)
    if error:
        if label == "down" and "has no update path" in error:
            # PostgreSQL cannot downgrade an extension: say so, rather than leave it to rollback.
            return [
                f"down cannot be performed: {error.split(': ', 1)[-1]} (PostgreSQL has no "
                "downgrade path, so this change is one-way); write the down file by hand, e.g. "
                "DROP EXTENSION and CREATE EXTENSION ... VERSION if nothing depends on it"
            ]
        return [f"{label} fails: {error}"]
    return verify.describe(f"{label}: ", verify.compare(want, verify.snapshot(box, db, schemas)))


def write_pair(
    config: Config, version: str, up: str, down: str, head: tuple[str, str], problems: list[str],
    major: int,
) -> tuple[Path, Path]:  # fmt: skip
    """Write `version`'s up and down files under `head` (their generated headers), marked
    verified or UNVERIFIED by `problems`, and update schemactl.sum."""
    up_text, down_text = headers.with_verification(
        head[0] + up, head[1] + down, problems, headers.CLAIM_DIFF, major
    )
    up_path = config.generated / f"{version}.up.sql"
    down_path = config.generated / f"{version}.down.sql"
    migfiles.write_pair(config.generated, up_path, up_text, down_path, down_text)
    return up_path, down_path


def live_dump(config: Config, database: str, live_major: int) -> str:
    """The live database's `pg_dump --schema-only`, by its own major's pg_dump (an older one
    refuses a newer server), without the schemas the config leaves out or schemactl's own."""
    exclude = [*config.schema_filter.excluded_for_dump, config.tracking_schema]
    binaries = pgbinaries.dump_binaries(live_major)
    return pgserver.pg_dump(binaries, dburl.conn_params(database), exclude)


def load_live(box: pgserver.Sandbox, dump: str) -> str:
    """A new database holding a live database's schema (its `pg_dump` script loaded)."""
    db = box.create_database("live")
    text = _loadable(dump)
    sandbox.load_schemas(box, db, [SQLFile(Path("live"), "the live schema (pg_dump)", text)])
    return db


def live_snapshot(
    box: pgserver.Sandbox, dump: str, live_major: int, schemas: SchemaFilter
) -> verify.Snapshot:
    """The snapshot a live database's `pg_dump --schema-only` text gives, to compare with this
    server's databases: read as it is on the same major; on another, loaded here and dumped
    again, since each major deparses views and defaults its own way."""
    if box.server_version() // 10000 == live_major:
        return verify.parse_dump(dump, schemas)
    return verify.snapshot(box, load_live(box, dump), schemas)


def _loadable(dump: str) -> str:
    """A `pg_dump` script as a server of any major loads it: without psql's meta-commands
    (`\\restrict`) and the session settings before its first object, which a newer pg_dump
    may name and an older server not know (`SET transaction_timeout`, 17+)."""
    lines = dump.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.startswith("-- Name: ")), len(lines))
    kept = [ln for ln in lines[:first] if not ln.startswith("SET ")] + lines[first:]
    return "\n".join(ln for ln in kept if not ln.startswith("\\"))
