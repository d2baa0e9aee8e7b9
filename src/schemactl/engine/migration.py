"""The SQL from one inspected database to another: migra's statements, corrected and completed
by the kinds (engine/kind.py, engine/kinds/), each hook in the order of `kinds.KINDS`."""

from __future__ import annotations

from ..grammar import sqltext
from . import upstream
from .casts import TypeChange
from .inspection import unpin_extensions
from .kind import Diff, Inspection
from .kinds import KINDS, column_types


def migration_sql(
    i_from: Inspection, i_target: Inspection, pinned: frozenset[str] | None = None
) -> str:
    """Return the SQL that takes the `i_from` database to the `i_target` one (`pinned`: the
    extensions whose version the DDL names; None compares every version)."""
    upstream.ready()
    from migra import Migration

    if pinned is not None:
        i_from, i_target = unpin_extensions(i_from, pinned), unpin_extensions(i_target, pinned)
    diff = Diff(i_from, i_target)
    for kind in KINDS:
        kind.prepare(diff)
    m = Migration(diff.source.upstream, diff.target.upstream)
    m.set_safety(False)  # destructive statements are reported by schemactl, not refused here
    m.add_all_changes(privileges=False)  # privileges are ours: kinds/privileges.py
    diff.statements = list(m.statements)
    for kind in KINDS:
        kind.rewrite(diff)
    for kind in KINDS:
        kind.emit(diff)
    statements = diff.assembled()
    for kind in KINDS:
        statements = kind.finish(diff, statements)
    return _tidy("".join(s + "\n\n" for s in statements))


def type_changes(
    i_from: Inspection, i_target: Inspection, sql: str
) -> dict[tuple[str, str], TypeChange]:
    """What each column type change in `sql` (from `i_from` to `i_target`) does to stored values."""
    statements = [st.text for st in sqltext.split(sql)[0]]
    return column_types.changes_in(statements, i_from, i_target)


def _tidy(sql: str) -> str:
    # migra separates statements by blank lines and ends with a newline; normalise so
    # "no changes" is exactly the empty string.
    return sql.strip() + "\n" if sql.strip() else ""


def both_directions(
    i_from: Inspection, i_target: Inspection, pinned: frozenset[str] | None = None
) -> tuple[str, str]:
    """Return (up, down) SQL between two inspected databases (each inspected once)."""
    return migration_sql(i_from, i_target, pinned), migration_sql(i_target, i_from, pinned)
