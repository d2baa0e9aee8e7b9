"""Running one migration file on a target database, with its bookkeeping in the same
transaction (runner.py decides which files run; this runs one): commit parts, no-transaction
files marked `running` first, and a failure reported with the file's line, the statement, and
where the database stands."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg2
import psycopg2.errors
from psycopg2.errorcodes import LOCK_NOT_AVAILABLE, UNDEFINED_OBJECT

from ..connect import interrupts
from ..errors import Interrupted, MigrationFailed, ServerUnavailable, SQLFileError, first_line
from ..grammar import sqltext
from ..project import pymigration, sqlfiles
from ..project.migration import Migration
from . import concurrent_builds, ledger, session


@dataclass
class Step:
    """One migration run (in a dry run: one that would run)."""

    version: int
    name: str  # NNNN_slug
    direction: str  # "up" or "down"
    status: (
        str  # applied, rolled-back, skipped; in a dry run: would-apply, would-roll-back, would-skip
    )
    file: str
    transactional: bool = True
    duration_ms: int = 0
    sql: str = ""  # the file's text, filled in dry runs

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["sql"]:
            del data["sql"]
        return data


def _one_line(text: str | None, limit: int = 200) -> str | None:
    if text is None:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass
class Job:
    """One file to run and how to record it."""

    version: int
    name: str
    action: str  # apply / rollback
    checksum: str
    sqlfile: sqlfiles.SQLFile
    transactional: bool
    finish: Callable[[Any, int], None]  # bookkeeping, run in the same transaction as the file
    start: int = 0  # the first part to run: where an earlier apply stopped (ledger resume_part)
    retries: int = 0  # how often a part that hit lock_timeout runs again (--retry-on-lock)
    notes: list[str] = field(default_factory=list)  # what the run did beside the file
    python: pymigration.PythonSource | None = None  # a Python migration: its code runs
    environment: str | None = None  # what a Python migration's functions are told
    listener: pymigration.Listener = pymigration.SILENT


# Back-off before the retries of a part that hit lock_timeout: 1 s, 2 s, 4 s, … at most 30 s.
_BACKOFF, _BACKOFF_MAX = 1.0, 30.0


def run(conn: Any, schema: str, job: Job, before: int | None, completed: list[Step]) -> int:
    """Run one migration file with its bookkeeping; return its duration in ms.

    A file that commits in parts (commit points, or no-transaction) records in the ledger how
    many parts committed, in the transaction of each: a run that stops partway is resumed
    there by the next `apply`, when the part it stopped in can run again (Part.rerunnable).
    """
    started, t0 = ledger.now(), time.monotonic()
    parts = (
        sqlfiles.commit_parts(job.sqlfile)
        if job.transactional and job.python is None
        else [sqlfiles.Part([] if job.python else job.sqlfile.statements, job.transactional)]
    )
    several = len(parts) > 1 or not parts[0].transactional
    # Where the database stands if this run stops: None while nothing of the file has
    # committed, else the line from which the file has not run (0: unknown).
    partial: list[int] = [] if job.start == 0 and parts[0].transactional else [0]
    resume: list[int | None] = [job.start]  # what the ledger says, for record_failure

    def elapsed() -> int:
        return int((time.monotonic() - t0) * 1000)

    def record_failure(status: str, error: str, statement: str | None) -> None:
        with contextlib.suppress(psycopg2.Error), session.transaction(conn) as cur:
            if partial and job.action == "apply":
                ledger.put(
                    cur, schema, job.version, job.name, job.checksum, "failed", elapsed(), resume[0]
                )
            ledger.log(
                cur,
                schema,
                ledger.Entry(
                    action=job.action,
                    status=status,
                    started_at=started,
                    version=job.version,
                    name=job.name,
                    duration_ms=elapsed(),
                    checksum=job.checksum,
                    error=error,
                    statement=statement,
                ),
            )

    def progress(cur: Any, done: int, rerunnable: bool = True) -> None:
        # The ledger row of a file that commits in parts, in the transaction of the part.
        if several and job.action == "apply":
            resume[0] = done if rerunnable else None
            ledger.put(cur, schema, job.version, job.name, job.checksum, "running", 0, resume[0])

    try:
        for i in range(job.start, len(parts)):
            part, last = parts[i], i == len(parts) - 1
            for attempt in range(job.retries + 1):
                try:
                    _run_part(conn, job, part, progress if several else None, i, last, elapsed)
                    break
                except SQLFileError as e:
                    if e.sqlstate != LOCK_NOT_AVAILABLE or attempt == job.retries:
                        raise
                    if not part.rerunnable or (job.python and not part.transactional):
                        raise  # what ran of it stays: running it again is not safe
                    wait = min(_BACKOFF * 2**attempt, _BACKOFF_MAX)
                    job.notes.append(
                        f"{job.name}: {e.message.split(': ', 1)[-1]}; ran the part again after "
                        f"{wait:g} s (retry {attempt + 1} of {job.retries})"
                    )
                    interrupts.checkpoint()
                    time.sleep(wait)
            if not last:
                start = parts[i + 1].statements[0]
                line = sqltext.LineIndex(job.sqlfile.text).position(start.offset)[0]
                partial[:] = [line + (sqlfiles.commit_point(start) or 0)]
        return elapsed()
    except SQLFileError as e:
        interrupted = interrupts.interrupt_pending()
        if conn.closed:
            raise _lost(job, e.message, partial) from None
        record_failure("interrupted" if interrupted else "failed", e.message, e.statement)
        interrupts.checkpoint()  # an interrupt caused this: exit 130, not an SQL error
        raise _failed(job, e, before, completed, partial, resume[0]) from None
    except (Interrupted, KeyboardInterrupt):
        if not conn.closed:
            record_failure("interrupted", "interrupted by a signal", None)
        raise
    except (
        psycopg2.Error
    ) as e:  # the bookkeeping or the COMMIT failed (deferred constraint, lost server)
        if isinstance(e, psycopg2.errors.InsufficientPrivilege) and not conn.closed:
            # The role may run the file but not write the ledger: session.open_session names
            # the GRANT (nothing is kept, so there is no failure to record either).
            session.rollback_quietly(conn)
            raise
        first = first_line(e)
        if conn.closed:
            raise _lost(job, first, partial) from None
        message = (e.diag.message_primary if e.diag else None) or first
        record_failure("failed", message, "COMMIT")
        interrupts.checkpoint()
        error = SQLFileError(
            f"{job.sqlfile.rel}: {message} (at COMMIT)", path=job.sqlfile.rel, sqlstate=e.pgcode
        )
        raise _failed(job, error, before, completed, partial, resume[0]) from None


def _run_part(
    conn: Any,
    job: Job,
    part: sqlfiles.Part,
    progress: Callable[..., None] | None,
    i: int,
    last: bool,
    elapsed: Callable[[], int],
) -> None:
    """Run part `i` of a file, with the ledger row that says how far the file got (`progress`,
    for files in several parts) and, for the last part, the file's bookkeeping."""
    if job.python is not None:  # one part: the module's functions
        direction = "up" if job.action == "apply" else "down"
        if part.transactional:  # the module's work and its bookkeeping commit together
            with session.transaction(conn) as cur:
                pymigration.run(conn, job.python, direction, job.environment, job.listener)
                job.finish(cur, elapsed())
            return
        if progress:  # visible if we die partway; never run twice without `repair`
            with session.transaction(conn) as cur:
                progress(cur, i, False)
        pymigration.run(conn, job.python, direction, job.environment, job.listener)
        with session.transaction(conn) as cur:
            job.finish(cur, elapsed())
        return
    if part.transactional:  # BEGIN on the first statement, COMMIT on the bookkeeping
        with session.trip(conn) as trip:
            sqlfiles.run_statements(trip, job.sqlfile, part.statements)
            if last:
                job.finish(_Committing(trip), elapsed())
            elif progress:
                progress(_Committing(trip), i + 1)
        return
    if progress:  # visible if we die partway (see the runner's module docstring)
        with session.transaction(conn) as cur:
            progress(cur, i, part.rerunnable)
    if part.backfill:  # batches that commit one by one; a re-run fills only what is left
        sqlfiles.run_backfill(conn, job.sqlfile, part.statements, job.listener.progress)
    else:
        with conn.cursor() as cur:
            for st in part.statements:
                job.notes += concurrent_builds.recover(cur, st.text)
                sqlfiles.run_statements(cur, job.sqlfile, [st])
    with session.transaction(conn) as cur:
        if last:
            job.finish(cur, elapsed())
        elif progress:
            progress(cur, i + 1)


class _Committing:
    """The cursor the bookkeeping writes with as a part's last query: it commits too."""

    def __init__(self, trip: session.Trip) -> None:
        self.mogrify = trip.mogrify
        self.execute = trip.commit_with


def _failed(
    job: Job,
    e: SQLFileError,
    before: int | None,
    completed: list[Step],
    partial: list[int],
    resume: int | None,
) -> MigrationFailed:
    detail = [f"failing statement: {_one_line(e.statement)}"] if e.statement else []
    at = f"is still at {before:04d}" if before else "still has no migration applied"
    hint = e.hint
    if (
        e.sqlstate == UNDEFINED_OBJECT
        and e.message.endswith("does not exist")
        and ": role " in e.message
    ):
        hint = (
            "roles are server-wide and not part of migrations: create the role on this server first"
        )
    if not partial:
        detail.append(
            f"nothing of the failed {job.action} of {job.name} was kept (its transaction was "
            f"rolled back): the database {at}"
        )
    elif resume is not None and job.action == "apply":
        where = f"the part from line {partial[0]}" if partial[0] else "its first part"
        detail.append(
            f"{job.name} commits in parts: the parts before {where} stay committed, and that "
            "part left nothing behind that the next apply does not clear"
        )
        hint = (hint + "; then" if hint else "fix the cause, then") + (
            f" run apply again: it resumes {job.name} at {where} (after an edit of the file, "
            "run `schemactl repair` first: the whole file then runs again)"
        )
    elif job.transactional:  # rolling back: the ledger keeps no place in a down file
        detail.append(
            f"{job.name} commits in parts: everything before the commit point on line {partial[0]} "
            "stays committed; the part that failed was rolled back"
        )
        hint = (
            "fix the cause, then roll back again: the whole file runs again, and the parts "
            "schemactl writes before a commit point (ADD VALUE IF NOT EXISTS) are safe to run twice"
        )
    else:
        detail.append(
            f"{job.name} ran outside a transaction: the statements before this one stay applied"
        )
        hint = (
            "undo them by hand (or finish them), then run `schemactl repair`; the next apply "
            "runs it again"
        )
    err = MigrationFailed(
        f"{job.action} of {job.name} failed: {e.message}", hint, e, list(completed)
    )
    err.detail = detail
    err.current_version = before
    return err


def _lost(job: Job, reason: str, partial: list[int]) -> ServerUnavailable:
    if not partial:
        hint = (
            f"the server rolls back {job.name} (it ran in one transaction); run the command again"
        )
    else:
        hint = (
            f"{job.name} did not run in one transaction and may have stopped partway; "
            "see `schemactl status`"
        )
    return ServerUnavailable(f"lost the connection while running {job.name}: {reason}", hint=hint)


def finish_apply(schema: str, f: Migration) -> Callable[[Any, int], None]:
    def finish(cur: Any, ms: int) -> None:
        # One round trip for both rows: at hundreds of small migrations it shows.
        cur.execute(
            ledger.put_sql(cur, schema, f.version, f.name, f.checksum, "applied", ms)
            + b";\n"
            + ledger.log_sql(
                cur,
                schema,
                ledger.Entry(
                    action="apply",
                    status="ok",
                    version=f.version,
                    name=f.name,
                    started_at=ledger.now() - dt.timedelta(milliseconds=ms),
                    duration_ms=ms,
                    checksum=f.checksum,
                ),
            )
        )

    return finish


def finish_rollback(schema: str, f: Migration) -> Callable[[Any, int], None]:
    def finish(cur: Any, ms: int) -> None:
        cur.execute(
            ledger.remove_sql(cur, schema, f.version)
            + ledger.log_sql(
                cur,
                schema,
                ledger.Entry(
                    action="rollback",
                    status="ok",
                    started_at=ledger.now() - dt.timedelta(milliseconds=ms),
                    version=f.version,
                    name=f.name,
                    duration_ms=ms,
                    checksum=f.checksum,
                ),
            )
        )

    return finish


@dataclass
class RunResult:
    """What `apply` or `rollback` did (or, with `dry_run`, would do)."""

    steps: list[Step]
    current_version: int | None  # the version the database is at afterwards
    dry_run: bool
    database: str  # masked URL
    warnings: list[str] = field(default_factory=list)  # e.g. an up file with no statements
    current: str | None = None  # ... and its name, NNNN_slug (as the CLI and JSON show it)
    previous: str | None = None  # the name of the version it was at before
    waiting: str | None = None  # the contract pair `apply` stopped before (see --contract)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": True,
            "database": self.database,
            "dry_run": self.dry_run,
            "current": self.current,
            "steps": [s.to_json() for s in self.steps],
            "warnings": self.warnings,
            "awaiting_contract": self.waiting,
        }
