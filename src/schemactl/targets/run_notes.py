"""What `apply` and `rollback` say beside the steps they run (runner.py): where a migration
that stopped partway resumes, what a rollback cannot give back, and pairs verified on another
major."""

from __future__ import annotations

from ..grammar import sqltext
from ..project import sqlfiles
from ..project.migration import Migration
from ..scratch import pgversion
from . import ledger
from .execution import Step


def not_given_back(files: dict[int, Migration], plan: list[Step]) -> list[str]:
    """What rolling back the SQL pairs of `plan` cannot give back (a narrowing cast)."""
    from ..engine.destructive import rollback_losses  # the engine's casts: only when rolling back

    return [
        line
        for step in plan
        if "skip" not in step.status and not (f := files[step.version]).python
        for line in rollback_losses(f.name, f.up.text, f.down.text)
    ]


def major_warnings(files: dict[int, Migration], plan: list[Step], server_version: int) -> list[str]:
    pairs = [files[step.version].pair for step in plan if step.status != "skipped"]
    return pgversion.verified_elsewhere(pairs, server_version)


def resumed(files: dict[int, Migration], plan: list[Step], led: ledger.Ledger) -> list[str]:
    """Where each migration of `plan` that stopped partway resumes (see execution.run)."""
    out = []
    for step in plan:
        row = led.rows.get(step.version)
        if row and row.resume_part and step.status in ("applied", "would-apply"):
            up = files[step.version].up
            parts = sqlfiles.commit_parts(up)
            if row.resume_part < len(parts):
                first = parts[row.resume_part].statements[0]
                line = sqltext.LineIndex(up.text).position(first.offset + first.lead)[0]
                out.append(
                    f"{step.name} stopped partway in an earlier run: it resumes at line {line} "
                    f"of {up.rel} (the parts before it committed then)"
                )
    return out
