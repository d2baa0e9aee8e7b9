"""The engine's one extension point: an object kind that schemactl handles itself.

A kind reads what it needs from the catalog (`sql/<query>.sql`), and takes part in computing a
migration through up to five hooks, each optional, called in the order of `kinds.KINDS`:

- `adjust` corrects schemainspect's view of a database while it is connected;
- `prepare` works on the two inspections before migra compares them (it may replace either,
  e.g. so that migra skips what the kind writes itself);
- `rewrite` corrects migra's statements (`Diff.statements`);
- `emit` writes statements of its own into a `Phase` (or among migra's);
- `finish` works on the assembled migration, every phase in order.

The catalog data travels in the `Inspection`, by kind name, beside schemainspect's inspector.
Adding a kind: one `sql/*.sql`, one module in `kinds/`, one line in `kinds.KINDS`, one case
directory in `tests/engine_cases/`, one section in docs/engine-notes.md (README, Development).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Phase(IntEnum):
    """Where a kind's statements go in a migration, in this order."""

    # Released before anything is dropped: what a rebuilt table owns (its serial sequences).
    RELEASE = 1
    # Objects migra does not know, dropped while every table they name still exists.
    DROPS = 2
    # Privileges taken away while their objects still exist.
    REVOKES = 3
    # Comments cleared while the objects of the old state still exist.
    COMMENTS_CLEARED = 4
    # Altered in place before migra's statements use them (composite types).
    BEFORE = 5
    # migra's own statements, as the kinds rewrote them.
    MIGRA = 6
    # Given back what RELEASE released, once the rebuilt tables exist.
    OWN = 7
    # Settings of objects that now exist: identity options, storage, column settings.
    IDENTITIES = 8
    STORAGE = 9
    # Objects migra does not know, created once their tables, columns and functions exist.
    CREATES = 10
    # Comments and privileges last: every object they name exists by now.
    COMMENTS = 11
    GRANTS = 12


@dataclass(frozen=True)
class Inspection:
    """One database as the engine sees it: schemainspect's inspector, and each kind's catalog
    data by kind name."""

    upstream: Any
    catalog: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, kind: str) -> Any:
        return self.catalog[kind]

    def replacing(self, upstream: Any) -> Inspection:
        """The same catalog data over another (patched) copy of the inspector."""
        return dataclasses.replace(self, upstream=upstream)


@dataclass
class Diff:
    """One direction of a migration while the kinds work on it."""

    source: Inspection
    target: Inspection
    statements: list[str] = field(default_factory=list)  # migra's, as rewritten so far
    placed: dict[Phase, list[str]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)  # what a kind keeps between its hooks

    def place(self, phase: Phase, statements: list[str]) -> None:
        self.placed.setdefault(phase, []).extend(statements)

    def phase(self, phase: Phase) -> list[str]:
        return self.statements if phase is Phase.MIGRA else self.placed.get(phase, [])

    def assembled(self) -> list[str]:
        return [s for phase in Phase for s in self.phase(phase)]


class Kind:
    """An object kind; subclasses override the hooks they need (see the module docstring)."""

    name: str  # a class attribute, or set per instance (RowKind)
    # pg_dump TOC types (`-- … Type: AGGREGATE`) this kind makes schemactl diff.
    covers: tuple[str, ...] = ()

    def read(self, conn: Any, keeps: Any) -> Any:
        """This kind's catalog data for the schemas `keeps(schema)` accepts (None: nothing)."""
        return None

    def adjust(self, conn: Any, keeps: Any, inspector: Any, data: Any) -> None:
        """Correct schemainspect's inspector in place, while connected (`data`: what `read`
        returned for this database)."""

    def prepare(self, diff: Diff) -> None:
        """Work on the inspections before migra compares them."""

    def rewrite(self, diff: Diff) -> None:
        """Correct migra's statements (`diff.statements`)."""

    def emit(self, diff: Diff) -> None:
        """Place statements of this kind's own (`diff.place`)."""

    def finish(self, diff: Diff, statements: list[str]) -> list[str]:
        """Work on the assembled migration."""
        return statements


class RowKind(Kind):
    """A kind whose catalog data is its query's rows, one `record` each (SQL arrays as tuples,
    so records compare by value), by `key`, for the schemas the filter accepts (every record
    has a `schema`; None: database-wide). Its hooks are plain functions of what they change
    and of both databases' records (`before`, `after`)."""

    def __init__(
        self,
        name: str,
        record: Callable[..., Any],
        key: Callable[[Any], Any],
        *,
        query: str | None = None,  # sql/<query>.sql; default: the kind's name
        covers: tuple[str, ...] = (),
        adjust: Callable[[Any, Any], None] | None = None,  # (inspector, data)
        rewrite: Callable[[list[str], Any, Any], list[str]] | None = None,
        emit: Callable[[Diff, Any, Any], None] | None = None,
        finish: Callable[[list[str], Any, Any], list[str]] | None = None,
    ) -> None:
        self.name, self.record, self.key = name, record, key
        self.query = query or name
        self.covers = covers
        self._adjust, self._rewrite, self._emit, self._finish = adjust, rewrite, emit, finish

    def read(self, conn: Any, keeps: Any) -> dict[Any, Any]:
        from .catalog import rows

        found = (
            self.record(*(tuple(v) if isinstance(v, list) else v for v in row))
            for row in rows(conn, self.query)
        )
        return {self.key(r): r for r in found if keeps(r.schema)}

    def adjust(self, conn: Any, keeps: Any, inspector: Any, data: Any) -> None:
        if self._adjust:
            self._adjust(inspector, data)

    def rewrite(self, diff: Diff) -> None:
        if self._rewrite:
            diff.statements = self._rewrite(diff.statements, *self._sides(diff))

    def emit(self, diff: Diff) -> None:
        if self._emit:
            self._emit(diff, *self._sides(diff))

    def finish(self, diff: Diff, statements: list[str]) -> list[str]:
        return self._finish(statements, *self._sides(diff)) if self._finish else statements

    def _sides(self, diff: Diff) -> tuple[Any, Any]:
        return diff.source[self.name], diff.target[self.name]
