"""Find the DDL files under `schemas/` and load them into a database.

Files load in component-folder order (config `load_order`), sorted by path inside. A file
that fails only because something it needs is defined in a later file is retried after the
others, until a round makes no progress; then the first remaining error is real and is
reported as `path:line:col: message` with the line quoted.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errorcodes as codes
import psycopg2.extensions

from . import sqltext
from .errors import ConfigError, SQLFileError, first_line
from .migfiles import directives

# SQLSTATEs that can mean "defined in a file that has not loaded yet".
_MISSING_DEPENDENCY = {
    codes.UNDEFINED_TABLE,
    codes.UNDEFINED_OBJECT,
    codes.UNDEFINED_FUNCTION,
    codes.UNDEFINED_COLUMN,
    codes.INVALID_SCHEMA_NAME,
    codes.WRONG_OBJECT_TYPE,  # e.g. a FK to a view that a later file replaces by a table
}
_TRANSACTION_CONTROL = re.compile(
    r"^\s*(begin|commit|rollback|start\s+transaction|end|abort|savepoint|release|prepare\s+transaction)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SQLFile:
    """A SQL file's text with the path used in messages (relative to the project)."""

    path: Path
    rel: str
    text: str

    @functools.cached_property
    def statements(self) -> list[sqltext.Statement]:
        """The file's statements; empty for a file of comments and blanks."""
        return sqltext.split(self.text)[0]


def discover(schemas_dir: Path, load_order: tuple[str, ...], project_root: Path) -> list[SQLFile]:
    """Return every `*.sql` under `schemas_dir` in load order, read and checked for psql syntax."""
    rel_dir = _rel(schemas_dir, project_root)
    if not schemas_dir.is_dir():
        raise ConfigError(
            f"schemas directory {rel_dir}/ does not exist",
            hint="create it and put your CREATE statements there, or set `schemas` in the config",
        )
    rank = {name: i for i, name in enumerate(load_order)}

    def key(p: Path) -> tuple[int, tuple[str, ...]]:
        parts = p.relative_to(schemas_dir).parts
        return (rank.get(parts[0], len(rank)) if len(parts) > 1 else len(rank), parts)

    paths = sorted((p for p in schemas_dir.rglob("*.sql") if p.is_file()), key=key)
    if not paths:
        raise ConfigError(
            f"schemas directory {rel_dir}/ holds no .sql files",
            hint="put your CREATE TABLE / CREATE TYPE ... statements in .sql files there",
        )
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


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def read_sql_file(path: Path, project_root: Path) -> SQLFile:
    """Read a SQL file as UTF-8 and reject psql meta-commands and transaction control."""
    rel = _rel(path, project_root)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise SQLFileError(
            f"{rel}:{line}: not valid UTF-8 (byte 0x{raw[e.start]:02x})",
            hint="save the file as UTF-8 (for example: iconv -f LATIN1 -t UTF-8)",
            path=rel,
            line=line,
        ) from None
    f = SQLFile(path, rel, text)
    check_script(f)
    return f


def read_migration(path: Path, project_root: Path) -> tuple[SQLFile, bool]:
    """Read a migration file; also return whether it runs in one transaction (it does unless
    its header says `-- schemactl:no-transaction`)."""
    f = read_sql_file(path, project_root)
    return f, "no-transaction" not in directives(f.text)


def check_script(f: SQLFile) -> list[sqltext.Statement]:
    """Split a file into statements, refusing psql meta-commands and BEGIN/COMMIT."""
    index = sqltext.LineIndex(f.text)
    try:
        statements, metas = sqltext.split(f.text)
    except sqltext.SplitError as e:
        raise _positioned(f, index, e.offset, str(e), None) from None
    if metas:
        cmd = metas[0].text.split()[0]
        raise _positioned(
            f,
            index,
            metas[0].offset,
            f"psql meta-command {cmd} is not supported",
            "schemactl loads every .sql file under schemas/ itself and runs plain SQL only; "
            "remove \\i includes and \\set variables",
        )
    for st in statements:
        body = sqltext.strip_comments(st.text)
        if _TRANSACTION_CONTROL.match(body):
            word = body.split()[0].upper()
            raise _positioned(
                f,
                index,
                st.offset + st.lead,
                f"transaction control statement {word} is not allowed here",
                "schemactl runs each file in its own transaction; remove BEGIN/COMMIT",
            )
    return statements


def _positioned(
    f: SQLFile, index: sqltext.LineIndex, offset: int, message: str, hint: str | None
) -> SQLFileError:
    line, col = index.position(offset)
    return SQLFileError(
        f"{f.rel}:{line}:{col}: {message}",
        hint=hint,
        path=f.rel,
        line=line,
        column=col,
        source_line=index.line_text(line),
    )


class _Failed(Exception):
    def __init__(self, error: SQLFileError, deferrable: bool) -> None:
        self.error = error
        self.deferrable = deferrable


_COMMIT_POINT = re.compile(r"^\s*--\s*schemactl:commit\b")


def commit_parts(f: SQLFile) -> list[list[sqltext.Statement]]:
    """A migration's statements, cut where a `-- schemactl:commit` line precedes a statement.

    Each part commits on its own. PostgreSQL refuses a few sequences inside one transaction,
    notably using an enum value in the transaction that added it ("unsafe use of new value");
    a commit point lets one migration hold both (engine.py writes one when it must).
    """
    parts: list[list[sqltext.Statement]] = [[]]
    for st in sqltext.split(f.text)[0]:
        if parts[-1] and commit_point(st) is not None:
            parts.append([])
        parts[-1].append(st)
    return parts


def commit_point(st: sqltext.Statement) -> int | None:
    """How many lines into a statement's leading comment its commit point is (None: none)."""
    for i, line in enumerate(st.text.splitlines()):
        if _COMMIT_POINT.match(line):
            return i
        if line.strip() and not line.lstrip().startswith("--"):
            return None
    return None


def execute_file(conn: Any, f: SQLFile, transactional: bool = True) -> None:
    """Run one file on `conn` (in one transaction per commit part unless told not to);
    errors name the line."""
    if not transactional:
        # `-- schemactl:no-transaction` files (CREATE INDEX CONCURRENTLY and the like):
        # each statement on its own, in autocommit.
        conn.autocommit = True
        with conn.cursor() as cur:
            run_statements(cur, f)
        return
    parts = commit_parts(f)
    if len(parts) > 1:
        conn.autocommit = False
        try:
            for part in parts:
                with conn.cursor() as cur:
                    run_statements(cur, f, part)
                conn.commit()
        finally:
            conn.rollback()
            conn.autocommit = True
        return
    try:
        _execute(conn, f)
    except _Failed as e:
        raise e.error from None


def run_statements(cur: Any, f: SQLFile, statements: list[sqltext.Statement] | None = None) -> None:
    """Run a file's statements (or the given ones of it) one at a time on `cur`, in whatever
    transaction mode is set.

    One round trip per statement, as psql does; in exchange a failure names its statement
    exactly, without re-running anything.
    """
    for st in f.statements if statements is None else statements:
        try:
            cur.execute(st.text)
        except psycopg2.Error as e:
            # Without a position of its own the error belongs to the statement: point at its
            # first token, not at the comments before it (a generated file's header).
            pos = getattr(e.diag, "statement_position", None)
            offset = st.offset + (int(pos) - 1 if pos else st.lead)
            raise _sql_error(f, e, offset, st.body.strip()) from None


def _execute(conn: Any, f: SQLFile) -> None:
    if not f.statements:
        return  # comments only, or nothing: the server refuses an empty query, we run nothing
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute(f.text)  # no parameters: psycopg2 sends the text as is, one round trip
        conn.commit()
    except psycopg2.Error as e:
        conn.rollback()
        # A cancelled statement (Ctrl-C, statement_timeout) would only be cancelled again.
        offset = None if e.pgcode == codes.QUERY_CANCELED else _error_offset(conn, f, e)
        raise _Failed(_sql_error(f, e, offset), e.pgcode in _MISSING_DEPENDENCY) from None
    finally:
        # Interrupted mid-statement (Ctrl-C, SIGTERM): end the transaction before leaving
        # autocommit, which psycopg2 refuses inside one, so the interrupt is what gets reported.
        if not conn.closed and conn.status != psycopg2.extensions.STATUS_READY:
            with contextlib.suppress(psycopg2.Error):
                conn.rollback()
        conn.autocommit = True


def _error_offset(conn: Any, f: SQLFile, e: psycopg2.Error) -> int | None:
    pos = getattr(e.diag, "statement_position", None)
    if pos:
        return int(pos) - 1
    # No position from the server (e.g. "relation does not exist" in some statements):
    # find the failing statement by running the file again statement by statement.
    try:
        statements = sqltext.split(f.text)[0]
    except sqltext.SplitError:
        return None
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            for st in statements:
                try:
                    cur.execute(st.text)
                except psycopg2.Error as inner:
                    inner_pos = getattr(inner.diag, "statement_position", None)
                    return st.offset + (int(inner_pos) - 1 if inner_pos else st.lead)
    finally:
        conn.rollback()
    return None


def _sql_error(
    f: SQLFile, e: psycopg2.Error, offset: int | None, statement: str | None = None
) -> SQLFileError:
    diag = e.diag
    message = diag.message_primary or first_line(e)
    hint = diag.message_hint or diag.message_detail
    if e.pgcode == codes.UNDEFINED_OBJECT and re.match(r'role ".*" does not exist', message):
        hint = "list the role under `roles` in schemactl.toml so every scratch server creates it"
    elif e.pgcode in (codes.UNDEFINED_FILE, codes.FEATURE_NOT_SUPPORTED) and "extension" in message:
        hint = "install the extension's package for the PostgreSQL that schemactl uses"
    elif e.pgcode == codes.ACTIVE_SQL_TRANSACTION:
        hint = (
            "put `-- schemactl:no-transaction` on the file's first line to run it outside a "
            "transaction"
        )
    elif e.pgcode == codes.LOCK_NOT_AVAILABLE:
        hint = (
            "another session holds a lock this statement needs; retry later or raise --lock-timeout"
        )
    if offset is None:
        return SQLFileError(
            f"{f.rel}: {message}", hint=hint, path=f.rel, statement=statement, sqlstate=e.pgcode
        )
    if statement is None:
        statement = _statement_at(f, offset)
    err = _positioned(f, sqltext.LineIndex(f.text), offset, message, hint)
    err.statement, err.sqlstate = statement, e.pgcode
    return err


def _statement_at(f: SQLFile, offset: int) -> str | None:
    try:
        statements = sqltext.split(f.text)[0]
    except sqltext.SplitError:
        return None
    found = [st for st in statements if st.offset <= offset]
    return found[-1].body.strip() if found else None


def load_schema_files(
    conn: Any, files: list[SQLFile], on_file: Callable[[SQLFile], None] | None = None
) -> None:
    """Load DDL files, retrying those that wait on later definitions until none progress."""
    pending = list(files)
    while pending:
        deferred: list[tuple[SQLFile, SQLFileError]] = []
        for f in pending:
            try:
                _execute(conn, f)
            except _Failed as e:
                if not e.deferrable:
                    raise e.error from None
                deferred.append((f, e.error))
                continue
            if on_file:
                on_file(f)
        if len(deferred) == len(pending):  # no progress: report a cause, not a consequence
            raise _root_cause(deferred)
        pending = [f for f, _ in deferred]


# What CREATE statements name (the last part of the name), to tell which failures are explained
# by another file that failed to create what they need.
_CREATED = re.compile(
    r"^\s*create\s+(?:or\s+replace\s+)?(?:(?:global|local)\s+)?(?:temp\w*\s+|unlogged\s+|recursive\s+)?"
    r"(?:table|view|materialized\s+view|type|domain|function|procedure|aggregate|schema|sequence|extension|collation)"
    r"\s+(?:if\s+not\s+exists\s+)?(?P<name>(?:(?:\"(?:[^\"]|\"\")+\"|[\w$]+)\s*\.\s*)*(?:\"(?:[^\"]|\"\")+\"|[\w$]+))",
    re.IGNORECASE,
)
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
    defines: dict[str, set[str]] = {}
    for f, _ in failed:
        with contextlib.suppress(sqltext.SplitError):
            for st in f.statements:
                if m := _CREATED.match(sqltext.strip_comments(st.text)):
                    defines.setdefault(_bare(m["name"]), set()).add(f.rel)

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
