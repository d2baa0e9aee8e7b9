"""Enum changes migra gets wrong: adding values, using them in the same migration, and the
rewrite that removing values needs (docs/engine-notes.md, "enums")."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from ...grammar.records import quoted
from ...grammar.statements import parse
from ..catalog import changed, literal, not_replaceable
from ..kind import Diff, Kind


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
    EXISTS so that running the file again after a later failure is harmless. The quoted label
    anywhere later counts as a use, and so does the bare label in a statement that names the
    type (an array literal such as '{b}'::e[]): a false alarm only costs atomicity.
    """
    used = any(_uses(s, a) for a in additions for s in statements)
    out = [
        f"alter type {a.type} add value{' if not exists' if used else ''} "
        f"{literal(a.label)}{a.where};"
        for a in additions
    ]
    if used:
        out[-1] += "\n\n" + COMMIT_POINT
    return out


def _uses(statement: str, addition: _EnumAddition) -> bool:
    # Text, not the parser: the label can sit in a function body or an array literal, which
    # the grammar sees as a string.
    if literal(addition.label) in statement:
        return True
    type_name = addition.type.rsplit(".", 1)[-1].strip('"')
    return bool(_word(addition.label).search(statement) and _word(type_name).search(statement))


def _word(text: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w$])" + re.escape(text) + r"(?![\w$])", re.I)


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
        if (
            old is None
            or old.elements == new.elements
            or not _is_subsequence(old.elements, new.elements)
        ):
            continue
        present = set(old.elements)
        for i, label in enumerate(new.elements):
            if label in present:
                continue
            # Anchor on the next existing label so the order matches the DDL exactly.
            after = next((x for x in new.elements[i + 1 :] if x in present), None)
            where = f" before {literal(after)}" if after is not None else ""
            if after is None and i > 0:
                where = f" after {literal(new.elements[i - 1])}"
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

    arrays = _array_columns(i_target, rewritten)

    def holds_rewritten_enum(rel: Any) -> bool:
        return rel.is_table and (
            any(c.is_enum and c.enum.quoted_full_name in rewritten for c in rel.columns.values())
            or any(table == rel.quoted_full_name for table, _, _ in arrays)
        )

    if not rewritten:
        return i_target
    return not_replaceable(
        i_target, {k for k, rel in i_target.tables.items() if holds_rewritten_enum(rel)}
    )


def _with_enum(column: Any, by_name: dict[str, Any]) -> Any:
    if not (column.is_enum and column.enum.quoted_full_name in by_name):
        return column
    c = copy.copy(column)
    c.enum = by_name[column.enum.quoted_full_name]
    return c


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(x in it for x in short)


def _drops_type(statement: str, name: str) -> bool:
    s = parse(statement)
    return s.is_("drop", "type") and s.quoted == name


def _array_columns(inspector: Any, enum_names: set[str]) -> list[tuple[str, Any, Any]]:
    """(table, column, enum) for each column that is an array of one of `enum_names`."""
    spelled = {}
    for e in (e for e in inspector.enums.values() if e.quoted_full_name in enum_names):
        # format_type() writes the type qualified only when it is not on the search path.
        spelled[e.name.lower()] = spelled[f"{e.schema}.{e.name}".lower()] = e
    out = []
    for table in inspector.tables.values():
        for column in table.columns.values():
            base = column.dbtypestr.replace('"', "").lower()
            if base.endswith("[]") and base[:-2] in spelled:
                out.append((table.quoted_full_name, column, spelled[base[:-2]]))
    return out


def rewrite_enum_arrays(statements: list[str], i_from: Any, i_target: Any) -> list[str]:
    """Give array-of-enum columns the rewritten enum too (docs/engine-notes.md, "enums").

    migra's enum rewrite casts the columns of the enum type but not arrays of it, so the old
    type cannot be dropped ("other objects depend on it"). Each such column (present before
    and after) is cast through text before the old type is dropped, its default dropped
    first and set again after, since a default is not cast by USING.
    """
    out = list(statements)
    for renamed in (parse(s) for s in statements):
        if not renamed.is_("rename", "type") or renamed.name is None or renamed.target is None:
            continue
        old_type = quoted((renamed.name[0], renamed.target))
        at = next((i for i, s in enumerate(out) if _drops_type(s, old_type)), None)
        if at is None:
            continue
        casts = []
        for table, column, enum in _array_columns(i_target, {renamed.quoted or ""}):
            before = i_from.tables.get(table)
            old = before.columns.get(column.name) if before is not None else None
            if old is None:
                continue
            col, typ = column.quoted_name, f"{enum.quoted_full_name}[]"
            if old.default:
                casts.append(f"alter table {table} alter column {col} drop default;")
            casts.append(
                f"alter table {table} alter column {col} type {typ} using {col}::text::{typ};"
            )
            if column.default:
                casts.append(
                    f"alter table {table} alter column {col} set default {column.default};"
                )
        out[at:at] = casts
    return out


def functions_follow_enum_rewrites(i_from: Any, i_target: Any) -> tuple[Any, Any]:
    """Make migra drop and create the functions whose arguments or result use a rewritten enum.

    They depend on the type, which the rewrite renames and then cannot drop ("other objects
    depend on it"), but they compare unchanged. On copies of both inspections they count as
    modified and not replaceable, so migra drops them (and the views over them) first and
    creates them after.
    """
    names = set()
    for k, e in i_target.enums.items():
        if k in i_from.enums and i_from.enums[k].elements != e.elements:
            names |= {e.name.lower(), f"{e.schema}.{e.name}".lower()}
    if not names:
        return i_from, i_target

    def uses(f: Any) -> bool:
        text = (
            " ".join((f.identity_arguments or "", f.returntype or "", f.result_string or ""))
            .replace('"', "")
            .lower()
        )
        return any(_word(n).search(text) for n in names)

    keys = {k for k, f in i_target.functions.items() if k in i_from.functions and uses(f)}
    if not keys:
        return i_from, i_target
    return changed(i_from, keys), not_replaceable(i_target, keys)


class Enums(Kind):
    name = "enums"

    def prepare(self, diff: Diff) -> None:
        source, additions = enum_additions(diff.source.upstream, diff.target.upstream)
        diff.notes[self.name] = additions
        source, changed_target = functions_follow_enum_rewrites(source, diff.target.upstream)
        diff.source = diff.source.replacing(source)
        diff.target = diff.target.replacing(views_follow_enum_rewrites(source, changed_target))

    def rewrite(self, diff: Diff) -> None:
        diff.statements = rewrite_enum_arrays(
            diff.statements, diff.source.upstream, diff.target.upstream
        )

    def finish(self, diff: Diff, statements: list[str]) -> list[str]:
        additions = diff.notes.get(self.name, [])
        return additions_first(additions, statements) + statements


KIND = Enums()
