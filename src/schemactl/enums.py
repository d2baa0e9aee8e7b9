"""Enum changes migra gets wrong: adding values, using them in the same migration, and the
rewrite that removing values needs (docs/engine-notes.md, "enums")."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _EnumAddition:
    type: str  # quoted full name
    label: str
    where: str  # "", " before '...'" or " after '...'"


# Written between enum additions and the statements that use the new values.
COMMIT_POINT = (
    "-- PostgreSQL refuses to use an enum value in the transaction that added it: commit here.\n"
    "-- schemactl:commit"
)


def additions_first(additions: list[_EnumAddition], statements: list[str]) -> list[str]:
    """The ADD VALUE statements, with a commit point after them when the rest uses a new value.

    ADD VALUE runs in a transaction since PostgreSQL 12, but the value cannot be used until it
    commits ("unsafe use of new value"). Then the additions commit first, written with IF NOT
    EXISTS so that running the file again after a later failure is harmless. A mention of the
    quoted label anywhere later counts as a use: a false alarm only costs atomicity.
    """
    used = any(_literal(a.label) in s for a in additions for s in statements)
    out = [
        f"alter type {a.type} add value{' if not exists' if used else ''} {_literal(a.label)}{a.where};"
        for a in additions
    ]
    if used:
        out[-1] += "\n\n" + COMMIT_POINT
    return out


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def enum_additions(i_from: Any, i_target: Any) -> tuple[Any, list[_EnumAddition]]:
    """Turn enum changes that only add labels into ALTER TYPE ... ADD VALUE.

    migra rewrites every changed enum (rename, create, cast each column, drop), which fails
    when a view uses the column and looks like a lossy type change. When the old labels are
    an ordered subsequence of the new ones, adding values is exact and loses nothing. The
    enums are then made equal on a copy of the source inspection so migra skips them.
    """
    statements: list[_EnumAddition] = []
    patched: dict[str, Any] = {}
    for key, new in i_target.enums.items():
        old = i_from.enums.get(key)
        if old is None or old.elements == new.elements or not _is_subsequence(old.elements, new.elements):
            continue
        present = set(old.elements)
        for i, label in enumerate(new.elements):
            if label in present:
                continue
            # Anchor on the next existing label so the order matches the DDL exactly.
            after = next((x for x in new.elements[i + 1 :] if x in present), None)
            where = f" before {_literal(after)}" if after is not None else ""
            if after is None and i > 0:
                where = f" after {_literal(new.elements[i - 1])}"
            statements.append(_EnumAddition(new.quoted_full_name, label, where))
            present.add(label)
        patched[key] = new
    if not patched:
        return i_from, []
    clone = copy.copy(i_from)
    clone.enums = {**i_from.enums, **patched}
    # Columns hold their enum object too; give the affected relations copies that point at
    # the new enum, so their columns compare equal as well.
    by_name = {e.quoted_full_name: e for e in patched.values()}
    copies: dict[int, Any] = {}
    for prop in ("relations", "tables", "selectables"):
        objects = dict(getattr(i_from, prop))
        for k, rel in objects.items():
            cols = getattr(rel, "columns", None) or {}
            if not any(c.is_enum and c.enum.quoted_full_name in by_name for c in cols.values()):
                continue
            if id(rel) not in copies:
                rel_copy = copy.copy(rel)
                rel_copy.columns = type(cols)(
                    (name, _with_enum(c, by_name)) for name, c in cols.items()
                )
                copies[id(rel)] = rel_copy
            objects[k] = copies[id(rel)]
        setattr(clone, prop, objects)
    return clone, statements


def views_follow_enum_rewrites(i_from: Any, i_target: Any) -> Any:
    """Make migra drop and re-create the views over tables whose enum columns it rewrites.

    migra re-creates a table's dependent views only when the table cannot be "replaced",
    which it decides by column type names; a rewritten enum keeps its name, so a view that
    changes in the same migration gets only CREATE OR REPLACE and the column's type change
    fails ("cannot alter type of a column used by a view or rule"). On a copy of the target
    inspection, such tables answer that they cannot be replaced.
    """
    rewritten = {
        e.quoted_full_name
        for k, e in i_target.enums.items()
        if k in i_from.enums and i_from.enums[k].elements != e.elements
    }

    def holds_rewritten_enum(rel: Any) -> bool:
        return rel.is_table and any(c.is_enum and c.enum.quoted_full_name in rewritten for c in rel.columns.values())

    if not rewritten:
        return i_target
    clone = copy.copy(i_target)
    for prop in ("relations", "tables", "selectables"):
        objects = dict(getattr(i_target, prop))
        for k, rel in objects.items():
            if holds_rewritten_enum(rel):
                objects[k] = copy.copy(rel)
                objects[k].__class__ = _not_replaceable_class(type(rel))
        setattr(clone, prop, objects)
    return clone


_NOT_REPLACEABLE: dict[type, type] = {}


def _not_replaceable_class(base: type) -> type:
    if base not in _NOT_REPLACEABLE:

        class NotReplaceable(base):  # type: ignore[misc, valid-type]
            def can_replace(self, other: Any) -> bool:
                return False

        _NOT_REPLACEABLE[base] = NotReplaceable
    return _NOT_REPLACEABLE[base]


def _with_enum(column: Any, by_name: dict[str, Any]) -> Any:
    if not (column.is_enum and column.enum.quoted_full_name in by_name):
        return column
    c = copy.copy(column)
    c.enum = by_name[column.enum.quoted_full_name]
    return c


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(x in it for x in short)
