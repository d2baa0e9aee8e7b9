"""Column type changes in migra's statements: what each does to stored values (engine/casts.py),
and the USING clauses migra adds where none is needed.

migra writes every change as `set data type T using c::T`. The explicit cast is not harmless:
for length-limited types it truncates (`'abcdefghij'::varchar(5)` is `'abcde'`) where the
assignment cast that ALTER TABLE uses without USING raises an error. So the USING clause is
kept only where PostgreSQL has no implicit or assignment cast (docs/engine-notes.md).
"""

from __future__ import annotations

from typing import Any

from ...grammar.statements import parse
from ..casts import Catalog, TypeChange, classify, read_catalog
from ..kind import Diff, Kind


def _set_type(statement: str) -> tuple[str, str] | None:
    """(table, column), quoted, of an `alter table … alter column … type` statement."""
    s = parse(statement)
    if s.action != "alter column type" or s.quoted_table is None or s.quoted_target is None:
        return None
    return s.quoted_table, s.quoted_target


def type_changes(
    statements: list[str], old: Catalog, new: Catalog, labels: tuple[Any, Any]
) -> dict[tuple[str, str], TypeChange]:
    """The type change made by each `alter column ... type` statement, by (table, column)."""
    out = {}
    for statement in statements:
        if (at := _set_type(statement)) and (change := classify(old, new, at, labels)):
            out[at] = change
    return out


def drop_needless_using(
    statements: list[str], changes: dict[tuple[str, str], TypeChange]
) -> list[str]:
    """Leave out migra's `using c::T` where PostgreSQL converts by itself (see module docstring)."""
    out = []
    for statement in statements:
        at = _set_type(statement)
        change = changes.get(at) if at else None
        if at and change is not None and not change.needs_using:
            text = statement.strip().removesuffix(";")
            head, sep, cast = text.rpartition(f" using {at[1]}::")
            if sep and "::" not in cast:  # `c::T` only; `c::text::e` (enum rewrites) stays
                statement = f"{head};"
        out.append(statement)
    return out


def changes_in(
    statements: list[str], source: Any, target: Any
) -> dict[tuple[str, str], TypeChange]:
    """What each column type change in `statements` (from `source` to `target`, two
    Inspections) does to stored values."""

    def labels(inspector: Any) -> dict[str, list[str]]:
        return {f"{e.schema}.{e.name}": list(e.elements) for e in inspector.enums.values()}

    return type_changes(
        statements,
        source[KIND.name],
        target[KIND.name],
        (labels(source.upstream), labels(target.upstream)),
    )


class ColumnTypes(Kind):
    name = "types"

    def read(self, conn: Any, keeps: Any) -> Catalog:
        return read_catalog(conn, keeps)

    def finish(self, diff: Diff, statements: list[str]) -> list[str]:
        return drop_needless_using(statements, changes_in(statements, diff.source, diff.target))


KIND = ColumnTypes()
