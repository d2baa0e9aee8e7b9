"""Statement-order and statement-text fixes on migra's output that need no catalog query of
their own: composite and domain types before their users, identities before defaults,
generated columns, superseded defaults, NOT VALID constraints validated last."""

from __future__ import annotations

import re
from typing import Any

from . import catalog

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


def with_domains(
    statements: list[str], create: list[str], alter: list[str], drop: list[str]
) -> list[str]:
    """Place domain statements among migra's (docs/engine-notes.md, "domains").

    Creates and alters go right after the last schema/extension/type/collation creation (a
    domain may be over an enum or in a new schema, and tables and functions may use it).
    Drops go after the last statement that can still use the domain (table, column, view,
    function changes) and before types, schemas and extensions are dropped.
    """

    def matching(pattern: re.Pattern[str]) -> list[int]:
        return [i for i, s in enumerate(statements) if pattern.match(s.strip())]

    users = matching(_DOMAIN_USERS)
    after_users = max(users, default=-1) + 1
    at_drop = next((i for i in matching(_DROP_BASE) if i >= after_users), len(statements))
    out = statements[:at_drop] + drop + statements[at_drop:]
    at_create = max(matching(_CREATE_BASE), default=-1) + 1
    if at_create > at_drop:
        at_create += len(drop)
    return out[:at_create] + create + alter + out[at_create:]


_DOMAIN_USERS = re.compile(
    r"^(?:alter table|drop table|drop view|drop materialized view|drop function|drop procedure)\b",
    re.I,
)
_DROP_BASE = re.compile(r"^drop (?:type|schema|extension|collation)\b", re.I)
_CREATE_BASE = re.compile(r"^create (?:schema|extension|type|collation)\b", re.I)
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
