"""A live session on a target database: interruptible queries and the migration lock.

Two things make `apply` safe to interrupt and to run concurrently:

* psycopg2 normally blocks inside libpq, so Ctrl-C would only be seen after a long
  statement finished. While `interruptible()` is active, queries wait in Python; a signal
  cancels the running statement on the server, the caller rolls back, and the interrupt is
  re-raised at the next `checkpoint()` (never in the middle of a COMMIT).
* A session-level advisory lock serialises appliers on one database. It is taken with
  `pg_try_advisory_lock` in a loop so the wait has a deadline and, on timeout, the error can
  name the session holding it.
"""

from __future__ import annotations

import contextlib
import select
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions as ext

from . import dburl, grants, pgversion
from .errors import Interrupted, LockTimeout, UsageError

_LOCK_CLASS = 0x5343544C  # "SCTL": the first half of our advisory-lock key
DEFAULT_LOCK_WAIT = 60.0  # seconds a run waits for another run's lock


class _Waiter:
    """psycopg2 wait callback that turns a signal into a server-side cancel."""

    def __init__(self) -> None:
        self.pending: BaseException | None = None

    def __call__(self, conn: Any) -> None:
        while True:
            try:
                state = conn.poll()
                if state == ext.POLL_OK:
                    return
                if state == ext.POLL_READ:
                    select.select([conn.fileno()], [], [])
                elif state == ext.POLL_WRITE:
                    select.select([], [conn.fileno()], [])
                else:
                    raise psycopg2.OperationalError(f"unexpected poll state {state}")
            except (Interrupted, KeyboardInterrupt) as e:
                first = self.pending is None
                self.pending = self.pending or e
                if not first:
                    continue  # a second Ctrl-C: the cancel is already on its way
                try:
                    conn.cancel()  # the statement ends with QueryCanceled; keep waiting for it
                except psycopg2.Error:
                    raise e from None


_waiter: _Waiter | None = None


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Make queries on every connection cancellable by SIGINT/SIGTERM while inside.

    Only in the main thread, where Python delivers signals: a fleet's worker threads
    (fleet.py) run their queries plainly and stop at migration boundaries when told."""
    global _waiter
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = ext.get_wait_callback()
    _waiter = _Waiter()
    ext.set_wait_callback(_waiter)
    try:
        yield
        checkpoint()
    finally:
        ext.set_wait_callback(previous)
        _waiter = None


def checkpoint() -> None:
    """Re-raise an interrupt that arrived during a query, now that the query has ended."""
    if _waiter is not None and _waiter.pending is not None:
        e, _waiter.pending = _waiter.pending, None
        raise e


def interrupt_pending() -> bool:
    """True when a signal cancelled the last query (so its error is not the real story)."""
    return _waiter is not None and _waiter.pending is not None


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
