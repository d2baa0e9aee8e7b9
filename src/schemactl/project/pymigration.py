"""Hand-written migrations in Python (`NNNN_slug.py` in `generated/`, README "Python
migrations"): read without running them, run with a small typed connection, and failures
reported as the `.py` file's line and the statement that failed.

A module is read twice, for two purposes. Its settings (`reversible`, `transactional`,
`environments`), its docstring and which functions it defines are read from its syntax tree,
so `status`, `apply --dry-run` and rollback planning never run repository code. It runs only
when applied or replayed: compiled from its source and executed into a fresh module object,
so `generated/` never goes on `sys.path` and no `__pycache__` is written there.
"""

from __future__ import annotations

import ast
import functools
import sys
import traceback
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2

from ..connect import interrupts
from ..errors import Interrupted, SQLFileError, first_line
from . import envvars

Params = Sequence[Any] | Mapping[str, Any] | None
# (label, done, total or None): how far a batched change is, for a progress bar
Progress = Callable[[str, int, int | None], None]
FUNCTIONS = ("up", "down", "check_before", "check_after")


@dataclass(frozen=True)
class Listener:
    """Where a migration's progress and log lines go (the CLI draws a bar and prints)."""

    progress: Progress = lambda label, done, total: None
    log: Callable[[str], None] = lambda message: None


SILENT = Listener()


@dataclass(frozen=True)
class PythonSource:
    """What a Python migration declares, read from its syntax tree (nothing runs)."""

    path: Path
    rel: str  # the path in messages
    text: str
    docstring: str
    functions: frozenset[str]
    reversible: bool = True
    transactional: bool = True
    environments: tuple[str, ...] | None = None

    @property
    def summary(self) -> str:
        """The docstring's first line, or the file name."""
        return self.docstring.strip().splitlines()[0] if self.docstring.strip() else self.rel


def read(path: Path, rel: str, raw: bytes) -> PythonSource:
    """Read a migration's settings (SQLFileError naming the line of what is wrong)."""

    def error(message: str, line: int | None = None, hint: str | None = None) -> SQLFileError:
        where = f"{rel}:{line}" if line else rel
        return SQLFileError(f"{where}: {message}", hint, path=rel, line=line)

    try:
        text = raw.decode("utf-8-sig")
        tree = ast.parse(text, filename=rel)
    except UnicodeDecodeError as e:
        raise error(f"not valid UTF-8 (byte 0x{raw[e.start]:02x})") from None
    except SyntaxError as e:
        raise error(f"invalid Python: {e.msg}", e.lineno) from None
    settings: dict[str, Any] = {}
    functions = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in FUNCTIONS:
            functions.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                name = getattr(target, "id", None)
                if name in ("reversible", "transactional", "environments") and node.value:
                    try:
                        settings[name] = ast.literal_eval(node.value)
                    except ValueError:
                        raise error(
                            f"`{name}` must be a literal (schemactl reads it without running "
                            "the module)",
                            node.lineno,
                        ) from None
                    _check_setting(name, settings[name], error, node.lineno)
    if "up" not in functions:
        raise error(
            "defines no `up(conn, environment)` function", hint="see `schemactl new --python`"
        )
    reversible = settings.get("reversible", True)
    if reversible and "down" not in functions:
        raise error(
            "defines no `down(conn, environment)` function",
            hint="write one, or say `reversible = False` (rollback past it is then refused)",
        )
    environments = settings.get("environments")
    return PythonSource(
        path,
        rel,
        text,
        ast.get_docstring(tree) or "",
        frozenset(functions),
        reversible,
        settings.get("transactional", True),
        tuple(environments) if environments is not None else None,
    )


def _check_setting(name: str, value: Any, error: Callable[..., SQLFileError], line: int) -> None:
    if name in ("reversible", "transactional") and not isinstance(value, bool):
        raise error(f"`{name}` must be True or False, not {value!r}", line)
    if name == "environments" and not (
        isinstance(value, tuple | list) and all(isinstance(v, str) and v for v in value)
    ):
        raise error(f"`environments` must be a tuple of names, not {value!r}", line)


class Connection:
    """The database as a Python migration sees it.

    `execute` and `query` run one statement each; `batches` runs an UPDATE or DELETE in
    batches until it changes no more rows. In a transactional migration (the default) they all
    run in the migration's one transaction, with its bookkeeping; with `transactional = False`
    each statement (each batch) commits on its own. `raw` is the psycopg2 connection, for
    what this does not cover (never commit or roll it back in a transactional migration).
    """

    def __init__(self, raw: Any, transactional: bool, listener: Listener) -> None:
        self.raw = raw
        self.transactional = transactional
        self.listener = listener
        self.last_statement: str | None = None

    def execute(self, sql: str, params: Params = None) -> int:
        """Run one statement; return the rows it changed (-1 when that does not apply)."""
        with self._cursor(sql, params) as cur:
            return int(cur.rowcount)

    def query(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Run a query; return its rows."""
        with self._cursor(sql, params) as cur:
            return list(cur.fetchall())

    def scalar(self, sql: str, params: Params = None) -> Any:
        """The first column of a query's first row (None without rows)."""
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def batches(
        self,
        sql: str,
        *,
        size: int = 1000,
        params: Mapping[str, Any] | None = None,
        total: str | None = None,
        label: str = "batches",
    ) -> int:
        """Run `sql` again and again until it changes fewer than `size` rows; return how many
        it changed. It must change at most `%(batch)s` rows a run, as in
        `UPDATE t SET … WHERE id IN (SELECT id FROM t WHERE … LIMIT %(batch)s)`. `total`, a
        query counting the rows to change, gives the progress bar its end."""
        if "%(batch)s" not in sql:
            raise ValueError("a batched statement must limit itself with %(batch)s")
        end = int(self.scalar(total, params)) if total else None
        done = 0
        self.listener.progress(label, 0, end)
        while True:
            changed = self.execute(sql, {**(params or {}), "batch": size})
            done += max(changed, 0)
            if changed < size:  # the last batch: the end is what was done
                self.listener.progress(label, done, done)
                return done
            self.listener.progress(label, done, end)

    def log(self, message: str) -> None:
        """A line for the person running the migration."""
        self.listener.log(message)

    def _cursor(self, sql: str, params: Params) -> Any:
        interrupts.checkpoint()  # a Ctrl-C between statements stops here
        self.last_statement = sql
        cur = self.raw.cursor()
        try:
            cur.execute(sql, params)
        except BaseException:
            cur.close()
            raise
        return cur


def run(
    raw: Any,
    source: PythonSource,
    direction: str,
    environment: str | None,
    listener: Listener = SILENT,
) -> None:
    """Run `up` (with its checks) or `down` of a migration on `raw` (psycopg2), in whatever
    transaction mode it is in; errors are SQLFileError naming the `.py` file's line."""
    module = _load(source)
    conn = Connection(raw, source.transactional, listener)
    steps = ["check_before", "up", "check_after"] if direction == "up" else ["down"]
    for name in steps:
        function = getattr(module, name, None)
        if function is None:
            continue
        try:
            result = function(conn, environment)
        except (KeyboardInterrupt, Interrupted):
            raise
        except Exception as e:
            raise _error(source, name, e, conn.last_statement) from None
        if name.startswith("check_") and result is False:
            raise SQLFileError(
                f"{source.rel}: {name} returned False",
                path=source.rel,
                line=function.__code__.co_firstlineno,
            )


@functools.lru_cache(maxsize=256)
def _compiled(rel: str, text: str) -> types.CodeType:
    return compile(text, rel, "exec", dont_inherit=True)


def _load(source: PythonSource) -> types.ModuleType:
    """The module, executed from its source: nothing on sys.path, no bytecode written."""
    module = types.ModuleType(f"schemactl_migration_{source.path.stem}")
    module.__file__ = str(source.path)
    try:
        exec(_compiled(str(source.path), source.text), module.__dict__)
    except Exception as e:
        raise _error(source, "the module", e, None) from None
    return module


def _error(source: PythonSource, where: str, e: Exception, statement: str | None) -> SQLFileError:
    """An exception from the migration's code, as the line of the `.py` file it came from."""
    if envvars.debug():
        traceback.print_exception(e, file=sys.stderr)
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == str(source.path)]
    line = frames[-1].lineno if frames else None
    database = isinstance(e, psycopg2.Error)
    if database:
        message = (e.diag.message_primary if e.diag else None) or first_line(e)  # type: ignore[attr-defined]
    else:
        message = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    if where.startswith("check_") and isinstance(e, AssertionError):
        message = f"{where} failed" + (f": {e}" if str(e) else "")
    place = f"{source.rel}:{line}" if line else source.rel
    return SQLFileError(
        f"{place}: {message}",
        "rerun with SCHEMACTL_DEBUG=1 for the full traceback" if not database else None,
        path=source.rel,
        line=line,
        source_line=frames[-1].line if frames else None,
        statement=statement if database else None,
        sqlstate=getattr(e, "pgcode", None),
    )
