"""`plan`: what the pending migrations will cost on a database, before anything runs."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import app
from .shared import DbOpt, EnvOpt, Format, FormatOpt, emit_json, info, scratch_config, working


@app.command()
def plan(
    db: DbOpt = None,
    env: EnvOpt = None,
    allow_hazards: Annotated[
        bool,
        typer.Option("--allow-hazards", help="Report even what the environment's budgets refuse."),
    ] = False,
    fmt: FormatOpt = Format.text,
) -> int:
    """Show what each pending migration will cost on a database: per statement the table, its
    size, the lock, the projected duration and what it blocks (the database is only read);
    exit 9 when a projection exceeds the environment's budgets."""
    from ..targets import planning

    config = scratch_config()
    url = config.database_url(db, env)
    with working("planning") as progress:
        result = planning.plan(config, url, env, allow_hazards=allow_hazards, progress=progress)
    if fmt is Format.json:
        emit_json(result.to_json())
        return 0
    for note in result.notes:
        info(f"note: {note}")
    if not result.migrations:
        info(f"nothing pending on {result.database}")
        return 0
    for line in result.report():
        info(line)
    return 0
