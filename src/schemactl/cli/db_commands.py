"""Commands that run migrations on real databases: apply, rollback, status."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..errors import ExitCode, MigrationFailed, UsageError
from .app import app
from .fleet_output import CanaryOpt, KeepGoingOpt, ParallelOpt, ShardOpt
from .shared import (
    DbOpt,
    EnvOpt,
    Format,
    FormatOpt,
    emit_json,
    err_console,
    info,
    option,
    out_console,
    print_sql,
    project_config,
    run_settings_options,
    scratch_config,
    state,
    working,
)

if TYPE_CHECKING:
    from ..targets.runner import RunSettings


def _at(current: int | None, names: dict[int, str]) -> str:
    """'is at 0003_x' or 'has no migration applied', to follow 'the database'."""
    return (
        "has no migration applied"
        if current is None
        else f"is at {names.get(current, f'{current:04d}')}"
    )


def _run_command(
    db: str | None, env: str | None, fmt: Format, verb: str, function: str, **arguments: Any
) -> int:
    """Run `runner.<function>(config, url, **arguments)` (apply or rollback) on the database
    --db / --env names, with the output both share: a line per step as it completes, or one
    JSON document."""
    from ..connect.dburl import mask
    from ..project.migfiles import list_migrations
    from ..targets import runner

    config = project_config()
    fleet_options = arguments.pop("fleet")
    costs = arguments.pop("costs", None)
    if env and config.targets_fleet(db, env):
        from .fleet_output import run_fleet

        return run_fleet(config, env, fmt, function, fleet_options, arguments)
    if fleet_options["shard"]:
        raise UsageError(
            "--shard splits an environment of many databases",
            hint="name one with --env (urls, urls_from or urls_query)",
        )
    url = config.database_url(db, env)
    names = {p.version: p.id for p in list_migrations(config.generated, allow_gaps=True)}
    state.on_interrupt = (
        "the migration in progress was rolled back (one in parts: to its last finished part); "
        "see `schemactl status`"
    )

    def on_step(step: Any) -> None:
        if fmt is Format.text and not state.quiet:
            what = {"applied": "applied", "rolled-back": "rolled back", "skipped": "skipped"}[
                step.status
            ]
            extra = (
                f" ({step.duration_ms} ms)"
                if step.status != "skipped"
                else " (not for this environment)"
            )
            # Plain text (names are NNNN_slug): a rich Console per line cost 0.3 ms, which
            # at hundreds of small migrations is a tenth of the run.
            sys.stderr.write(f"{what} {step.name}{extra}\n")

    said: set[str] = set()
    if function == "rollback_migrations" and fmt is Format.text:

        def warn(message: str) -> None:  # before anything runs: what it cannot give back
            said.add(message)
            info(f"warning: {message}")

        arguments["on_warning"] = warn
    try:
        with _python_listener(fmt) as listener:
            result = getattr(runner, function)(
                config, url, on_step=on_step, listener=listener, **arguments
            )
    except MigrationFailed as e:
        if fmt is Format.text:
            for w in e.warnings:
                info(f"warning: {w}")
        if fmt is Format.json:
            err = e.error
            emit_json(
                {
                    "ok": False,
                    "database": mask(url),
                    "dry_run": False,
                    "current": names.get(e.current_version) if e.current_version else None,
                    "steps": [s.to_json() for s in e.completed],
                    "warnings": e.warnings,
                    "error": {
                        "message": e.message,
                        "file": err.path,
                        "line": err.line,
                        "column": err.column,
                        "statement": err.statement,
                        "sqlstate": err.sqlstate,
                    },
                }
            )
        raise
    if fmt is Format.json:
        emit_json({**result.to_json(), **({"costs": costs} if costs is not None else {})})
        return 0
    for w in result.warnings:
        if w not in said:
            info(f"warning: {w}")
    if result.dry_run:
        for step in result.steps:
            if step.sql:
                how = (
                    "one transaction"
                    if step.transactional
                    else "no transaction, statement by statement"
                )
                print_sql(f"-- schemactl would run {step.file} ({how}):\n{step.sql.rstrip()}\n\n")
        info(
            f"dry run on {result.database}: {len(result.steps)} migration(s) would {verb}; "
            f"the database {_at(result.current_version, names)}; nothing was changed"
        )
    elif not result.steps:
        info(f"nothing to {verb}: the database {_at(result.current_version, names)}")
    else:
        info(
            f"done: {len(result.steps)} migration(s); the database "
            f"{_at(result.current_version, names)}"
        )
    if getattr(result, "waiting", None):
        info(
            f"{result.waiting} waits for `apply --contract`: run it once every client runs "
            "the new version"
        )
    return 0


@contextlib.contextmanager
def _python_listener(fmt: Format) -> Iterator[Any]:
    """What Python migrations report: a progress bar per batched change on a terminal (else a
    line when a batch ends), and their log lines, on stderr."""
    from ..project.pymigration import Listener

    quiet = state.quiet or fmt is Format.json
    bars: dict[str, Any] = {}
    printed: dict[str, float] = {}  # without a terminal: a line when done, else every 2 s
    with contextlib.ExitStack() as stack:
        shown = None
        if not quiet and sys.stderr.isatty():  # rich only then: its import is 60 ms of a start
            from rich.progress import Progress

            shown = stack.enter_context(Progress(console=err_console(), transient=True))

        def progress(label: str, done: int, total: int | None) -> None:
            if shown is not None:
                if label not in bars:
                    bars[label] = shown.add_task(label, total=total)
                shown.update(bars[label], completed=done, total=total)
            elif (
                not quiet
                and done
                and (done == total or time.monotonic() - printed.get(label, 0) > 2)
            ):
                printed[label] = time.monotonic()
                said = f"{label}: {done}" + (f" of {total}" if total else "")
                err_console().print(said, markup=False)

        def log(message: str) -> None:
            if not quiet:
                (shown.console if shown is not None else err_console()).print(message, markup=False)

        yield Listener(progress, log)


@app.command()
@run_settings_options
def apply(
    db: DbOpt = None,
    env: EnvOpt = None,
    target: Annotated[
        Optional[str],
        option("--target", help="Apply up to and including this version."),
    ] = None,
    allow_out_of_order: Annotated[
        bool,
        typer.Option(
            "--allow-out-of-order",
            help="Apply pending migrations numbered below the current version.",
        ),
    ] = False,
    contract: Annotated[
        bool,
        typer.Option(
            "--contract",
            help="Run contract pairs too (expand/contract plans): once no client runs the old "
            "version. Without it, apply stops before the first.",
        ),
    ] = False,
    allow_hazards: Annotated[
        bool,
        typer.Option(
            "--allow-hazards",
            help="Apply even what the environment's budgets (max_exclusive_lock, max_rewrite) "
            "refuse.",
        ),
    ] = False,
    settings: RunSettings = None,  # type: ignore[assignment]  # set by run_settings_options
    parallel: ParallelOpt = 4,
    canary: CanaryOpt = 0,
    keep_going: KeepGoingOpt = False,
    shard: ShardOpt = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Apply pending migrations in order, each with its bookkeeping in one transaction (on
    every database of a fleet environment, --parallel at a time); stop before a contract
    pair unless --contract. With --dry-run, or budgets in the environment, what each
    statement will cost there is projected first (see `plan`)."""
    costs = _costs(db, env, settings, allow_hazards, fmt)
    return _run_command(
        db,
        env,
        fmt,
        "apply",
        "apply_migrations",
        target=target,
        environment=env,
        allow_out_of_order=allow_out_of_order,
        contract=contract,
        settings=settings,
        fleet={"parallel": parallel, "canary": canary, "keep_going": keep_going, "shard": shard},
        costs=costs,
    )


def _costs(
    db: str | None, env: str | None, settings: Any, allow_hazards: bool, fmt: Format
) -> dict[str, Any] | None:
    """The projection `apply` makes first (a dry run, or an environment with budgets, which
    refuse with exit 9 here): printed now as text, returned for the JSON. None: none made."""
    config = project_config()
    found = config.environments.get(env or "") if not db else None
    budgets = bool(found and found.budgets and not allow_hazards)
    if not settings.dry_run and not budgets:
        return None
    from ..connect.dburl import mask
    from ..errors import ServerUnavailable
    from ..targets import fleet, planning

    url = config.database_url(db, env) if not (found and found.is_fleet) else ""
    if not url:  # a fleet: its first database stands for it
        url = fleet.targets(config, env or "", None)[0]
        info(f"projecting on {env}'s first database, {mask(url)}, for every database")
    try:
        with working("projecting what each statement will cost there") as progress:
            result = planning.plan(
                scratch_config(), url, env, allow_hazards=allow_hazards,
                lock_timeout=settings.lock_timeout is not None,
                allow_unverified=settings.allow_unverified, progress=progress,
            )  # fmt: skip
    except ServerUnavailable as e:
        if budgets:  # a budget that cannot be checked is not passed
            raise
        info(f"warning: no projection of what the statements cost ({e.message})")
        return None
    if fmt is Format.text and settings.dry_run and result.migrations:
        for line in result.report():
            info(line)
    return result.to_json()


@app.command()
@run_settings_options
def rollback(
    db: DbOpt = None,
    env: EnvOpt = None,
    steps: Annotated[
        Optional[int],
        option("--steps", help="Roll back this many migrations, newest first."),
    ] = None,
    target: Annotated[
        Optional[str],
        option("--target", help="Roll back everything above this version (0: everything)."),
    ] = None,
    settings: RunSettings = None,  # type: ignore[assignment]  # set by run_settings_options
    parallel: ParallelOpt = 4,
    canary: CanaryOpt = 0,
    keep_going: KeepGoingOpt = False,
    shard: ShardOpt = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Run down files newest first (--steps N or --target VERSION), each in one transaction
    (on every database of a fleet environment, --parallel at a time)."""
    return _run_command(
        db,
        env,
        fmt,
        "roll back",
        "rollback_migrations",
        steps=steps,
        target=target,
        environment=env,
        settings=settings,
        fleet={"parallel": parallel, "canary": canary, "keep_going": keep_going, "shard": shard},
    )


@app.command()
def status(
    db: DbOpt = None,
    env: EnvOpt = None,
    parallel: ParallelOpt = 8,
    shard: ShardOpt = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Show every migration's state on a database (a fleet: grouped by version); exit 5 if an
    applied file changed or is gone."""

    from ..targets.status import get_migration_status

    config = project_config()
    if env and config.targets_fleet(db, env):
        from ..targets import fleet
        from .fleet_output import report_status

        urls = fleet.targets(config, env, fleet.parse_shard(shard) if shard else None)
        return report_status(fleet.get_status(config, env, urls, parallel), fmt)
    result = get_migration_status(config, config.database_url(db, env))
    names = {m.version: m.name for m in result.migrations}
    code = int(ExitCode.INTEGRITY) if result.problems else 0
    if fmt is Format.json:
        emit_json(result.to_json())
        return code
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("version", "name", "state", "applied at", "by", "ms"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    styles = {
        "applied": "green",
        "baseline": "green",
        "pending": "yellow",
        "awaiting-contract": "yellow",
        "skipped": "dim",
    }
    for m in result.migrations:
        marks = ("  (python)" if m.kind == "python" else "") + (
            "  (irreversible)" if not m.reversible else ""
        )
        table.add_row(
            f"{m.version:04d}",
            m.name.split("_", 1)[-1] + marks,
            m.state,
            m.applied_at.strftime("%Y-%m-%d %H:%M:%S") if m.applied_at else "",
            m.applied_by or "",
            "" if m.execution_ms is None else str(m.execution_ms),
            style=styles.get(m.state, "red"),
        )
    out_console().print(table)
    for m in result.migrations:
        if m.squashes:
            info(f"{m.squashes} squashed into {m.name}")
        if m.error:
            info(f"{m.name} {m.state}: {m.error}")
    info(
        f"{result.database}: "
        f"{_at(result.current_version, names).removeprefix('is ').removeprefix('has ')}, "
        f"{len(result.pending)} pending"
        + (
            f", {len(result.problems)} problem(s) (see `schemactl apply` for what to do)"
            if result.problems
            else ""
        )
    )
    return code
