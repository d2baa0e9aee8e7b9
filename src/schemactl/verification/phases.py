"""An expand/contract plan verified as `diff` verifies any pair, and the window between its
two pairs checked (engine/expand.py writes the plan; README "Zero-downtime changes").

- up: the history, then expand up, is dumped (the window's schema); contract up then must
  reach schemas/ (pg_dump, as any up file);
- down: schemas/, then contract down, must give the window's dump; expand down then must give
  the history's;
- the window: every table and view the old schema has, and every column of it, is still
  there under the same name, and so is everything of the new one: what old and new clients
  name both exist at once. A name missing is a warning (the change drops something old
  clients may still use), not a failure of the SQL.
- the sample-row trial runs on both pairs: expand's on a copy of the history, contract's on
  a copy with expand applied.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.expand import Plan
from ..project.config import Config, SchemaFilter
from ..project.migration import Script
from ..project.sqlfiles import SQLFile
from ..scratch import pgserver, sandbox
from . import data, steps, verify

_SHAPE = """
SELECT c.table_schema, c.table_name, c.column_name
FROM information_schema.columns c
WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema')
"""


@dataclass
class Outcome:
    """What verifying and trying both pairs found."""

    problems_up: list[str] = field(default_factory=list)
    problems_down: list[str] = field(default_factory=list)
    window: list[str] = field(default_factory=list)  # names one side's clients would miss


def shape(box: pgserver.Sandbox, db: str, schemas: SchemaFilter) -> set[tuple[str, str, str]]:
    """Every (schema, relation, column) a client can name in `db`."""
    with contextlib.closing(box.connect(db)) as conn, conn.cursor() as cur:
        cur.execute(_SHAPE)
        return {row for row in cur.fetchall() if schemas.keeps(row[0])}


def _run(box: pgserver.Sandbox, db: str, label: str, text: str) -> list[str]:
    error = sandbox.run_migration(box, db, Script(SQLFile(Path(label), label, text), True))
    return [f"{label} fails: {error}"] if error else []


def verify_plan(
    box: pgserver.Sandbox,
    replay_db: str,
    target_db: str,
    plan: Plan,
    before: verify.Snapshot,
    target: verify.Snapshot,
    schemas: SchemaFilter,
) -> Outcome:
    """Verify both pairs of `plan` (the module docstring) on the history's and the schemas'
    databases, against their snapshots."""
    found = Outcome()
    old, new = shape(box, replay_db, schemas), shape(box, target_db, schemas)
    expand_up, expand_down = plan.expand
    found.problems_up = _run(box, replay_db, "expand up", expand_up)
    if found.problems_up:
        found.problems_down = ["down not verified: expand up fails"]
        return found
    window = verify.snapshot(box, replay_db, schemas)
    during = shape(box, replay_db, schemas)
    for side, names in (("old", old), ("new", new)):
        found.window += _missing(side, names - during, during)
    if plan.contract is not None:
        contract_up, contract_down = plan.contract
        found.problems_up += steps.verify_direction(
            box, replay_db, "contract up", contract_up, target, schemas
        )
        found.problems_down = steps.verify_direction(
            box, target_db, "contract down", contract_down, window, schemas
        )
    else:
        found.problems_up += verify.describe("expand up: ", verify.compare(target, window))
    found.problems_down += steps.verify_direction(
        box, target_db, "expand down", expand_down, before, schemas
    )
    return found


def _missing(side: str, gone: set[tuple[str, str, str]], there: set[Any]) -> list[str]:
    """What `side`'s clients would miss, a line per relation: the relation, or its columns."""
    lines = []
    for s, t in sorted({(s, t) for s, t, _ in gone}):
        columns = sorted(c for s2, t2, c in gone if (s2, t2) == (s, t))
        present = any(r[:2] == (s, t) for r in there)
        what = f"{s}.{t}: " + ", ".join(columns) if present else f"{s}.{t}"
        lines.append(f"during the window {side} clients would not find {what}")
    return lines


def try_plan(
    box: pgserver.Sandbox, first: str, second: str, plan: Plan, config: Config
) -> tuple[data.DataReport, data.DataReport]:
    """The sample-row trial of both pairs, on two copies of the history (dropped after; no
    second one without a contract pair): expand's report, contract's report."""
    expand_rows = data.try_with_rows(box, first, *plan.expand, config)
    if plan.contract is None:
        return expand_rows, data.DataReport()
    if _run(box, second, "expand up", plan.expand[0]):
        box.drop_database(second)
        return expand_rows, data.DataReport()
    return expand_rows, data.try_with_rows(box, second, *plan.contract, config)
