"""Sample rows in a scratch database, so that a migration is tried on data and not only on
empty tables (README, "Data-aware verification").

Every table gets a few rows made from its column types (data/values.py), parents before the
tables whose foreign keys point at them, each foreign key taking its values from the parent's
rows. A row that a CHECK, a domain or a partition bound refuses is tried again plainer; a
table that takes no row at all is named, never fatal. The project's own sample files (INSERT
statements, `sample_data` in the config) run first, so generated rows can point at them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ...engine.catalog import ident, query, rows
from ...engine.catalog import literal as quote_literal
from ...project.sqlfiles import read_sql_file
from . import checks
from .values import HIGH, TYPICAL, Column, literal

Table = tuple[str, str]  # (schema, name)


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    parent: Table
    parent_columns: tuple[str, ...]


@dataclass
class Filled:
    """What `fill` put into a database."""

    notes: list[str] = field(default_factory=list)  # what could not be filled, and why


def quoted(table: Table) -> str:
    return f"{ident(table[0])}.{ident(table[1])}"


_SERIAL = frozenset({"int2", "int4", "int8"})
_COLUMN_FIELDS = [f.name for f in fields(Column)]  # sql/sample_columns.sql's columns, in order


def read_columns(
    conn: Any, keeps: Any, only: set[Table] | None = None
) -> dict[Table, list[Column]]:
    """The insertable tables' columns, in column order (sql/sample_columns.sql); `only`: of
    those tables (the others' columns are not built)."""
    tables: dict[Table, list[Column]] = defaultdict(list)
    found = rows(conn, "sample_columns") if only is None else _columns_of(conn, only)
    for row in found:
        if keeps(row[0]):
            values = dict(zip(_COLUMN_FIELDS, row, strict=True))
            column = Column(**{**values, "labels": tuple(values["labels"] or ())})
            tables[(row[0], row[1])].append(column)
    return dict(tables)


def _columns_of(conn: Any, only: set[Table]) -> list[tuple[Any, ...]]:
    # The query's rows for a few tables, filtered in the server: 1,000 tables' columns cost
    # 0.25 s to send and read, a pair's few dozen next to nothing.
    if not only:
        return []
    wanted = ", ".join(f"({quote_literal(s)}, {quote_literal(t)})" for s, t in sorted(only))
    with conn.cursor() as cur:  # no parameters: `%` in the query stays as it is
        # Numbered before the filter, so that the query's own order (by attnum) is kept.
        cur.execute(
            f"SELECT * FROM (SELECT s.*, row_number() OVER () AS position FROM "
            f"({query('sample_columns')}) s) q "
            f"WHERE (q.schema, q.table) IN (VALUES {wanted}) ORDER BY q.position"
        )
        return [row[:-1] for row in cur.fetchall()]


def read_keys(conn: Any) -> tuple[dict[Table, tuple[str, ...]], dict[Table, list[ForeignKey]]]:
    """Each table's primary key columns, and its foreign keys (sql/sample_keys.sql)."""
    primary: dict[Table, tuple[str, ...]] = {}
    foreign: dict[Table, list[ForeignKey]] = defaultdict(list)
    for schema, table, kind, columns, p_schema, parent, p_columns in rows(conn, "sample_keys"):
        if kind == "f":
            foreign[(schema, table)].append(
                ForeignKey(tuple(columns), (p_schema, parent), tuple(p_columns))
            )
        elif kind == "p":
            primary[(schema, table)] = tuple(columns)
    return primary, dict(foreign)


def fill(
    conn: Any,
    columns: dict[Table, list[Column]],
    per_table: int,
    sample_files: list[Path],
    root: Path,
    foreign: dict[Table, list[ForeignKey]] | None = None,
) -> Filled:
    """Insert sample rows into the tables of `columns` (`read_columns`), in one transaction;
    `conn` is a psycopg2 connection outside autocommit. `per_table` rows each (more where an
    enum column has more labels, so that every label appears); 0: only the sample files.
    `foreign`: the foreign keys (`read_keys`), when already read."""
    filled = Filled()
    with conn.cursor() as cur:
        for path in sample_files:
            _run_sample_file(cur, path, root, filled)
        if per_table > 0:
            if foreign is None:
                _, foreign = read_keys(conn)
            rules = checks.read(cur, sorted(columns))
            for table in _parents_first(columns, foreign):
                _fill_table(
                    cur,
                    table,
                    columns[table],
                    foreign.get(table, []),
                    per_table,
                    filled,
                    rules.get(table),
                )
    conn.commit()
    return filled


def _run_sample_file(cur: Any, path: Path, root: Path, filled: Filled) -> None:
    f = read_sql_file(path, root)
    for st in f.statements:
        cur.execute("SAVEPOINT sample")
        try:
            cur.execute(st.text)
        except Exception as e:  # a sample row the schema no longer takes: said, not fatal
            cur.execute("ROLLBACK TO SAVEPOINT sample")
            line = f.text.count("\n", 0, st.offset + st.lead) + 1
            where = f"{f.rel}:{line}"
            filled.notes.append(f"{where}: sample row not inserted: {_message(e)}")
        else:
            cur.execute("RELEASE SAVEPOINT sample")


def _parents_first(
    columns: dict[Table, list[Column]], foreign: dict[Table, list[ForeignKey]]
) -> list[Table]:
    """The tables, each after the tables its foreign keys point at (a cycle: in name order)."""
    order: list[Table] = []
    state: dict[Table, int] = {}

    def visit(table: Table) -> None:
        if state.get(table) or table not in columns:
            return
        state[table] = 1  # visiting: a cycle back here is left to NULLs
        for fk in foreign.get(table, []):
            if fk.parent != table:
                visit(fk.parent)
        state[table] = 2
        order.append(table)

    for table in sorted(columns):
        visit(table)
    return order


def _fill_table(
    cur: Any,
    table: Table,
    columns: list[Column],
    foreign: list[ForeignKey],
    per_table: int,
    filled: Filled,
    rules: checks.Rules | None,
) -> None:
    count = max([per_table, *(len(c.labels) for c in columns if c.labels)])
    count = min(count, max(per_table, 20))
    parents = {fk: _parent_rows(cur, fk) for fk in foreign}
    # All rows in one statement (one round trip); where one is refused, row by row, each
    # tried again plainer.
    if not any(fk.parent == table for fk in foreign):
        rows = [_row(columns, parents, i, None, rules) for i in range(count)]
        if _run(cur, _insert_sql(table, rows)) is None:
            return
    first_error: str | None = None
    inserted = 0
    for i in range(count):
        if any(fk.parent == table for fk in foreign):  # rows inserted so far are parents
            parents = {fk: _parent_rows(cur, fk) for fk in foreign}
        for variant in (None, TYPICAL, "defaults"):
            error = _run(cur, _insert_sql(table, [_row(columns, parents, i, variant, rules)]))
            if error is None:
                inserted += 1
                break
            first_error = first_error or error
    if inserted == 0 and first_error:
        filled.notes.append(f"{quoted(table)}: no sample row could be inserted: {first_error}")


def _parent_rows(cur: Any, fk: ForeignKey) -> list[tuple[Any, ...]]:
    cols = ", ".join(f"{ident(c)}::text" for c in fk.parent_columns)
    not_null = " AND ".join(f"{ident(c)} IS NOT NULL" for c in fk.parent_columns)
    cur.execute(f"SELECT {cols} FROM {quoted(fk.parent)} WHERE {not_null} ORDER BY 1 LIMIT 50")
    return list(cur.fetchall())


def _row(
    columns: list[Column],
    parents: dict[ForeignKey, list[tuple[Any, ...]]],
    i: int,
    variant: Any,
    rules: checks.Rules | None,
) -> dict[str, str]:
    """Row `i`'s values by column (`variant`: None, the row's own; TYPICAL; "defaults": only
    what must be given), meeting the table's simple CHECKs (`rules`); a column left out takes
    its default."""
    values: dict[str, str] = {}
    for fk, found in parents.items():
        for j, name in enumerate(fk.columns):
            column = next(c for c in columns if c.name == name)
            if found:
                values[name] = _text(found[i % len(found)][j], column)
            elif not column.not_null:
                values[name] = "NULL"
    for column in columns:
        if column.makes_its_own or column.name in values:
            continue
        if variant == "defaults" and (column.has_default or not column.not_null):
            continue
        if column.has_default and (column.base in _SERIAL or (variant is None and i % 3 == HIGH)):
            # An integer default is a sequence's, almost always: values given here would
            # collide with the ones it hands out later. Other defaults: one row in three.
            continue
        value = literal(column, i, TYPICAL if variant in (TYPICAL, "defaults") else None)
        if value is not None:
            values[column.name] = value
    if rules is not None:
        checks.apply(rules, columns, values, i, variant)
    return values


def _insert_sql(table: Table, rows: list[dict[str, str]]) -> str:
    names = list(dict.fromkeys(n for r in rows for n in r))
    if not names:
        return ";".join(f"INSERT INTO {quoted(table)} DEFAULT VALUES" for _ in rows)
    values = ", ".join("(" + ", ".join(r.get(n, "DEFAULT") for n in names) + ")" for r in rows)
    return f"INSERT INTO {quoted(table)} ({', '.join(map(ident, names))}) VALUES {values}"


def _run(cur: Any, sql: str) -> str | None:
    """Run `sql` under a savepoint (one round trip); the server's message when it fails."""
    try:
        cur.execute(f"SAVEPOINT sample; {sql}; RELEASE SAVEPOINT sample")
    except Exception as e:
        cur.execute("ROLLBACK TO SAVEPOINT sample")
        return _message(e)
    return None


def _text(value: str | None, column: Column) -> str:
    if value is None:
        return "NULL"
    return "'" + value.replace("'", "''") + f"'::{column.type}"


def _message(e: Exception) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__
