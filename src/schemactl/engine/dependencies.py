"""Statement order from PostgreSQL's own dependency records (`pg_depend`), where migra orders by
name: a function whose SQL-standard body calls another is created after it, and dropped before
it (docs/engine-notes.md, "Functions that call functions").

Each kept statement stays in one of the slots its kind already had; only their order among
themselves changes, by a stable topological sort (migra's order among independent ones).
"""

from __future__ import annotations

import re
from typing import Any

from .catalog import bare, rows

_CREATE_FUNCTION = re.compile(
    r"^create (?:or replace )?(?:function|procedure) (?P<name>[^\s(]+)\(", re.I
)
_DROP_FUNCTION = re.compile(r"^drop (?:function|procedure) (?:if exists )?(?P<name>[^\s(]+)", re.I)


def read_function_dependencies(conn: Any, keeps: Any) -> dict[str, set[str]]:
    """Function (`schema.name`, bare) -> the functions it needs to exist (bare names)."""
    out: dict[str, set[str]] = {}
    for schema, function, uses in rows(conn, "function_dependencies"):
        if keeps(schema):
            out.setdefault(bare(function), set()).add(bare(uses))
    return out


def _stable_order(names: list[str], needs: dict[str, set[str]]) -> list[int]:
    """Indices into `names`, each after the ones it needs; otherwise in the given order."""
    pending = list(range(len(names)))
    placed: list[int] = []
    done: set[str] = set()
    while pending:
        ready = next(
            (
                i
                for i in pending
                if not (needs.get(names[i], set()) & set(names) - done - {names[i]})
            ),
            pending[0],  # a cycle (PostgreSQL allows none here): keep migra's order
        )
        pending.remove(ready)
        placed.append(ready)
        done.add(names[ready])
    return placed


def _reorder(
    statements: list[str], pattern: re.Pattern[str], needs: dict[str, set[str]], drops: bool
) -> list[str]:
    slots = [
        (i, bare(m.group("name")))
        for i, s in enumerate(statements)
        if (m := pattern.match(s.strip()))
    ]
    if len(slots) < 2:
        return statements
    if drops:  # a function goes after every function that needs it
        inverted: dict[str, set[str]] = {}
        for function, uses in needs.items():
            for used in uses:
                inverted.setdefault(used, set()).add(function)
        needs = inverted
    names = [name for _, name in slots]
    out = list(statements)
    for (slot, _), k in zip(slots, _stable_order(names, needs), strict=True):
        out[slot] = statements[slots[k][0]]
    return out


def order_functions(
    statements: list[str], before: dict[str, set[str]], after: dict[str, set[str]]
) -> list[str]:
    """Creates of functions after the functions they call (the target's records), drops before
    the functions they call (the source's)."""
    statements = _reorder(statements, _CREATE_FUNCTION, after, drops=False)
    return _reorder(statements, _DROP_FUNCTION, before, drops=True)
