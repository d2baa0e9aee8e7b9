"""A live session on a target database: interruptible queries and the migration lock.

Two things make `apply` safe to interrupt and to run concurrently:

* Its queries run `interruptible()` (connect/interrupts.py): a Ctrl-C cancels the running
  statement on the server, and the interrupt is raised again at the next `checkpoint()`.
* A session-level advisory lock serialises appliers on one database. It is taken with
  `pg_try_advisory_lock` in a loop so the wait has a deadline and, on timeout, the error can
  name the session holding it.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import Iterator
from typing import Any

import psycopg2
import psycopg2.errors

from ..connect import dburl, grants
from ..connect.interrupts import interruptible
from ..errors import LockTimeout, UsageError
from ..scratch import pgversion

_LOCK_CLASS = 0x5343544C  # "SCTL": the first half of our advisory-lock key
DEFAULT_LOCK_WAIT = 60.0  # seconds a run waits for another run's lock


def lock_key(tracking_schema: str) -> tuple[int, int]:
    """The advisory-lock key of a tracking schema (stable across processes and releases)."""
    return _LOCK_CLASS, zlib.crc32(tracking_schema.encode()) & 0x7FFFFFFF


@contextlib.contextmanager
def migration_lock(conn: Any, tracking_schema: str, wait_seconds: float) -> Iterator[None]:
    """Hold the migration lock for the body; wait up to `wait_seconds`, else `LockTimeout`."""
    k1, k2 = lock_key(tracking_schema)
    conn.autocommit = True
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    with conn.cursor() as cur:
        while True:
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", (k1, k2))
            if cur.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    "another migration run holds the lock on this database "
                    f"({_holder(cur, k1, k2)}); "
                    f"gave up after {wait_seconds:g} s",
                    hint="wait for it to finish and run again, or raise --lock-wait",
                )
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 1.0)
    try:
        yield
    finally:
        with contextlib.suppress(psycopg2.Error), conn.cursor() as cur:
            if conn.closed == 0:
                conn.rollback()
                conn.autocommit = True
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", (k1, k2))


def _holder(cur: Any, k1: int, k2: int) -> str:
    cur.execute(
        """SELECT l.pid, a.application_name, a.usename, a.client_addr,
                  date_trunc('second', now() - a.backend_start)
           FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
           WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s
             AND l.objsubid = 2
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
        (k1, k2),
    )
    row = cur.fetchone()
    if row is None:
        return "it was released just now"
    pid, app, user, addr, age = row
    who = ", ".join(
        str(x) for x in (app and f"'{app}'", user and f"user {user}", addr and f"from {addr}") if x
    )
    return (
        f"pid {pid}"
        + (f", {who}" if who else "")
        + (f", connected {age} ago" if age is not None else "")
    )


# ------------------------------------------------------------------ connections ----


@contextlib.contextmanager
def open_session(database: str, command: str, tracking_schema: str) -> Iterator[Any]:
    """Connect to the target database (autocommit, interruptible) for `command`; close after.
    A privilege the role lacks for schemactl's own work is a `PermissionDenied` (grants.py)."""
    with interruptible():
        conn = dburl.connect(database, application_name=f"schemactl {command}")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                # If schemactl is killed mid-statement, the server notices within seconds and
                # rolls back, instead of holding locks until the statement ends (PG 14+).
                with contextlib.suppress(psycopg2.Error):
                    cur.execute("SET client_connection_check_interval = '2s'")
            pgversion.remember(
                database, conn.server_version
            )  # pg_version = "auto" need not ask again
            yield conn
        except psycopg2.errors.InsufficientPrivilege as e:
            raise grants.denied(e, command, conn, tracking_schema) from None
        finally:
            conn.close()


def set_timeouts(conn: Any, lock_timeout: str | None, statement_timeout: str | None) -> None:
    """Set lock_timeout / statement_timeout for the rest of the session (None: the default)."""
    with conn.cursor() as cur:
        for setting, value, flag in (
            ("lock_timeout", lock_timeout, "--lock-timeout"),
            ("statement_timeout", statement_timeout, "--statement-timeout"),
        ):
            if value is None:
                continue
            try:
                cur.execute("SELECT set_config(%s, %s, false)", (setting, str(value)))
            except psycopg2.DataError as e:
                raise UsageError(
                    f"{flag} {value!r}: {e.diag.message_primary}",
                    hint="use a duration such as 5s, 500ms or 2min",
                ) from None


@contextlib.contextmanager
def transaction(conn: Any) -> Iterator[Any]:
    """Yield a cursor in a transaction that commits at the end, or rolls back on any exception."""
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            yield cur
        conn.commit()
    except BaseException:
        rollback_quietly(conn)
        raise
    finally:
        if not conn.closed:
            conn.autocommit = True


def rollback_quietly(conn: Any) -> None:
    """Roll back an open transaction, if the connection is still there to do it."""
    with contextlib.suppress(psycopg2.Error):
        if not conn.closed and not conn.autocommit:
            conn.rollback()


class Trip:
    """A cursor for a transaction in as few round trips as it has statements: BEGIN goes as a
    prefix of the first query and COMMIT as a suffix of the last (`commit_with`), where
    psycopg2's own transaction costs a round trip for each (at 200 small migrations, two of
    every five). The connection stays in autocommit mode; `shift` is how many characters came
    before the last query's own text (for error positions)."""

    _BEGIN = "BEGIN;\n"

    def __init__(self, cur: Any) -> None:
        self.cur = cur
        self.open = False  # BEGIN sent
        self.committed = False
        self.shift = 0

    def execute(self, sql: str | bytes, args: Any = None) -> None:
        self._send(sql, args, "")

    def commit_with(self, sql: str | bytes, args: Any = None) -> None:
        """Run `sql` and COMMIT, in one query."""
        self._send(sql, args, ";\nCOMMIT")
        self.committed = True

    def mogrify(self, sql: str, args: Any = None) -> bytes:
        return bytes(self.cur.mogrify(sql, args))

    def _send(self, sql: str | bytes, args: Any, suffix: str) -> None:
        prefix = "" if self.open else self._BEGIN
        if args is not None:  # a query with parameters: bound on its own, then framed
            sql, args = self.cur.mogrify(sql, args), None
        framed: str | bytes = (
            prefix.encode() + sql + suffix.encode()
            if isinstance(sql, bytes)
            else prefix + sql + suffix
        )
        self.shift = len(prefix)
        self.open = True
        self.cur.execute(framed)


@contextlib.contextmanager
def trip(conn: Any) -> Iterator[Trip]:
    """A `Trip` that commits at the end (unless `commit_with` did), or rolls back on any
    exception."""
    conn.autocommit = True
    with conn.cursor() as cur:
        t = Trip(cur)
        try:
            yield t
            if t.open and not t.committed:
                cur.execute("COMMIT")
        except BaseException:
            if t.open and not conn.closed:
                with contextlib.suppress(psycopg2.Error):
                    cur.execute("ROLLBACK")
            raise
