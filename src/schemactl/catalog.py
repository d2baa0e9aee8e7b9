"""Catalog facts schemainspect does not read, and the statements migra misses because of it.

Each query lives in `sql/*.sql`. `engine.inspect` runs them on the same connection as the
inspection and attaches the results to the inspector, so both directions of a diff use one
read of each database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any


def _query(name: str) -> str:
    return resources.files("schemactl").joinpath(f"sql/{name}.sql").read_text("utf-8")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Sequence:
    """A sequence's options as PostgreSQL stores them."""

    schema: str
    name: str
    data_type: str
    start: int
    increment: int
    minvalue: int
    maxvalue: int
    cache: int
    cycle: bool

    @property
    def quoted(self) -> str:
        """`"schema"."name"`, as migra writes it."""
        return f"{_ident(self.schema)}.{_ident(self.name)}"

    def options(self, since: Sequence | None = None) -> str:
        """The option clauses that differ from `since` (all of them when None)."""
        parts = []
        for attr, clause in (
            ("data_type", "as {}"),
            ("increment", "increment by {}"),
            ("minvalue", "minvalue {}"),
            ("maxvalue", "maxvalue {}"),
            ("start", "start with {}"),
            ("cache", "cache {}"),
        ):
            value = getattr(self, attr)
            if since is None or getattr(since, attr) != value:
                parts.append(clause.format(value))
        if since is None or since.cycle != self.cycle:
            parts.append("cycle" if self.cycle else "no cycle")
        return " ".join(parts)


def read_sequences(conn: Any, keeps: Any) -> dict[str, Sequence]:
    """Return the sequences in the schemas `keeps(schema)` accepts, by quoted name."""
    rows = conn.exec_driver_sql(_query("sequences")).fetchall()
    found = (Sequence(*row) for row in rows)
    return {s.quoted: s for s in found if keeps(s.schema)}


_CREATE_SEQUENCE = re.compile(r'^create sequence (?:if not exists )?(?P<name>"(?:[^"]|"")+"\."(?:[^"]|"")+");$', re.I)


def fix_sequences(statements: list[str], before: dict[str, Sequence], after: dict[str, Sequence]) -> list[str]:
    """Give migra's bare `create sequence` statements their options, and alter sequences whose
    options changed (migra compares sequences by name only)."""
    out = []
    for statement in statements:
        m = _CREATE_SEQUENCE.match(statement.strip())
        seq = after.get(m.group("name")) if m else None
        if seq is not None:
            statement = f"create sequence {seq.quoted} {seq.options()};"
        out.append(statement)
    for name, seq in after.items():
        old = before.get(name)
        if old is not None and old != seq:
            out.append(f"alter sequence {seq.quoted} {seq.options(old)};")
    return out


@dataclass(frozen=True)
class Collation:
    """A collation's definition as PostgreSQL stores it."""

    schema: str
    name: str
    provider: str  # i = icu, c = libc, d = default
    lc_collate: str | None
    lc_ctype: str | None
    icu_locale: str | None
    deterministic: bool

    @property
    def quoted(self) -> str:
        """`"schema"."name"`, as migra writes it."""
        return f"{_ident(self.schema)}.{_ident(self.name)}"

    @property
    def create_statement(self) -> str:
        """A CREATE COLLATION that reproduces this one."""
        if self.provider == "i":
            options = f"provider = icu, locale = {_literal(self.icu_locale or '')}"
        else:
            options = (
                f"provider = libc, lc_collate = {_literal(self.lc_collate or '')}, "
                f"lc_ctype = {_literal(self.lc_ctype or '')}"
            )
        if not self.deterministic:
            options += ", deterministic = false"
        return f"create collation if not exists {self.quoted} ({options});"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_collations(conn: Any, keeps: Any) -> dict[str, Collation]:
    """Return the collations in the schemas `keeps(schema)` accepts, by quoted name."""
    rows = conn.exec_driver_sql(_query("collations")).fetchall()
    found = (Collation(*row) for row in rows)
    return {c.quoted: c for c in found if keeps(c.schema)}


_CREATE_COLLATION = re.compile(r'^create collation if not exists (?P<name>"(?:[^"]|"")+"\."(?:[^"]|"")+") \(', re.I)


def fix_collations(statements: list[str], after: dict[str, Collation]) -> list[str]:
    """Rewrite migra's CREATE COLLATION statements from the catalog (ICU locales included)."""
    out = []
    for statement in statements:
        m = _CREATE_COLLATION.match(statement.strip())
        collation = after.get(m.group("name")) if m else None
        out.append(collation.create_statement if collation is not None else statement)
    return out
