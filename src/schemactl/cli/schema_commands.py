"""Commands on the project's DDL and migrations, through scratch databases: diff, check,
verify, generate-models."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from ..errors import ExitCode
from .app import app
from .shared import (
    Format,
    FormatOpt,
    emit_json,
    err_console,
    hazard_table,
    hazard_warning,
    info,
    option,
    print_error,
    print_sql,
    rel_path,
    scratch_config,
    working,
)


@app.command()
def diff(
    message: Annotated[
        Optional[str],
        typer.Option("--message", "-m", help='Name of the migration, e.g. "add sample table".'),
    ] = None,
    allow_destructive: Annotated[
        bool,
        typer.Option(
            "--allow-destructive", help="Write the migration even if it drops or rewrites data."
        ),
    ] = False,
    allow_hazards: Annotated[
        bool,
        typer.Option(
            "--allow-hazards",
            help="Write the migration even if it takes a lock hazard_locks does not allow.",
        ),
    ] = False,
    online: Annotated[
        Optional[bool],
        typer.Option(
            "--online/--no-online",
            help="Write an online plan: indexes built CONCURRENTLY, constraints validated in a "
            "transaction of their own, lock_timeout on every part (default: the config's "
            "`online`).",
            show_default=False,
        ),
    ] = None,
    expand_contract: Annotated[
        Optional[bool],
        typer.Option(
            "--expand-contract/--no-expand-contract",
            help="Write a change that would break running clients (a rename, a rewriting type "
            "change, a NOT NULL column, a dropped column) as an expand pair and a contract "
            "pair that `apply` runs only with --contract (default: the config's "
            "`expand_contract`).",
            show_default=False,
        ),
    ] = None,
    print_only: Annotated[
        bool, typer.Option("--print", help="Show the SQL (verified) without writing files.")
    ] = False,
    db: Annotated[
        Optional[str],
        typer.Option(
            "--db", help="Show the SQL that brings this live database to schemas/ (writes nothing)."
        ),
    ] = None,
    env: Annotated[
        Optional[str],
        typer.Option("--env", help="Like --db, with the URL of a configured environment."),
    ] = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Generate the next verified up/down migration from the DDL in schemas/."""
    from .. import api

    config = scratch_config()
    if env and config.targets_fleet(db, env):
        from .fleet_output import report_drift

        return report_drift(config, env, fmt)
    if db or env:
        url = db or config.environment_url(env or "")
        warnings: list[str] = []
        with working("comparing schemas/ with the database") as progress:
            found = api.drift(
                config,
                url,
                progress=progress,
                warn=warnings.append,
            )
        code = int(ExitCode.FINDINGS) if found.sql else 0  # drift is a finding, as in `check`
        costs = None
        if found.sql:  # what that SQL would cost there, as `plan` says it
            from ..targets.planning import drift_costs

            with working("projecting what each statement would cost there"):
                costs = drift_costs(config, url, found.sql, env)
        if fmt is Format.json:
            extra = {"costs": costs.to_json()} if costs else {}
            emit_json({**found.to_json(warnings), **extra})
            return code
        for w in warnings:
            info(f"warning: {w}")
        if found.sql:
            print_sql(found.sql)
            for d in found.destructive:
                info(hazard_warning(d))
            for line in costs.report() if costs else []:
                info(line)
            info("drift: the database differs from schemas/ (the SQL above would bring it there)")
        else:
            info("no changes: the database matches schemas/")
        return code
    with working("generating migration") as progress:
        result = api.diff(
            config,
            message,
            allow_destructive=allow_destructive,
            allow_hazards=allow_hazards,
            online=online,
            expand_contract=expand_contract,
            print_only=print_only,
            progress=progress,
        )
    code = 0 if result.verified else int(ExitCode.UNVERIFIED)
    if fmt is Format.json:
        emit_json(result.to_json(config.root))
        return code
    for w in result.warnings:
        info(f"warning: {w}")
    if result.status == "no-changes":
        if result.verified:
            info("no changes: the migrations already produce schemas/")
            return 0
        print_error(
            "migra found no changes, but the migrations and schemas/ still differ:",
            "write this change by hand with `schemactl new -m NAME`",
            detail=result.problems,
        )
        return code
    for line in result.plan:
        info(f"expand/contract: {line}")
    if result.status == "printed":
        print_sql("-- up\n" + result.up_sql + "\n-- down\n" + result.down_sql)
        if result.contract_up_sql:
            sql = result.contract_up_sql + "\n-- contract down\n" + result.contract_down_sql
            print_sql("-- contract up\n" + sql)
    else:
        paths = [
            result.up_path,
            result.down_path,
            result.contract_up_path,
            result.contract_down_path,
        ]
        for path in paths:
            if path is not None:
                info(f"wrote {rel_path(config, path)}")
        if result.contract_version:
            info(
                f"{result.contract_version} waits for `apply --contract`: run it once every "
                "client runs the new version"
            )
    for d in [*result.destructive, *result.may_fail]:
        info(hazard_warning(d))
    for line in hazard_table(result.hazards, result.sample_rows):
        info(line)
    if not result.verified:
        print_error(
            "the migration could not be verified"
            + (" (files marked UNVERIFIED)" if result.status == "written" else ""),
            "review the SQL and fix it by hand; then `schemactl verify`",
            detail=result.problems,
        )
    elif result.status == "written":
        again = " (by an earlier run on these same files)" if result.reused else ""
        info(f"verified: up reaches schemas/, down returns to the previous state{again}")
    return code


@app.command()
def verify(
    versions: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Versions to verify (e.g. 3 or 0003_add_x); all when none is given.",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Verify pairs again (up runs, down undoes it, the newest reaches schemas/); rewrite
    their headers and schemactl.sum."""
    from ..verification.reverify import verify_pairs

    config = scratch_config()
    with working("verifying") as progress:
        result = verify_pairs(
            config,
            versions or [],
            progress=progress,
        )
    code = 0 if result.ok else int(ExitCode.UNVERIFIED)
    if fmt is Format.json:
        emit_json(result.to_json())
        return code
    for r in result.pairs:
        if r.verified:
            said = " (a Python migration: nothing written)" if r.python else ""
            info(
                f"verified {r.name}"
                + (said or ("" if r.rewritten else " (header already said so)"))
            )
        else:
            marked = "" if r.python else " (marked UNVERIFIED)"
            print_error(f"{r.name} does not verify{marked}", None, r.problems)
        for line in hazard_table(r.hazards, r.sample_rows):
            info(line)
    for note in result.notes:
        info(f"note: {note}")
    if any(r.rewritten for r in result.pairs):
        info("rewrote the changed headers and generated/schemactl.sum")
    if not result.ok:
        info(
            "hint: fix the pair by hand (its header lists what differs), then run `schemactl "
            "verify` again"
        )
    return code


@app.command()
def check(
    no_models: Annotated[
        bool, typer.Option("--no-models", help="Do not compare the models file.")
    ] = False,
    verify_pairs: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="First verify again the pairs changed since their last verification (as "
            "`schemactl verify`).",
        ),
    ] = False,
    fmt: FormatOpt = Format.text,
) -> int:
    """Exit 0 when the migrations reproduce schemas/ and match schemactl.sum; else list why."""
    from .. import api

    config = scratch_config()
    with working("checking") as progress:
        result = api.check(
            config,
            models=not no_models,
            verify_pairs=verify_pairs,
            progress=progress,
        )
    if fmt is Format.json:
        emit_json(result.to_json())
    else:
        for note in result.notes:
            info(f"note: {note}")
        for w in result.warnings:
            info(f"warning: {w}")
        for f in result.findings:
            err_console().print(f"finding: {f.message}", markup=False)
            for line in f.detail:
                err_console().print(f"  {line}", markup=False)
        if result.pending_sql:
            info("pending SQL (run `schemactl diff -m NAME` to turn it into a migration):")
            print_sql(result.pending_sql)
        if result.ok:
            if result.models_checked:
                info(
                    f"ok: migrations, schemas/, schemactl.sum and {config.rel(config.models)} agree"
                )
            else:
                info("ok: migrations, schemas/ and schemactl.sum agree")
    return 0 if result.ok else int(ExitCode.FINDINGS)


class Generator(str, Enum):
    declarative = "declarative"
    dataclasses = "dataclasses"
    tables = "tables"
    sqlmodels = "sqlmodels"


@app.command("generate-models")
def generate_models(
    generator: Annotated[
        Optional[Generator],
        option(
            "--generator",
            help="sqlacodegen generator (default: models_generator, else declarative).",
        ),
    ] = None,
    schema: Annotated[
        Optional[list[str]],
        option("--schema", help="Only this schema (repeatable; default: all that diff looks at)."),
    ] = None,
    exclude_table: Annotated[
        Optional[list[str]],
        option(
            "--exclude-table",
            help="Leave out this table or view, as name or schema.name (repeatable).",
        ),
    ] = None,
    views: Annotated[
        Optional[bool],
        option("--views/--no-views", help="Generate models for views too."),
    ] = None,
    option: Annotated[
        Optional[list[str]],
        option("--option", help="sqlacodegen generator option, e.g. use_inflect (repeatable)."),
    ] = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Write SQLAlchemy models for the DDL in schemas/ (sqlacodegen) to the models file."""
    from dataclasses import replace

    from .. import api

    config = scratch_config()
    base = config.model_settings
    settings = replace(
        base,
        generator=generator.value if generator else base.generator,
        schemas=tuple(schema) if schema else base.schemas,
        exclude_tables=tuple(exclude_table) if exclude_table else base.exclude_tables,
        views=base.views if views is None else views,
        options=tuple(option) if option else base.options,
    )
    with working("generating models") as progress:
        result = api.generate_models(
            config,
            settings=settings,
            progress=progress,
        )
    rel = config.rel(result.path)
    if fmt is Format.json:
        emit_json(result.to_json(config.root))
        return 0
    for w in result.warnings:
        info(f"warning: {w}")
    info(f"wrote {rel}" if result.changed else f"{rel} is up to date")
    if settings != base:
        info(
            "note: `schemactl check` compares with the settings in the config; put lasting choices "
            "there"
        )
    return 0
