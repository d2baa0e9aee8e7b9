"""What a column type change does to the values already stored, from PostgreSQL's own
knowledge of its types (pg_cast, type categories, type modifiers).

Each change is one of three effects:

* lossless: every value converts exactly (`int` -> `bigint`, `varchar(32)` -> `text`);
* may-fail: some values cannot convert, and then the migration fails and rolls back, so
  nothing is lost (`text` -> `varchar(5)` with a longer value: "value too long");
* loses-data: some values are changed silently (`numeric(10,2)` -> `numeric(10,0)` rounds);
* no-cast: PostgreSQL has no conversion at all (`time` -> `timestamp`): no statement schemactl
  could write runs, so the change needs a USING written by hand.

The statements that make such changes, and the USING clauses migra adds, are in
kinds/column_types.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalog import rows

LOSSLESS, MAY_FAIL, LOSES_DATA = "lossless", "may-fail", "loses-data"
# No conversion at all (`time` -> `timestamp`): ALTER needs a USING only a person can write.
NO_CAST = "no-cast"
_RANK = {LOSSLESS: 0, MAY_FAIL: 1, LOSES_DATA: 2, NO_CAST: 3}


@dataclass(frozen=True)
class TypeInfo:
    """One type as pg_type describes it (names are schema-qualified)."""

    name: str
    kind: str  # typtype: b base, d domain, e enum, c composite, r range, m multirange
    category: str  # typcategory: N numeric, S string, D date/time, A array, E enum, ...
    element: str | None  # arrays: the element type
    base: str | None  # domains: the type it is over
    base_typmod: int  # domains: the base type's modifier
    constrained: bool  # domains: NOT NULL or CHECK constraints


@dataclass(frozen=True)
class Catalog:
    """One database's column types, types and casts."""

    columns: dict[
        tuple[str, str], tuple[str, int]
    ]  # ("schema"."table", "column") -> (type, typmod)
    types: dict[str, TypeInfo]
    casts: dict[tuple[str, str], tuple[str, str]]  # (source, target) -> (context, method)


@dataclass(frozen=True)
class TypeChange:
    """What changing one column's type does to its values."""

    table: str
    column: str
    effect: str  # LOSSLESS, MAY_FAIL or LOSES_DATA
    reason: str  # what happens to the values, in a few words
    needs_using: bool  # no implicit or assignment cast: ALTER needs an explicit conversion


def read_catalog(conn: Any, keeps: Any) -> Catalog:
    """Read the column types, types and casts of the database behind `conn`."""
    columns = {(r[1], r[2]): (r[3], r[4]) for r in rows(conn, "column_types") if keeps(r[0])}
    types = {r[0]: TypeInfo(*r) for r in rows(conn, "types")}
    casts = {(r[0], r[1]): (r[2], r[3]) for r in rows(conn, "casts")}
    return Catalog(columns, types, casts)


# ------------------------------------------------------------------ classification ----

_INT_BITS = {"pg_catalog.int2": 16, "pg_catalog.int4": 32, "pg_catalog.int8": 64}
_INT_DIGITS = {"pg_catalog.int2": 5, "pg_catalog.int4": 10, "pg_catalog.int8": 19}
# Significant bits of the mantissa (exact integers up to 2**bits), and the decimal digits
# PostgreSQL keeps when it converts to numeric (FLT_DIG / DBL_DIG).
_FLOATS = {"pg_catalog.float4": (24, 6), "pg_catalog.float8": (53, 15)}
_NUMERIC = "pg_catalog.numeric"
_LENGTH = {
    "pg_catalog.varchar": "characters",
    "pg_catalog.bpchar": "characters",
    "pg_catalog.varbit": "bits",
}
_SECONDS = {
    "pg_catalog.timestamp",
    "pg_catalog.timestamptz",
    "pg_catalog.time",
    "pg_catalog.timetz",
}


@dataclass(frozen=True)
class _Effect:
    effect: str
    reason: str
    automatic: bool = True  # an implicit or assignment cast exists


def _worst(*effects: _Effect) -> _Effect:
    worst = max(effects, key=lambda e: _RANK[e.effect])
    reasons = [e.reason for e in effects if e.effect != LOSSLESS and e.reason]
    return _Effect(
        worst.effect,
        "; ".join(dict.fromkeys(reasons)) or worst.reason,
        all(e.automatic for e in effects),
    )


# The SQL names of built-in types whose catalog names users do not write.
_SQL_NAMES = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bpchar": "character",
    "varchar": "character varying",
    "bool": "boolean",
    "varbit": "bit varying",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "time": "time without time zone",
}


def _short(name: str) -> str:
    bare = name.removeprefix("pg_catalog.")
    return _SQL_NAMES.get(bare, bare) if bare != name else name


def classify(
    old: Catalog, new: Catalog, key: tuple[str, str], enum_labels: tuple[Any, Any] = ({}, {})
) -> TypeChange | None:
    """Classify the type change of column `key` between two databases (None: not in both)."""
    if key not in old.columns or key not in new.columns:
        return None
    (src, smod), (dst, dmod) = old.columns[key], new.columns[key]
    e = _column(src, smod, old, dst, dmod, new, enum_labels)
    return TypeChange(key[0], key[1], e.effect, e.reason, not e.automatic)


def _column(
    src: str, smod: int, old: Catalog, dst: str, dmod: int, new: Catalog, labels: tuple[Any, Any]
) -> _Effect:
    checks = []
    # Domains: their values are their base type's; a constrained domain can reject some.
    while (d := new.types.get(dst)) is not None and d.kind == "d" and d.base:
        if d.constrained and dst != src:
            checks.append(
                _Effect(
                    MAY_FAIL, f"values that domain {_short(dst)} rejects make the migration fail"
                )
            )
        dst, dmod = d.base, d.base_typmod if d.base_typmod != -1 else dmod
    while (d := old.types.get(src)) is not None and d.kind == "d" and d.base:
        src, smod = d.base, d.base_typmod if d.base_typmod != -1 else smod
    return _worst(_convert(src, smod, dst, dmod, old, new, labels), *checks)


def _convert(
    src: str, smod: int, dst: str, dmod: int, old: Catalog, new: Catalog, labels: tuple[Any, Any]
) -> _Effect:
    s, d = old.types.get(src), new.types.get(dst)
    if s is None or d is None:
        return _Effect(
            LOSES_DATA,
            f"values are converted from {_short(src)} to {_short(dst)}, types schemactl cannot "
            "assess",
            False,
        )
    if s.element and d.element:  # arrays convert element by element
        return _convert(s.element, smod, d.element, dmod, old, new, labels)
    if src == dst:
        if d.category == "E":
            return _enum(dst, labels)
        return _typmod(dst, smod, dmod)
    numeric = _numeric(src, smod, dst, dmod)
    cast = new.casts.get((src, dst))
    automatic = (cast is not None and cast[0] in "ia") or (
        cast is None and d.category == "S" and s.category != "S"
    )
    if numeric is not None:
        return _Effect(numeric.effect, numeric.reason, automatic)
    if d.category == "S":
        # Any value has a text form; a length limit can refuse it, unless the source's own limit
        # is within it (char(n) -> varchar(n) drops only the padding blanks char compares
        # without, so nothing can be too long).
        if s.category == "S" and _within(src, smod, dst, dmod):
            return _Effect(LOSSLESS, "", automatic)
        return _Effect(*_limit(dst, dmod, _TOO_LONG), automatic)
    if s.category == "S" and (cast is None or cast[1] == "i" or cast[0] == "e"):
        # Parsed by the target type's input function: a value converts, or the migration fails.
        return _Effect(
            MAY_FAIL, f"values that do not read as {_short(dst)} make the migration fail", automatic
        )
    if s.category == "E" and d.category == "E":
        return _Effect(
            MAY_FAIL, f"values that are not labels of {_short(dst)} make the migration fail", False
        )
    if cast is None:
        return _Effect(
            NO_CAST, f"PostgreSQL has no cast from {_short(src)} to {_short(dst)}", False
        )
    context = cast[0]
    if (
        context == "i"
    ):  # PostgreSQL's implicit casts preserve information; the target's modifier may not
        if dst in _SECONDS and src not in _SECONDS:
            return _Effect(LOSSLESS, "", True)  # date -> timestamp(0): no fraction to round
        limited = _typmod(dst, smod if {src, dst} <= _SECONDS else -1, dmod)
        return _Effect(limited.effect, limited.reason, True)
    what = "assignment cast" if context == "a" else "explicit cast"
    return _Effect(
        LOSES_DATA,
        f"values go through PostgreSQL's {what} from {_short(src)} to {_short(dst)}, "
        "which can drop information",
        automatic,
    )


def _enum(name: str, labels: tuple[Any, Any]) -> _Effect:
    before, after = (set(side.get(name, ())) for side in labels)
    gone = sorted(before - after)
    if gone:
        listed = ", ".join(repr(v) for v in gone)
        return _Effect(
            MAY_FAIL,
            f"rows holding {listed} (no longer in {_short(name)}) make the migration fail",
            False,
        )
    return _Effect(LOSSLESS, "", False)


# What an assignment to a length-limited type does to a longer value: the SQL standard's rule,
# blanks past the limit are cut, anything else fails.
_TOO_LONG = "values longer than {n} {unit} make the migration fail{blanks}"


def _within(src: str, smod: int, dst: str, dmod: int) -> bool:
    """Whether every value of string type `src` fits length-limited `dst` as it is."""
    limit = _chars(dst, dmod)
    known = _chars(src, smod)
    return limit is None or (known is not None and known <= limit)


def _chars(name: str, typmod: int) -> int | None:
    if _LENGTH.get(name) == "characters" and typmod != -1:
        return typmod - 4
    return None


def _nth(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _limit(name: str, typmod: int, text: str) -> tuple[str, str]:
    """A length-limited string or bit type as the target of a conversion."""
    if name in _LENGTH and typmod != -1:
        chars = _LENGTH[name] == "characters"
        n = typmod - 4 if chars else typmod
        blanks = f", unless only blanks follow the {_nth(n)} (those are cut)" if chars else ""
        return MAY_FAIL, text.format(n=n, unit=_LENGTH[name], blanks=blanks)
    if name == "pg_catalog.bit":
        return (
            MAY_FAIL,
            f"bit strings of another length than {max(typmod, 1)} make the migration fail",
        )
    return LOSSLESS, ""


def _typmod(name: str, smod: int, dmod: int) -> _Effect:
    """The same type with another modifier (length, precision, scale, fractional seconds)."""
    if smod == dmod:
        return _Effect(LOSSLESS, "")
    if name in _LENGTH:
        if dmod == -1 or (smod != -1 and dmod >= smod):
            return _Effect(LOSSLESS, "")
        return _Effect(*_limit(name, dmod, _TOO_LONG))
    if name == "pg_catalog.bit":
        return _Effect(*_limit(name, dmod, ""))
    if name == _NUMERIC:
        return _decimal_to_decimal(_precision(smod), _precision(dmod))
    if name in _SECONDS:
        before, after = (6 if m == -1 else m for m in (smod, dmod))
        if after < before:
            to = "whole seconds" if after == 0 else f"{after} fractional digit(s) of a second"
            return _Effect(LOSES_DATA, f"values are rounded to {to}")
        return _Effect(LOSSLESS, "")
    if name == "pg_catalog.interval":
        if dmod == -1:
            return _Effect(LOSSLESS, "")
        return _Effect(LOSES_DATA, "intervals are cut to the new fields and precision")
    if dmod == -1:
        return _Effect(LOSSLESS, "")
    return _Effect(
        MAY_FAIL, f"values that do not fit {_short(name)}'s new modifier make the migration fail"
    )


def _precision(typmod: int) -> tuple[int, int] | None:
    """numeric's (precision, scale), None when unconstrained."""
    if typmod == -1:
        return None
    raw = typmod - 4
    return (raw >> 16) & 0xFFFF, ((raw & 0x7FF) ^ 1024) - 1024


def _decimal_to_decimal(before: tuple[int, int] | None, after: tuple[int, int] | None) -> _Effect:
    if after is None:
        return _Effect(LOSSLESS, "")
    p, s = after
    effects = [_Effect(LOSSLESS, "")]
    if before is None or before[1] > s:
        rounded = (
            "fractions are rounded to whole numbers"
            if s == 0
            else f"values are rounded to {s} decimal place(s)"
        )
        effects.append(_Effect(LOSES_DATA, rounded))
    if before is None or before[0] - before[1] > p - s:
        effects.append(
            _Effect(
                MAY_FAIL,
                f"values of 10^{p - s} or more make the migration fail (numeric field overflow)",
            )
        )
    return _worst(*effects)


def _numeric(src: str, smod: int, dst: str, dmod: int) -> _Effect | None:
    """Conversions among integers, numeric and floating point (None: not both numbers)."""
    if _number_kind(src) is None or _number_kind(dst) is None:
        return None
    if src in _INT_BITS:
        if dst in _INT_BITS:
            if _INT_BITS[dst] >= _INT_BITS[src]:
                return _Effect(LOSSLESS, "")
            limit = 2 ** (_INT_BITS[dst] - 1) - 1
            return _Effect(
                MAY_FAIL, f"values outside ±{limit} ({_short(dst)}) make the migration fail"
            )
        if dst == _NUMERIC:
            return _decimal_to_decimal((_INT_DIGITS[src], 0), _precision(dmod))
        bits, _ = _FLOATS[dst]
        if _INT_BITS[src] - 1 <= bits:
            return _Effect(LOSSLESS, "")
        return _Effect(
            LOSES_DATA, f"integers beyond 2^{bits} are rounded ({_short(dst)} keeps {bits} bits)"
        )
    if src == _NUMERIC:
        before = _precision(smod)
        if dst in _INT_BITS:
            if before is None or before[1] > 0:
                return _Effect(LOSES_DATA, "fractions are rounded to whole numbers")
            return _numeric_fits(before[0] - before[1], dst)
        return _Effect(
            LOSES_DATA,
            f"values are rounded to {_short(dst)} (about {_FLOATS[dst][1]} significant digits)",
        )
    # from floating point
    if dst in _INT_BITS:
        return _Effect(LOSES_DATA, "fractions are rounded to whole numbers")
    if dst == _NUMERIC:
        return _Effect(LOSES_DATA, f"values are rounded to {_FLOATS[src][1]} significant digits")
    if _FLOATS[dst][0] >= _FLOATS[src][0]:
        return _Effect(LOSSLESS, "")
    return _Effect(
        LOSES_DATA,
        f"values are rounded to {_short(dst)} (about {_FLOATS[dst][1]} significant digits)",
    )


def _numeric_fits(digits: int, dst: str) -> _Effect:
    limit = 2 ** (_INT_BITS[dst] - 1) - 1
    if 10**digits - 1 <= limit:
        return _Effect(LOSSLESS, "")
    return _Effect(MAY_FAIL, f"values outside ±{limit} ({_short(dst)}) make the migration fail")


def _number_kind(name: str) -> str | None:
    if name in _INT_BITS:
        return "integer"
    if name == _NUMERIC:
        return "decimal"
    if name in _FLOATS:
        return "float"
    return None
