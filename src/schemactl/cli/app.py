"""The typer app, its global options, and `main`: errors from the library are caught in one
place and printed as `error:` / `hint:` lines with the exit code they carry. Set
SCHEMACTL_DEBUG=1 to see tracebacks instead."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.exceptions import TyperException

from ..errors import ExitCode, Interrupted, MigrationFailed, SchemactlError, SQLFileError
from ..project import envvars
from ..version import __version__
from .shared import (
    err_console,
    print_error,
    state,
)

app = typer.Typer(
    name="schemactl",
    help="Hand-written PostgreSQL DDL as the single source of truth: verified migrations, "
    "models and drift checks.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


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
            envvar=envvars.DEV_URL,
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
    state.project, state.pg_version, state.dev_url = project, pg_version, dev_url
    state.verbose, state.quiet = verbose, quiet


def _on_signal(signum: int, frame: Any) -> None:
    # Raised instead of KeyboardInterrupt, which typer turns into a silent exit.
    raise Interrupted(signum)


def main() -> None:
    """Entry point of the `schemactl` command."""
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    from . import params, terminal

    terminal.install()
    params.install()
    debug = envvars.debug()
    try:
        code = app(standalone_mode=False)
    except typer.Exit as e:
        code = e.exit_code
    except TyperException as e:  # usage errors from option parsing
        message = e.format_message()
        hint = "run `schemactl --help` (or `schemactl COMMAND --help`)"
        if "unexpected extra argument" in message and "=" in message:
            hint = (
                "quote a key=value connection string as one argument: --db 'host=… dbname=…' "
                "(a password is better kept in PGPASSWORD or ~/.pgpass)"
            )
        print_error(message, hint)
        code = getattr(e, "exit_code", int(ExitCode.USAGE))
    except Interrupted as e:
        err_console().print(f"interrupted: {state.on_interrupt}", markup=False)
        code = e.exit_code
    except SchemactlError as e:
        if debug:
            raise
        source = e.error if isinstance(e, MigrationFailed) else e
        print_error(
            e.message, e.hint, e.detail, source if isinstance(source, SQLFileError) else None
        )
        code = int(e.exit_code)
    except Exception as e:  # a bug: say so in one line, no traceback unless debugging
        if debug:
            raise
        print_error(
            f"internal error: {type(e).__name__}: "
            f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}",
            "this is a bug in schemactl; rerun with SCHEMACTL_DEBUG=1 for details and report it",
        )
        code = int(ExitCode.INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
