"""Which tables a migration pair can reach: the ones worth filling with sample rows.

PostgreSQL locks a relation to read or change it at all, and the rows data-aware verification
compares are those of the tables a statement locked (`hazards.Applied.touched`). So `up` and
then `down` first run on the still-empty copy, in one transaction that is rolled back, and the
tables they locked are filled, with the tables their foreign keys point at (which give their
keys values). A 2% edit of a 1,000-table schema fills a few dozen tables, not 1,000: the fill,
the reads and the comparisons cost what the migration touches (docs/performance.md).

The locks of a trial on empty tables are those of the real run only for DDL: a row trigger or
a function called per row runs only where there are rows. So a statement that is not DDL, one
PostgreSQL runs only outside a transaction, or a trial that fails fills every table; and a real
run that locks a table the trial did not (`missed`), or that fails (its locks are gone with its
transaction), is run again with every table filled (data/__init__.py).
"""

from __future__ import annotations

from typing import Any

from ...grammar import sqltext
from ...project.sqlfiles import SQLFile
from .generate import ForeignKey, Table

# The statements whose locks do not depend on the rows there are: they read or change tables
# as a whole (a CHECK or a USING expression calling a function that reads another table is the
# exception the real run's locks catch: `missed`).
_DDL = frozenset(
    "alter create drop comment grant revoke security truncate reindex refresh analyze lock "
    "set reset".split()
)

_LOCKED = """
SELECT DISTINCT n.nspname, r.relname FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
LEFT JOIN pg_index i ON i.indexrelid = c.oid
LEFT JOIN pg_class owner ON owner.reltoastrelid = c.oid
JOIN pg_class r ON r.oid = coalesce(
    pg_partition_root(coalesce(i.indrelid, owner.oid, c.oid)), i.indrelid, owner.oid, c.oid)
JOIN pg_namespace n ON n.oid = r.relnamespace
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
"""


_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
"""


def trial(conn: Any, files: list[SQLFile]) -> set[Table] | None:
    """The tables (a partition: its root) that running `files` in order locks on `conn`
    (psycopg2, outside autocommit, no transaction open), found in a transaction rolled back
    afterwards; None when that says nothing about a run on rows (module docstring)."""
    statements = [st.text for f in files for st in f.statements]
    if not all(_first_word(text) in _DDL for text in statements):
        return None
    try:
        with conn.cursor() as cur:
            for text in statements:
                cur.execute(text)
            cur.execute(_LOCKED)
            return {(schema, name) for schema, name in cur.fetchall()}
    except Exception:  # it fails empty too (verification says so), or runs only outside one
        return None
    finally:
        conn.rollback()


def with_parents(tables: set[Table], foreign: dict[Table, list[ForeignKey]]) -> set[Table]:
    """`tables` and every table their foreign keys point at, transitively."""
    out, todo = set(tables), list(tables)
    while todo:
        for fk in foreign.get(todo.pop(), []):
            if fk.parent not in out:
                out.add(fk.parent)
                todo.append(fk.parent)
    return out


def tables(conn: Any, keeps: Any) -> set[Table]:
    """The tables rows can be inserted into (as sql/sample_columns.sql lists them)."""
    with conn.cursor() as cur:
        cur.execute(_TABLES)
        return {(schema, name) for schema, name in cur.fetchall() if keeps(schema)}


def missed(touched: set[Table], filled: set[Table], existed: set[Table]) -> set[Table]:
    """The tables a real run locked that were there before it and had no rows filled."""
    return (touched & existed) - filled


def _first_word(text: str) -> str:
    words = sqltext.strip_comments(text).split(None, 1)
    return words[0].lower().rstrip(";") if words else "set"
