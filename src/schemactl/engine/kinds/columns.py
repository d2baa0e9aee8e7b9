"""Columns, on the assembled migration: identities before defaults, generated columns
re-generated, superseded defaults left out. None needs a catalog query of its own."""

from __future__ import annotations

from typing import Any

from ...grammar.statements import Statement, parse
from ..kind import Diff, Kind


def _column_change(statement: str) -> Statement | None:
    """The statement if it is an ALTER TABLE that names a column or constraint first."""
    st = parse(statement.strip())
    return st if st.is_("alter", "table") and st.target else None


def identity_before_default(statements: list[str]) -> list[str]:
    """Order identity changes against the sequences and defaults around them
    (docs/engine-notes.md, "identity").

    A column's identity is dropped first: migra writes `set default` before `drop identity`
    (refused: "column ... is an identity column"), and creates a serial's sequence while the
    identity's own sequence still holds that name. And a sequence being dropped goes before
    any `add generated ... as identity`, whose new sequence would otherwise take another name.
    """

    def action(statement: str) -> str | None:
        st = _column_change(statement)
        return st.action if st else None

    drop_identity = [s for s in statements if action(s) == "drop identity"]
    out = drop_identity + [s for s in statements if action(s) != "drop identity"]
    adds = [i for i, s in enumerate(out) if action(s) == "add identity"]
    if adds:
        late = [
            s for i, s in enumerate(out) if i > adds[0] and parse(s.strip()).is_("drop", "sequence")
        ]
        out = [s for s in out if s not in late]
        out[adds[0] : adds[0]] = late
    return out


def regenerate_columns(statements: list[str], i_target: Any) -> list[str]:
    """Drop and add a generated column whose expression changed (docs/engine-notes.md).

    migra writes `set default <expression>`, which PostgreSQL refuses for a generated column
    (and PostgreSQL 15 has no ALTER ... SET EXPRESSION). The values are derived, so nothing is
    lost; only the column's position changes.
    """
    out = []
    for statement in statements:
        st = _column_change(statement)
        table = i_target.tables.get(st.quoted_table) if st and st.action == "set default" else None
        column = (
            next(
                (c for c in table.columns.values() if st and c.quoted_name == st.quoted_target),
                None,
            )
            if table
            else None
        )
        if st and column is not None and column.is_generated:
            out += [
                f"alter table {st.quoted_table} drop column {column.quoted_name};",
                f"alter table {st.quoted_table} {column.add_column_clause};",
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
        st = _column_change(statement)
        if st and st.action == "set default":
            later = (_column_change(s) for s in statements[i + 1 :])
            if any(
                o
                and (o.table, o.target) == (st.table, st.target)
                and o.action in ("set default", "drop default")
                for o in later
            ):
                continue
        out.append(statement)
    return out


def virtual_columns(
    statements: list[str], i_target: Any, virtual: set[tuple[str, str]]
) -> list[str]:
    """Write a virtual generated column as one: schemainspect writes every generated column
    `… stored`, so a VIRTUAL one (PostgreSQL 18) became stored."""
    out = []
    for statement in statements:
        st = parse(statement.strip())
        table = st.quoted if st.is_("create", "table") else st.quoted_table
        for t, name in virtual:
            column = i_target.tables[t].columns.get(name) if t == table else None
            if column is not None:
                clause = column.creation_clause
                statement = statement.replace(clause, clause.removesuffix(" stored") + " virtual")
        out.append(statement)
    return out


class Columns(Kind):
    name = "columns"

    def read(self, conn: Any, keeps: Any) -> set[tuple[str, str]]:
        from ..catalog import rows

        return {(t, column) for schema, t, column in rows(conn, "virtual_columns") if keeps(schema)}

    def finish(self, diff: Diff, statements: list[str]) -> list[str]:
        target = diff.target.upstream
        statements = virtual_columns(statements, target, diff.target[self.name])
        statements = regenerate_columns(statements, target)
        return drop_superseded_defaults(identity_before_default(statements))


KIND = Columns()
