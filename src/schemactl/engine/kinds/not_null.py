"""Names of NOT NULL constraints around a partition's detach or attach (PostgreSQL 18), and
the one statement that renames one, on every major (docs/engine-notes.md, "NOT NULL
constraint names").

A NOT NULL's name is not part of the schema: 15-17 have none, 18 keeps an old one through a
rename, and verification compares none. But a migration that itself makes a name differ from
what the DDL gives a fresh table leaves it tidy: a partition detached keeps its parent's names
(`m_city_not_null`), a table attached its own (`m_7_city_not_null`). Only those tables are
renamed, never a name the history left (that would be a statement for a name the DDL never
wrote), and each rename runs only where the constraint exists, so the file runs on 15 too.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ...grammar.records import quoted
from ...grammar.statements import parse
from ..catalog import bare, created_names, ident, literal
from ..kind import RowKind


@dataclass(frozen=True)
class NotNull:
    """One NOT NULL constraint: its table (quoted), column and name."""

    schema: str
    table: str
    column: str
    name: str
    local: bool  # False: inherited from a partitioned (or parent) table


def rename(table: str, old: str, new: str) -> str:
    """ALTER TABLE … RENAME CONSTRAINT for a NOT NULL, run only where it exists (18 on)."""
    return (
        "DO $$BEGIN IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = "
        f"{literal(table)}::regclass AND conname = {literal(old)} AND contype = 'n') THEN "
        f"ALTER TABLE {table} RENAME CONSTRAINT {ident(old)} TO {ident(new)}; END IF; END$$;"
    )


def rename_statements(
    statements: list[str],
    before: dict[tuple[str, str], NotNull],
    after: dict[tuple[str, str], NotNull],
) -> list[str]:
    """`statements` with the renames that give the NOT NULL constraints of the tables this
    migration detaches or attaches their target names."""
    moved = {
        quoted(st.partition)
        for st in map(parse, statements)
        if st.action in ("attach partition", "detach partition") and st.partition is not None
    }
    created = created_names(statements)
    out = list(statements)
    for key, new in sorted(after.items()):
        old = before.get(key)
        if new.table not in moved or old is None or old.name == new.name:
            continue
        if bare(new.table) in created:
            continue
        at = next((i for i, s in enumerate(out) if _attaches(s, new.table)), None)
        if at is not None:
            out.insert(at, rename(new.table, old.name, new.name))  # while still its own
        elif new.local:
            out.append(rename(new.table, old.name, new.name))
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
