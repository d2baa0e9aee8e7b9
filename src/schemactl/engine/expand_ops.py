"""The operations of an expand/contract plan (expand.py finds them; README "Zero-downtime
changes" argues each), each writing its statements into the phases of the two pairs.

Like pgroll's operations, each has a start (the expand pair), a completion (the contract pair)
and a rollback (the expand pair's down file); unlike pgroll's, the old and the new shape live
in the same relations under the names each application already uses, since a running
application cannot be told to set its `search_path`:

- a renamed column gets a shadow under its old name, kept equal by a trigger both ways;
- a renamed table keeps its old name as a view over it (simple, so INSERT / UPDATE / DELETE
  go through), its privileges copied, `security_invoker` so row security still applies;
- a column whose type change rewrites the table is copied into a new column of the new type,
  kept current by a trigger, backfilled, indexed concurrently, and swapped in one short
  transaction;
- a column added NOT NULL (or with a volatile default) is added bare and backfilled, and NOT
  NULL is proven by a validated check before it is set;
- a dropped column stays until the contract pair (its NOT NULL lifted if nothing fills it).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from .catalog import Named as Table
from .catalog import ident, literal

# Where in its phase each kind's statements go (lowest first; expand's down runs highest
# first): table renames and their views first, a swap before the renames that may name the
# column, views made again last (they read the columns as the swaps leave them).
FIRST, SWAP, RENAME, COLUMN, LAST = 0, 10, 20, 30, 40


@dataclass
class Phases:
    """The statements of both pairs, by phase; each phase a list of (order, statement)."""

    prepare: list[tuple[int, str]] = field(default_factory=list)  # expand's first transaction
    backfill: list[str] = field(default_factory=list)  # copies: one part each, batched
    # Columns renamed and columns added, in one transaction: what the new schema names exists
    # from here on (a backfill expression is written in its names), and then its fills.
    middle: list[tuple[int, str]] = field(default_factory=list)
    fill: list[str] = field(default_factory=list)
    guard: list[tuple[int, str]] = field(default_factory=list)  # checks added NOT VALID
    build: list[str] = field(default_factory=list)  # CREATE INDEX CONCURRENTLY, outside
    validate: list[str] = field(default_factory=list)  # VALIDATE CONSTRAINT, a part of its own
    switch: list[tuple[int, str]] = field(default_factory=list)  # expand's last transaction
    undo: list[tuple[int, str]] = field(default_factory=list)  # expand's down
    contract: list[tuple[int, str]] = field(default_factory=list)  # contract's up
    restore: list[tuple[int, str]] = field(default_factory=list)  # contract's down
    restore_backfill: list[str] = field(default_factory=list)
    # Indexes a swap builds on the copy and builds again on the way back (quoted names): the
    # engine's own statements for them are not run too.
    indexes: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)  # what the output says about the plan


def short(prefix: str, *parts: str) -> str:
    """A name of at most 63 bytes: `prefix_parts`, cut with a hash of what was cut."""
    name = "_".join((prefix, *parts))
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.md5(name.encode()).hexdigest()[:8]
    return name.encode()[:54].decode(errors="ignore") + "_" + digest


# Triggers of one table fire in the order of their names: a renamed column's sync first, so
# that a copy or a fill reads what an old client wrote under the old name.
_TRIGGER_ORDER = {"sync": "a", "copy": "b", "fill": "c"}


def _function(table: Table, tag: str, column: str) -> tuple[str, str]:
    """The trigger function's qualified name and the trigger's name for one column."""
    fn = short(f"schemactl_{tag}", table.name, column)
    trigger = short(f"schemactl_{_TRIGGER_ORDER[tag]}_{tag}", column)
    return f"{ident(table.schema)}.{ident(fn)}", ident(trigger)


def _trigger(table: Table, fn: str, trigger: str, body: str) -> list[str]:
    return [
        f"create or replace function {fn}() returns trigger language plpgsql as $schemactl$\n"
        f"begin\n{body}  return new;\nend\n$schemactl$;",
        f"create trigger {trigger} before insert or update on {table.quoted} "
        f"for each row execute function {fn}();",
    ]


def _drop_trigger(table: Table, fn: str, trigger: str) -> list[str]:
    return [f"drop trigger {trigger} on {table.quoted};", f"drop function {fn}();"]


def _differ(a: str, b: str) -> str:
    # As text: every type has an output function, not every one an equality (json, point).
    return f"{a}::text is distinct from {b}::text"


def rename_column(ph: Phases, table: Table, old: str, new: str, type_: str) -> None:
    """A declared column rename: the column renamed, a shadow under the old name (added at
    expand's start, filled, kept equal both ways by a trigger), dropped at contract."""
    q = table.quoted
    shadow = short("schemactl_old", old)
    fn, trg = _function(table, "sync", new)
    o, n, s = ident(old), ident(new), ident(shadow)
    ph.prepare += [
        (COLUMN, f"alter table {q} add column {s} {type_};"),
        *((COLUMN, x) for x in _trigger(table, fn, trg, f"  new.{s} := new.{o};\n")),
    ]
    ph.backfill.append(f"update {q} set {s} = {o} where {_differ(s, o)};")
    both = _both_ways(o, n)
    ph.middle += [
        (RENAME, f"alter table {q} rename column {o} to {n};"),
        (RENAME, f"alter table {q} rename column {s} to {o};"),
        (RENAME, _trigger(table, fn, trg, both)[0]),
    ]
    ph.undo += [
        *((RENAME, x) for x in _drop_trigger(table, fn, trg)),
        (RENAME, f"alter table {q} drop column {o};"),
        (RENAME, f"alter table {q} rename column {n} to {o};"),
    ]
    ph.contract += [
        *((COLUMN, x) for x in _drop_trigger(table, fn, trg)),
        (COLUMN, f"alter table {q} drop column {o};"),
    ]
    ph.restore += [
        (COLUMN, f"alter table {q} add column {o} {type_};"),
        *((COLUMN, x) for x in _trigger(table, fn, trg, both)),
    ]
    ph.restore_backfill.append(f"update {q} set {o} = {n} where {_differ(o, n)};")


def _both_ways(old: str, new: str) -> str:
    """A trigger body that keeps `old` (the old clients' name) and `new` equal: an insert that
    gives the old name a value gives it to the new one (else the other way round: the new
    column has the default), an update copies whichever side it changed."""
    return (
        "  if tg_op = 'INSERT' then\n"
        f"    if new.{old} is null then new.{old} := new.{new}; else new.{new} := new.{old}; "
        "end if;\n"
        f"  elsif {_differ(f'new.{old}', f'old.{old}')} then new.{new} := new.{old};\n"
        f"  else new.{old} := new.{new};\n"
        "  end if;\n"
    )


def rename_table(ph: Phases, old: Table, select: str, grants: list[str], swapped: bool) -> None:
    """A declared table rename (the RENAMEs themselves run first, expand.py): a view takes the
    old name in the same transaction (`select`: its query, the old columns in their order and
    under their old names; `grants`: what to grant on it), dropped at contract. With a column
    `swapped` (a type change), the swap drops the view and makes it again around it."""
    view = [
        f"create view {old.quoted} with (security_invoker = true) as {select};",
        *(g.format(view=old.quoted) for g in grants),
    ]
    ph.prepare += [(FIRST, x) for x in view]
    ph.undo.append((LAST, f"drop view {old.quoted};"))
    if swapped:
        ph.switch += [(FIRST, f"drop view {old.quoted};"), *((LAST, x) for x in view)]
    ph.contract.append((FIRST, f"drop view {old.quoted};"))
    ph.restore += [(LAST, x) for x in view]


@dataclass(frozen=True)
class Index:
    """An index on a column whose type changes: its name, definition, and constraint."""

    name: str
    definition: str  # pg_get_indexdef
    contype: str | None  # p, u (or None: a plain index)
    conname: str | None
    deferrable: bool
    deferred: bool


@dataclass(frozen=True)
class Column:
    """A column's definition on one side."""

    type: str
    not_null: bool
    default: str | None


def change_type(
    ph: Phases,
    table: Table,
    column: str,
    was: Column,
    wanted: Column,
    indexes: list[Index],
    rebuilt: list[str],
    comment: str | None,
    sequence: str | None,
    using: tuple[str, str, str],
) -> None:
    """A type change that rewrites the table: a copy of the new type, kept current by a
    trigger and backfilled, its indexes (`rebuilt`: their definitions on the copy, built
    concurrently) and NOT NULL proven before the swap, done in expand's last transaction;
    expand's down converts back in place (a rewrite, as a plain rollback would)."""
    q = table.quoted
    tmp = short("schemactl_new", column)
    fn, trg = _function(table, "copy", column)
    c, t = ident(column), ident(tmp)
    fill, cast, back = using
    ph.prepare += [
        (COLUMN, f"alter table {q} add column {t} {wanted.type};"),
        *((COLUMN, x) for x in _trigger(table, fn, trg, f"  new.{t} := {cast};\n")),
    ]
    check = ident(short("schemactl_nn", tmp))
    if wanted.not_null:  # every row written from now on has the copy: the trigger fills it
        ph.prepare.append(
            (
                COLUMN,
                f"alter table {q} add constraint {check} check ({t} is not null) not valid;",
            )
        )
        ph.validate.append(f"alter table {q} validate constraint {check};")
    ph.backfill.append(f"update {q} set {t} = {fill} where {_differ(t, f'({fill})')};")
    ph.build += rebuilt
    swap = [
        *([f"alter sequence {sequence} owned by none;"] if sequence else []),
        *_drop_trigger(table, fn, trg),
        f"alter table {q} drop column {c};",
        f"alter table {q} rename column {t} to {c};",
    ]
    if wanted.not_null:
        swap += [
            f"alter table {q} alter column {c} set not null;",
            f"alter table {q} drop constraint {check};",
        ]
    for ix in indexes:
        built = ident(short("schemactl", ix.name))
        if ix.contype in ("p", "u") and ix.conname:
            kind = "primary key" if ix.contype == "p" else "unique"
            when = (" deferrable" + (" initially deferred" if ix.deferred else "")) * ix.deferrable
            # USING INDEX names the index after the constraint, as it was named.
            swap.append(
                f"alter table {q} add constraint {ident(ix.conname)} {kind} using index "
                f"{built}{when};"
            )
        else:
            swap.append(f"alter index {ident(table.schema)}.{built} rename to {ident(ix.name)};")
    if wanted.default is not None:
        swap.append(f"alter table {q} alter column {c} set default {wanted.default};")
    if comment is not None:
        swap.append(f"comment on column {q}.{c} is {literal(comment)};")
    if sequence:
        swap.append(f"alter sequence {sequence} owned by {q}.{c};")
    ph.switch += [(SWAP, x) for x in swap]
    ph.undo.append((SWAP, f"alter table {q} alter column {c} type {was.type} using {back};"))
    # ALTER TYPE keeps an index's expressions and predicate as they read on the new type
    # (`price > 0` becomes `price::numeric > 0::numeric` and back): built again as they were.
    for ix in indexes:
        ph.indexes.add(f"{ident(table.schema)}.{ident(ix.name)}")
        if ix.contype is None:
            ph.undo += [
                (SWAP, f"drop index {ident(table.schema)}.{ident(ix.name)};"),
                (SWAP, ix.definition + ";"),
            ]


def add_column(
    ph: Phases, table: Table, column: str, wanted: Column, fill: str, by_trigger: bool
) -> None:
    """A column added NOT NULL or with a volatile default: added bare (no rewrite), its
    default set for new rows, existing rows backfilled with `fill`, NOT NULL proven by a
    check validated without blocking and then set. With `by_trigger` (a backfill expression
    and no default), a trigger fills the rows old clients write until contract."""
    q = table.quoted
    c = ident(column)
    ph.middle.append((COLUMN, f"alter table {q} add column {c} {wanted.type};"))
    if wanted.default is not None:
        ph.middle.append(
            (COLUMN, f"alter table {q} alter column {c} set default {wanted.default};")
        )
    fn, trg = _function(table, "fill", column)
    if by_trigger:
        body = (
            f"  if new.{c} is null then\n"
            f"    new.{c} := (select {fill} from (select new.*) as schemactl_row);\n"
            "  end if;\n"
        )
        ph.middle += [(COLUMN, x) for x in _trigger(table, fn, trg, body)]
        ph.contract += [(COLUMN, x) for x in _drop_trigger(table, fn, trg)]
        ph.restore += [(COLUMN, x) for x in _trigger(table, fn, trg, body)]
        ph.undo += [(COLUMN, x) for x in _drop_trigger(table, fn, trg)]
    ph.fill.append(f"update {q} set {c} = {fill} where {c} is null;")
    if wanted.not_null:
        # Added after the backfill: a check NOT VALID still holds every row an UPDATE writes,
        # and an old client's update of a row not yet filled would fail it.
        check = ident(short("schemactl_nn", column))
        ph.guard.append(
            (
                COLUMN,
                f"alter table {q} add constraint {check} check ({c} is not null) not valid;",
            )
        )
        ph.validate.append(f"alter table {q} validate constraint {check};")
        ph.switch += [
            (COLUMN, f"alter table {q} alter column {c} set not null;"),
            (COLUMN, f"alter table {q} drop constraint {check};"),
        ]
    ph.undo.append((COLUMN, f"alter table {q} drop column {c};"))


def drop_column(ph: Phases, table: Table, column: str, was: Column) -> None:
    """A dropped column: kept through the window (new clients do not write it, so a NOT NULL
    without a default is lifted), dropped at contract."""
    q = table.quoted
    c = ident(column)
    lift = was.not_null and was.default is None
    if lift:
        ph.prepare.append((COLUMN, f"alter table {q} alter column {c} drop not null;"))
        ph.undo.append((COLUMN, f"alter table {q} alter column {c} set not null;"))
    ph.contract.append((COLUMN, f"alter table {q} drop column {c};"))
    default = f" default {was.default}" if was.default is not None else ""
    not_null = " not null" if was.not_null and not lift else ""
    ph.restore.append((COLUMN, f"alter table {q} add column {c} {was.type}{default}{not_null};"))


def ordered(statements: list[tuple[int, str]], reverse: bool = False) -> list[str]:
    """A phase's statements by their kind's order (highest first with `reverse`: an undo),
    each kind's in the order they came."""
    by: dict[int, list[str]] = defaultdict(list)
    for order, text in statements:
        by[order].append(text)
    return [s for order in sorted(by, reverse=reverse) for s in by[order]]
