"""Data-aware verification: a migration pair tried on a copy of the replayed history that holds
rows (README, "Data-aware verification").

The copy is filled with sample rows (`generate`), `up` runs statement by statement with its
locks, rewrites, index builds and validation scans measured (`hazards`), the rows are compared
value by value (`rows`), and then `down` runs and the rows are compared again. What it finds
are `Hazard`s: measured hazards, statements that fail on the rows, and values lost.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...engine import expand
from ...errors import DestructiveChangeError, HazardRefused
from ...project.config import LOCK_MODES
from ...project.sqlfiles import SQLFile
from . import generate, hazards, reach, rows
from .findings import BLOCKS_WRITES, KINDS, Hazard

if TYPE_CHECKING:
    from ...project.config import Config

__all__ = [
    "BLOCKS_WRITES",
    "KINDS",
    "LOCK_MODES",
    "DataReport",
    "Hazard",
    "refuse",
    "sample_files",
    "try_with_rows",
]


@dataclass
class DataReport:
    """What trying a pair on rows found."""

    hazards: list[Hazard] = field(default_factory=list)  # up's, then down's
    notes: list[str] = field(default_factory=list)  # tables left empty, sample rows refused
    rows: int = 0  # sample rows the tables held before `up`

    def of(self, *kinds: str, direction: str = "up") -> list[Hazard]:
        return [h for h in self.hazards if h.kind in kinds and h.direction == direction]

    def worth_saying(self, problems: list[str]) -> list[Hazard]:
        """The findings to report beside verification's `problems`: a statement that fails on
        an empty database too is verification's problem, not the rows'."""
        fails_empty = {d: any(p.startswith(f"{d} fails") for p in problems) for d in ("up", "down")}
        return [
            h
            for h in self.hazards
            if not (h.kind == "fails-with-data" and fails_empty[h.direction])
        ]


def sample_files(config: Config) -> list[Path]:
    """The project's own sample rows: the .sql files of `sample_data`, in path order."""
    if config.sample_data is None or not config.sample_data.is_dir():
        return []
    return sorted(config.sample_data.rglob("*.sql"))


def try_with_rows(
    box: Any, db: str, up: str, down: str, config: Config, template: str | None = None
) -> DataReport:
    """Fill `db` (a copy of the replayed history, before `up`), run `up` and then `down` on it,
    and report (see the module docstring). What `up` renames is looked for under its new name.
    `db` is dropped afterwards.

    Only the tables the pair can reach are filled (data/reach.py); should the run lock one
    that was left empty, or fail, it is tried again with every table filled, on a copy: of
    `template` (a kept database `db` is a copy of: scratch/kept.py) when the need arises,
    else made beforehand."""
    files = [SQLFile(Path(d), d, text) for d, text in (("up", up), ("down", down))]
    spare = ""
    try:
        with contextlib.closing(box.connect(db, autocommit=False)) as conn:
            reached = reach.trial(conn, files)
        if reached is not None and template is None:
            spare = box.copy_database(db, "data")  # nobody may be connected to `db` now
        report, missed = _try(box, db, files, config, reached)
        if missed:
            spare = spare or box.copy_database(template, "data")
            report, _ = _try(box, spare, files, config, None)
    finally:
        box.drop_database(db)
        if spare:
            box.drop_database(spare)
    if kept := expand.shadows(up):  # a contract pair: a shadow's values live on (expand.py)
        report.hazards = [
            h
            for h in report.hazards
            if not (
                h.kind == "data-loss"
                and any(
                    h.relation == rel and h.detail.startswith(f"drops column {col} of ")
                    for rel, col in kept
                )
            )
        ]
    return report


def _try(
    box: Any,
    db: str,
    files: list[SQLFile],
    config: Config,
    reached: set[generate.Table] | None,
) -> tuple[DataReport, bool]:
    """One trial (`try_with_rows`) filling the tables in `reached` (None: all); and whether it
    needs trying again with every table filled: the run locked a table that existed and was
    left empty, or a statement failed (which tables it read went with its transaction)."""
    keeps = config.schema_filter.keeps
    report = DataReport()
    with contextlib.closing(box.connect(db, autocommit=False)) as conn:
        primary, foreign = generate.read_keys(conn)
        wanted = None
        if reached is not None:
            wanted = reach.with_parents({t for t in reached if keeps(t[0])}, foreign)
        filling = generate.read_columns(conn, keeps, wanted)
        existed = set(filling) if wanted is None else reach.tables(conn, keeps)
        filled = generate.fill(
            conn, filling, config.sample_rows, sample_files(config), config.root, foreign
        )
        report.notes += filled.notes
        conn.autocommit = True
        before = rows.read(conn, filling, primary)
        report.rows = sum(len(t.rows) for t in before.values())
        if not before:  # no table before up (a first migration): nothing holds rows
            return report, False
        touched: set[generate.Table] = set()
        failed = False
        for f in files:
            direction = f.rel
            applied = hazards.run_measured(
                conn, f, direction, direction == "up", lambda: box.connect(db)
            )
            touched |= applied.touched
            report.hazards += applied.hazards + applied.failures
            if applied.not_tried:
                report.notes.append(
                    f"{applied.not_tried} later statement(s) of the {direction} file could not "
                    "be tried on rows: they need what a failed statement makes"
                )
            # What the statements that ran did to the values stays true; down is not tried
            # after an up that stopped partway (nothing would be left to compare it with).
            names = rows.renaming(f) if direction == "up" else rows.Names()
            found = rows.compare(
                before, conn, keeps, f"the {direction} file", direction, names, applied.touched
            )
            if direction == "down":  # what up already lost is not lost again
                lost_up = {h.detail for h in report.of("data-loss")}
                found = [h for h in found if not _explained(h, lost_up)]
            report.hazards += found
            if applied.failures:
                failed = True  # their locks went with their transactions: what they read is unknown
                break
    missed = failed or bool(reach.missed(touched, set(filling), existed))
    return report, reached is not None and missed


def refuse(
    found: list[Hazard],
    allowed_locks: tuple[str, ...] | None,
    allow_destructive: bool,
    allow_hazards: bool,
) -> None:
    """Stop before anything is written: values `up` loses (unless `allow_destructive`), and
    locks the config does not allow (`hazard_locks`; unless `allow_hazards`)."""
    lost = [h for h in found if h.kind == "data-loss" and h.direction == "up"]
    if lost and not allow_destructive:
        raise DestructiveChangeError(
            f"the migration loses data on sample rows ({len(lost)} finding"
            f"{'s' if len(lost) > 1 else ''})",
            hint="review them, then run again with --allow-destructive",
            statements=[h.detail for h in lost],
        )
    if allowed_locks is None or allow_hazards:
        return
    over = [h for h in found if h.lock and h.direction == "up" and h.lock not in allowed_locks]
    if over:
        raise HazardRefused(
            f"the migration takes {over[0].lock} on {over[0].relation}, which hazard_locks does "
            f"not allow ({len(over)} hazard{'s' if len(over) > 1 else ''})",
            hint="review them (an online plan may avoid them), then run again with --allow-hazards",
            detail=[f"{h.detail}: {h.statement}" for h in over],
        )


def _explained(finding: Hazard, lost_up: set[str]) -> bool:
    return finding.relation is not None and any(finding.relation in d for d in lost_up)
