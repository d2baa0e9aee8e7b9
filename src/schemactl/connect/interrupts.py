"""Queries a Ctrl-C cancels on the server (`interruptible`, `checkpoint`).

psycopg2 normally blocks inside libpq, so Ctrl-C would only be seen after a long statement
finished. While `interruptible()` is active, queries wait in Python; a signal cancels the
running statement on the server, the caller rolls back, and the interrupt is re-raised at the
next `checkpoint()` (never in the middle of a COMMIT). Live targets' sessions use it, and so
does a Python migration's connection wherever it runs.
"""

from __future__ import annotations

import contextlib
import select
import threading
from collections.abc import Iterator
from typing import Any

import psycopg2
import psycopg2.extensions as ext

from ..errors import Interrupted


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
