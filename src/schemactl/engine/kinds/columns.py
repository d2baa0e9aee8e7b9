"""Columns and the types they use, on the assembled migration: composite types before their
users, identities before defaults, generated columns re-generated, superseded defaults left
out. None needs a catalog query of its own."""

from __future__ import annotations

import re
from typing import Any

from .. import catalog
from ..kind import Diff, Kind

_CREATE_COMPOSITE = re.compile(r"^create type\s+\S+\s+as\s*\(", re.I)
# The first statement that can use a composite type: tables, columns, functions, views.
_TYPE_USER = re.compile(
    r"^(?:create (?:unlogged )?table|alter table|create (?:or replace "
    r")?(?:function|procedure|view|materialized view)"
    r"|set check_function_bodies)\b",
    re.I,
)
_DROP_TYPE = re.compile(r"^drop type (?P<name>[^\s;]+)", re.I)
_DROP_TYPE_USER = re.compile(r"^drop (?:table|function|procedure|view|materialized view)\b", re.I)


def reorder(statements: list[str]) -> list[str]:
    """Fix migra's placement of composite types (see docs/engine-notes.md, "composite types").

    migra creates composite types with views and functions, after the tables and functions
    that use them, and drops them before those tables, functions and views. Creations move
    before the first statement that can use them; drops (of types not created again) move
    after the last drop of a table, function or view.
    """
    creates = [s for s in statements if _CREATE_COMPOSITE.match(s.strip())]
    if creates:
        rest = [s for s in statements if not _CREATE_COMPOSITE.match(s.strip())]
        at = next((i for i, s in enumerate(rest) if _TYPE_USER.match(s.strip())), None)
        statements = rest[:at] + creates + rest[at:] if at is not None else statements
    recreated = catalog.created_names(statements)
    users = [i for i, s in enumerate(statements) if _DROP_TYPE_USER.match(s.strip())]
    early_type_drops = [
        i
        for i, s in enumerate(statements)
        if users
        and i < users[-1]
        and (m := _DROP_TYPE.match(s.strip()))
        and catalog.bare(m.group("name")) not in recreated
    ]
    if early_type_drops:
        moved = [statements[i] for i in early_type_drops]
        kept = [s for i, s in enumerate(statements) if i not in set(early_type_drops)]
        at = max(i for i, s in enumerate(kept) if _DROP_TYPE_USER.match(s.strip())) + 1
        statements = kept[:at] + moved + kept[at:]
    return statements


_COLUMN_ALTER = re.compile(
    r'^alter table (?P<table>\S+) alter column (?P<column>"(?:[^"]|"")+") (?P<action>.*);$',
    re.I | re.S,
)


def identity_before_default(statements: list[str]) -> list[str]:
    """Order identity changes against the sequences and defaults around them
    (docs/engine-notes.md, "identity").

    A column's identity is dropped first: migra writes `set default` before `drop identity`
    (refused: "column ... is an identity column"), and creates a serial's sequence while the
    identity's own sequence still holds that name. And a sequence being dropped goes before
    any `add generated ... as identity`, whose new sequence would otherwise take another name.
    """

    def action(statement: str) -> str:
        m = _COLUMN_ALTER.match(statement.strip())
        return m.group("action").lower() if m else ""

    drop_identity = [s for s in statements if action(s) == "drop identity"]
    out = drop_identity + [s for s in statements if action(s) != "drop identity"]
    adds = [i for i, s in enumerate(out) if action(s).startswith("add generated")]
    if adds:
        late = [s for i, s in enumerate(out) if i > adds[0] and _DROP_SEQUENCE.match(s.strip())]
        out = [s for s in out if s not in late]
        out[adds[0] : adds[0]] = late
    return out


_DROP_SEQUENCE = re.compile(r"^drop sequence\b", re.I)


def regenerate_columns(statements: list[str], i_target: Any) -> list[str]:
    """Drop and add a generated column whose expression changed (docs/engine-notes.md).

    migra writes `set default <expression>`, which PostgreSQL refuses for a generated column
    (and PostgreSQL 15 has no ALTER ... SET EXPRESSION). The values are derived, so nothing is
    lost; only the column's position changes.
    """
    out = []
    for statement in statements:
        m = _COLUMN_ALTER.match(statement.strip())
        table = i_target.tables.get(m.group("table")) if m else None
        column = (
            next(
                (c for c in table.columns.values() if m and c.quoted_name == m.group("column")),
                None,
            )
            if table
            else None
        )
        if (
            m
            and column is not None
            and column.is_generated
            and m.group("action").lower().startswith("set default")
        ):
            out += [
                f"alter table {m.group('table')} drop column {column.quoted_name};",
                f"alter table {m.group('table')} {column.add_column_clause};",
            ]
            continue
        out.append(statement)
    return out


def drop_superseded_defaults(statements: list[str]) -> list[str]:
    """Leave out a `set default` that a later statement replaces (docs/engine-notes.md).

    migra's enum rewrite drops a column's default, changes the type, and sets the old default
    again before the migration sets the new one; when the old default is a label the new type
    lacks, that intermediate statement fails ("invalid input value for enum").
    """
    out = []
    for i, statement in enumerate(statements):
        m = _COLUMN_ALTER.match(statement.strip())
        if m and m.group("action").lower().startswith("set default"):
            key = (m.group("table"), m.group("column"))
            later = (_COLUMN_ALTER.match(s.strip()) for s in statements[i + 1 :])
            if any(
                o
                and (o.group("table"), o.group("column")) == key
                and o.group("action").lower().startswith(("set default", "drop default"))
                for o in later
            ):
                continue
        out.append(statement)
    return out


class Columns(Kind):
    name = "columns"

    def finish(self, diff: Diff, statements: list[str]) -> list[str]:
        statements = regenerate_columns(statements, diff.target.upstream)
        return drop_superseded_defaults(identity_before_default(reorder(statements)))


KIND = Columns()
