"""Objects migra does not know (extended statistics, rules, event triggers), diffed by their
whole definition (`sql/whole_objects.sql`): a changed one is dropped and created again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..catalog import created_names, rows
from ..kind import Diff, Kind, Phase


@dataclass(frozen=True)
class WholeObject:
    """An object migra does not know (extended statistics, rule, event trigger), diffed by its
    whole definition: a changed one is dropped and created again."""

    kind: str
    schema: str | None  # None: database-wide (event triggers)
    name: str
    definition: str
    settings: str | None  # ALTER that follows the definition (statistics target, enabled state)
    drop: str
    table: str | None  # the table or view it belongs to, `schema.name`

    def create(self) -> list[str]:
        return [f"{self.definition};"] + ([f"{self.settings};"] if self.settings else [])


def read_whole_objects(conn: Any, keeps: Any) -> dict[tuple[str, str], WholeObject]:
    found = (WholeObject(*row) for row in rows(conn, "whole_objects"))
    return {(o.kind, o.name): o for o in found if keeps(o.schema)}


def whole_object_statements(
    statements: list[str],
    before: dict[tuple[str, str], WholeObject],
    after: dict[tuple[str, str], WholeObject],
) -> tuple[list[str], list[str]]:
    """(drops, creates): drops run first, while every table they name still exists; creates run
    last, once their tables, columns and functions do. An unchanged object is created again
    when migra re-creates its table or view, since it went with the drop."""
    recreated = created_names(statements)
    drops = [f"{old.drop};" for key, old in before.items() if after.get(key) != old]
    creates = [
        s
        for key, new in after.items()
        if before.get(key) != new or (new.table and new.table.lower() in recreated)
        for s in new.create()
    ]
    return drops, creates


class WholeObjects(Kind):
    name = "whole_objects"
    covers = ("STATISTICS", "RULE", "EVENT TRIGGER")

    def read(self, conn: Any, keeps: Any) -> dict[tuple[str, str], WholeObject]:
        return read_whole_objects(conn, keeps)

    def emit(self, diff: Diff) -> None:
        drops, creates = whole_object_statements(
            diff.statements, diff.source[self.name], diff.target[self.name]
        )
        diff.place(Phase.DROPS, drops)
        diff.place(Phase.CREATES, creates)


KIND = WholeObjects()
