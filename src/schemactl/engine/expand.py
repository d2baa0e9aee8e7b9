"""Expand/contract plans (`diff --expand-contract`, `expand_contract = true`): a change that
would break the application running while it deploys, written as two pairs (README,
"Zero-downtime changes").

The expand pair makes the new shape while keeping the old one (expand_ops.py says how, per
kind of change); the contract pair, which `apply` runs only when told (`--contract`), removes
the old shape once no old client runs. Everything else in the change goes into the expand
pair as an online plan (online.py). Every transaction of both pairs sets a short
`lock_timeout`, which the runner retries with backoff.

Found here from the engine's statements, the declared renames made around them, the two
inspections, and the catalog of the database the history replays into (what depends on a
column decides whether it can be copied and swapped; what cannot is written as before, and
said).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import NeedsHandWriting
from ..grammar import sqltext
from ..grammar.statements import parse
from ..project.sqlfiles import SQLFile
from . import expand_ops as ops
from . import expand_reads as reads
from . import online, renames
from .catalog import Named, ident, literal
from .inspection import tables_and_indexes

CONTRACT = "-- schemactl:contract"
EXPAND = "-- schemactl:expand"
_BACKFILL = re.compile(r"@backfill\s+(?P<name>.*?)\s*(?:\*/)?\s*$", re.S)
# Kinds whose creation the expand phase's statements may need (a column of a new type), and
# whose drop comes after its undo.
_EARLY = {"schema", "extension", "enum", "type", "domain", "sequence", "collation"}
_COLUMN_ACTIONS = {
    "alter column type", "set default", "drop default", "set not null", "drop not null",
    "add column", "drop column",
}  # fmt: skip


@dataclass
class Plan:
    """The two pairs (no contract pair when nothing waits for old clients to stop)."""

    expand: tuple[str, str]
    contract: tuple[str, str] | None
    notes: list[str] = field(default_factory=list)


def backfills(files: list[SQLFile]) -> dict[tuple[str, str, str], str]:
    """`-- @backfill <expression>` annotations: (schema, table, column) -> the expression."""
    return {
        (r.schema, r.owner or "", r.new): value
        for r, value in renames.annotated(files, _BACKFILL, "@backfill")
        if r.kind == "column" and value
    }


def plan(
    conn: Any,
    changes: tuple[str, str],
    applied: list[renames.Rename],
    inspections: tuple[Any, Any],
    fills: dict[tuple[str, str, str], str],
    lock_timeout: str,
) -> Plan | None:
    """The expand/contract plan of `changes` (the engine's up and down, before the declared
    renames `applied` are put around them), or None when nothing in them needs one. `conn`
    is on the database the engine compared from (the history, renames made)."""
    was, wanted = (i.upstream for i in inspections)
    ph = ops.Phases()
    claimed: set[tuple[str, str]] = set()  # (quoted table, column) whose statements are ours
    renamed_tables = {(r.schema, r.new): r.old for r in applied if r.kind == "table"}
    columns_renamed = [r for r in applied if r.kind == "column"]
    renamed_columns = {(r.schema, r.owner, r.new) for r in columns_renamed}
    first = [r for r in applied if r.kind != "column" or (r.schema, r.owner) in renamed_tables]
    swapped: set[tuple[str, str]] = set()
    moved: set[tuple[str, str]] = set()  # plain type changes in a renamed table
    conversions = reads.conversions(_statements(changes[0]))
    conversions_back = reads.conversions(_statements(changes[1]))

    for key, table in wanted.tables.items():
        before = was.tables.get(key)
        if before is None:
            continue
        t = Named(table.schema, table.name)
        for name, col in table.columns.items():
            old = before.columns.get(name)
            if old is None:
                if _add(conn, ph, t, name, col, fills):
                    claimed.add((key, name))
                continue
            if old.dbtypestr == col.dbtypestr:
                continue
            if (t.schema, t.name, name) in renamed_columns:
                ph.notes.append(f"{t.quoted}.{ident(name)}: type change written plainly (renamed)")
            elif _swap(conn, ph, t, name, (old, col), (conversions, conversions_back)):
                claimed.add((key, name))
                swapped.add((t.schema, t.name))
                continue
            if (t.schema, t.name) in renamed_tables:
                # Written plainly, but where the old name's view is dropped and made again.
                claimed.add((key, name))
                moved.add((key, name))
                swapped.add((t.schema, t.name))
        for name, old in before.columns.items():
            if name not in table.columns and not old.is_inherited:
                info = reads.survey(conn, t, name)
                ops.drop_column(ph, t, name, ops.Column(info[0], info[1], info[2]))
                claimed.add((key, name))
                ph.notes.append(
                    f"{t.quoted}.{ident(name)} is dropped at contract; until then it stays"
                )
    for r in columns_renamed:
        if (r.schema, r.owner) in renamed_tables:
            continue  # the old name's view shows it under its old name
        t = Named(r.schema, r.owner or "")
        info = reads.survey(conn, t, r.new)
        ops.rename_column(ph, t, r.old, r.new, info[0])
        ph.notes.append(
            f"{t.quoted}.{ident(r.old)} → {ident(r.new)}: old clients read and write a shadow "
            "column under the old name until contract (a trigger keeps both equal)"
        )
    if first:
        ph.prepare += [(ops.FIRST, r.up()) for r in first]
        ph.undo += [(ops.FIRST, r.down()) for r in reversed(first)]
    for (schema, new), old_name in renamed_tables.items():
        before = was.tables[f"{ident(schema)}.{ident(new)}"]
        shown = {r.new: r.old for r in columns_renamed if (r.schema, r.owner) == (schema, new)}
        select = ", ".join(
            ident(c) if c not in shown else f"{ident(c)} as {ident(shown[c])}"
            for c, col in before.columns.items()
        )
        t, old = Named(schema, new), Named(schema, old_name)
        grants = reads.grants(conn, t)
        ops.rename_table(
            ph, old, f"select {select} from {t.quoted}", grants, (schema, new) in swapped
        )
        ph.notes.append(
            f"{old.quoted} → {ident(new)}: old clients use a view under the old name until contract"
        )
    if not (ph.prepare or ph.middle or ph.switch):
        return None
    up, down = (_statements(sql) for sql in changes)
    rest_up = [s for s in up if not _claimed(s, claimed, ph.indexes)]
    rest_down = [s for s in down if not _claimed(s, claimed, ph.indexes)]
    ph.switch += [(ops.SWAP, s) for s in up if _claimed(s, moved, set())]
    ph.undo += [(ops.SWAP, s) for s in down if _claimed(s, moved, set())]
    early = [s for s in rest_up if (p := parse(s)).verb == "create" and p.kind in _EARLY]
    late = [s for s in rest_down if (p := parse(s)).verb == "drop" and p.kind in _EARLY]
    rest_up = [s for s in rest_up if s not in early]
    rest_down = [s for s in rest_down if s not in late]
    timeout = f"SET LOCAL lock_timeout = {literal(lock_timeout)};"
    existing = tuple(online.Existing(*tables_and_indexes(i)) for i in inspections)
    expand_up = _expand(ph, early, rest_up, timeout, lock_timeout, existing[0])
    expand_down = _parts(
        [
            *_online(rest_down, lock_timeout, existing[1]),
            _tx(timeout, ops.ordered(ph.undo, reverse=True) + late),
        ]
    )
    contract = None
    if ph.contract:
        contract = (
            f"{CONTRACT}\n" + _parts([_tx(timeout, ops.ordered(ph.contract))]),
            _parts(
                [
                    _tx(timeout, ops.ordered(ph.restore)),
                    *(_backfill(b) for b in ph.restore_backfill),
                ]
            ),
        )
    return Plan((f"{EXPAND}\n" + expand_up, expand_down), contract, ph.notes)


def shadows(up: str) -> set[tuple[str, str]]:
    """The columns a contract pair's `up` drops that were a renamed column's shadow, as
    (relation "schema.table", column): each follows the drop of its sync trigger's function,
    and its values live on in the renamed column, so dropping it loses nothing."""
    found: set[tuple[str, str]] = set()
    if "schemactl_sync_" not in up:  # every trial asks: only a contract pair is parsed
        return found
    previous = None
    for text in _statements(up):
        p = parse(text)
        if p.action == "drop column" and p.table and p.target and previous is not None:
            if previous.verb == "drop" and previous.kind == "function" and previous.name:
                if previous.name[1].startswith("schemactl_sync_"):
                    found.add((f"{p.table[0]}.{p.table[1]}", p.target))
        previous = p
    return found


def _expand(
    ph: ops.Phases,
    early: list[str],
    rest: list[str],
    timeout: str,
    lock_timeout: str,
    existing: online.Existing,
) -> str:
    parts = [_tx(timeout, early + ops.ordered(ph.prepare))]
    parts += [_backfill(b) for b in ph.backfill]
    if ph.middle:
        parts.append(_tx(timeout, ops.ordered(ph.middle)))
    parts += [_backfill(b) for b in ph.fill]
    if ph.guard:
        parts.append(_tx(timeout, ops.ordered(ph.guard)))
    parts += [f"-- schemactl:commit no-transaction\n{b}" for b in ph.build]
    if ph.validate:
        parts.append(_tx(timeout, ph.validate))
    if ph.switch:
        parts.append(_tx(timeout, ops.ordered(ph.switch)))
    parts += _online(rest, lock_timeout, existing)
    return _parts(parts)


def _tx(timeout: str, statements: list[str]) -> str:
    return "\n".join([timeout, *statements])


def _backfill(statement: str) -> str:
    return f"-- schemactl:commit backfill\n{statement}"


def _online(statements: list[str], lock_timeout: str, existing: online.Existing) -> list[str]:
    return [online.plan("\n\n".join(statements), lock_timeout, existing)] if statements else []


def _parts(parts: list[str]) -> str:
    """Parts joined, each after the first behind a commit point (unless it has its own)."""
    out = []
    for i, part in enumerate(p.strip() for p in parts if p.strip()):
        out.append(
            part
            if i == 0 or part.startswith("-- schemactl:commit")
            else f"-- schemactl:commit\n{part}"
        )
    return "\n\n".join(out) + "\n"


def _statements(sql: str) -> list[str]:
    return [st.text.strip() + ";" for st in sqltext.split(sql)[0]]


def _claimed(statement: str, claimed: set[tuple[str, str]], indexes: set[str]) -> bool:
    """Whether the plan makes what `statement` does: it changes a `claimed` column, or builds
    or drops one of the plan's `indexes`."""
    p = parse(statement)
    if p.kind == "index" and p.verb in ("create", "drop"):
        return (p.quoted or "") in indexes
    return (
        p.verb == "alter"
        and p.action in _COLUMN_ACTIONS
        and (p.quoted_table or "", p.target or "") in claimed
    )


def _add(
    conn: Any,
    ph: ops.Phases,
    t: Named,
    name: str,
    col: Any,
    fills: dict[tuple[str, str, str], str],
) -> bool:
    """An added column that a plain ADD COLUMN would rewrite the table for, or that fails on
    a table with rows (NOT NULL, nothing to fill it with): planned; else False."""
    if col.is_identity or col.is_generated:
        return False
    fill = fills.get((t.schema, t.name, name))
    volatile = col.default is not None and reads.volatile(conn, col.default)
    if not (volatile or (col.not_null and col.default is None)):
        return False
    if fill is None and col.default is None:
        raise NeedsHandWriting(
            f"{t.quoted}.{ident(name)} is added NOT NULL without a default: the rows the table "
            "already holds need a value",
            hint=f"say which with `-- @backfill <expression>` after the column in schemas/ "
            f"(e.g. `{name} text NOT NULL, -- @backfill ''`), or give it a DEFAULT",
        )
    wanted = ops.Column(col.dbtypestr, col.not_null, col.default)
    ops.add_column(
        ph, t, name, wanted, fill or col.default, fill is not None and col.default is None
    )
    ph.notes.append(
        f"{t.quoted}.{ident(name)}: added without a rewrite, filled in batches"
        + (", NOT NULL once proven" if col.not_null else "")
    )
    return True


def _swap(
    conn: Any,
    ph: ops.Phases,
    t: Named,
    name: str,
    columns: tuple[Any, Any],
    conversions: tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]],
) -> bool:
    """A type change that rewrites the table (planned as a copy and a swap), or False: one
    PostgreSQL makes without a rewrite, or one a copy cannot carry (said in the notes)."""
    old, col = columns
    info = reads.survey(conn, t, name)
    was_type, _, _, relkind, special, constrained, depended, comment, sequence, _ = info
    if not reads.rewrites(conn, was_type, col.dbtypestr):
        return False
    indexes = reads.indexes(conn, t, name)
    why = (
        "it is not in an ordinary table" if relkind != "r" else
        "it is an identity or generated column, has column privileges or its own collation"
        if special else
        "a constraint other than a key names it, or a foreign key points at it" if constrained
        else "a view, rule, trigger, policy or statistics object names it" if depended
        else "an exclusion constraint uses it" if any(ix.contype == "x" for ix in indexes)
        else ""
    )  # fmt: skip
    if why:
        ph.notes.append(f"{t.quoted}.{ident(name)}: type change written plainly ({why})")
        return False
    tmp = ops.short("schemactl_new", name)
    rebuilt = [reads.rebuilt(ix, name, tmp) for ix in indexes]
    key = (t.quoted, name)
    conversion = conversions[0].get(key) or f"{ident(name)}::{col.dbtypestr}"
    back = conversions[1].get(key) or f"{ident(name)}::{was_type}"
    ops.change_type(
        ph, t, name, ops.Column(was_type, old.not_null, old.default),
        ops.Column(col.dbtypestr, col.not_null, col.default), indexes, rebuilt, comment, sequence,
        (conversion, reads.of_new_row(conversion, name), back),
    )  # fmt: skip
    ph.notes.append(
        f"{t.quoted}.{ident(name)} {was_type} → {col.dbtypestr}: copied, backfilled, indexed "
        "concurrently and swapped in one short transaction"
    )
    return True
