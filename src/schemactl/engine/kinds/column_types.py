"""Column type changes in migra's statements: what each does to stored values (engine/casts.py),
and the USING clauses migra adds where none is needed.

migra writes every change as `set data type T using c::T`. The explicit cast is not harmless:
for length-limited types it truncates (`'abcdefghij'::varchar(5)` is `'abcde'`) where the
assignment cast that ALTER TABLE uses without USING raises an error. So the USING clause is
kept only where PostgreSQL has no implicit or assignment cast (docs/engine-notes.md).
"""

from __future__ import annotations

import re
from typing import Any

from ..casts import Catalog, TypeChange, classify, read_catalog
from ..kind import Diff, Kind

_SET_TYPE = re.compile(
    r'^alter table (?P<table>"(?:[^"]|"")+"\."(?:[^"]|"")+") alter column '
    r'(?P<column>"(?:[^"]|"")+") '
    r"(?:set data )?type (?P<rest>.*?);?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def type_changes(
    statements: list[str], old: Catalog, new: Catalog, labels: tuple[Any, Any]
) -> dict[tuple[str, str], TypeChange]:
    """The type change made by each `alter column ... type` statement, by (table, column)."""
    out = {}
    for statement in statements:
        m = _SET_TYPE.match(statement.strip())
        if m and (change := classify(old, new, (m["table"], m["column"]), labels)) is not None:
            out[(m["table"], m["column"])] = change
    return out


def drop_needless_using(
    statements: list[str], changes: dict[tuple[str, str], TypeChange]
) -> list[str]:
    """Leave out migra's `using c::T` where PostgreSQL converts by itself (see module docstring)."""
    out = []
    for statement in statements:
        m = _SET_TYPE.match(statement.strip())
        change = changes.get((m["table"], m["column"])) if m else None
        if m and change is not None and not change.needs_using:
            plain = f" using {m['column']}::"
            head, sep, cast = m["rest"].rpartition(plain)
            if sep and "::" not in cast:  # `c::T` only; `c::text::e` (enum rewrites) stays
                statement = (
                    f"alter table {m['table']} alter column {m['column']} set data type {head};"
                )
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
