"""Find the statements of a migration that can lose data, and say why for each one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import NeedsHandWriting
from ..grammar import sqltext
from .casts import LOSES_DATA, LOSSLESS, NO_CAST, TypeChange

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QNAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT})*"
_DROP_COLUMN = re.compile(
    rf"^alter\s+table\s+(?:only\s+)?(?:if\s+exists\s+)?(?P<name>{_QNAME})\s+drop\s+(?:column\s+)?(?!constraint\b)(?:if\s+exists\s+)?(?P<column>{_IDENT})",
    re.I | re.S,
)
_TYPE_CHANGE = re.compile(
    rf"^alter\s+table\s+(?:only\s+)?(?:if\s+exists\s+)?(?P<name>{_QNAME})\s+alter\s+(?:column\s+)?(?P<column>{_IDENT})\s+(?:set\s+data\s+)?type\b",
    re.I | re.S,
)
_RULES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            rf"^drop\s+(?P<kind>table|schema|type|domain|sequence|extension)\s+(?:if\s+exists\s+)?(?P<name>{_QNAME})",
            re.I | re.S,
        ),
        "drops {kind} {name}",
    ),
    (
        re.compile(
            rf"^drop\s+(?P<kind>function|procedure|aggregate)\s+(?:if\s+exists\s+)?(?P<name>{_QNAME})",
            re.I | re.S,
        ),
        "drops {kind} {name}",
    ),
    (_DROP_COLUMN, "drops column {column} of {name}"),
    (_TYPE_CHANGE, "changes the type of column {column} of {name} (values may not convert)"),
    (
        re.compile(rf"^truncate\s+(?:table\s+)?(?P<name>{_QNAME})", re.I | re.S),
        "empties table {name}",
    ),
]
# migra replaces a changed enum by renaming the old type, creating the new one and dropping
# the renamed one; that last drop loses nothing by itself (the column changes are reported).
_ENUM_SWAP = re.compile(r"__old_version_to_be_dropped\"?\s*;?\s*$", re.I)


@dataclass(frozen=True)
class DestructiveStatement:
    """A statement that can lose data, with a one-line reason."""

    statement: str
    reason: str
    loses_data: bool = True  # False: it can only fail (and roll back), e.g. a narrowed varchar

    def to_json(self) -> dict[str, Any]:
        return {"statement": self.statement, "reason": self.reason, "loses_data": self.loses_data}


def find_destructive(
    sql: str, type_changes: dict[tuple[str, str], TypeChange] | None = None
) -> list[DestructiveStatement]:
    """Return each statement of `sql` that drops or rewrites data, or can fail on existing rows,
    in order. Column type changes are judged by `type_changes` (typechange.py) where it knows
    them: lossless ones are left out."""
    out: list[DestructiveStatement] = []
    bodies = [sqltext.strip_comments(st.text).strip() for st in sqltext.split(sql)[0]]
    for body, after in zip(bodies, [*bodies[1:], ""][: len(bodies)], strict=True):
        if _ENUM_SWAP.search(body) or _regenerated(body, after):
            continue
        m = _TYPE_CHANGE.match(body)
        change = (type_changes or {}).get((m["name"], m["column"])) if m else None
        if m and change is not None:
            if change.effect != LOSSLESS:
                what = f"changes the type of column {m['column']} of {m['name']}: {change.reason}"
                out.append(
                    DestructiveStatement(
                        " ".join(body.split()), what, change.effect in (LOSES_DATA, NO_CAST)
                    )
                )
            continue
        for pattern, reason in _RULES:
            m = pattern.match(body)
            if m:
                out.append(DestructiveStatement(" ".join(body.split()), reason.format(**_words(m))))
                break
        else:
            if m := _BOUNDS.match(body):
                out.append(DestructiveStatement(" ".join(body.split()), _bounds(m), False))
    return out


# A sequence's (or identity's) new bounds: PostgreSQL refuses them when the sequence has already
# gone past them ("RESTART value … cannot be greater than MAXVALUE"), which no empty database
# and few sample rows show.
_BOUNDS = re.compile(
    rf"^alter\s+(?:table\s+(?P<table>{_QNAME})\s+alter\s+column\s+(?P<column>{_IDENT})|"
    rf"sequence\s+(?P<sequence>{_QNAME}))\s.*\b(?:set\s+)?(?:maxvalue|minvalue|as)\s",
    re.I | re.S,
)


def _bounds(m: re.Match[str]) -> str:
    what = (
        f"the identity of column {m['column']} of {m['table']}"
        if m["table"]
        else f"sequence {m['sequence']}"
    )
    return (
        f"changes the bounds of {what}: fails if it has already handed out a value past the "
        "new ones"
    )


_ADD_GENERATED = re.compile(
    rf"^alter\s+table\s+(?P<name>{_QNAME})\s+add\s+column\s+(?P<column>{_IDENT})\s.*\bgenerated\s+always\s+as\s*\(",
    re.I | re.S,
)


def _regenerated(body: str, after: str) -> bool:
    """A generated column dropped and added again at once (its expression changed): its values
    are derived, so nothing is lost."""
    drop, add = _DROP_COLUMN.match(body), _ADD_GENERATED.match(after)
    return bool(drop and add and (drop["name"], drop["column"]) == (add["name"], add["column"]))


def _words(m: re.Match[str]) -> dict[str, str]:
    words = {k: " ".join(v.split()) for k, v in m.groupdict().items() if v}
    if "kind" in words:
        words["kind"] = words["kind"].lower()
    return words


def refuse_unconvertible(changes: dict[str, dict[tuple[str, str], TypeChange]]) -> None:
    """Stop before writing a type change PostgreSQL has no conversion for (`changes`: by
    direction): its statement cannot run, whatever --allow-destructive says."""
    found = [
        (direction, c)
        for direction, by_column in changes.items()
        for c in by_column.values()
        if c.effect == NO_CAST
    ]
    if not found:
        return
    direction, first = found[0]
    raise NeedsHandWriting(
        f"{direction}: changes the type of column {first.column} of {first.table}, and "
        f"{first.reason}: no statement schemactl writes for it can run",
        hint="write the conversion by hand: `schemactl new -m NAME`, and in its up file "
        f"`ALTER TABLE {first.table} ALTER COLUMN {first.column} TYPE … USING <expression>` "
        "(with the reverse in its down file), then `schemactl verify`; or change the column "
        "another way (a new column, filled, then the old one dropped)",
        detail=[f"also {d}: {c.table}.{c.column}: {c.reason}" for d, c in found[1:]],
    )


def rollback_losses(name: str, up_sql: str, down_sql: str) -> list[str]:
    """What rolling back migration `name` cannot give back: values its up file destroyed (the
    down file re-creates the column or table, empty), and values its down file destroys
    (what was written into what the up file added)."""
    return [
        f"{name}: its up file {d.reason}; rolling it back brings back the structure, not the values"
        for d in find_destructive(up_sql)
        if d.loses_data
    ] + [
        f"{name}: rolling it back {d.reason}, with the values written there since"
        for d in find_destructive(down_sql)
        if d.loses_data
    ]
