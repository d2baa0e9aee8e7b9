"""CLI commands that work on real databases: apply, rollback, status, baseline, repair.

Registered on the same typer app as the rest (cli.py imports this module at its end).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from .cli import (
    Format,
    FormatOpt,
    _config,
    _err,
    _info,
    _json,
    _out,
    _pg_version,
    _print_sql,
    _state,
    _working,
    app,
)
from .config import Config
from .errors import ExitCode, MigrationFailed

DbOpt = Annotated[
    Optional[str],
    typer.Option(
        "--db",
        help="Target database URL (any libpq URL; password masked in output).",
        show_default=False,
    ),
]
EnvOpt = Annotated[
    Optional[str],
    typer.Option(
        "--env",
        help="Named environment from the config: its URL (unless --db is given) and its name for "
        "`-- schemactl:environments`.",
        envvar="SCHEMACTL_ENV",
        show_default=False,
    ),
]
LockWaitOpt = Annotated[
    float, typer.Option("--lock-wait", help="Seconds to wait for another run's migration lock.")
]
LockTimeoutOpt = Annotated[
    Optional[str],
    typer.Option(
        "--lock-timeout",
        help="PostgreSQL lock_timeout for migration statements, e.g. 5s.",
        show_default=False,
    ),
]
StatementTimeoutOpt = Annotated[
    Optional[str],
    typer.Option(
        "--statement-timeout",
        help="PostgreSQL statement_timeout for migration statements, e.g. 10min.",
        show_default=False,
    ),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Print exactly what would run; change nothing.")
]
AllowUnverifiedOpt = Annotated[
    bool,
    typer.Option(
        "--allow-unverified", help="Run files marked UNVERIFIED too (they are refused with exit 4)."
    ),
]


def _step_json(step: Any) -> dict[str, Any]:
    from dataclasses import asdict

    data = asdict(step)
    if not data["sql"]:
        del data["sql"]
    return data


def _at(current: int | None, names: dict[int, str]) -> str:
    """'is at 0003_x' or 'has no migration applied', to follow 'the database'."""
    return (
        "has no migration applied"
        if current is None
        else f"is at {names.get(current, f'{current:04d}')}"
    )


def _run_command(
    config: Config, fmt: Format, url: str, run: Callable[[Callable[[Any], None]], Any], verb: str
) -> int:
    """Shared output of apply/rollback: a line per step as it completes, or one JSON document."""
    from .dburl import mask
    from .migfiles import list_migrations

    names = {p.version: p.id for p in list_migrations(config.generated, allow_gaps=True)}
    _state.on_interrupt = "the migration in progress was rolled back; see `schemactl status`"

    def on_step(step: Any) -> None:
        if fmt is Format.text and not _state.quiet:
            what = {"applied": "applied", "rolled-back": "rolled back", "skipped": "skipped"}[
                step.status
            ]
            extra = (
                f" ({step.duration_ms} ms)"
                if step.status != "skipped"
                else " (not for this environment)"
            )
            _err().print(f"{what} {step.name}{extra}", markup=False)

    try:
        result = run(on_step)
    except MigrationFailed as e:
        if fmt is Format.json:
            err = e.error
            _json(
                {
                    "ok": False,
                    "database": mask(url),
                    "dry_run": False,
                    "current": names.get(e.current_version) if e.current_version else None,
                    "steps": [_step_json(s) for s in e.completed],
                    "warnings": [],
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
        _json(
            {
                "ok": True,
                "database": result.database,
                "dry_run": result.dry_run,
                "current": result.current,
                "steps": [_step_json(s) for s in result.steps],
                "warnings": result.warnings,
            }
        )
        return 0
    for w in result.warnings:
        _info(f"warning: {w}")
    if result.dry_run:
        for step in result.steps:
            if step.sql:
                how = (
                    "one transaction"
                    if step.transactional
                    else "no transaction, statement by statement"
                )
                _print_sql(f"-- schemactl would run {step.file} ({how}):\n{step.sql.rstrip()}\n\n")
        _info(
            f"dry run on {result.database}: {len(result.steps)} migration(s) would {verb}; "
            f"the database {_at(result.current_version, names)}; nothing was changed"
        )
    elif not result.steps:
        _info(f"nothing to {verb}: the database {_at(result.current_version, names)}")
    else:
        _info(
            f"done: {len(result.steps)} migration(s); the database "
            f"{_at(result.current_version, names)}"
        )
    return 0


@app.command()
def apply(
    db: DbOpt = None,
    env: EnvOpt = None,
    target: Annotated[
        Optional[str],
        typer.Option(
            "--target", help="Apply up to and including this version.", show_default=False
        ),
    ] = None,
    dry_run: DryRunOpt = False,
    allow_out_of_order: Annotated[
        bool,
        typer.Option(
            "--allow-out-of-order",
            help="Apply pending migrations numbered below the current version.",
        ),
    ] = False,
    allow_unverified: AllowUnverifiedOpt = False,
    lock_wait: LockWaitOpt = 60.0,
    lock_timeout: LockTimeoutOpt = None,
    statement_timeout: StatementTimeoutOpt = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Apply pending migrations in order, each with its bookkeeping in one transaction."""
    from . import runner

    config = _config()
    url = config.database_url(db, env)
    return _run_command(
        config,
        fmt,
        url,
        lambda on_step: runner.apply_migrations(
            config,
            url,
            target=target,
            environment=env,
            dry_run=dry_run,
            allow_out_of_order=allow_out_of_order,
            allow_unverified=allow_unverified,
            lock_wait=lock_wait,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
            on_step=on_step,
        ),
        "apply",
    )


@app.command()
def rollback(
    db: DbOpt = None,
    env: EnvOpt = None,
    steps: Annotated[
        Optional[int],
        typer.Option(
            "--steps", help="Roll back this many migrations, newest first.", show_default=False
        ),
    ] = None,
    target: Annotated[
        Optional[str],
        typer.Option(
            "--target",
            help="Roll back everything above this version (0: everything).",
            show_default=False,
        ),
    ] = None,
    dry_run: DryRunOpt = False,
    allow_unverified: AllowUnverifiedOpt = False,
    lock_wait: LockWaitOpt = 60.0,
    lock_timeout: LockTimeoutOpt = None,
    statement_timeout: StatementTimeoutOpt = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Run down files newest first (--steps N or --target VERSION), each in one transaction."""
    from . import runner

    config = _config()
    url = config.database_url(db, env)
    return _run_command(
        config,
        fmt,
        url,
        lambda on_step: runner.rollback_migrations(
            config,
            url,
            steps=steps,
            target=target,
            dry_run=dry_run,
            allow_unverified=allow_unverified,
            lock_wait=lock_wait,
            lock_timeout=lock_timeout,
            statement_timeout=statement_timeout,
            on_step=on_step,
        ),
        "roll back",
    )


@app.command()
def status(db: DbOpt = None, env: EnvOpt = None, fmt: FormatOpt = Format.text) -> int:
    """Show every migration's state on a database; exit 5 if an applied file changed or is gone."""
    from dataclasses import asdict

    from .status import get_migration_status

    config = _config()
    result = get_migration_status(config, config.database_url(db, env))
    names = {m.version: m.name for m in result.migrations}
    code = int(ExitCode.INTEGRITY) if result.problems else 0
    if fmt is Format.json:
        _json(
            {
                "database": result.database,
                "current": result.current,
                "pending": len(result.pending),
                "ok": not result.problems,
                "migrations": [asdict(m) for m in result.migrations],
            }
        )
        return code
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("version", "name", "state", "applied at", "by", "ms"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    styles = {"applied": "green", "baseline": "green", "pending": "yellow", "skipped": "dim"}
    for m in result.migrations:
        table.add_row(
            f"{m.version:04d}",
            m.name.split("_", 1)[-1],
            m.state,
            m.applied_at.strftime("%Y-%m-%d %H:%M:%S") if m.applied_at else "",
            m.applied_by or "",
            "" if m.execution_ms is None else str(m.execution_ms),
            style=styles.get(m.state, "red"),
        )
    _out().print(table)
    for m in result.migrations:
        if m.error:
            _info(f"{m.name} {m.state}: {m.error}")
    _info(
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


@app.command()
def baseline(
    version: Annotated[
        str, typer.Option("--version", help="The version the existing database is at.")
    ],
    db: DbOpt = None,
    env: EnvOpt = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Record even if the live schema differs from the replay."),
    ] = False,
    lock_wait: LockWaitOpt = 60.0,
    fmt: FormatOpt = Format.text,
) -> int:
    """Adopt an existing database: record 0001..VERSION as applied once its schema matches."""
    from . import bookkeeping

    config = _config()
    url = config.database_url(db, env)
    warnings: list[str] = []
    with _working("comparing the database with the migrations' replay"):
        result = bookkeeping.baseline(
            config,
            url,
            version,
            force=force,
            lock_wait=lock_wait,
            dev_url=_state.dev_url,
            pg_version=_pg_version(config),
            warn=warnings.append,
            full_detail=_state.verbose > 0,
        )
    if fmt is Format.json:
        _json(
            {
                "recorded": result.recorded,
                "forced": result.forced,
                "differences": result.differences,
                "warnings": warnings,
            }
        )
        return 0
    for w in warnings:
        _info(f"warning: {w}")
    if result.forced:
        _info(f"warning: recorded despite {len(result.differences)} differing line(s) (--force)")
    _info(
        f"baseline: recorded {len(result.recorded)} migration(s) as applied, up to "
        f"{result.recorded[-1]}"
    )
    return 0


@app.command()
def repair(
    db: DbOpt = None,
    env: EnvOpt = None,
    lock_wait: LockWaitOpt = 60.0,
    fmt: FormatOpt = Format.text,
) -> int:
    """Re-record checksums after a deliberate edit of applied files; clear partial runs (logged)."""
    from .bookkeeping import repair as run_repair

    config = _config()
    changes = run_repair(config, config.database_url(db, env), lock_wait=lock_wait)
    if fmt is Format.json:
        _json({"changes": changes})
        return 0
    for c in changes:
        _info(f"repaired {c}")
    _info(f"{len(changes)} change(s) recorded in the history" if changes else "nothing to repair")
    return 0


@app.command()
def renumber(
    names: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Pairs to move after the others (NNNN_slug or slug); default: this branch's pairs "
            "that clash with the other branch's.",
            show_default=False,
        ),
    ] = None,
    theirs: Annotated[
        Optional[str],
        typer.Option(
            "--theirs",
            help="The other branch's commit (default: MERGE_HEAD, during a merge).",
            show_default=False,
        ),
    ] = None,
    db: Annotated[
        Optional[str],
        typer.Option(
            "--db", help="Refuse to move pairs applied to this database.", show_default=False
        ),
    ] = None,
    env: EnvOpt = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """After a merge, move this branch's new pairs after the other branch's; rewrite headers
    and schemactl.sum."""
    import os

    from .renumber import renumber as run_renumber

    config = _config()
    checked = (
        db or env or os.environ.get("SCHEMACTL_DATABASE_URL") or os.environ.get("DATABASE_URL")
    )
    moves = run_renumber(
        config,
        names or [],
        theirs=theirs,
        database=config.database_url(db, env) if checked else None,
    )
    if fmt is Format.json:
        _json({"moved": [{"from": m.old, "to": m.new} for m in moves]})
        return 0
    for m in moves:
        _info(f"renumbered {m.old} -> {m.new}")
    if not moves:
        _info("nothing to renumber: no two pairs share a version")
        return 0
    if not checked:
        _info(
            "note: no database given (--db/--env): make sure the moved pairs were applied nowhere"
        )
    _info(
        "rewrote generated/schemactl.sum; the moved pairs now run last: run `schemactl check "
        "--verify`"
    )
    return 0


@app.command()
def history(
    db: DbOpt = None,
    env: EnvOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="Show the newest N entries (0: all).")] = 20,
    version: Annotated[
        Optional[str],
        typer.Option(
            "--version", help="Only this migration (e.g. 3 or 0003_add_x).", show_default=False
        ),
    ] = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Show the audit trail (every apply, rollback, baseline, repair) and a summary per file."""
    from dataclasses import asdict

    from .errors import UsageError
    from .history import get_migration_history

    config = _config()
    digits = (version or "").split("_", 1)[0]
    if version is not None and not digits.isdigit():
        raise UsageError(
            f"--version {version!r} is not a migration version",
            hint="use the number, e.g. 3 or 0003",
        )
    if limit < 0:
        raise UsageError(f"--limit {limit}: must be 0 (all) or more")
    result = get_migration_history(
        config,
        config.database_url(db, env),
        limit=limit or None,
        version=int(digits) if version is not None else None,
    )
    if fmt is Format.json:
        _json(
            {
                "database": result.database,
                "total": result.total,
                "entries": [asdict(e) for e in result.entries],
                "summary": [asdict(m) for m in result.summary],
            }
        )
        return 0
    from rich.table import Table

    entries = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("id", "at", "action", "migration", "status", "ms", "by", "error"):
        entries.add_column(column, justify="right" if column in ("id", "ms") else "left")
    for e in result.entries:
        entries.add_row(
            str(e.id),
            e.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            e.action,
            e.name or "",
            e.status,
            str(e.duration_ms),
            e.performed_by,
            e.error or "",
            style=None if e.status in ("ok", "skipped") else "red",
        )
    _out().print(entries)
    if result.summary:
        summary = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("migration", "runs", "failures", "last ms", "mean ms", "max ms", "last run"):
            summary.add_column(
                column, justify="left" if column in ("migration", "last run") else "right"
            )
        for m in result.summary:
            summary.add_row(
                m.name,
                str(m.runs),
                str(m.failures),
                _ms(m.last_ms),
                _ms(m.mean_ms),
                _ms(m.max_ms),
                m.last_at.strftime("%Y-%m-%d %H:%M:%S"),
                style="red" if m.failures else None,
            )
        _out().print()
        _out().print(summary)
    shown = (
        f"the newest {len(result.entries)} of {result.total}"
        if result.total > len(result.entries)
        else str(result.total)
    )
    _info(f"{result.database}: {shown} history entr{'y' if result.total == 1 else 'ies'}")
    return 0


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"
