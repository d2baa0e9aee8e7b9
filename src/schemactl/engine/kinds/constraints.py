"""Constraints: NOT VALID kept not valid, partitioned tables' constraints added directly, and
an index that a dropped constraint took along created again where it should stay."""

from __future__ import annotations

from typing import Any

from ..catalog import ident
from ..kind import Diff, Kind
from ..statements import parse

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


class Constraints(Kind):
    name = "constraints"

    def rewrite(self, diff: Diff) -> None:
        target = diff.target.upstream
        statements = fix_validation(diff.statements, target)
        diff.statements = keep_standalone_indexes(statements, diff.source.upstream, target)


KIND = Constraints()
