"""What `apply`, `rollback` and `status` print for an environment of many databases: a live
line per running database and a bar for the fleet, then one table (fleet.py does the work)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any, Optional

import typer

from .shared import Format, emit_json, err_console, info, option, out_console, state

ParallelOpt = Annotated[
    int, typer.Option("--parallel", help="Databases of a fleet worked on at once.")
]
CanaryOpt = Annotated[
    int,
    typer.Option("--canary", help="Run the first K databases first; the rest only if all succeed."),
]
KeepGoingOpt = Annotated[
    bool,
    typer.Option("--keep-going", help="A failed database does not stop the others starting."),
]
ShardOpt = Annotated[
    Optional[str],
    option(
        "--shard", help="Take the stable K-th of N parts of the fleet (K/N), e.g. for a CI matrix."
    ),
]


@contextlib.contextmanager
def live(fmt: Format, total: int) -> Iterator[Any]:
    """Yield the events callback of fleet.run: on a terminal a bar for the fleet and a line per
    running database, else a line as each database ends."""
    from rich.progress import Progress

    console = err_console()
    quiet = state.quiet or fmt is Format.json
    shown = console.is_terminal and not quiet
    with Progress(console=console, transient=True, disable=not shown) as bars:
        fleet = bars.add_task("databases", total=total)
        running: dict[str, Any] = {}

        def events(event: str, database: str, detail: Any) -> None:
            if event == "start":
                running[database] = bars.add_task(f"  {database}", total=None)
            elif event == "step":
                bars.update(running[database], description=f"  {database}: {detail.name}")
            elif event == "end":
                bars.remove_task(running.pop(database))
                bars.advance(fleet)
                if not shown and not quiet:
                    console.print(_line(detail), markup=False)
            elif event == "stopping" and not quiet:
                console.print(
                    f"stopping: the running databases finish their current migration; {detail} "
                    "not started",
                    markup=False,
                )

        yield events


def _line(d: Any) -> str:
    moved = f"{_at(d.before)} -> {_at(d.after)}"
    return f"{d.status:8} {d.database}  {moved}  ({d.duration_ms} ms)" + (
        f"  {d.error}" if d.error else ""
    )


def _at(version: str | None) -> str:
    return version or "empty"


def report(result: Any, fmt: Format) -> int:
    """The final table (or JSON) of a fleet run; returns its exit code."""
    if fmt is Format.json:
        emit_json(result.to_json())
        return int(result.exit_code)
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("database", "before", "after", "ms", "status", "error"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    styles = {"ok": "green", "not-run": "dim", "stopped": "yellow"}
    for d in result.databases:
        table.add_row(
            d.database,
            "" if d.status == "not-run" else _at(d.before),
            "" if d.status == "not-run" else _at(d.after),
            str(d.duration_ms),
            d.status,
            d.error or "",
            style=styles.get(d.status, "red"),
        )
    out_console().print(table)
    counts = result.to_json()["counts"]
    info(
        f"{result.command} on {len(result.databases)} database(s) of {result.environment}: "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    )
    for waiting in sorted({d.waiting for d in result.databases if d.waiting}):
        info(
            f"{waiting} waits for `apply --contract`: run it once every client runs the new version"
        )
    return int(result.exit_code)


def report_status(result: Any, fmt: Format) -> int:
    """`status` of a fleet: databases grouped by the version they are at."""
    if fmt is Format.json:
        emit_json(result.to_json())
    else:
        for version, databases in sorted(result.by_version.items()):
            out_console().print(f"{version}: {len(databases)} database(s)", markup=False)
        for database, r, error in result.databases:
            if error:
                info(f"{database}: {error}")
            elif r.problems or r.pending:
                what = f"{len(r.pending)} pending" + (
                    f", {len(r.problems)} problem(s)" if r.problems else ""
                )
                info(f"{database}: at {r.current or 'empty'}, {what}")
    if any(r is not None and r.problems for _, r, _ in result.databases):
        return 5  # something blocks apply somewhere
    return 7 if any(e for _, _, e in result.databases) else 0


def report_drift(config: Any, env: str, fmt: Format) -> int:
    """`diff --env` of a fleet: schemas/ loaded once, each database compared with it; the
    databases that need the same SQL are listed together. Exit 1 when any drifts, else 7 when
    any could not be compared."""
    from ..errors import SchemactlError
    from ..targets import fleet
    from ..targets.livediff import drift_many
    from .shared import print_sql, working

    urls = fleet.targets(config, env)
    warnings: list[str] = []
    with working(f"comparing schemas/ with {len(urls)} database(s)") as progress:
        found = drift_many(config, urls, progress=progress, warn=warnings.append)
    warnings = list(dict.fromkeys(warnings))
    drifted = any(not isinstance(r, SchemactlError) and r.sql for _, r in found)
    failed = any(isinstance(r, SchemactlError) for _, r in found)
    code = 1 if drifted else 7 if failed else 0
    if fmt is Format.json:
        emit_json(
            {
                "status": "drift" if drifted else "no-changes",
                "environment": env,
                "warnings": warnings,
                "databases": [
                    {"database": d, "error": r.message}
                    if isinstance(r, SchemactlError)
                    else {"database": d, **r.to_json([])}
                    for d, r in found
                ],
            }
        )
        return code
    for w in warnings:
        info(f"warning: {w}")
    groups: dict[str, list[str]] = {}
    for d, r in found:
        if isinstance(r, SchemactlError):
            info(f"{d}: {r.message}")
        else:
            groups.setdefault(r.sql, []).append(d)
    for sql, databases in groups.items():
        if sql:
            info(f"drift on {len(databases)} database(s): {', '.join(databases)}")
            print_sql(sql)
        else:
            info(f"no changes on {len(databases)} database(s): they match schemas/")
    return code


def run_fleet(
    config: Any, env: str, fmt: Format, function: str, options: dict[str, Any], arguments: Any
) -> int:
    """`apply` or `rollback` (`function`) on every database of environment `env`: the live
    lines, then the table."""
    from ..targets import fleet

    shard = fleet.parse_shard(options["shard"]) if options["shard"] else None
    settings = fleet.FleetSettings(options["parallel"], options["canary"], options["keep_going"])
    urls = fleet.targets(config, env, shard)
    command = "apply" if function == "apply_migrations" else "rollback"
    state.on_interrupt = "every database was left at a migration boundary; run it again"
    with live(fmt, len(urls)) as events:
        result = fleet.run(config, env, urls, command, settings, events, **arguments)
    code = report(result, fmt)
    if result.interrupted:
        info(f"interrupted: {state.on_interrupt}")
    return code
