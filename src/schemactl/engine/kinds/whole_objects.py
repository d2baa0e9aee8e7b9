"""Objects migra does not know (extended statistics, rules, event triggers), diffed by their
whole definition (`sql/whole_objects.sql`): a changed one is dropped and created again."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ..catalog import created_names
from ..kind import Diff, Phase, RowKind


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


def _emit(diff: Diff, before: Any, after: Any) -> None:
    drops, creates = whole_object_statements(diff.statements, before, after)
    diff.place(Phase.DROPS, drops)
    diff.place(Phase.CREATES, creates)


KIND = RowKind(
    "whole_objects",
    WholeObject,
    attrgetter("kind", "name"),
    covers=("STATISTICS", "RULE", "EVENT TRIGGER"),
    emit=_emit,
)
