"""The simple CHECK constraints of the tables being filled, read so that sample rows meet them
(README, "Data-aware verification": a table no row fits is a table left unmeasured).

Read by PostgreSQL's own grammar (pglast) from `pg_get_constraintdef`: a range on a number
(`n > 0`, `n BETWEEN 30 AND 100000`), a list (`kind IN ('a', 'b')`), a comparison between two
columns (`ref <> alt`, `finished_at >= started_at`), each also behind `c IS NULL OR …`, and
any AND of those. Anything else is left to the generator's plainer retries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .values import HIGH, LOW, Column, literal

Table = tuple[str, str]

_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}
_INTEGERS = frozenset({"int2", "int4", "int8"})

_CHECKS = """
SELECT n.nspname, c.relname, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'c' AND k.conrelid = ANY(%s::regclass[])
"""


@dataclass
class Rules:
    """What one table's CHECKs ask of a row."""

    low: dict[str, tuple[Decimal, bool]] = field(default_factory=dict)  # column -> (n, strict)
    high: dict[str, tuple[Decimal, bool]] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)  # column -> allowed values
    relations: list[tuple[str, str, str]] = field(default_factory=list)  # (a, op, b)


def read(cur: Any, tables: list[Table]) -> dict[Table, Rules]:
    """The rules of the CHECKs on `tables`."""
    from ...engine.catalog import ident

    if not tables:
        return {}
    cur.execute(_CHECKS, ([f"{ident(s)}.{ident(t)}" for s, t in tables],))
    out: dict[Table, Rules] = defaultdict(Rules)
    for schema, table, definition in cur.fetchall():
        _read(definition, out[(schema, table)])
    return dict(out)


def _read(definition: str, rules: Rules) -> None:
    from pglast import parse_sql
    from pglast.parser import ParseError

    text = definition.removeprefix("CHECK ")
    for suffix in (" NOT VALID", " NO INHERIT", " NOT ENFORCED"):
        text = text.removesuffix(suffix)
    try:
        statement: Any = parse_sql(f"SELECT {text}")[0].stmt
        expr = statement.targetList[0].val
    except (ParseError, AttributeError, IndexError):
        return
    _walk(expr, rules)


def _walk(node: Any, rules: Rules) -> None:
    kind = type(node).__name__
    if kind == "BoolExpr":
        op = node.boolop.name
        if op == "AND_EXPR":
            for arg in node.args:
                _walk(arg, rules)
        elif op == "OR_EXPR":  # `c IS NULL OR rule`: rows with a value must meet the rule
            rest = [a for a in node.args if type(a).__name__ != "NullTest"]
            if len(rest) == 1:
                _walk(rest[0], rules)
        return
    if kind != "A_Expr" or len(node.name) != 1:
        return
    op, left, right = node.name[0].sval, _column(node.lexpr), _column(node.rexpr)
    if node.kind.name == "AEXPR_OP_ANY" and op == "=" and left:
        array = _uncast(node.rexpr)
        if type(array).__name__ == "A_ArrayExpr":
            found = [_constant(e) for e in array.elements]
            if found and all(v is not None for v in found):
                rules.choices[left] = [str(v) for v in found]
        return
    if node.kind.name != "AEXPR_OP" or op not in _FLIPPED:
        return
    if left and right:
        rules.relations.append((left, op, right))
        return
    if right and not left:  # `0 < n`: the same as `n > 0`
        left, op, value = right, _FLIPPED[op], _number(node.lexpr)
    else:
        value = _number(node.rexpr)
    if left is None or value is None:
        return
    if op in (">", ">="):
        rules.low[left] = (value, op == ">")
    elif op in ("<", "<="):
        rules.high[left] = (value, op == "<")
    elif op == "=":
        rules.choices[left] = [str(value)]


def _uncast(node: Any) -> Any:
    while type(node).__name__ == "TypeCast":
        node = node.arg
    return node


def _column(node: Any) -> str | None:
    node = _uncast(node)
    if type(node).__name__ == "ColumnRef" and len(node.fields) == 1:
        sval = getattr(node.fields[0], "sval", None)
        return str(sval) if sval is not None else None
    return None


def _constant(node: Any) -> str | int | Decimal | None:
    node = _uncast(node)
    if type(node).__name__ != "A_Const" or node.isnull:
        return None
    val = node.val
    for attr in ("sval", "ival", "fval"):
        if (v := getattr(val, attr, None)) is not None:
            return str(v)
    return None


def _number(node: Any) -> Decimal | None:
    value = _constant(node)
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def apply(
    rules: Rules, columns: list[Column], values: dict[str, str], i: int, variant: Any
) -> None:
    """Make row `i`'s `values` (SQL text by column) meet `rules`, where they can: a value out
    of range moves inside it, a value not in a list takes one from it, and a column compared
    with another takes a value that compares as asked."""
    variant = i % 3 if variant is None else (variant if isinstance(variant, int) else 0)
    by_name = {c.name: c for c in columns}
    for name, column in by_name.items():
        if values.get(name, "NULL") == "NULL" or column.is_array:
            continue
        if name in rules.choices:
            allowed = rules.choices[name]
            values[name] = _cast(allowed[i % len(allowed)], column)
        elif (name in rules.low or name in rules.high) and column.category == "N":
            values[name] = _cast(str(_in_range(rules, column, i, variant)), column)
    for a, op, b in rules.relations:
        ca, cb = by_name.get(a), by_name.get(b)
        if ca is None or cb is None or "NULL" in (values.get(a, "NULL"), values.get(b, "NULL")):
            continue
        if op == "<>":
            for k in range(1, 4):
                if values[a] != values[b]:
                    break
                values[b] = literal(cb, i + k, variant) or values[b]
        elif op in ("=", ">=", "<="):
            values[a] = f"({values[b]})::{ca.type}"
        elif ca.category == "N" and cb.category == "N":  # > or <: one apart
            step = "+ 1" if op == ">" else "- 1"
            values[a] = f"(({values[b]}) {step})::{ca.type}"


def _in_range(rules: Rules, column: Column, i: int, variant: Any) -> Decimal:
    step = Decimal(1)
    low = high = None
    if column.name in rules.low:
        n, strict = rules.low[column.name]
        low = n + step if strict else n
    if column.name in rules.high:
        n, strict = rules.high[column.name]
        high = n - step if strict else n
    if low is not None and high is not None and high < low:  # a narrow range of fractions
        return (rules.low[column.name][0] + rules.high[column.name][0]) / 2
    if variant == HIGH and high is not None:
        value = high
    elif variant == LOW and low is not None:
        value = low
    else:
        value = (low if low is not None else (high if high is not None else Decimal(0))) + (
            i if low is not None else -i
        )
    if low is not None:
        value = max(value, low)
    if high is not None:
        value = min(value, high)
    return value if column.base not in _INTEGERS else value.to_integral_value()


def _cast(value: str, column: Column) -> str:
    return "'" + value.replace("'", "''") + f"'::{column.type}"
