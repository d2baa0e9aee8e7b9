"""What an expand/contract plan reads (expand.py): the catalog of the database the history
replays into (a column's definition and what depends on it, a table's grants, whether a
default is volatile), and the engine's statements and index definitions, rewritten with
PostgreSQL's own parser (a USING expression, an index built on the copy)."""

from __future__ import annotations

from typing import Any

from ..grammar.statements import parse
from . import expand_ops as ops
from .catalog import Named, query


def survey(conn: Any, table: Named, column: str) -> tuple[Any, ...]:
    """A column as sql/expand_column.sql reads it."""
    with conn.cursor() as cur:
        cur.execute(query("expand_column"), {"table": table.quoted, "column": column})
        return tuple(cur.fetchone())


def rewrites(conn: Any, was: str, wanted: str) -> bool:
    """Whether changing a column of type `was` to `wanted` rewrites its table."""
    with conn.cursor() as cur:
        cur.execute(query("expand_rewrites"), {"was": was, "wanted": wanted})
        return bool(cur.fetchone()[0])


def indexes(conn: Any, table: Named, column: str) -> list[ops.Index]:
    """The indexes that use `column` (sql/expand_indexes.sql), with the constraint of each."""
    with conn.cursor() as cur:
        cur.execute(query("expand_indexes"), {"table": table.quoted, "column": column})
        return [ops.Index(*row) for row in cur.fetchall()]


def grants(conn: Any, table: Named) -> list[str]:
    """The GRANTs that give a view (`{view}`) what the table grants to roles but its owner."""
    with conn.cursor() as cur:
        cur.execute(query("expand_grants"), {"table": table.quoted})
        return [
            f"grant {privilege.lower()} on {{view}} to {grantee}"
            + (" with grant option" if grantable else "")
            + ";"
            for grantee, privilege, grantable in cur.fetchall()
        ]


def volatile(conn: Any, expression: str) -> bool:
    """Whether `expression` calls a volatile function (evaluated per row)."""
    from pglast import parse_sql
    from pglast.visitors import Visitor

    names: set[str] = set()

    class Calls(Visitor):
        def visit_FuncCall(self, parent: Any, node: Any) -> None:
            names.add(node.funcname[-1].sval)

    try:
        (raw,) = parse_sql(f"SELECT {expression}")
    except Exception:
        return True  # not readable here: treated as the costly case
    node: Any = raw.stmt
    Calls()(node)
    if not names:
        return False
    with conn.cursor() as cur:
        cur.execute(query("expand_volatile"), {"names": sorted(names)})
        return bool(cur.fetchone()[0])


def conversions(statements: list[str]) -> dict[tuple[str, str], str]:
    """The USING expression of each type change among the engine's `statements`, by (quoted
    table, column): the engine chooses the conversion (an enum through text, say)."""
    from pglast import parse_sql
    from pglast.stream import RawStream

    out = {}
    for text in statements:
        p = parse(text)
        if p.action == "alter column type" and p.quoted_table and p.target:
            (raw,) = parse_sql(text)
            node: Any = raw.stmt
            using = node.cmds[0].def_.raw_default
            if using is not None:
                out[p.quoted_table, p.target] = str(RawStream()(using))
    return out


def of_new_row(expression: str, column: str) -> str:
    """`expression` with `column` read from the trigger's NEW row."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream
    from pglast.visitors import Visitor

    class Row(Visitor):
        def visit_ColumnRef(self, parent: Any, node: Any) -> Any:
            f = node.fields
            if len(f) == 1 and isinstance(f[0], ast.String) and f[0].sval == column:
                return ast.ColumnRef(fields=(ast.String(sval="new"), ast.String(sval=column)))
            return None

    (raw,) = parse_sql(f"SELECT {expression}")
    node: Any = raw.stmt
    Row()(node)
    return str(RawStream()(node.targetList[0].val))


def rebuilt(ix: ops.Index, column: str, tmp: str) -> str:
    """`ix`'s definition on the column `tmp` instead of `column`, under a temporary name,
    built concurrently."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream
    from pglast.visitors import Visitor

    class Rename(Visitor):
        def visit_ColumnRef(self, parent: Any, node: Any) -> Any:
            f = node.fields
            if len(f) == 1 and isinstance(f[0], ast.String) and f[0].sval == column:
                return ast.ColumnRef(fields=(ast.String(sval=tmp),))
            return None

        def visit_IndexElem(self, parent: Any, node: Any) -> None:
            if node.name == column:
                node.name = tmp

    (raw,) = parse_sql(ix.definition)
    node: Any = raw.stmt
    Rename()(node)
    node.idxname = ops.short("schemactl", ix.name)
    node.concurrent = True
    node.if_not_exists = True
    return str(RawStream()(node)) + ";"
