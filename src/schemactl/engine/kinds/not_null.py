"""Names of NOT NULL constraints, which PostgreSQL 18 made catalog objects and migra never
compares (docs/engine-notes.md, "NOT NULL constraint names").

A partition detached keeps its parent's constraint names (`m_city_not_null`), a table attached
as a partition keeps its own (`m_2007_city_not_null`); a table created from the DDL has the
other, and `pg_dump` shows the difference. Renames put them right: after a detach, or before an
attach (an inherited constraint cannot be renamed).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ..catalog import bare, created_names, ident
from ..kind import RowKind
from ..records import quoted
from ..statements import parse


@dataclass(frozen=True)
class NotNull:
    """One NOT NULL constraint: its table (quoted), column and name."""

    schema: str
    table: str
    column: str
    name: str
    local: bool  # False: inherited from a partitioned (or parent) table


def rename_statements(
    statements: list[str],
    before: dict[tuple[str, str], NotNull],
    after: dict[tuple[str, str], NotNull],
) -> list[str]:
    """`statements` with the renames that give kept NOT NULL constraints their target names."""
    created = created_names(statements)
    out = list(statements)
    for key, new in sorted(after.items()):
        old = before.get(key)
        if old is None or old.name == new.name or bare(new.table) in created:
            continue
        rename = (
            f"alter table {new.table} rename constraint {ident(old.name)} to {ident(new.name)};"
        )
        at = next((i for i, s in enumerate(out) if _attaches(s, new.table)), None)
        if at is not None:
            out.insert(at, rename)  # while it is still the table's own
        elif new.local:
            out.append(rename)
        # else: inherited in both states, so the parent's name, renamed on the parent
    return out


def _attaches(statement: str, table: str) -> bool:
    s = parse(statement)
    return (
        s.action == "attach partition" and s.partition is not None and quoted(s.partition) == table
    )


KIND = RowKind(
    "not_null",
    NotNull,
    attrgetter("table", "column"),
    query="not_null_names",
    finish=rename_statements,
)
