"""What a migration will cost on a target (README, "What a migration will cost"): each
statement the sample-row trial measured (a rewrite, an index build, a validation scan, a lock)
projected to the sizes the target reports, at the rates calibrated on this machine
(scratch/calibrate.py), times the environment's `cost_factor`; the lock queue it can cause;
and the budgets an environment sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, HazardRefused
from ..grammar import sqltext
from ..project.sqlfiles import SQLFile, commit_parts
from ..scratch.calibrate import Calibration
from ..verification.data.findings import BLOCKS_WRITES, Hazard

_EXCLUSIVE = "AccessExclusiveLock"
_COSTLY = ("rewrite", "index-build", "validation-scan")
_TIMEOUT = re.compile(r"(?i)^\s*set\s+(local\s+)?lock_timeout\b")
_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Size:
    """One relation as the target reports it (sql/target_sizes.sql)."""

    heap_bytes: int
    index_bytes: int
    rows: int
    writes_per_s: float
    indexes: int


@dataclass
class StatementCost:
    """One measured statement of a migration, projected to the target."""

    statement: str
    table: str | None
    kind: str  # rewrite, index-build, validation-scan, lock
    lock: str | None
    size: Size | None
    projected_seconds: float | None
    blocks: str  # "reads and writes", "writes", "nothing"
    protected: bool  # a lock_timeout bounds its wait in the queue
    queue: str | None = None  # the lock-queue warning, when it can block later queries

    def to_json(self) -> dict[str, Any]:
        return {
            "statement": self.statement,
            "table": self.table,
            "kind": self.kind,
            "bytes": self.size.heap_bytes + self.size.index_bytes if self.size else None,
            "rows": self.size.rows if self.size else None,
            "writes_per_second": round(self.size.writes_per_s, 2) if self.size else None,
            "lock": self.lock,
            "projected_seconds": (
                None if self.projected_seconds is None else round(self.projected_seconds, 3)
            ),
            "blocks": self.blocks,
            "lock_timeout": self.protected,
            "lock_queue": self.queue,
        }


@dataclass
class MigrationCost:
    """A pending migration and its statements' costs."""

    name: str
    statements: list[StatementCost] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "statements": [s.to_json() for s in self.statements]}


def duration(text: str, where: str) -> float:
    """Seconds in a duration written as PostgreSQL writes them ("500ms", "2s", "1min", "1h")."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h)\s*", text)
    if m is None:
        raise ConfigError(
            f"{where}: {text!r} is not a duration", hint='write e.g. "500ms", "2s", "1min", "1h"'
        )
    return float(m[1]) * _UNITS[m[2]]


def project(hazard: Hazard, size: Size | None, rates: Calibration, factor: float) -> float | None:
    """Seconds `hazard`'s statement takes on a relation of `size` (None: size unknown)."""
    if hazard.kind == "lock":
        return 0.0  # the catalog alone: what it costs is the wait for the lock
    if size is None:
        return None
    concurrently = "concurrently" in hazard.statement.lower()
    if hazard.kind == "rewrite":  # the heap copied, then every index built again
        seconds = size.heap_bytes / rates.rewrite_bytes_per_s
        seconds += size.indexes * size.rows / rates.rewrite_index_rows_per_s
    elif hazard.kind == "index-build":
        rate = rates.concurrent_rows_per_s if concurrently else rates.index_rows_per_s
        seconds = size.rows / rate
    else:  # validation-scan
        seconds = size.heap_bytes / rates.scan_bytes_per_s
    return seconds * factor


def blocks(lock: str | None) -> str:
    """What a lock mode stops other sessions from doing."""
    if lock == _EXCLUSIVE:
        return "reads and writes"
    return "writes" if lock in BLOCKS_WRITES else "nothing"


def protected_statements(f: SQLFile, session_timeout: bool) -> dict[str, bool]:
    """Each statement of `f` (as the trial writes it: one line, no comments): whether a
    lock_timeout bounds its wait (a SET before it in its part, or one for the session)."""
    out: dict[str, bool] = {}
    for part in commit_parts(f):
        timed = session_timeout
        for st in part.statements:
            text = sqltext.one_line(st.text)
            timed = timed or bool(_TIMEOUT.match(text))
            out[text.rstrip(";")] = timed
    return out


def unmeasured_scans(f: SQLFile, hazards: list[Hazard]) -> list[Hazard]:
    """The scans of `f` the trial does not report, as validation scans: VALIDATE CONSTRAINT
    (it holds only SHARE UPDATE EXCLUSIVE: no writer waits, so it is no hazard, but it reads
    the table), and a CHECK or foreign key added valid that failed on the sample rows (then
    nothing was measured; it scans under the lock ALTER TABLE takes)."""
    from ..grammar.statements import parse

    scanned = {h.statement.rstrip(";") for h in hazards if h.kind == "validation-scan"}
    out = []
    for st in f.statements:
        text = sqltext.one_line(st.text)
        p, lowered = parse(text), text.lower()
        if not p.table or text.rstrip(";") in scanned:
            continue
        if p.action == "validate constraint":
            lock = "ShareUpdateExclusiveLock"
        elif p.action == "add constraint" and "not valid" not in lowered:
            if " check " in f" {lowered} " or "check (" in lowered:
                lock = _EXCLUSIVE
            elif "foreign key" in lowered:
                lock = "ShareRowExclusiveLock"
            else:
                continue
        else:
            continue
        table = f"{p.table[0] or 'public'}.{p.table[1]}"
        out.append(Hazard("validation-scan", text, table, lock, detail=f"scans {table}"))
    return out


def costs(
    hazards: list[Hazard],
    sizes: dict[str, Size],
    rates: Calibration,
    factor: float,
    protection: dict[str, bool],
) -> list[StatementCost]:
    """The statements of one migration's measured `hazards` (up only), projected."""
    out: list[StatementCost] = []
    for h in hazards:
        if h.direction != "up" or h.kind not in (*_COSTLY, "lock"):
            continue
        size = sizes.get(h.relation or "")
        cost = StatementCost(
            h.statement, h.relation, h.kind, h.lock, size, project(h, size, rates, factor),
            blocks(h.lock), protection.get(h.statement.rstrip(";"), False),
        )  # fmt: skip
        if h.lock == _EXCLUSIVE and not cost.protected:  # a lock_timeout bounds the queue
            cost.queue = (
                f"waits for ACCESS EXCLUSIVE on {h.relation}: behind a long transaction, every "
                "later query on the table queues behind it, and no lock_timeout bounds the wait "
                "(an online plan sets one; or apply --lock-timeout)"
            )
        out.append(cost)
    return out


def refuse_over_budget(
    migrations: list[MigrationCost], budgets: dict[str, str], where: str
) -> None:
    """HazardRefused (exit 9) for the first statement whose projection exceeds a budget:
    `max_exclusive_lock` (a statement holding ACCESS EXCLUSIVE), `max_rewrite` (a rewrite)."""
    limits = {k: duration(v, f"{where}.{k}") for k, v in budgets.items()}
    for m in migrations:
        for s in m.statements:
            if s.projected_seconds is None:
                continue
            for key, applies in (
                ("max_exclusive_lock", s.lock == _EXCLUSIVE),
                ("max_rewrite", s.kind == "rewrite"),
            ):
                if applies and key in limits and s.projected_seconds > limits[key]:
                    raise HazardRefused(
                        f"{m.name}: {s.statement[:120]} on {s.table} is projected at "
                        f"{seconds(s.projected_seconds)}, over {key} = {budgets[key]}",
                        hint="write it so that it holds the lock less (an online or "
                        "expand/contract plan), raise the budget, or run again with "
                        "--allow-hazards",
                    )


def seconds(value: float | None) -> str:
    """A projected duration for people: "0.4 s", "7 min 12 s", "unknown"."""
    if value is None:
        return "unknown"
    if value < 60:
        return f"{value:.1f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"
    minutes, rest = divmod(int(round(value)), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
