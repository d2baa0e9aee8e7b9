"""Aggregates, which schemainspect does not read and migra never diffs (`sql/aggregates.sql`):
created, replaced in place (CREATE OR REPLACE AGGREGATE, so the views over one stay) and
dropped. Where they go among the other statements comes from the dependency order: after
their state and final functions, before the views that call them, and the reverse on drop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import rows
from ..kind import Diff, Kind, Phase


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


class Aggregates(Kind):
    name = "aggregates"
    covers = ("AGGREGATE",)

    def read(self, conn: Any, keeps: Any) -> dict[str, Aggregate]:
        found = (Aggregate(*row) for row in rows(conn, "aggregates"))
        return {a.identity: a for a in found if keeps(a.schema)}

    def emit(self, diff: Diff) -> None:
        before: dict[str, Aggregate] = diff.source[self.name]
        after: dict[str, Aggregate] = diff.target[self.name]
        diff.place(Phase.DROPS, [old.drop() for key, old in before.items() if key not in after])
        diff.place(
            Phase.CREATES,
            [
                new.create(replace=key in before)
                for key, new in after.items()
                if before.get(key) != new
            ],
        )


KIND = Aggregates()
