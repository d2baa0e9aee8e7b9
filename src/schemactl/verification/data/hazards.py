"""What a migration does to a database with rows in it, measured while it runs: the locks each
statement takes (`pg_locks` for the applying backend, before commit), the tables and indexes it
rewrites (their relfilenode changes), the indexes it builds, and the scans it makes to validate
(`pg_stat_xact_user_tables`); and the statement that fails on the rows when it does.

Each statement runs in a transaction of its own, so that what is measured is that statement's
(on a scratch database the end state is the same as one transaction's); the locks earlier
statements of the same part take are added to it, since applied they are still held.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...grammar import sqltext
from ...grammar.statements import parse
from ...project.config import LOCK_MODES
from ...project.sqlfiles import SQLFile, commit_point
from .findings import BLOCKS_WRITES, Hazard


@dataclass
class Applied:
    """What running a file statement by statement found."""

    hazards: list[Hazard] = field(default_factory=list)
    # The statements that failed on the rows. The run goes on after one (each statement is its
    # own transaction), so a later statement's failure on other rows is found too; a later
    # failure that is not the rows' (an object the failed statement would have made) is not.
    failures: list[Hazard] = field(default_factory=list)
    not_tried: int = 0  # later statements that failed for want of what a failed one makes
    touched: set[tuple[str, str]] = field(default_factory=set)  # tables a statement locked


_RELATIONS = """
SELECT c.oid, n.nspname || '.' || c.relname, c.relkind, c.relfilenode, coalesce(i.indrelid, 0)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.relkind IN ('r', 'p', 'm', 'i', 'I')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%'
"""
# Always run with parameters (psycopg2 then reads `%%` as `%`). The tables there before the
# migration, and the tables and indexes on them (old and new), by oid.
_TABLES = _RELATIONS + " AND c.relkind IN ('r', 'p', 'm')"
# By oid, not `c.oid = ANY(..) OR i.indrelid = ANY(..)`: an OR across the join is a scan of
# pg_class for every statement (1,000 tables: 0.4 s of a 60-statement file).
_WATCHED = _RELATIONS + (
    " AND c.oid IN (SELECT unnest(%(tables)s::oid[]) UNION ALL"
    " SELECT indexrelid FROM pg_index WHERE indrelid = ANY(%(tables)s::oid[]))"
)
_LOCKS = """
SELECT relation, mode FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted AND relation IS NOT NULL
"""
_TOUCHED = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY(%s::oid[]) AND c.relkind IN ('r', 'p', 'm')
"""
_NAMES = """
SELECT n.nspname, c.relname, format('%%I.%%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY(%s)
"""
_THEIR_LOCKS = """
SELECT relation, mode, granted FROM pg_locks
WHERE pid = %s AND (locktype = 'relation' OR NOT granted)
"""
# What pg_stat_xact_user_tables.seq_scan reads, for the tables asked only: the view groups all
# of pg_class first (5,000 tables: a few ms per statement, twice).
_SCANS = "SELECT t, pg_stat_get_xact_numscans(t) FROM unnest(%s::oid[]) AS t"


def run_measured(
    conn: Any,
    f: SQLFile,
    direction: str,
    measure: bool = True,
    observer: Callable[[], Any] | None = None,
) -> Applied:
    """Run `f` on `conn` (psycopg2), each statement committed on its own, measuring each
    (`measure`); a statement that fails is recorded and the run goes on (`Applied.failures`).

    Only what was there before the migration holds rows (and traffic): a table an earlier
    statement of the file created is empty, and nobody waits for it. Its tables and their
    indexes are read once; after each statement only the tables it locked are read again, so
    a statement costs what it touches, not what the schema holds. A statement that runs only
    outside a transaction (CREATE INDEX CONCURRENTLY) is watched from a second connection
    (`observer`, see `_watched`).
    """
    applied = Applied()
    conn.autocommit = False
    with conn.cursor() as cur:
        known = _relations(cur, _WATCHED, list(_relations(cur, _TABLES))) if measure else {}
        names = {name: oid for oid, (name, kind, _, _) in known.items() if kind in "rpm"}
        # Looked up per statement, so kept as maps (kept current as statements add indexes):
        # a statement costs what it touches, not a pass over the schema's relations.
        tables = set(names.values())
        indexes: dict[str, int] = {}  # index name -> its table's oid
        on_table: dict[int, set[int]] = defaultdict(set)  # table oid -> its indexes' oids
        _index(known, indexes, on_table)
        conn.commit()
        held: dict[int, str] = {}  # locks earlier statements of the same part still hold then
        settings: set[str] = set()
        for st in f.statements:
            if commit_point(st) is not None:
                held = {}  # a new part: a new transaction
            text = sqltext.one_line(st.text)
            named = _named(text, names, indexes) if known else []
            scans_before = _scans(cur, named)
            # Each statement commits on its own here: a SET LOCAL, which holds for the rest of
            # the file's transaction when applied, is made for the session, and reset at the end.
            local = _SET_LOCAL.match(text)
            t0 = time.monotonic()
            try:
                cur.execute(f"SET {local[1]}" if local else st.text)
                ran = int((time.monotonic() - t0) * 1000)
                if local:
                    settings.add(local[2])
                cur.execute(_LOCKS)
                held_now = cur.fetchall()
                # Every statement: rows can only change where it locks (tables read by oid: a
                # join of pg_locks with pg_class scans the catalog).
                cur.execute(_TOUCHED, ([oid for oid, _ in held_now],))
                applied.touched.update(cur.fetchall())
                # Applied, a part is one transaction: what the statement holds is its own
                # locks and those taken before it in the part; only a lock it adds (or makes
                # stronger) is its own hazard.
                own = _strongest(held_now)
                locks = _strongest([*own.items(), *held.items()])
                taken = {oid for oid, mode in own.items() if held.get(oid) != locks[oid]}
                held = dict(locks)
            except Exception as e:
                conn.rollback()
                if not _outside_transactions_only(e):
                    _failed(applied, text, e, direction)
                    continue
                conn.autocommit = True  # CREATE INDEX CONCURRENTLY and the like
                try:
                    locks = _watched(conn, st.text, named, observer, applied.touched)
                    taken = set(locks)
                    ran = int((time.monotonic() - t0) * 1000)
                except Exception as e2:
                    _failed(applied, text, e2, direction)
                    continue
                finally:
                    conn.autocommit = False
            if known:
                touched = sorted({*named, *(oid for oid in locks if oid in tables)})
                scans = _scans(cur, named)
                scanned = {oid for oid, n in scans.items() if n > scans_before.get(oid, 0)}
                after = _relations(cur, _WATCHED, touched)
                was = {*after, *(i for t in touched for i in on_table.get(t, ()))}
                before = {oid: known[oid] for oid in was if oid in known}
                found = _classify(text, direction, before, after, locks, scanned, taken)
                applied.hazards += [dataclasses.replace(h, held_ms=ran) for h in found]
                known.update(after)
                _index(after, indexes, on_table)
            conn.commit()
        for setting in sorted(settings):
            cur.execute(f"RESET {setting}")
        conn.commit()
    conn.autocommit = True
    return applied


_SET_LOCAL = re.compile(r"(?i)^set\s+local\s+(([a-z_.]+)\b.*?);?$")


def _watched(
    conn: Any,
    statement: str,
    tables: list[int],
    observer: Callable[[], Any] | None,
    touched: set[tuple[str, str]],
) -> dict[int, str]:
    """Run `statement` in autocommit on `conn` and return the locks it took on `tables`
    (which go into `touched` by name).

    Its own transactions commit inside the statement, so its backend cannot be asked
    afterwards. A second connection holds ROW EXCLUSIVE on the tables in an open transaction,
    which a concurrent index build or drop must wait for: while it waits, the observer reads
    the builder's locks from `pg_locks`, then ends its transaction to let it go on.
    """
    if observer is None or not tables:
        with conn.cursor() as cur:
            cur.execute(statement)
        return {}
    seen: list[tuple[int, str]] = []
    failure: list[BaseException] = []
    with contextlib.closing(observer()) as watcher, watcher.cursor() as wc:
        watcher.autocommit = False
        wc.execute(_NAMES, (tables,))
        for schema, name, spelled in wc.fetchall():
            touched.add((schema, name))
            wc.execute(f"LOCK TABLE {spelled} IN ROW EXCLUSIVE MODE")

        def run() -> None:
            try:
                with conn.cursor() as cur:
                    cur.execute(statement)
            except BaseException as e:  # re-raised below, in the measuring thread
                failure.append(e)

        builder = threading.Thread(target=run, daemon=True)
        pid = conn.get_backend_pid()
        builder.start()
        deadline = time.monotonic() + 30
        while builder.is_alive() and time.monotonic() < deadline:
            wc.execute(_THEIR_LOCKS, (pid,))
            rows = wc.fetchall()
            seen += [(oid, mode) for oid, mode, _ in rows if oid]
            if any(not granted for _, _, granted in rows):
                break  # it waits for us: what it holds now, it holds while it builds
            time.sleep(0.002)
        watcher.rollback()
        builder.join()
    if failure:
        raise failure[0]
    return _strongest(seen)


def _index(
    relations: dict[int, tuple[str, str, int, int]],
    indexes: dict[str, int],
    on_table: dict[int, set[int]],
) -> None:
    for oid, (name, kind, _, table) in relations.items():
        if kind in "iI":
            indexes[name] = table
        if table:
            on_table[table].add(oid)


def _named(statement: str, names: dict[str, int], indexes: dict[str, int]) -> list[int]:
    """The existing tables a statement names (what it alters and what it references, and the
    tables of the indexes it names, `indexes`: name -> table): where a validation scan is
    looked for."""
    st = parse(statement)
    found = {st.table, st.name, *(k[1:3] for k in st.uses | st.changes if k[0] == "relation")}
    spelled = {f"{n[0]}.{n[1]}" for n in found if n}
    return sorted(
        {names[n] for n in spelled if n in names} | {indexes[n] for n in spelled & indexes.keys()}
    )


def _failed(applied: Applied, statement: str, e: Exception, direction: str) -> None:
    """Record a statement that failed. The file ran on an empty database, so the first failure
    is the rows'; after one, only a failure on values (SQLSTATE classes 22 and 23) is: another
    (a column that does not exist) is what the failed statement would have made."""
    code = getattr(e, "pgcode", None) or ""
    if applied.failures and not code.startswith(("22", "23")):
        applied.not_tried += 1
        return
    st = parse(statement)
    on = st.table or st.name
    message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    relation = f"{on[0]}.{on[1]}" if on else None
    where = f" on {relation}" if relation else ""
    detail = f"fails with rows{where}: {message}"
    applied.failures.append(
        Hazard(
            "fails-with-data",
            statement,
            relation,
            detail=detail,
            direction=direction,
            fix=advice(st.action, code, st.target),
        )
    )


def advice(action: str | None, code: str, column: str | None) -> str:
    """How to write a change that fails on existing rows so that it runs (by SQLSTATE)."""
    col = f'"{column}"' if column else "the column"
    if code == "23502" and action == "add column":
        return (
            f"give {col} a DEFAULT; or add it nullable, fill it in a `schemactl new` pair, "
            "and set NOT NULL in a migration after that"
        )
    if code == "23502":
        return (
            f"fill the NULLs of {col} first, in a `schemactl new` pair before this one (or give "
            "it a DEFAULT where new rows need one)"
        )
    if code == "23514":
        return (
            "fix the rows that break the CHECK first (a `schemactl new` pair before this one), "
            "or add it NOT VALID and VALIDATE it once they are fixed (`diff --online`)"
        )
    if code == "23505":
        return "remove the duplicate values first, in a `schemactl new` pair before this one"
    if code == "23503":
        return (
            "delete or fix the rows whose key has no parent first, or add the foreign key NOT "
            "VALID and VALIDATE it once they are fixed (`diff --online`)"
        )
    if code.startswith("22"):
        return (
            "convert the values by hand: a `schemactl new` pair that cleans them first, or a "
            "USING expression that handles every stored value"
        )
    return ""


def _outside_transactions_only(e: Exception) -> bool:
    return "cannot run inside a transaction block" in str(e)


def _scans(cur: Any, tables: list[int]) -> dict[int, int]:
    # Counts not yet sent to the statistics system, which PostgreSQL sends at most once a
    # second: earlier transactions' scans may still be in them, so only the difference counts.
    if not tables:
        return {}
    cur.execute(_SCANS, (tables,))
    return dict(cur.fetchall())


def _relations(
    cur: Any, query: str, tables: list[int] | None = None
) -> dict[int, tuple[str, str, int, int]]:
    cur.execute(query, {"tables": tables or []})
    return {oid: (name, kind, node, table) for oid, name, kind, node, table in cur.fetchall()}


def _strongest(rows: list[tuple[int, str]]) -> dict[int, str]:
    out: dict[int, str] = {}
    for oid, mode in rows:
        if mode in LOCK_MODES and (
            oid not in out or LOCK_MODES.index(mode) > LOCK_MODES.index(out[oid])
        ):
            out[oid] = mode
    return out


def _classify(
    statement: str,
    direction: str,
    before: dict[int, tuple[str, str, int, int]],
    after: dict[int, tuple[str, str, int, int]],
    locks: dict[int, str],
    scanned: set[int],
    taken: set[int],
) -> list[Hazard]:
    """The hazards of one statement on the tables that existed before it and still do."""
    out = []
    built_on: dict[int, list[str]] = {}  # table -> indexes the statement built on it
    for idx, (idx_name, _, idx_node, table) in after.items():
        if table and (idx not in before or before[idx][2] != idx_node):
            built_on.setdefault(table, []).append(idx_name)
    for oid, (name, kind, node, _) in sorted(before.items(), key=lambda kv: kv[1][0]):
        if kind not in ("r", "p", "m") or oid not in after:
            continue
        lock = locks.get(oid)
        rewrote = kind != "p" and after[oid][2] != node
        built = [] if rewrote else sorted(built_on.get(oid, []))
        if rewrote:
            what, detail = "rewrite", f"rewrites {name} (every row copied) under {lock}"
        elif built:
            what = "index-build"
            detail = f"builds {', '.join(built)} on {name} under {lock}"
        elif oid in scanned and lock in BLOCKS_WRITES:
            what, detail = "validation-scan", f"scans {name} to validate it under {lock}"
        elif lock in BLOCKS_WRITES and oid in taken:
            what, detail = "lock", f"takes {lock} on {name}"
        else:
            continue
        if lock in BLOCKS_WRITES:
            detail += (
                " (" + ("reads and writes wait" if lock == LOCK_MODES[-1] else "writes wait") + ")"
            )
        out.append(Hazard(what, statement, name, lock, rewrote, detail, direction))
    return out
