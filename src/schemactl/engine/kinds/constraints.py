"""Constraints: NOT VALID kept not valid, partitioned tables' constraints added directly, and
an index that a dropped constraint took along created again where it should stay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...grammar.statements import parse
from ..catalog import ident
from ..kind import Diff, Kind

_NOT_VALID = " not valid;"


def fix_validation(statements: list[str], i_target: Any) -> list[str]:
    """Keep NOT VALID constraints not valid, and add partitioned tables' constraints directly.

    migra adds every check and foreign key `not valid` and then validates it, a safe pattern
    that (a) validates constraints the DDL declares NOT VALID, and (b) fails on partitioned
    tables, where PostgreSQL does not allow NOT VALID foreign keys.
    """
    partitioned = {name for name, t in i_target.tables.items() if t.relationtype == "p"}
    declared_not_valid = {
        (c.quoted_full_table_name, c.quoted_name)
        for c in i_target.constraints.values()
        if c.definition.rstrip().upper().endswith("NOT VALID")
    }
    out = []
    for statement in statements:
        text = statement.strip()
        st = parse(text)
        keep_as_declared = st.quoted_table in partitioned or (
            (st.quoted_table, st.quoted_target) in declared_not_valid
        )
        if st.action == "add constraint" and text.lower().endswith(_NOT_VALID) and keep_as_declared:
            statement = text[: -len(_NOT_VALID)] + ";"
        if st.action == "validate constraint" and keep_as_declared:
            continue
        out.append(statement)
    return out


def keep_standalone_indexes(statements: list[str], i_from: Any, i_target: Any) -> list[str]:
    """Re-create an index that a dropped UNIQUE/PRIMARY KEY constraint took with it, when the
    index itself should stay (the constraint had been added `USING INDEX`)."""
    owned = {
        (c.quoted_full_table_name, c.quoted_name): c for c in i_from.constraints.values() if c.index
    }
    constrained = {
        (c.quoted_full_table_name, c.quoted_name) for c in i_target.constraints.values() if c.index
    }
    out = []
    for statement in statements:
        out.append(statement)
        st = parse(statement.strip())
        key = (st.quoted_table, st.quoted_target)
        if st.action != "drop constraint" or key not in owned or key in constrained:
            continue
        schema = owned[key].schema
        index = i_target.indexes.get(f"{ident(schema)}.{st.quoted_target}")
        if index is not None:
            out.append(index.create_statement)
    return out


@dataclass(frozen=True)
class ForeignKeyIndex:
    """A foreign key and the unique index it rests on."""

    schema: str
    table: str
    name: str
    index_schema: str
    index: str


def rebuild_foreign_keys(
    statements: list[str], i_target: Any, resting: list[ForeignKeyIndex]
) -> list[str]:
    """Drop a foreign key before the unique index it rests on goes (by `drop index`, or with
    its constraint), and add it back at the end, when migra keeps the foreign key itself: a
    key constraint renamed or changed is otherwise dropped while the foreign key still needs
    it ("cannot drop constraint … because other objects depend on it")."""
    parsed = [parse(s.strip()) for s in statements]
    dropped_fks = {
        (st.quoted_table, st.quoted_target) for st in parsed if st.action == "drop constraint"
    }
    out = list(statements)
    for fk in resting:
        table = f"{ident(fk.schema)}.{ident(fk.table)}"
        key = (table, ident(fk.name))
        wanted = i_target.constraints.get(f"{table}.{ident(fk.name)}")
        if key in dropped_fks or wanted is None:
            continue
        index = f"{ident(fk.index_schema)}.{ident(fk.index)}"
        at = next((i for i, st in enumerate(parsed) if _drops_index(st, index, fk)), None)
        if at is None:
            continue
        drop = f"alter table {table} drop constraint {ident(fk.name)};"
        out.insert(out.index(statements[at]), drop)
        out += [
            f"alter table {table} add constraint {ident(fk.name)} {wanted.definition} not valid;",
            f"alter table {table} validate constraint {ident(fk.name)};",
        ]
    return out


def _drops_index(st: Any, quoted_index: str, fk: ForeignKeyIndex) -> bool:
    if st.is_("drop", "index"):
        return bool(st.quoted == quoted_index)
    # a key constraint owns an index of its own name, in its table's schema
    return bool(
        st.action == "drop constraint"
        and st.target == fk.index
        and st.table is not None
        and st.table[0] == fk.index_schema
    )


class Constraints(Kind):
    name = "constraints"

    def read(self, conn: Any, keeps: Any) -> list[ForeignKeyIndex]:
        from ..catalog import rows

        return [
            r
            for r in (ForeignKeyIndex(*row) for row in rows(conn, "foreign_key_indexes"))
            if keeps(r.schema)
        ]

    def rewrite(self, diff: Diff) -> None:
        target = diff.target.upstream
        statements = rebuild_foreign_keys(diff.statements, target, diff.source[self.name])
        statements = fix_validation(statements, target)
        diff.statements = keep_standalone_indexes(statements, diff.source.upstream, target)


KIND = Constraints()
