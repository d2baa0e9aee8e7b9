"""Find the DDL files under `schemas/` and load them into a database.

Files load in component-folder order (config `load_order`), sorted by path inside. A file
that fails only because something it needs is defined in a later file is retried after the
others, until a round makes no progress; then the first remaining error is real and is
reported as `path:line:col: message` with the line quoted.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ConfigError, SQLFileError
from ..grammar import sqltext
from .sqlfiles import FileFailed, SQLFile, read_sql_file, rel_path, run_together, run_whole


def discover(schemas_dir: Path, load_order: tuple[str, ...], project_root: Path) -> list[SQLFile]:
    """Return every `*.sql` under `schemas_dir` in load order, read and checked for psql syntax."""
    rel_dir = rel_path(schemas_dir, project_root)
    if not schemas_dir.is_dir():
        raise ConfigError(
            f"schemas directory {rel_dir}/ does not exist",
            hint="create it and put your CREATE statements there, or set `schemas` in the config",
        )
    rank = {name: i for i, name in enumerate(load_order)}

    def key(p: Path) -> tuple[int, tuple[str, ...]]:
        parts = p.relative_to(schemas_dir).parts
        return (rank.get(parts[0], len(rank)) if len(parts) > 1 else len(rank), parts)

    # An empty directory is an empty schema (a project just made with `init`), in sync with
    # an empty history; against a history it is a drop of everything, which `diff` refuses
    # as destructive.
    paths = sorted((p for p in schemas_dir.rglob("*.sql") if p.is_file()), key=key)
    return [read_sql_file(p, project_root) for p in paths]


_PINNED_EXTENSION = re.compile(
    r'^create\s+extension\s+(?:if\s+not\s+exists\s+)?(?P<name>"(?:[^"]|"")+"|[\w$]+)\b.*\bversion\b',
    re.IGNORECASE | re.DOTALL,
)


def pinned_extensions(files: list[SQLFile]) -> frozenset[str]:
    """The extensions whose CREATE EXTENSION in these files names a VERSION."""
    names = set()
    for f in files:
        for st in f.statements:
            if m := _PINNED_EXTENSION.match(sqltext.strip_comments(st.body).strip()):
                name = m["name"]
                names.add(name[1:-1].replace('""', '"') if name.startswith('"') else name.lower())
    return frozenset(names)


_DATA = re.compile(r"^(insert|update|delete|copy|merge|truncate)\b", re.IGNORECASE)


def data_warnings(files: list[SQLFile]) -> list[str]:
    """One warning per DDL file that changes rows: its statements run only in scratch databases,
    since migrations are made from the schema, never from data."""
    out = []
    for f in files:
        found = [(st, m[1].upper()) for st in f.statements if (m := _DATA.match(st.body))]
        if found:
            st, verb = found[0]
            line = sqltext.LineIndex(f.text).position(st.offset + st.lead)[0]
            more = f" (and {len(found) - 1} more data statement(s))" if len(found) > 1 else ""
            out.append(
                f"{f.rel}:{line}: {verb}{more} runs only in scratch databases: data under schemas/ "
                "never "
                "reaches a migration; put seed or reference data in a `schemactl new` pair"
            )
    return out


def load_schema_files(
    conn: Any,
    files: list[SQLFile],
    on_file: Callable[[SQLFile], None] | None = None,
    together: bool = False,
) -> None:
    """Load DDL files, retrying those that wait on later definitions until none progress.
    With `together` (a server across a network), all of them are tried first in one round
    trip, and file by file only when that fails: where round trips cost nothing, a failed try
    would only run the DDL twice."""
    if together and len(files) > 1 and run_together(conn, files):
        if on_file:
            for f in files:
                on_file(f)
        return
    pending = list(files)
    while pending:
        deferred: list[tuple[SQLFile, SQLFileError]] = []
        for f in pending:
            try:
                run_whole(conn, f)
            except FileFailed as e:
                if not e.deferrable:
                    raise e.error from None
                deferred.append((f, e.error))
                continue
            if on_file:
                on_file(f)
        if len(deferred) == len(pending):  # no progress: report a cause, not a consequence
            raise _root_cause(deferred)
        pending = [f for f, _ in deferred]


_MISSING_NAME = re.compile(
    r'^(?:relation|type|schema|function|procedure|collation) "?(?P<name>[^"(]+)"?', re.IGNORECASE
)


def _bare(name: str) -> str:
    last = re.split(r'\.(?=(?:[^"]*"[^"]*")*[^"]*$)', name.strip())[-1].strip()
    return last[1:-1].replace('""', '"') if last.startswith('"') else last.lower()


def _root_cause(failed: list[tuple[SQLFile, SQLFileError]]) -> SQLFileError:
    """The failure that no other failing file explains, with the others listed as its consequences.

    "relation "b" does not exist" in a.sql is explained when b.sql, which also failed, creates b:
    the error the user has to fix is b.sql's own."""
    # Only on this error path, so loading the parser costs nothing when the files load.
    from ..grammar.statements import parse

    defines: dict[str, set[str]] = {}  # the last part of each created name -> files
    for f, _ in failed:
        with contextlib.suppress(sqltext.SplitError):
            for st in f.statements:
                for key in parse(st.text).creates:
                    if key[3] is None:
                        defines.setdefault(key[2], set()).add(f.rel)

    def explained(f: SQLFile, e: SQLFileError) -> bool:
        m = _MISSING_NAME.match(e.message.split(": ", 1)[-1])  # after "path:line:col: "
        return m is not None and bool(defines.get(_bare(m["name"]), set()) - {f.rel})

    causes = [e for f, e in failed if not explained(f, e)] or [failed[0][1]]
    cause = causes[0]
    others = [e.message for f, e in failed if e is not cause]
    if others:
        cause.detail = [
            *cause.detail,
            *(f"also failed (likely because of this): {m}" for m in others),
        ]
    return cause
