"""Run the files in `generated/` against real databases: `apply` and `rollback`.

Rules that make it safe for CI and production:

* every run holds the migration lock (session.py), so concurrent appliers queue up;
* before anything runs, every applied migration's file is checked against the checksum the
  database recorded, so an edited or deleted file stops the run;
* a migration and its bookkeeping rows commit in one transaction: a crash or a kill at any
  moment leaves the database at a migration boundary that the ledger describes exactly.
  Files marked `-- schemactl:no-transaction`, and files cut into parts that commit on their
  own by `-- schemactl:commit` lines, cannot have that guarantee; they are marked `running`
  first, so a run that stops partway is visible and must be resolved (`repair`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..connect import dburl, interrupts
from ..errors import IntegrityError, MigrationFailed, UsageError
from ..project import headers, pymigration, sqlfiles
from ..project.config import Config
from ..project.migfiles import parse_version
from ..project.migration import Migration
from . import execution, ledger, run_notes, session
from .execution import RunResult, Step
from .status import RUNNABLE, label, read_files, states, validate

DEFAULT_LOCK_WAIT = session.DEFAULT_LOCK_WAIT
PHASE_RETRIES = 6  # an expand/contract part that hit lock_timeout: after 1, 2, 4, 8, 16, 30 s


@dataclass(frozen=True)
class RunSettings:
    """How `apply` and `rollback` run, the same for every migration (and every database)."""

    dry_run: bool = False  # plan and print, change nothing, take no lock
    allow_unverified: bool = False  # run files marked UNVERIFIED
    lock_wait: float = DEFAULT_LOCK_WAIT  # seconds to wait for another run's migration lock
    lock_timeout: str | None = None  # PostgreSQL lock_timeout for migration statements
    statement_timeout: str | None = None  # … and statement_timeout
    retry_on_lock: int = 0  # runs again of a part that hit lock_timeout, after a back-off

    def __post_init__(self) -> None:
        if self.retry_on_lock < 0:
            raise UsageError(
                f"--retry-on-lock {self.retry_on_lock}: must be 0 or more",
                hint="0 (the default) stops at the first lock timeout",
            )


def _named(result: RunResult, files: dict[int, Migration], led: ledger.Ledger) -> RunResult:
    if result.current_version is not None:
        result.current = label(result.current_version, files, led)
    if led.current is not None:
        result.previous = label(led.current, files, led)
    return result


def apply_migrations(
    config: Config,
    database: str,
    *,
    target: int | str | None = None,
    environment: str | None = None,
    allow_out_of_order: bool = False,
    contract: bool = False,
    settings: RunSettings = RunSettings(),
    on_step: Callable[[Step], None] | None = None,
    listener: pymigration.Listener = pymigration.SILENT,
) -> RunResult:
    """Apply pending migrations (up to `target`) in order, each with its bookkeeping in one
    transaction; files marked UNVERIFIED are refused unless `settings.allow_unverified`. The
    run stops before a contract pair unless `contract` (RunResult.waiting names it).
    `listener` hears Python migrations' progress and log lines."""
    files = read_files(config)
    upto = parse_version(target, files, "--target") if target is not None else None
    schema = config.tracking_schema
    waiting: list[str] = []
    how = (settings, contract, waiting)
    with session.open_session(database, "apply", schema) as conn:
        if settings.dry_run:
            led = ledger.read(conn, schema)
            plan = _plan_apply(config, files, led, upto, environment, allow_out_of_order, *how)
            return _named(
                RunResult(
                    plan,
                    led.current,
                    True,
                    dburl.mask(database),
                    run_notes.major_warnings(files, plan, conn.server_version)
                    + run_notes.resumed(files, plan, led),
                    waiting=next(iter(waiting), None),
                ),
                files,
                led,
            )
        with session.migration_lock(conn, schema, settings.lock_wait):
            ledger.ensure(conn, schema)
            led = ledger.read(conn, schema)
            plan = _plan_apply(config, files, led, upto, environment, allow_out_of_order, *how)
            session.set_timeouts(conn, settings.lock_timeout, settings.statement_timeout)
            warnings = run_notes.major_warnings(
                files, plan, conn.server_version
            ) + run_notes.resumed(files, plan, led)
            warnings += [
                f"{files[st.version].up.rel} has no statements: {st.name} is recorded as "
                "applied, and nothing ran"
                for st in plan
                if st.status == "applied"
                and not files[st.version].python
                and not files[st.version].up.statements
            ]
            resume = {v: r.resume_part for v, r in led.rows.items() if r.resume_part}
            run = _Run(conn, schema, files, on_step, settings, warnings, environment, listener)
            try:
                done = run.plan(plan, "apply", led.current, resume)
            except MigrationFailed as e:
                e.warnings = warnings
                raise
            current = max(
                (v for v in (led.current, *(st.version for st in done)) if v), default=None
            )
            return _named(
                RunResult(
                    done,
                    current,
                    False,
                    dburl.mask(database),
                    warnings,
                    waiting=next(iter(waiting), None),
                ),
                files,
                led,
            )


def _plan_apply(
    config: Config,
    files: dict[int, Migration],
    led: ledger.Ledger,
    upto: int | None,
    environment: str | None,
    allow_out_of_order: bool,
    settings: RunSettings,
    contract: bool,
    waiting: list[str],
) -> list[Step]:
    led.refuse_if_pushed("apply")
    statuses = states(files, led, config)
    validate(statuses)
    late = [
        s for s in statuses if s.state == "out-of-order" and (upto is None or s.version <= upto)
    ]
    if late and not allow_out_of_order:
        raise IntegrityError(
            f"{', '.join(s.name for s in late)} {'is' if len(late) == 1 else 'are'} pending but "
            "the database is "
            f"already at {label(led.current, files, led)} (out of order)",
            hint="this usually follows a merge; apply anyway with --allow-out-of-order, or "
            "renumber the "
            "migration above the current version",
        )
    steps = []
    for s in statuses:
        if s.state not in RUNNABLE or (upto is not None and s.version > upto):
            continue
        if s.state == "awaiting-contract" and not contract:
            waiting.append(s.name)  # nothing after it runs either: the order is the history's
            break
        f = files[s.version]
        runs = f.runs_in(environment)
        transactional = f.transactional
        status = (
            ("would-apply" if runs else "would-skip")
            if settings.dry_run
            else ("applied" if runs else "skipped")
        )
        step = Step(f.version, f.name, "up", status, config.rel(f.pair.up), transactional)
        if settings.dry_run and runs:
            step.sql = f.describe()
        steps.append(step)
    if not settings.allow_unverified:
        headers.refuse_unverified(
            config.rel,
            [
                files[st.version].pair.up
                for st in steps
                if st.status in ("applied", "would-apply") and not files[st.version].python
            ],
        )
    return steps


def rollback_migrations(
    config: Config,
    database: str,
    *,
    steps: int | None = None,
    target: int | str | None = None,
    settings: RunSettings = RunSettings(),
    on_step: Callable[[Step], None] | None = None,
    environment: str | None = None,
    listener: pymigration.Listener = pymigration.SILENT,
    on_warning: Callable[[str], None] | None = None,
) -> RunResult:
    """Run down files newest first: the last `steps` migrations, or all above `target`; files
    marked UNVERIFIED are refused unless `settings.allow_unverified`, and a range that holds
    an irreversible Python migration before anything runs. What the rollback cannot give back
    is in the result's warnings, and said to `on_warning` before anything runs."""
    if steps is not None and target is not None:
        raise UsageError(
            f"--steps {steps} and --target {target} both say how far to roll back: use only one",
            hint="--steps N rolls back the newest N migrations; --target V everything above V",
        )
    if steps is None and target is None:
        raise UsageError(
            "say how far to roll back: --steps N or --target VERSION (0 for everything)"
        )
    if steps is not None and steps < 1:
        raise UsageError(f"--steps {steps}: must be 1 or more")
    files = read_files(config)
    to = parse_version(target, files, "--target", allow_zero=True) if target is not None else None
    schema = config.tracking_schema
    with session.open_session(database, "rollback", schema) as conn:
        lock = (
            contextlib.nullcontext()
            if settings.dry_run
            else session.migration_lock(conn, schema, settings.lock_wait)
        )
        with lock:
            led = ledger.read(conn, schema)
            led.refuse_if_pushed("rollback")
            validate(states(files, led, config))
            in_effect = sorted((v for v, r in led.rows.items() if r.in_effect), reverse=True)
            if steps is not None and steps > len(in_effect):
                have = (
                    f"only {len(in_effect)} {'is' if len(in_effect) == 1 else 'are'}"
                    if in_effect
                    else "none is"
                )
                raise UsageError(
                    f"--steps {steps}: cannot roll back {steps} migration(s), {have} applied",
                    hint="see `schemactl status`",
                )
            chosen = (
                in_effect[:steps] if steps is not None else [v for v in in_effect if v > (to or 0)]
            )
            plan = []
            for v in chosen:
                f, row = files[v], led.rows[v]
                if f.squashes:  # its down drops what a whole history made
                    raise IntegrityError(
                        f"{f.name} squashes {f.squashes[0]:04d}-{v:04d}: rollback stops above it",
                        hint=f"roll back to it at most (--target {v:04d}); further back takes "
                        "the old files, from version control",
                    )
                down, transactional = f.down, f.down_transactional
                skip = row.state == "skipped"
                if not skip and not f.reversible:
                    raise IntegrityError(
                        f"{f.name} cannot be rolled back: {config.rel(f.pair.up)} says "
                        "`reversible = False`",
                        hint=f"roll back to {f.name} at most (--target {f.version:04d}); undoing "
                        "it takes a new migration",
                    )
                if not skip and not f.python and _empty(down) and not _empty(f.up):
                    # Running nothing and deleting the ledger row would claim an undo that never
                    # happened.
                    raise IntegrityError(
                        f"{f.name} cannot be rolled back: {config.rel(f.pair.down)} has no "
                        "statements",
                        hint="write the SQL that undoes it in that file, then run `schemactl "
                        "rehash`",
                    )
                status = (
                    ("would-skip" if skip else "would-roll-back")
                    if settings.dry_run
                    else ("skipped" if skip else "rolled-back")
                )
                step = Step(v, f.name, "down", status, config.rel(f.pair.down), transactional)
                if settings.dry_run and not skip:
                    step.sql = f.describe() if f.python else down.text
                plan.append(step)
            if not settings.allow_unverified:
                headers.refuse_unverified(
                    config.rel,
                    [
                        files[st.version].pair.down
                        for st in plan
                        if "roll" in st.status and not files[st.version].python
                    ],
                )
            notes = run_notes.not_given_back(files, plan)
            if on_warning:
                for note in notes:
                    on_warning(note)
            if settings.dry_run:
                result = RunResult(plan, led.current, True, dburl.mask(database), notes)
                return _named(result, files, led)
            session.set_timeouts(conn, settings.lock_timeout, settings.statement_timeout)
            run = _Run(conn, schema, files, on_step, settings, notes, environment, listener)
            done = run.plan(plan, "rollback", None)
            remaining = next((v for v in in_effect if v not in chosen), None)
            return _named(
                RunResult(done, remaining, False, dburl.mask(database), notes), files, led
            )


@dataclass
class _Run:
    """What every step of one `apply` or `rollback` shares."""

    conn: Any
    schema: str
    files: dict[int, Migration]
    on_step: Callable[[Step], None] | None
    settings: RunSettings
    notes: list[str]  # what the runs did beside the files (an INVALID index dropped, a retry)
    environment: str | None
    listener: pymigration.Listener

    def plan(
        self,
        plan: list[Step],
        command: str,
        current: int | None,
        resume: dict[int, int] | None = None,
    ) -> list[Step]:
        """Run each step of `plan` (`apply`: up files oldest first, from version `current`;
        `rollback`: down files newest first), each with its bookkeeping in one transaction."""
        conn, schema, files = self.conn, self.schema, self.files
        apply = command == "apply"
        done: list[Step] = []
        for step in plan:
            f = files[step.version]
            if step.status == "skipped":
                with session.transaction(conn) as cur:
                    if apply:
                        ledger.put(cur, schema, f.version, f.name, f.checksum, "skipped")
                        only = f"runs only in {', '.join(f.environments or ())}"
                        ledger.note(cur, schema, command, "skipped", f, only)
                    else:
                        ledger.remove(cur, schema, f.version)
                        ledger.note(cur, schema, command, "skipped", f)
            else:
                job = execution.Job(
                    f.version,
                    f.name,
                    command,
                    f.checksum,
                    f.up if apply else f.down,
                    f.transactional if apply else f.down_transactional,
                    (execution.finish_apply if apply else execution.finish_rollback)(schema, f),
                    start=(resume or {}).get(f.version, 0) if apply else 0,
                    # An expand/contract pair's parts time out after a short lock_timeout
                    # (they take ACCESS EXCLUSIVE briefly): they retry by themselves.
                    retries=max(self.settings.retry_on_lock, PHASE_RETRIES if f.phase else 0),
                    notes=self.notes,
                    python=f.source if f.python else None,
                    environment=self.environment,
                    listener=self.listener,
                )
                # Rolling back, newest first: until it is undone, the database is at this one.
                step.duration_ms = execution.run(
                    conn, schema, job, current if apply else f.version, done
                )
            if apply:
                current = max(current or 0, f.version)
            done.append(step)
            if self.on_step:
                self.on_step(step)
            interrupts.checkpoint()
        return done


def _empty(f: sqlfiles.SQLFile) -> bool:
    return not f.statements
