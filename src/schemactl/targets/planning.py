"""`schemactl plan` (and `apply` with budgets): what the pending migrations of a target will
cost there, before anything runs on it.

The target is only read: its ledger (which migrations are pending), the sizes, row estimates
and write rates of the relations the migrations touch, and its settings; never a row. On a
scratch server the history up to the first pending migration is replayed, each pending SQL
migration is tried on sample rows (which statement rewrites, builds, scans or locks what,
measured as `diff` measures it) and run; the rates this machine's build rewrites, builds and
scans at are calibrated once (scratch/calibrate.py). cost.py projects each measured
statement to the target's sizes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..connect import dburl
from ..engine.catalog import query
from ..project import headers
from ..project.config import Config
from ..project.sqlfiles import SQLFile
from ..scratch import calibrate, pgbinaries, sandbox
from ..verification import data
from . import cost, ledger, session
from .status import RUNNABLE, read_files, states


@dataclass
class PlanResult:
    """The pending migrations of a database and what each statement will cost there."""

    database: str  # masked
    migrations: list[cost.MigrationCost]
    assumption: str  # what the rates were measured on
    cost_factor: float
    target_settings: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "migrations": [m.to_json() for m in self.migrations],
            "assumption": self.assumption,
            "cost_factor": self.cost_factor,
            "target_settings": self.target_settings,
            "notes": self.notes,
        }

    def report(self) -> list[str]:
        """For people: a table per migration (statement, table, size, lock, projected
        duration, what it blocks, the lock queue), then what the projections assume."""
        out: list[str] = []
        for m in self.migrations:
            out.append(f"{m.name}:")
            if not m.statements:
                out.append("  nothing measured rewrites, builds, scans or locks an existing table")
            for s in m.statements:
                size = (
                    f"{_bytes(s.size.heap_bytes + s.size.index_bytes)}, {s.size.rows:,} rows"
                    if s.size
                    else "size unknown"
                )
                out.append(
                    f"  {s.kind:<15} {s.table or '':<24} {size:<26} {s.lock or '':<24} "
                    f"≈ {cost.seconds(s.projected_seconds):<10} blocks {s.blocks}"
                )
                out.append(f"    {s.statement[:160]}")
                if s.queue:
                    out.append(f"    lock queue: {s.queue}")
        factor = f"; cost_factor {self.cost_factor:g}" if self.cost_factor != 1 else ""
        out.append(f"projected from {self.assumption}{factor}")
        if self.target_settings:
            said = ", ".join(f"{k}={v}" for k, v in sorted(self.target_settings.items()))
            out.append(f"the target runs with {said}")
        return out


def plan(
    config: Config,
    database: str,
    environment: str | None = None,
    *,
    allow_hazards: bool = False,
    lock_timeout: bool = False,
    allow_unverified: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> PlanResult:
    """What each pending migration of `database` will cost there (nothing run on it); over a
    budget of `environment` is HazardRefused (exit 9) unless `allow_hazards`. `lock_timeout`:
    the run will set one for the session (--lock-timeout); without `allow_unverified`, a
    pending file marked UNVERIFIED is refused first, as `apply` refuses it."""
    files = read_files(config)
    with session.open_session(database, "plan", config.tracking_schema) as conn:
        led = ledger.read(conn, config.tracking_schema)
    pending = [files[m.version] for m in states(files, led, config) if m.state in RUNNABLE]
    if not allow_unverified:
        headers.refuse_unverified(config.rel, [f.pair.up for f in pending if not f.python])
    env = config.environments.get(environment or "")
    factor = env.cost_factor if env else 1.0
    result = PlanResult(dburl.mask(database), [], "", factor)
    if not pending:
        return result
    measured: dict[str, list[Any]] = {}
    with sandbox.sandbox(config) as box:
        binaries = _binaries(box)
        db = box.create_database("plan")
        progress(f"replaying the history, then trying {len(pending)} pending migration(s)")
        for f in (f for v, f in sorted(files.items()) if v < pending[0].version):
            if error := sandbox.run_migration(box, db, f.up_script):
                result.notes.append(f"the history fails before the pending migrations: {error}")
                return result
        for f in pending:
            if f.python:
                result.notes.append(
                    f"{f.name} is a Python migration: its statements are not measured"
                )
            elif config.data_check:
                copy = box.copy_database(db, "data")
                measured[f.name] = data.try_with_rows(
                    box, copy, f.up.text, f.down.text, config
                ).hazards
            if error := sandbox.run_migration(box, db, f.up_script):
                result.notes.append(f"{f.name} fails on the scratch server: {error}")
                break
    progress("calibrating with the target's settings (once per server build and settings)")
    pieces = [(f.name, f.up, measured.get(f.name, [])) for f in pending]
    _project(result, config, database, binaries, pieces, lock_timeout)
    if env and env.budgets and not allow_hazards:
        cost.refuse_over_budget(result.migrations, dict(env.budgets), f"environments.{env.name}")
    return result


def drift_costs(
    config: Config, database: str, sql: str, environment: str | None = None
) -> PlanResult:
    """What running `sql` (the drift `diff --db` prints) on `database` would cost there: its
    schema (pg_dump) loaded on a scratch server and the statements tried on sample rows, then
    projected to its sizes, as for pending migrations."""
    from ..verification import steps

    env = config.environments.get(environment or "")
    result = PlanResult(dburl.mask(database), [], "", env.cost_factor if env else 1.0)
    with session.open_session(database, "diff", config.tracking_schema) as conn:
        major = conn.server_version // 10000
    dump = steps.live_dump(config, database, major)
    with sandbox.sandbox(config) as box:
        binaries = _binaries(box)
        report = data.try_with_rows(box, steps.load_live(box, dump), sql, "", config)
    f = SQLFile(Path("drift"), "the drift SQL", sql)
    _project(result, config, database, binaries, [(f.rel, f, report.hazards)], False)
    return result


def _binaries(box: Any) -> pgbinaries.PgBinaries:
    """The server build of `box` (a dev server's: the one discovery finds)."""
    return getattr(box, "binaries", None) or pgbinaries.find_binaries()


def _project(
    result: PlanResult,
    config: Config,
    database: str,
    binaries: pgbinaries.PgBinaries,
    pieces: list[tuple[str, SQLFile, list[Any]]],
    lock_timeout: bool,
) -> None:
    """Each piece (a name, its file, the hazards measured on it) projected to `database`'s
    sizes at the rates of `binaries` with its settings, into `result`."""
    pieces = [(n, f, hs + cost.unmeasured_scans(f, hs)) for n, f, hs in pieces]
    relations = sorted({h.relation for _, _, hs in pieces for h in hs if h.relation})
    sizes, result.target_settings = _read_target(database, config.tracking_schema, relations)
    rates = calibrate.calibration(binaries, result.target_settings)
    result.assumption = rates.assumption()
    for name, f, hazards in pieces:
        protection = cost.protected_statements(f, lock_timeout)
        found = cost.costs(hazards, sizes, rates, result.cost_factor, protection)
        result.migrations.append(cost.MigrationCost(name, found))


def _read_target(
    database: str, schema: str, relations: list[str]
) -> tuple[dict[str, cost.Size], dict[str, str]]:
    """The sizes of `relations` and the settings of the target (read-only)."""
    with session.open_session(database, "plan", schema) as conn, conn.cursor() as cur:
        cur.execute(query("target_sizes"), {"names": relations})
        sizes = {r[0]: cost.Size(*r[1:]) for r in cur.fetchall()}
        cur.execute(query("target_settings"))
        settings = dict(cur.fetchall())
    return sizes, settings


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
