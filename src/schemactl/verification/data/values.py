"""Sample values for one column, by type: for row `i`, a typical value, the extremes of the
type (the longest string it holds, the largest and the most negative numbers, the most decimal
places, dates at the ends of the calendar, timestamps at time-zone edges), and NULL where the
column allows it. Values are SQL text, cast to the column's own type, so that a domain's CHECK
or a length limit applies exactly as to the application's rows.

Row `i` takes variant `i % 3` (0: typical, 1: the upper extreme, 2: the lower extreme or NULL)
and `i` itself, so that rows differ in every column a unique constraint may cover.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

TYPICAL, HIGH, LOW = 0, 1, 2
LONG_TEXT = 300  # the length of a "long" value for text without a limit

_INTS = {"int2": 15, "int4": 31, "int8": 63}
_TIMESTAMPTZ = (
    "2024-03-31 02:30:00+02",  # a daylight saving edge
    "2038-01-19 03:14:08+00",  # past 32-bit time
    "1901-12-13 20:45:52-12",  # the other end of 32-bit time, a far time zone
)


@dataclass(frozen=True)
class Column:
    """What generating a column's values needs (a row of sql/sample_columns.sql)."""

    schema: str
    table: str
    name: str
    type: str  # as format_type() writes it: the cast every value gets
    base: str  # the base type's name (a domain's, an array's element's): int4, varchar, …
    category: str  # pg_type.typcategory of the base type
    is_array: bool
    typmod: int | None
    not_null: bool
    has_default: bool
    makes_its_own: bool  # identity or generated: takes no value from an INSERT
    labels: tuple[str, ...]  # an enum's labels, in order
    partitioned: bool  # the table's rows live in its partitions
    generated: bool  # its values are computed from the others' (GENERATED ALWAYS AS)


def literal(column: Column, i: int, variant: int | None = None) -> str | None:
    """The SQL for row `i`'s value of `column` (None: let the column take its default)."""
    variant = i % 3 if variant is None else variant
    if variant == LOW and not column.not_null:
        return "NULL"
    if column.is_array:
        element = _scalar(column, i, variant)
        inner = "" if variant == TYPICAL or element is None else _array_element(element)
        return f"{_quote('{' + inner + '}')}::{column.type}"
    value = _scalar(column, i, variant)
    return None if value is None else f"{_quote(value)}::{column.type}"


def _array_element(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _scalar(column: Column, i: int, variant: int) -> str | None:
    base, typmod = column.base, column.typmod
    if column.labels:  # every label over the rows: i picks it
        return column.labels[i % len(column.labels)]
    if base in _INTS:
        top = 2 ** _INTS[base] - 1
        return str((i + 1, top - i, -top - 1 + i)[variant])
    if base == "numeric":
        return str(_numeric(typmod, i, variant))
    if base in ("float4", "float8"):
        exponent = 37 if base == "float4" else 307
        return (f"{i + 1}.5", f"{i + 1}.25e{exponent}", f"-{i + 1}.125e-{exponent}")[variant]
    if base in ("text", "varchar", "bpchar", "name", "citext"):
        return _text(typmod, i, variant, limit_offset=4)
    if base == "bool":
        return ("true", "false", "true")[variant]
    if base == "date":
        day = (dt.date(2024, 1, 1), dt.date(9999, 12, 31), dt.date(1, 1, 1))[variant]
        return str(day + dt.timedelta(days=i) if variant != HIGH else day - dt.timedelta(days=i))
    if base == "timestamp":
        at = ("2024-01-01 12:00:00", "2999-12-31 23:59:59.999999", "1900-01-01 00:00:00")
        return _shifted(at[variant], i)
    if base == "timestamptz":
        return _shifted(_TIMESTAMPTZ[variant], i)
    if base in ("time", "timetz"):
        zone = ("+00", "+14", "-12")[variant] if base == "timetz" else ""
        return ("12:00:00", "23:59:59.999999", "00:00:00")[variant][:-2] + f"{i % 60:02d}" + zone
    if base == "interval":
        return (f"{i + 1} days", f"{177999999 - i} years", f"-{i + 1} seconds")[variant]
    if base == "uuid":
        return f"00000000-0000-4000-8000-{i:012d}"
    if base in ("json", "jsonb"):
        return (f'{{"n": {i}}}', f'{{"list": [{i}, "é", null], "deep": {{"a": true}}}}', "[]")[
            variant
        ]
    if base == "bytea":
        return ("\\x" + f"{i:02x}", "\\x" + "ff" * 64 + f"{i:02x}", "\\x")[variant]
    if base == "inet":
        return (f"10.0.{i // 256}.{i % 256}", f"2001:db8::{i:x}", f"192.168.{i % 256}.1/24")[
            variant
        ]
    if base == "cidr":
        return (f"10.{i % 256}.0.0/16", f"2001:db8:{i:x}::/48", f"{i % 224}.0.0.0/8")[variant]
    if base == "money":
        return (f"{i + 1}.50", f"{90000000000000 - i}.99", f"-{i + 1}.01")[variant]
    if base in ("bit", "varbit"):
        width = max(typmod or 1, 1)
        return format(i % (2**width), f"0{width}b")[-width:]
    if base == "xml":
        return f'<row n="{i}"/>'
    return None  # a type this does not know: the column's default, or NULL


def _numeric(typmod: int | None, i: int, variant: int) -> Decimal:
    if typmod is None:  # unconstrained: many digits on both sides of the point
        return (
            Decimal(i) + Decimal("0.5"),
            Decimal("123456789012345678901234567890.123456789012") + i,
            -Decimal("0.000000000001") - i,
        )[variant]
    precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
    if scale > precision or scale > 1000:  # negative scales (PostgreSQL 15): keep it simple
        return Decimal(i)
    step = Decimal(1).scaleb(-scale)
    top = Decimal(10) ** (precision - scale) - step  # 999.99 for numeric(5,2)
    return (
        Decimal(i % max(int(top), 1)) + (step if scale else 0),
        top - i * step,
        -top + i * step,
    )[variant]


def _text(typmod: int | None, i: int, variant: int, limit_offset: int) -> str:
    limit = typmod - limit_offset if typmod is not None and typmod >= limit_offset else None
    if variant == TYPICAL:
        return (f"v{i}")[: limit or None]
    length = limit if limit is not None else LONG_TEXT
    if variant == HIGH:
        return (f"{i}-" + "long value é " * length)[:length]
    return (f"{i} ' \" \\ 漢字" + " " * length)[:length].rstrip() or str(i)


def _shifted(stamp: str, i: int) -> str:
    """`stamp` with its minutes field set from `i` (distinct rows, same edge)."""
    return stamp[:14] + f"{i % 60:02d}" + stamp[16:]
