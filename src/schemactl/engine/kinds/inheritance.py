"""Table inheritance: a child keeps only its own columns, and is created after its parents and
dropped before them (docs/engine-notes.md, "table inheritance")."""

from __future__ import annotations

import re
from typing import Any

from ..catalog import ident, parents, rows
from ..kind import Diff, Kind


def read_inherited_columns(conn: Any, keeps: Any) -> dict[str, set[str]]:
    """Return, by quoted table name, the quoted names of columns the table only inherits."""
    out: dict[str, set[str]] = {}
    for schema, table, column in rows(conn, "inherited_columns"):
        if keeps(schema):
            out.setdefault(f"{ident(schema)}.{ident(table)}", set()).add(ident(column))
    return out


_CREATE_INHERITING = re.compile(
    r'^create (?P<kind>(?:unlogged )?table) (?P<name>"(?:[^"]|"")+"\."(?:[^"]|"")+") '
    r"\(\n(?P<columns>.*)\n\) inherits \((?P<parents>[^)]*)\);$",
    re.I | re.S,
)


_ALTER_COLUMN = re.compile(
    r'^alter table (?P<table>"(?:[^"]|"")+"\."(?:[^"]|"")+") (?P<action>add|drop) column '
    r'(?P<column>"(?:[^"]|"")+")',
    re.I,
)


_DROP_TABLE = re.compile(r'^drop table (?P<name>"(?:[^"]|"")+"\."(?:[^"]|"")+");$', re.I)


_QUOTED = re.compile(r'"(?:[^"]|"")+"\."(?:[^"]|"")+"')


def fix_inheritance(
    statements: list[str], parents_before: dict[str, list[str]], inherited: dict[str, set[str]]
) -> list[str]:
    """Make inheritance work both ways (docs/engine-notes.md, "table inheritance").

    A child's CREATE TABLE keeps only its own columns (migra also lists the inherited ones,
    which makes them local); children are created after their parents; and dropped tables
    go before the tables they inherit from (`parents_before`: child -> parents, from both
    databases).
    """
    out = []
    for statement in statements:
        m = _CREATE_INHERITING.match(statement.strip())
        if m:
            skip = inherited.get(m.group("name"), set())
            columns = [
                c for c in m.group("columns").split(",\n") if c.strip().split(" ", 1)[0] not in skip
            ]
            body = "\n" + ",\n".join(columns) + "\n" if columns else ""
            kind, name, parents = m.group("kind"), m.group("name"), m.group("parents")
            statement = f"create {kind} {name} ({body}) inherits ({parents});"
        out.append(statement)
    # Creations: a child after each of its parents.
    created = {
        m.group("name"): i for i, s in enumerate(out) if (m := _CREATE_INHERITING.match(s.strip()))
    }
    for child in list(created):
        statement = next(
            s
            for s in out
            if (m := _CREATE_INHERITING.match(s.strip())) and m.group("name") == child
        )
        inheriting = _CREATE_INHERITING.match(statement.strip())
        assert inheriting is not None  # `statement` was picked by this very pattern
        parents = _QUOTED.findall(inheriting.group("parents"))
        at = out.index(statement)
        last_parent = max(
            (i for i, s in enumerate(out) for p in parents if _creates(s, p)), default=-1
        )
        if last_parent > at:
            out.insert(last_parent, out.pop(at))
    # A child's own column goes before the parent gains a column of that name: adding first
    # would merge the two, and the merged column could no longer be dropped from the child.
    for i, statement in enumerate(list(out)):
        m = _ALTER_COLUMN.match(statement.strip())
        if not m or m.group("action").lower() != "add":
            continue
        parent, column = m.group("table"), m.group("column")
        for j in range(i + 1, len(out)):
            d = _ALTER_COLUMN.match(out[j].strip())
            if (
                d
                and d.group("action").lower() == "drop"
                and d.group("column") == column
                and parent in parents_before.get(d.group("table"), [])
            ):
                out.insert(out.index(statement), out.pop(j))
    # Drops: a parent after each of its children.
    for child, parents in parents_before.items():
        drops = {_drop_name(s): i for i, s in enumerate(out) if _drop_name(s)}
        if child not in drops:
            continue
        for parent in parents:
            drops = {_drop_name(s): i for i, s in enumerate(out) if _drop_name(s)}
            if parent in drops and drops[parent] < drops[child]:
                out.insert(drops[child], out.pop(drops[parent]))
    return out


def _creates(statement: str, name: str) -> bool:
    s = statement.strip().lower()
    return (
        s.startswith(("create table ", "create unlogged table "))
        and s.split("(", 1)[0].split()[-1] == name.lower()
    )


def _drop_name(statement: str) -> str | None:
    m = _DROP_TABLE.match(statement.strip())
    return m.group("name") if m else None


class Inheritance(Kind):
    name = "inheritance"

    def read(self, conn: Any, keeps: Any) -> dict[str, set[str]]:
        return read_inherited_columns(conn, keeps)

    def rewrite(self, diff: Diff) -> None:
        source, target = diff.source.upstream, diff.target.upstream
        diff.statements = fix_inheritance(
            diff.statements, {**parents(target), **parents(source)}, diff.target[self.name]
        )


KIND = Inheritance()
