"""What every command module uses: the global options' state, the consoles, progress, the
`error:` / `hint:` printer, and the option types several commands share."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..errors import SQLFileError
from ..project import envvars
from ..project.config import Config

if TYPE_CHECKING:
    from rich.console import Console


@dataclass
class State:
    project: Path | None = None
    pg_version: int | None = None
    dev_url: str | None = None
    verbose: int = 0
    quiet: bool = False
    # What Ctrl-C leaves behind, said after "interrupted:" (commands that touch a real
    # database replace it).
    on_interrupt: str = "stopped the temporary server and removed its files"


state = State()


def err_console() -> Console:
    return _console(sys.stderr, soft_wrap=True)


def out_console() -> Console:
    return _console(sys.stdout)


# A CI log or a pipe has no width: rich's 80 columns there cut URLs, names and timestamps in
# tables (a fleet's databases all read `postgresql://pos…`). Lines go out whole instead.
_UNBOUNDED = 100_000


def _console(stream: Any, soft_wrap: bool = False) -> Console:
    from rich.console import Console

    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a real file
        terminal = False
    width = None if terminal else _UNBOUNDED
    return Console(stderr=stream is sys.stderr, highlight=False, soft_wrap=soft_wrap, width=width)


def project_config() -> Config:
    from ..project.config import load_config

    return load_config(state.project).with_overrides(state.dev_url, state.pg_version)


@contextlib.contextmanager
def working(message: str) -> Iterator[Callable[[str], None]]:
    """Show a spinner on a terminal (or lines with -v) and yield a progress callback."""
    console = err_console()
    if state.quiet or not console.is_terminal:
        yield (
            (lambda m: console.print(f"… {m}", markup=False)) if state.verbose else (lambda m: None)
        )
        return
    with console.status(message) as status:

        def update(m: str) -> None:
            if state.verbose:
                console.print(f"… {m}", markup=False)
            status.update(m)

        yield update


def info(message: str) -> None:
    if not state.quiet:
        err_console().print(message, markup=False)


def scratch_config() -> Config:
    """The project's configuration for commands that use scratch databases: `--dev-url` and
    `--pg-version` applied, and `pg_version = "auto"` asked here, once (an environment that
    cannot be asked is named in a warning, and discovery's default applies)."""
    from ..project.config import AUTO
    from ..scratch import pgversion

    config = project_config()
    if config.pg_version == AUTO:
        major = pgversion.wanted(config, None, warn=lambda m: info(f"warning: {m}"))
        config = replace(config, pg_version=major)
    return config


def print_sql(sql: str) -> None:
    console = out_console()
    if console.is_terminal:
        from rich.syntax import Syntax

        console.print(Syntax(sql, "sql", theme="ansi_dark", background_color="default"))
    else:
        sys.stdout.write(sql)
        sys.stdout.flush()


def option(*flags: str, help: str, **settings: Any) -> Any:
    """A typer option whose default the help text does not show (it says it in words)."""
    return typer.Option(*flags, help=help, show_default=False, **settings)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def rel_path(config: Config, p: Path | None) -> str | None:
    return None if p is None else config.rel(p)


class Format(str, Enum):
    text = "text"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", help="Output format.")]


def print_error(
    message: str,
    hint: str | None = None,
    detail: list[str] | None = None,
    source: SQLFileError | None = None,
) -> None:
    from ..connect.dburl import mask_text  # no secret is printed, whatever the error quotes

    console = err_console()
    console.print(f"[bold red]error:[/bold red] {escape(mask_text(message))}")
    if source is not None and source.source_line is not None and source.line is not None:
        console.print(f"  {source.line:>4} | {source.source_line}", markup=False)
        if source.column:
            console.print("       | " + " " * (source.column - 1) + "^", markup=False)
    for line in detail or []:
        console.print(f"  {mask_text(line)}", markup=False)
    if hint:
        console.print(f"[bold]hint:[/bold] {escape(mask_text(hint))}")


def escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def hazard_table(hazards: list[Any], sample_rows: int) -> list[str]:
    """What trying a pair on sample rows measured, one line per finding, columns aligned."""
    if not hazards:
        return []
    rows = [(h.direction, h.kind, h.relation or "", h.lock or "") for h in hazards]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"measured on {sample_rows} sample rows:"]
    for r, h in zip(rows, hazards, strict=True):
        head = "  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True))
        # a terminal's line holds a statement's start; a CI log keeps all of it
        room = max(100 - len(head) - 2, 30) if sys.stderr.isatty() else len(h.statement)
        statement = h.statement if len(h.statement) <= room else h.statement[: room - 1] + "…"
        held = f" (ran {h.held_ms} ms on the sample rows)" if h.held_ms is not None else ""
        lines += [f"{head}  {statement}", f"    {h.detail}{held}"]
        if h.fix:
            lines.append(f"    fix: {h.fix}")
    return lines


def hazard_warning(d: Any) -> str:
    return f"warning: {d.reason}" + ("" if d.loses_data else " (then nothing is changed)")


DbOpt = Annotated[
    Optional[str],
    option("--db", help="Target database URL (any libpq URL; password masked in output)."),
]


EnvOpt = Annotated[
    Optional[str],
    option(
        "--env",
        help="Named environment from the config: its URL (unless --db is given) and its name for "
        "`-- schemactl:environments`.",
        envvar=envvars.ENV,
    ),
]


LockWaitOpt = Annotated[
    float, typer.Option("--lock-wait", help="Seconds to wait for another run's migration lock.")
]


# The options `apply` and `rollback` share, in the order --help lists them: each command
# declares `settings: RunSettings` where they belong and `run_settings_options` puts them there.
_RUN_OPTIONS = (
    ("dry_run", bool, False, "--dry-run", "Print exactly what would run; change nothing."),
    (
        "allow_unverified",
        bool,
        False,
        "--allow-unverified",
        "Run files marked UNVERIFIED too (they are refused with exit 4).",
    ),
    ("lock_wait", float, 60.0, "--lock-wait", "Seconds to wait for another run's migration lock."),
    (
        "lock_timeout",
        Optional[str],
        None,
        "--lock-timeout",
        "PostgreSQL lock_timeout for migration statements, e.g. 5s.",
    ),
    (
        "statement_timeout",
        Optional[str],
        None,
        "--statement-timeout",
        "PostgreSQL statement_timeout for migration statements, e.g. 10min.",
    ),
    (
        "retry_on_lock",
        int,
        0,
        "--retry-on-lock",
        "Run a part that hit lock_timeout again, up to N times, after 1 s, 2 s, 4 s … "
        "(at most 30 s).",
    ),
)


def run_settings_options(command: Callable[..., int]) -> Callable[..., int]:
    """Give `command` the shared run options in place of its `settings` parameter, and call it
    with them as one `runner.RunSettings` (typer reads the signature this sets)."""
    names = [name for name, *_ in _RUN_OPTIONS]

    @functools.wraps(command)
    def with_settings(**kwargs: Any) -> int:
        from ..targets.runner import RunSettings  # loaded when a command runs, not for --help

        settings = RunSettings(**{n: kwargs.pop(n) for n in names})
        return command(**kwargs, settings=settings)

    # The command's own annotations, evaluated as typer would (`settings` names a type the
    # CLI imports only for type checking, so it is left out before evaluation).
    hints = {
        name: eval(hint, command.__globals__) if isinstance(hint, str) else hint
        for name, hint in command.__annotations__.items()
        if name not in ("settings", "return")
    }
    params = []  # all keyword-only: typer passes every option by name
    for p in inspect.signature(command).parameters.values():
        if p.name != "settings":
            params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints[p.name]))
            continue
        params += [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=default,
                # a flag or a number says its default in --help; a text option says it in words
                annotation=Annotated[
                    kind, (typer.Option if default is not None else option)(flag, help=help)
                ],
            )
            for name, kind, default, flag, help in _RUN_OPTIONS
        ]
    with_settings.__annotations__ = {p.name: p.annotation for p in params}
    with_settings.__signature__ = inspect.Signature(params, return_annotation=int)  # type: ignore[attr-defined]
    return with_settings
