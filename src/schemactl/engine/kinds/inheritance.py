"""Table inheritance: a child keeps only its own columns, and is created after its parents and
dropped before them (docs/engine-notes.md, "table inheritance")."""

from __future__ import annotations

from typing import Any

from ...grammar.statements import Statement, parse
from ..catalog import ident, parents, rows
from ..kind import Diff, Kind


def read_inherited_columns(conn: Any, keeps: Any) -> dict[str, set[str]]:
    """Return, by quoted table name, the quoted names of columns the table only inherits."""
    out: dict[str, set[str]] = {}
    for schema, table, column in rows(conn, "inherited_columns"):
        if keeps(schema):
            out.setdefault(f"{ident(schema)}.{ident(table)}", set()).add(ident(column))
    return out


def fix_inheritance(
    statements: list[str], parents_before: dict[str, list[str]], inherited: dict[str, set[str]]
) -> list[str]:
    """Make inheritance work both ways (docs/engine-notes.md, "table inheritance").

    A child's CREATE TABLE keeps only its own columns (migra also lists the inherited ones,
    which makes them local); and a child's own column is dropped before its parent gains a
    column of that name (adding first would merge the two, and the merged column could no
    longer be dropped from the child). `parents_before`: child -> parents, from both
    databases. That children are created after their parents and dropped before them is the
    dependency order's work (engine/dependencies.py).
    """
    out = [_own_columns_only(parse(s), inherited) for s in statements]
    for i, statement in enumerate(list(out)):
        added = parse(statement)
        if added.action != "add column":
            continue
        for j in range(i + 1, len(out)):
            dropped = parse(out[j])
            if (
                dropped.action == "drop column"
                and dropped.target == added.target
                and added.quoted_table in parents_before.get(dropped.quoted_table or "", [])
            ):
                out.insert(out.index(statement), out.pop(j))
    return out


def _own_columns_only(s: Statement, inherited: dict[str, set[str]]) -> str:
    """A child's CREATE TABLE without the columns it only inherits."""
    skip = inherited.get(s.quoted or "", set()) if s.action == "inherits" else set()
    if not skip or s.body is None:
        return s.text
    kept = [text for column, text in s.elements if column is None or ident(column) not in skip]
    body = "\n    " + ",\n    ".join(kept) + "\n" if kept else ""
    return s.text[: s.body[0]] + body + s.text[s.body[1] :]


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
