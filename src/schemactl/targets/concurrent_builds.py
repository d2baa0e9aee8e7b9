"""Index builds outside a transaction (CREATE INDEX CONCURRENTLY) that stopped partway.

A concurrent build that fails or is interrupted (Ctrl-C, a kill, lock_timeout, a duplicate
that breaks a unique index) leaves its index behind, marked INVALID: never used by queries,
still updated by every write. `CREATE INDEX CONCURRENTLY IF NOT EXISTS` would then skip it for
good. Before such a build runs, the runner drops an INVALID index of that name, so running
the part again builds it for real.
"""

from __future__ import annotations

from typing import Any

_INVALID = """
SELECT NOT i.indisvalid FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s
"""


def recover(cur: Any, statement: str) -> list[str]:
    """Before `statement` runs (in autocommit on `cur`): when it is a concurrent index build
    whose index exists and is INVALID, drop that index concurrently. Returns what it did, for
    the run's notes."""
    # Imported here: the engine package costs ~0.1 s to import, and `apply` runs no-transaction
    # statements (the only ones that come here) rarely.
    from ..grammar.records import ident
    from ..grammar.statements import parse

    st = parse(statement)
    if not (st.is_("create", "index") and st.concurrently and st.name):
        return []
    cur.execute(_INVALID, st.name)
    row = cur.fetchone()
    if not (row and row[0]):
        return []
    name = f"{ident(st.name[0])}.{ident(st.name[1])}"
    cur.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    return [
        f"dropped the INVALID index {st.name[0]}.{st.name[1]} that an interrupted concurrent "
        "build left, and built it again"
    ]
