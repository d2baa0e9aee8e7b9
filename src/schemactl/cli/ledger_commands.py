"""Commands on a database's bookkeeping, never its schema: baseline, repair, history."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .app import app
from .shared import (
    DbOpt,
    EnvOpt,
    Format,
    FormatOpt,
    LockWaitOpt,
    emit_json,
    info,
    option,
    out_console,
    project_config,
    scratch_config,
    state,
    working,
)


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
    from ..targets import bookkeeping

    config = scratch_config()
    url = config.database_url(db, env)
    warnings: list[str] = []
    with working("comparing the database with the migrations' replay"):
        result = bookkeeping.baseline(
            config,
            url,
            version,
            force=force,
            lock_wait=lock_wait,
            warn=warnings.append,
            full_detail=state.verbose > 0,
        )
    if fmt is Format.json:
        emit_json(result.to_json(warnings))
        return 0
    for w in warnings:
        info(f"warning: {w}")
    if result.forced:
        info(f"warning: recorded despite {len(result.differences)} differing line(s) (--force)")
    info(
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
    from ..targets.bookkeeping import repair as run_repair

    config = project_config()
    changes = run_repair(config, config.database_url(db, env), lock_wait=lock_wait)
    if fmt is Format.json:
        emit_json({"changes": changes})
        return 0
    for c in changes:
        info(f"repaired {c}")
    info(f"{len(changes)} change(s) recorded in the history" if changes else "nothing to repair")
    return 0


@app.command()
def history(
    db: DbOpt = None,
    env: EnvOpt = None,
    limit: Annotated[int, typer.Option("--limit", help="Show the newest N entries (0: all).")] = 20,
    version: Annotated[
        Optional[str],
        option("--version", help="Only this migration (e.g. 3 or 0003_add_x)."),
    ] = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Show the audit trail (every apply, rollback, baseline, repair) and a summary per file."""

    from ..errors import UsageError
    from ..targets.history import get_migration_history

    config = project_config()
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
        emit_json(result.to_json())
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
    out_console().print(entries)
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
        out_console().print()
        out_console().print(summary)
    shown = (
        f"the newest {len(result.entries)} of {result.total}"
        if result.total > len(result.entries)
        else str(result.total)
    )
    info(f"{result.database}: {shown} history entr{'y' if result.total == 1 else 'ies'}")
    return 0


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"
