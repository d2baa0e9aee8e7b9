"""Constraints: NOT VALID kept not valid, partitioned tables' constraints added directly, and
an index that a dropped constraint took along created again where it should stay."""

from __future__ import annotations

import re
from typing import Any

from ..catalog import ident
from ..kind import Diff, Kind

_ADD_NOT_VALID = re.compile(
    r"^alter table (?P<table>\S+) add constraint (?P<name>\S+) (?P<body>.*) not valid;$",
    re.I | re.S,
)


_VALIDATE = re.compile(r"^alter table (?P<table>\S+) validate constraint (?P<name>\S+);$", re.I)


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
        m = _ADD_NOT_VALID.match(text)
        if m and (
            m.group("table") in partitioned
            or (m.group("table"), m.group("name")) in declared_not_valid
        ):
            table, name, body = m.group("table"), m.group("name"), m.group("body")
            statement = f"alter table {table} add constraint {name} {body};"
        v = _VALIDATE.match(text)
        if v and (
            v.group("table") in partitioned
            or (v.group("table"), v.group("name")) in declared_not_valid
        ):
            continue
        out.append(statement)
    return out


_DROP_CONSTRAINT = re.compile(r"^alter table (?P<table>\S+) drop constraint (?P<name>\S+);$", re.I)


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
        m = _DROP_CONSTRAINT.match(statement.strip())
        if (
            not m
            or (m.group("table"), m.group("name")) not in owned
            or (m.group("table"), m.group("name")) in constrained
        ):
            continue
        schema = owned[(m.group("table"), m.group("name"))].schema
        index = i_target.indexes.get(f"{ident(schema)}.{m.group('name')}")
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
