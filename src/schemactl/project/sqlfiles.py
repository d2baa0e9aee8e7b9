"""SQL files as schemactl runs them: read as UTF-8, checked (no psql meta-commands, no
transaction control), split at commit points, and run with errors that name the file, line
and column, the line quoted, and the server's own message."""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errorcodes as codes
import psycopg2.extensions

from ..errors import SQLFileError, first_line
from ..grammar import sqltext

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
    def split(self) -> tuple[list[sqltext.Statement], list[sqltext.MetaCommand]]:
        """(statements, psql meta-commands), split once (SplitError for an unclosed quote)."""
        return sqltext.split(self.text)

    @property
    def statements(self) -> list[sqltext.Statement]:
        """The file's statements; empty for a file of comments and blanks."""
        return self.split[0]


def rel_path(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def read_sql_file(path: Path, project_root: Path) -> SQLFile:
    """Read a SQL file as UTF-8 and reject psql meta-commands and transaction control."""
    return sql_file(path, project_root, path.read_bytes())


def sql_file(path: Path, project_root: Path, raw: bytes) -> SQLFile:
    """A SQL file from bytes already read (`read_sql_file`, whose checks it makes)."""
    rel = rel_path(path, project_root)
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


def check_script(f: SQLFile) -> list[sqltext.Statement]:
    """Split a file into statements, refusing psql meta-commands and BEGIN/COMMIT."""
    index = sqltext.LineIndex(f.text)
    try:
        statements, metas = f.split
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


class FileFailed(Exception):
    """A file failed; `deferrable`: perhaps only because something it needs comes later."""

    def __init__(self, error: SQLFileError, deferrable: bool) -> None:
        self.error = error
        self.deferrable = deferrable


_COMMIT_POINT = re.compile(r"^\s*--\s*schemactl:commit\b(?P<rest>.*)$")


@dataclass(frozen=True)
class Part:
    """Statements of a migration that commit together (`transactional`), or one by one in
    autocommit after a `-- schemactl:commit no-transaction` line (CREATE INDEX CONCURRENTLY)."""

    statements: list[sqltext.Statement]
    transactional: bool = True
    backfill: bool = False  # `-- schemactl:commit backfill`: one UPDATE, run in batches

    @property
    def rerunnable(self) -> bool:
        """Whether running the part again after it stopped partway is safe: a transaction
        leaves nothing behind, and the concurrent index builds and drops schemactl writes
        (IF NOT EXISTS / IF EXISTS) only what they did not finish, once execution.py has
        dropped the INVALID index an interrupted build leaves."""
        if self.transactional or self.backfill:  # a backfill never fills a row twice
            return True
        from ..grammar.statements import parse

        return all(
            (p := parse(st.text)).kind == "index" and p.concurrently and p.if_exists
            for st in self.statements
        )


def commit_parts(f: SQLFile) -> list[Part]:
    """A migration's statements, cut where a `-- schemactl:commit` line precedes a statement.

    Each part commits on its own. PostgreSQL refuses a few sequences inside one transaction,
    notably using an enum value in the transaction that added it ("unsafe use of new value"),
    and some statements run only outside one (CREATE INDEX CONCURRENTLY); a commit point lets
    one migration hold them (the engine and its online plans write one when they must).
    """
    parts: list[Part] = []
    for st in f.statements:
        point = commit_point(st)
        if not parts or point is not None:
            rest = _COMMIT_POINT.match(st.text.splitlines()[point]) if point is not None else None
            kind = rest.group("rest").split()[:1] if rest else []
            outside = kind in (["no-transaction"], ["backfill"])
            parts.append(Part([], transactional=not outside, backfill=kind == ["backfill"]))
        parts[-1].statements.append(st)
    return parts or [Part([])]


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
    if len(parts) > 1 or not parts[0].transactional:
        try:
            for part in parts:
                if part.backfill:
                    run_backfill(conn, f, part.statements)
                    continue
                conn.autocommit = not part.transactional
                with conn.cursor() as cur:
                    run_statements(cur, f, part.statements)
                if part.transactional:
                    conn.commit()
        finally:
            if not conn.autocommit:
                conn.rollback()
            conn.autocommit = True
        return
    try:
        run_whole(conn, f)
    except FileFailed as e:
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
            shift = getattr(cur, "shift", 0)  # a BEGIN sent before it (targets/session.Trip)
            offset = st.offset + (int(pos) - 1 - shift if pos else st.lead)
            raise _sql_error(f, e, offset, st.body.strip()) from None


def run_backfill(
    conn: Any, f: SQLFile, statements: list[sqltext.Statement], progress: Any = None
) -> None:
    """Run a backfill part's statements in batches (backfill.py), errors naming the line."""
    from . import backfill

    for st in statements:
        try:
            backfill.run(conn, st.text[st.lead :], progress or (lambda *_: None))
        except ValueError as e:
            line = sqltext.LineIndex(f.text).position(st.offset + st.lead)[0]
            raise SQLFileError(f"{f.rel}:{line}: {e}", path=f.rel, line=line) from None
        except psycopg2.Error as e:
            raise _sql_error(f, e, st.offset + st.lead, st.body.strip()) from None


# A file sent as one query between its own BEGIN and COMMIT: one round trip, where psycopg2's
# transaction costs three (BEGIN, the file, COMMIT). Over a network to a dev server that was
# most of loading `schemas/` (50 ms apart: 15 files, 3 s).
_BEGIN, _COMMIT = "BEGIN;\n", "\n;COMMIT;"


def run_whole(conn: Any, f: SQLFile) -> None:
    """Run a file in one transaction and one round trip (FileFailed on error)."""
    if not f.statements:
        return  # comments only, or nothing: the server refuses an empty query, we run nothing
    try:
        _run_in_one(conn, f.text)
    except psycopg2.Error as e:
        # A cancelled statement (Ctrl-C, statement_timeout) would only be cancelled again.
        offset = None if e.pgcode == codes.QUERY_CANCELED else _error_offset(conn, f, e)
        raise FileFailed(_sql_error(f, e, offset), e.pgcode in _MISSING_DEPENDENCY) from None


def run_together(conn: Any, files: list[SQLFile]) -> bool:
    """Run files in one transaction and one round trip; False (nothing kept) when that fails,
    and they are to be run one by one (each file's error, its retries)."""
    try:
        if any(f.split[1] for f in files):  # psql meta-commands: file by file
            return False
        text = "\n;\n".join(f.text for f in files if f.statements)
    except sqltext.SplitError:  # a quote left open: file by file, which names it
        return False
    try:
        _run_in_one(conn, text)
    except psycopg2.Error:
        return False
    return True


def _run_in_one(conn: Any, text: str) -> None:
    """`text` between BEGIN and COMMIT, as one query (no parameters: psycopg2 sends it as it
    is); rolled back when it fails."""
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(_BEGIN + text + _COMMIT)
    except BaseException:
        # Ended before its COMMIT (an error, Ctrl-C, SIGTERM): the transaction is still open.
        if not conn.closed:
            with contextlib.suppress(psycopg2.Error), conn.cursor() as cur:
                cur.execute("ROLLBACK")
        raise


def _error_offset(conn: Any, f: SQLFile, e: psycopg2.Error) -> int | None:
    pos = getattr(e.diag, "statement_position", None)
    if pos:
        return int(pos) - 1 - len(_BEGIN)
    # No position from the server (e.g. "relation does not exist" in some statements):
    # find the failing statement by running the file again statement by statement.
    try:
        statements = f.statements
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
            "another session holds a lock this statement needs: retry later, raise "
            "--lock-timeout, or let apply retry it (--retry-on-lock N)"
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
        statements = f.statements
    except sqltext.SplitError:
        return None
    found = [st for st in statements if st.offset <= offset]
    return found[-1].body.strip() if found else None
