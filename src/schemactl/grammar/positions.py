"""Where the parts of a statement stand in its text, from PostgreSQL's own scanner (pglast):
what the parse tree gives only a start for, or not at all. Exact where text is cut or quoted
(engine/kinds/inheritance.py keeps a child's own columns as written)."""

from __future__ import annotations

from typing import Any


def elements(
    text: str, nodes: Any
) -> tuple[tuple[tuple[str | None, str], ...], tuple[int, int] | None]:
    """Each column or table constraint of a CREATE TABLE as written, and the span between its
    parentheses: from where the parser says each starts to the comma or parenthesis that
    ends it at its own depth, found by PostgreSQL's own scanner (so strings, quoted names and
    nested parentheses count as they do for the server)."""
    if not nodes:
        return (), None
    from pglast.parser import scan

    tokens = scan(text)
    at = next(i for i, t in enumerate(tokens) if t.start >= nodes[0].location)
    opening = tokens[at - 1].end + 1  # the "(" before the first element
    elements = []
    for node in nodes:
        while tokens[at].start < node.location:
            at += 1
        depth, start = 0, at
        while depth or tokens[at].name not in ("ASCII_44", "ASCII_41"):  # "," and ")"
            depth += {"ASCII_40": 1, "ASCII_41": -1}.get(tokens[at].name, 0)
            at += 1
        end = tokens[at - 1].end + 1
        name = node.colname if type(node).__name__ == "ColumnDef" else None
        elements.append((name, text[tokens[start].start : end]))
    return tuple(elements), (opening, tokens[at].start)  # up to the ")" after the last one


def bound(text: str, partition_at: int) -> str:
    """The text of an ATTACH PARTITION's bound: from the first FOR or DEFAULT keyword after
    the partition's name (both reserved, so a name spelled so is a quoted identifier)."""
    from pglast.parser import scan

    start = next(
        t.start for t in scan(text) if t.start > partition_at and t.name in ("FOR", "DEFAULT")
    )
    return text[start:].strip().removesuffix(";").rstrip()


def index_name(text: str) -> tuple[int, tuple[int, int] | None]:
    """In a CREATE INDEX: where its options go (just after the INDEX keyword), and the span
    of the index's name (None when the statement names none)."""
    from pglast.parser import scan

    tokens = [t for t in scan(text) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
    at = next(i for i, t in enumerate(tokens) if t.name == "INDEX")
    after = tokens[at].end + 1
    name = tokens[at + 1]
    return after, (None if name.name == "ON" else (name.start, name.end + 1))


def without_schema(text: str, schema: str = "public") -> str:
    """`text` with the qualifier `schema.` taken off every name that carries it, unquoted, as a
    token of its own: strings and function bodies (one token each) are left as written."""
    from pglast.parser import scan

    tokens = scan(text)
    cut = [
        t.start
        for t, dot, nxt in zip(tokens, tokens[1:], tokens[2:], strict=False)
        if t.name == "IDENT"
        and text[t.start : t.end + 1] == schema
        and dot.name == "ASCII_46"
        and dot.start == t.end + 1
        and nxt.start == dot.end + 1
    ]
    out, at = [], 0
    for start in cut:
        out.append(text[at:start])
        at = start + len(schema) + 1
    return "".join(out) + text[at:]
