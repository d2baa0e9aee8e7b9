"""Aggregates, which schemainspect does not read and migra never diffs (`sql/aggregates.sql`):
created, replaced in place (CREATE OR REPLACE AGGREGATE, so the views over one stay) and
dropped. Where they go among the other statements comes from the dependency order: after
their state and final functions, before the views that call them, and the reverse on drop."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ..kind import Diff, Phase, RowKind


@dataclass(frozen=True)
class Aggregate:
    schema: str
    identity: str  # "s"."name"(integer), as DROP AGGREGATE takes it
    head: str  # "s"."name"(v integer): the arguments as CREATE AGGREGATE takes them
    options: str  # sfunc = …, stype = …, …

    def create(self, replace: bool = False) -> str:
        verb = "create or replace" if replace else "create"
        return f"{verb} aggregate {self.head} ({self.options});"

    def drop(self) -> str:
        return f"drop aggregate {self.identity};"


def _emit(diff: Diff, before: dict[str, Aggregate], after: dict[str, Aggregate]) -> None:
    diff.place(Phase.DROPS, [old.drop() for key, old in before.items() if key not in after])
    changed = [new.create(key in before) for key, new in after.items() if before.get(key) != new]
    diff.place(Phase.CREATES, changed)


KIND = RowKind("aggregates", Aggregate, attrgetter("identity"), covers=("AGGREGATE",), emit=_emit)
