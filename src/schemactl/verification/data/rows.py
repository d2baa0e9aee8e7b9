"""The rows of every table before and after a migration, compared value by value: what a
migration truncated, rounded, emptied or deleted, with one example each, and the rows lost with
a dropped table or column.

Rows are matched by primary key (else as whole rows). A value is compared in the column's old
type: the new value is cast back to it, so `1.55` rounded to `2` reads `2.00` and shows,
while `int` to `bigint` or `timestamp` to `timestamptz` compare equal.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ...engine.catalog import ident
from ...grammar.statements import parse
from ...project.sqlfiles import SQLFile
from .findings import Hazard
from .generate import Table, quoted, read_columns, read_keys
from .values import Column


@dataclass(frozen=True)
class TableRows:
    columns: tuple[str, ...]
    types: tuple[str, ...]  # as format_type() writes them
    key: tuple[str, ...]  # primary key columns, () when there is none
    partitioned: bool
    rows: tuple[tuple[str | None, ...], ...]  # values as text, in `columns` order
    generated: frozenset[str]  # columns computed from the others: nothing of theirs is lost

    def type_of(self, column: str) -> str:
        return self.types[self.columns.index(column)]


Snapshot = dict[Table, TableRows]


def read(
    conn: Any,
    tables: dict[Table, list[Column]],
    primary: dict[Table, tuple[str, ...]] | None = None,
) -> Snapshot:
    """The rows of `tables` (`generate.read_columns`; `conn` in autocommit); `primary`: the
    primary keys (`read_keys`), when already read."""
    if primary is None:
        primary, _ = read_keys(conn)
    found = _select_all(conn, tables)
    return {
        table: TableRows(
            tuple(c.name for c in columns),
            tuple(c.type for c in columns),
            primary.get(table, ()),
            columns[0].partitioned,
            tuple(found.get(table, ())),
            frozenset(c.name for c in columns if c.generated),
        )
        for table, columns in tables.items()
    }


def _select_all(
    conn: Any, tables: dict[Table, list[Column]], per_query: int = 200
) -> dict[Table, list[tuple[str | None, ...]]]:
    """Every table's values as text, many tables a query (one round trip instead of one a
    table): each row as a JSON array of its values, tagged with its table's place."""
    import json

    order = list(tables)
    out: dict[Table, list[tuple[str | None, ...]]] = {t: [] for t in order}
    for start in range(0, len(order), per_query):
        parts = []
        for n, table in enumerate(order[start : start + per_query], start):
            columns = tables[table]
            # A generated column's values are the others' (nothing of its own to lose), and a
            # virtual one's are computed as they are read: an extreme sample value overflows.
            values = ", ".join(
                "NULL::text" if c.generated else f"{ident(c.name)}::text" for c in columns
            )
            only = "" if columns[0].partitioned else "ONLY "
            parts.append(f"SELECT {n}, json_build_array({values})::text FROM {only}{quoted(table)}")
        with conn.cursor() as cur:
            cur.execute(" UNION ALL ".join(parts))
            for n, row in cur.fetchall():
                out[order[n]].append(tuple(json.loads(row)))
    return out


def _select(
    conn: Any, table: Table, names: tuple[str, ...], partitioned: bool, cast_to: dict[str, str]
) -> list[tuple[str | None, ...]] | None:
    """The table's values as text (each column in `cast_to` first cast to the type given);
    None when a cast fails."""
    exprs = [
        f"{ident(n)}::{cast_to[n]}::text" if n in cast_to else f"{ident(n)}::text" for n in names
    ]
    only = "" if partitioned else "ONLY "
    sql = f"SELECT {', '.join(exprs) or 'NULL'} FROM {only}{quoted(table)}"
    with conn.cursor() as cur:
        try:
            cur.execute(sql)
        except Exception:
            return None
        return [tuple(r) for r in cur.fetchall()]


@dataclass(frozen=True)
class Names:
    """What a migration renames, keyed as `compare` looks things up (`renaming`)."""

    tables: dict[Table, str] = field(default_factory=dict)  # (schema, old) -> new
    columns: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (s, old t, old c)
    values: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (s, new type)


def renaming(up: SQLFile) -> Names:
    """What the statements of `up` rename (tables, columns, enum values), as `Names`: read from
    the file itself, so that a pair `diff` wrote from an annotation and the same pair verified
    again later (or written by hand) are compared alike."""
    names = Names()
    renames = [
        st
        for st in map(parse, (s.text for s in up.statements))
        if st.renamed_from or (st.verb == "rename" and st.kind == "table")
    ]
    for st in renames:
        if st.kind == "table" and st.name and st.target:
            names.tables[st.name] = st.target
    old_table = {new: old for (_, old), new in names.tables.items()}
    for st in renames:
        if not (st.name and st.target and st.renamed_from):
            continue
        schema, owner = st.name
        if st.verb == "rename" and st.kind is None:  # a column (or a constraint: never looked up)
            names.columns[(schema, old_table.get(owner, owner), st.renamed_from)] = st.target
        elif st.kind == "type":
            names.values.setdefault((schema, owner), {})[st.renamed_from] = st.target
    return names


def compare(
    before: Snapshot,
    conn: Any,
    keeps: Any,
    statement: str,
    direction: str,
    names: Names,
    touched: set[Table],
) -> list[Hazard]:
    """What the rows in `before` lost on the way to the database behind `conn`; `statement`
    names the migration in each finding; `names`: what the migration renamed (`renaming`);
    `touched`: the tables it locked, the only ones whose rows it can have changed."""
    now = read_columns(conn, keeps, {(t[0], names.tables.get(t, t[1])) for t in before})
    out: list[Hazard] = []

    def lost(table: Table, detail: str) -> None:
        out.append(Hazard("data-loss", statement, _name(table), detail=detail, direction=direction))

    for table, was in sorted(before.items()):
        if not was.rows:
            continue
        here = (table[0], names.tables.get(table, table[1]))  # its name now
        if here not in now:
            lost(table, f"drops {_name(table)} and its {_rows(len(was.rows))}")
            continue
        if here not in touched:
            continue

        def new_name(column: str, table: Table = table) -> str:
            return names.columns.get((*table, column), column)

        types_now = {c.name: c.type for c in now[here] if not c.generated}
        kept = [c for c in was.columns if new_name(c) in types_now and c not in was.generated]
        derived = was.generated | {c.name for c in now[here] if c.generated}
        for column in was.columns:
            if new_name(column) in types_now or column in derived:
                continue
            values = sum(r[was.columns.index(column)] is not None for r in was.rows)
            if values:
                lost(table, f"drops column {column} of {_name(table)}: {values} value(s) lost")
        changed = {
            new_name(c): was.type_of(c) for c in kept if types_now[new_name(c)] != was.type_of(c)
        }
        selected = tuple(new_name(c) for c in kept)
        rows_now = _select(conn, here, selected, was.partitioned, changed)
        if rows_now is None:
            rows_now = _select(conn, here, selected, was.partitioned, {}) or []
        relabel = [
            names.values.get((table[0], c.base), {}) for c in now[here] if c.name in selected
        ]
        by_name = {c.name: i for i, c in enumerate(c for c in now[here] if c.name in selected)}
        old = [
            tuple(_relabelled(r[was.columns.index(c)], relabel[by_name[new_name(c)]]) for c in kept)
            for r in was.rows
        ]
        for detail in _differences(table, kept, was.key, old, rows_now):
            lost(table, detail)
    return out


def _relabelled(value: str | None, labels: dict[str, str]) -> str | None:
    """A value as it reads after its enum's labels were renamed (an array's, label by label)."""
    if value is None or not labels:
        return value
    if value.startswith("{") and value.endswith("}"):
        inner = value[1:-1]
        return "{" + ",".join(labels.get(v, v) for v in inner.split(",")) + "}" if inner else value
    return labels.get(value, value)


def _differences(
    table: Table,
    columns: list[str],
    key: tuple[str, ...],
    old: list[tuple[str | None, ...]],
    new: list[tuple[str | None, ...]],
) -> list[str]:
    name = _name(table)
    if not key or not all(k in columns for k in key):
        gone = Counter(old) - Counter(new)
        if not gone:
            return []
        example = next(iter(gone))
        return [f"{sum(gone.values())} row(s) of {name} changed or deleted, e.g. {example}"]
    at = [columns.index(k) for k in key]
    by_key_new = {tuple(r[i] for i in at): r for r in new}
    out = []
    deleted = [r for r in old if tuple(r[i] for i in at) not in by_key_new]
    if deleted:
        out.append(f"{len(deleted)} row(s) of {name} deleted, e.g. {_where(key, deleted[0], at)}")
    for j, column in enumerate(columns):
        diffs = [
            (r, by_key_new[k])
            for r in old
            if (k := tuple(r[i] for i in at)) in by_key_new and by_key_new[k][j] != r[j]
        ]
        if diffs:
            r, n = diffs[0]
            how = _how(r[j], n[j])
            out.append(
                f"{len(diffs)} value(s) of {name}.{column} {how}, e.g. {_where(key, r, at)}: "
                f"{_show(r[j])} became {_show(n[j])}"
            )
    return out


def _how(was: str | None, now: str | None) -> str:
    if now is None:
        return "emptied (NULL)"
    try:
        Decimal(was or "")
        Decimal(now)
    except InvalidOperation:
        pass
    else:
        return "rounded"
    if was is not None and len(now) < len(was) and was.startswith(now.rstrip()):
        return "truncated"
    return "changed"


def _where(key: tuple[str, ...], row: tuple[str | None, ...], at: list[int]) -> str:
    return ", ".join(f"{k} = {row[i]}" for k, i in zip(key, at, strict=True))


def _show(value: str | None) -> str:
    if value is None:
        return "NULL"
    return repr(value if len(value) <= 40 else value[:37] + "...")


def _rows(count: int) -> str:
    return f"{count} row{'' if count == 1 else 's'}"


def _name(table: Table) -> str:
    return f"{table[0]}.{table[1]}"
