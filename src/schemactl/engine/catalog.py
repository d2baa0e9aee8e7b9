"""What the kinds share: running a `sql/*.sql` query, quoting, the names statements create
and drop (from their parsed records), and copies of an inspection that make migra drop and
create an object."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from ..grammar.records import ident as ident  # re-exported: what the kinds quote with
from ..grammar.statements import Statement, parse


def rows(conn: Any, name: str) -> list[tuple[Any, ...]]:
    """Run `sql/<name>.sql` on a connection (SQLAlchemy's or psycopg2's) and return its rows,
    as plain tuples from psycopg2's own cursor: SQLAlchemy's row objects cost more than the
    query for the largest reads (pg_depend of a 1,000-table schema)."""
    raw = conn.connection if hasattr(conn, "exec_driver_sql") else conn
    with raw.cursor() as cur:
        cur.execute(query(name))  # no parameters: psycopg2 leaves `%` alone (LIKE 'pg\_%')
        return list(cur.fetchall())


@lru_cache(maxsize=None)
def query(name: str) -> str:
    """The text of `sql/<name>.sql`."""
    return resources.files("schemactl").joinpath(f"sql/{name}.sql").read_text("utf-8")


def literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def not_replaceable(inspector: Any, keys: set[str]) -> Any:
    """A copy of an inspection in which the relations or functions under `keys` answer that
    they cannot be replaced, so that migra drops and creates them, and re-creates what
    depends on them (it asks the target's object `can_replace(old)`)."""
    return _swapped(inspector, keys, "can_replace", _NOT_REPLACEABLE)


def changed(inspector: Any, keys: set[str]) -> Any:
    """A copy of an inspection in which the objects under `keys` compare unequal to anything,
    so that migra treats them as modified (used with `not_replaceable` on the other side)."""
    return _swapped(inspector, keys, "__eq__", _CHANGED)


_NOT_REPLACEABLE: dict[type, type] = {}
_CHANGED: dict[type, type] = {}


def _swapped(inspector: Any, keys: set[str], method: str, cache: dict[type, type]) -> Any:
    clone = copy.copy(inspector)
    for prop in ("relations", "tables", "selectables", "functions"):
        objects = dict(getattr(inspector, prop))
        for k in keys & objects.keys():
            base = type(objects[k])
            if base not in cache:
                # A subclass that answers False: can_replace(other) / __eq__(other).
                cache[base] = type(
                    f"{method.strip('_').title()}False",
                    (base,),
                    {method: lambda self, other: False, "__hash__": base.__hash__},
                )
            objects[k] = copy.copy(objects[k])
            objects[k].__class__ = cache[base]
        setattr(clone, prop, objects)
    return clone


@dataclass(frozen=True)
class Named:
    """An object named `schema.name`."""

    schema: str
    name: str

    @property
    def quoted(self) -> str:
        """`"schema"."name"`, as migra writes it."""
        return f"{ident(self.schema)}.{ident(self.name)}"


def created_names(statements: list[str]) -> set[str]:
    """Names the statements create: `schema.name`, lower case, unquoted (rules: `r on schema.t`;
    schemas and event triggers: their name)."""
    return {n for s in statements for n in _names(parse(s.strip()), "create")}


def dropped_names(statements: list[str]) -> set[str]:
    """Names the statements drop, as `created_names` gives them."""
    return {n for s in statements for n in _names(parse(s.strip()), "drop")}


_NAMED = {"relation", "function", "type", "schema", "statistics", "event trigger"}


def _names(st: Statement, verb: str) -> list[str]:
    if st.verb != verb:
        return []
    if st.kind == "rule" and st.name and st.table:
        return [f"{st.name[1]} on {st.table[0]}.{st.table[1]}".lower()]
    keys = st.creates if verb == "create" else st.drops
    return [
        (name if family in ("schema", "event trigger") else f"{schema}.{name}").lower()
        for family, schema, name, part in keys
        if part is None and family in _NAMED
    ]


def bare(name: str) -> str:
    """`"public"."t"`, `public.t`, `public.f(integer)` -> `public.t` / `public.f` (for matching)."""
    return name.split("(", 1)[0].replace('"', "").lower()


def parents(inspector: Any) -> dict[str, list[str]]:
    """Child table (or partition) -> the table it inherits from (or is a partition of)."""
    return {name: [t.parent_table] for name, t in inspector.tables.items() if t.parent_table}
