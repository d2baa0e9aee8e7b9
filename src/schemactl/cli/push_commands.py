"""`push`: schemas/ onto a development database, without a migration."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import ExitCode
from .app import app
from .shared import (
    DbOpt,
    EnvOpt,
    Format,
    FormatOpt,
    LockWaitOpt,
    emit_json,
    hazard_table,
    hazard_warning,
    info,
    print_sql,
    scratch_config,
    working,
)


@app.command()
def push(
    db: DbOpt = None,
    env: EnvOpt = None,
    allow_destructive: Annotated[
        bool, typer.Option("--allow-destructive", help="Run statements that lose data.")
    ] = False,
    allow_hazards: Annotated[
        bool, typer.Option("--allow-hazards", help="Run despite locks hazard_locks refuses.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the verified SQL; run nothing.")
    ] = False,
    lock_wait: LockWaitOpt = 60.0,
    fmt: FormatOpt = Format.text,
) -> int:
    """Bring a development database to schemas/ without a migration: the SQL is verified on a
    scratch copy of its schema and tried on sample rows first (refused for production = true)."""
    from .. import api

    config = scratch_config()
    url = config.database_url(db, env)
    warnings: list[str] = []
    with working("pushing schemas/ to the database") as progress:
        result = api.push(
            config,
            url,
            environment=env,
            allow_destructive=allow_destructive,
            allow_hazards=allow_hazards,
            dry_run=dry_run,
            lock_wait=lock_wait,
            progress=progress,
            warn=warnings.append,
        )
    result.warnings[:0] = warnings
    if fmt is Format.json:
        emit_json(result.to_json())
        return 0
    for w in result.warnings:
        info(f"warning: {w}")
    if result.status == "no-changes":
        info("no changes: the database matches schemas/")
        return 0
    if dry_run:
        print_sql(result.sql)
    for d in result.destructive + result.may_fail:
        info(hazard_warning(d))
    for line in hazard_table(result.hazards, result.sample_rows):
        info(line)
    info(
        f"{'would push' if dry_run else 'pushed'} to {result.database}: verified on a copy"
        + ("" if dry_run else "; apply and rollback now refuse this database")
    )
    return int(ExitCode.OK)
