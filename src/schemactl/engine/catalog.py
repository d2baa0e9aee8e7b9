"""Object definitions schemainspect does not read, and the statements migra misses because of it.

Each query lives in `sql/*.sql`. `engine.inspect` runs them on the same connection as the
inspection and attaches the results to the inspector, so both directions of a diff use one
read of each database.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any


def rows(conn: Any, name: str) -> list[Any]:
    """Run `sql/<name>.sql` on a SQLAlchemy connection and return its rows."""
    text = resources.files("schemactl").joinpath(f"sql/{name}.sql").read_text("utf-8")
    # exec_driver_sql hands the text to psycopg2, which reads `%` as a placeholder (LIKE 'pg\_%').
    return list(conn.exec_driver_sql(text.replace("%", "%%")).fetchall())


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
class _Named:
    """An object named `schema.name`."""

    schema: str
    name: str

    @property
    def quoted(self) -> str:
        """`"schema"."name"`, as migra writes it."""
        return f"{ident(self.schema)}.{ident(self.name)}"


@dataclass(frozen=True)
class Sequence(_Named):
    """A sequence's options as PostgreSQL stores them."""

    data_type: str
    start: int
    increment: int
    minvalue: int
    maxvalue: int
    cache: int
    cycle: bool

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
    found = (Sequence(*row) for row in rows(conn, "sequences"))
    return {s.quoted: s for s in found if keeps(s.schema)}


_CREATE_SEQUENCE = re.compile(
    r'^create sequence (?:if not exists )?(?P<name>"(?:[^"]|"")+"\."(?:[^"]|"")+");$', re.I
)


def fix_sequences(
    statements: list[str], before: dict[str, Sequence], after: dict[str, Sequence]
) -> list[str]:
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
class Collation(_Named):
    """A collation's definition as PostgreSQL stores it."""

    provider: str  # i = icu, c = libc, d = default
    lc_collate: str | None
    lc_ctype: str | None
    icu_locale: str | None
    deterministic: bool

    @property
    def create_statement(self) -> str:
        """A CREATE COLLATION that reproduces this one."""
        if self.provider == "i":
            options = f"provider = icu, locale = {literal(self.icu_locale or '')}"
        else:
            options = (
                f"provider = libc, lc_collate = {literal(self.lc_collate or '')}, "
                f"lc_ctype = {literal(self.lc_ctype or '')}"
            )
        if not self.deterministic:
            options += ", deterministic = false"
        return f"create collation if not exists {self.quoted} ({options});"


def read_collations(conn: Any, keeps: Any) -> dict[str, Collation]:
    """Return the collations in the schemas `keeps(schema)` accepts, by quoted name."""
    found = (Collation(*row) for row in rows(conn, "collations"))
    return {c.quoted: c for c in found if keeps(c.schema)}


_CREATE_COLLATION = re.compile(
    r'^create collation if not exists (?P<name>"(?:[^"]|"")+"\."(?:[^"]|"")+") \(', re.I
)


def fix_collations(
    statements: list[str], before: dict[str, Collation], after: dict[str, Collation]
) -> list[str]:
    """Rewrite migra's CREATE COLLATION statements from the catalog (ICU locales included), and
    re-create collations whose definition changed (migra reads every ICU locale as 'None', so
    it sees no change). Columns using a re-created collation make the DROP fail: `diff`'s
    verification then reports it."""
    changed = [c for name, c in sorted(after.items()) if name in before and before[name] != c]
    out = [s for c in changed for s in (f"drop collation {c.quoted};", c.create_statement)]
    for statement in statements:
        m = _CREATE_COLLATION.match(statement.strip())
        collation = after.get(m.group("name")) if m else None
        out.append(collation.create_statement if collation is not None else statement)
    return out


_CREATED = re.compile(
    r"^create (?:or replace )?(?:unlogged |materialized |recursive "
    r")*(?:table|view|function|procedure|type|domain|sequence|schema|aggregate|index|unique "
    r"index|statistics|event trigger)\s+(?:if not exists\s+)?(?P<name>[^\s(]+)",
    re.I,
)


_CREATED_RULE = re.compile(
    r"^create (?:or replace )?rule (?P<name>\S+) as\s+on \w+ to (?P<table>\S+)", re.I
)
_DROPPED = re.compile(
    r"^drop (?:materialized "
    r"view|view|table|function|procedure|aggregate|type|domain|sequence|schema|index|"
    r"statistics|event trigger)\s+(?:if exists\s+)?(?P<name>[^\s;]+)",
    re.I,
)
_DROPPED_RULE = re.compile(r"^drop rule (?:if exists )?(?P<name>\S+) on (?P<table>[^\s;]+)", re.I)


def created_names(statements: list[str]) -> set[str]:
    """Names the statements create: `schema.name`, lower case, unquoted (rules: `r on schema.t`)."""
    return _names(statements, _CREATED, _CREATED_RULE)


def dropped_names(statements: list[str]) -> set[str]:
    """Names the statements drop, as `created_names` gives them."""
    return _names(statements, _DROPPED, _DROPPED_RULE)


def _names(statements: list[str], named: re.Pattern[str], rule: re.Pattern[str]) -> set[str]:
    out = set()
    for statement in statements:
        if m := named.match(statement.strip()):
            out.add(bare(m.group("name")))
        elif m := rule.match(statement.strip()):
            out.add(f"{bare(m.group('name'))} on {bare(m.group('table'))}")
    return out


def bare(name: str) -> str:
    """`"public"."t"`, `public.t`, `public.f(integer)` -> `public.t` / `public.f` (for matching)."""
    return name.split("(", 1)[0].replace('"', "").lower()


@dataclass(frozen=True)
class Storage:
    """A table's or materialized view's storage parameters and FORCE ROW LEVEL SECURITY."""

    schema: str
    identity: str
    kind: str  # "table" or "materialized view"
    options: tuple[str, ...]  # "key=value"
    force_rls: bool
    partition_rls: bool = False  # ROW LEVEL SECURITY enabled on a partition

    def changes(self, old: Storage | None) -> list[str]:
        """ALTER statements that take `old` (None: a new or re-created object) to this."""
        before = dict(o.split("=", 1) for o in (old.options if old else ()))
        after = dict(o.split("=", 1) for o in self.options)
        out = []
        if list(before.items()) != list(after.items()):
            # PostgreSQL keeps options in the order they were set, and pg_dump shows that
            # order: to reproduce it exactly, clear what differs in place and set the rest
            # in the target's order.
            keep = 0
            for (k1, v1), (k2, v2) in zip(before.items(), after.items(), strict=False):
                if (k1, v1) != (k2, v2):
                    break
                keep += 1
            reset = [k for k in list(before)[keep:]]
            if reset:
                out.append(f"alter {self.kind} {self.identity} reset ({', '.join(reset)});")
            tail = list(after.items())[keep:]
            if tail:
                pairs = ", ".join(f"{k} = {literal(v)}" for k, v in tail)
                out.append(f"alter {self.kind} {self.identity} set ({pairs});")
        if self.partition_rls != (old.partition_rls if old else False):
            out.append(
                f"alter table {self.identity} {'enable' if self.partition_rls else 'disable'} row "
                "level security;"
            )
        if self.force_rls != (old.force_rls if old else False):
            out.append(
                f"alter table {self.identity} {'' if self.force_rls else 'no '}force row level "
                "security;"
            )
        return out


def read_storage(conn: Any, keeps: Any) -> dict[str, Storage]:
    """Return storage settings of tables/materialized views that have any, by identity."""
    found = (
        Storage(row[0], row[1], row[2], tuple(row[3]), row[4], row[5])
        for row in rows(conn, "storage")
    )
    return {s.identity: s for s in found if keeps(s.schema)}


def storage_statements(
    statements: list[str], before: dict[str, Storage], after: dict[str, Storage]
) -> list[str]:
    """Statements (run last) that give tables and materialized views their storage settings."""
    recreated = created_names(statements)
    out = []
    for identity, new in sorted(after.items()):
        old = None if bare(identity) in recreated else before.get(identity)
        out += new.changes(old)
    for identity, old in sorted(before.items()):
        if identity not in after and bare(identity) not in recreated | dropped_names(statements):
            out += Storage(old.schema, identity, old.kind, (), False, False).changes(old)
    return out


@dataclass(frozen=True)
class Domain:
    """A domain's definition."""

    schema: str
    identity: str
    base_type: str
    collation: str | None
    default: str | None
    not_null: bool
    checks: tuple[str, ...]  # "name CHECK (...)", sorted by name

    @property
    def create_statement(self) -> str:
        parts = [f"create domain {self.identity} as {self.base_type}"]
        if self.collation:
            parts.append(f"collate {self.collation}")
        if self.default is not None:
            parts.append(f"default {self.default}")
        if self.not_null:
            parts.append("not null")
        parts += [f"constraint {c}" for c in self.checks]
        return " ".join(parts) + ";"

    def alter_statements(self, old: Domain) -> list[str] | None:
        """ALTER DOMAIN statements from `old` to this, or None if it must be re-created."""
        if (old.base_type, old.collation) != (self.base_type, self.collation):
            return None
        out = []
        name = self.identity
        if old.default != self.default:
            out.append(
                f"alter domain {name} "
                + (f"set default {self.default};" if self.default else "drop default;")
            )
        if old.not_null != self.not_null:
            out.append(f"alter domain {name} {'set' if self.not_null else 'drop'} not null;")
        for check in sorted(set(old.checks) - set(self.checks)):
            out.append(f"alter domain {name} drop constraint {check.split(' ', 1)[0]};")
        for check in sorted(set(self.checks) - set(old.checks)):
            out.append(f"alter domain {name} add constraint {check};")
        return out


def read_domains(conn: Any, keeps: Any) -> dict[str, Domain]:
    """Return the domains in the schemas `keeps(schema)` accepts, by identity."""
    found = (
        Domain(row[0], row[1], row[2], row[3], row[4], row[5], tuple(row[6]))
        for row in rows(conn, "domains")
    )
    return {d.identity: d for d in found if keeps(d.schema)}


def domain_statements(
    before: dict[str, Domain], after: dict[str, Domain]
) -> tuple[list[str], list[str], list[str]]:
    """Return (create, alter, drop) statements for domains. Creates go before the first table
    is created (tables use domains); drops after the last table is dropped."""
    create, alter, drop = [], [], []
    for name, new in sorted(after.items()):
        old = before.get(name)
        if old is None:
            create.append(new.create_statement)
            continue
        changes = new.alter_statements(old)
        if changes is None:  # a new base type: only drop and create can do it
            drop.append(f"drop domain {name};")
            create.append(new.create_statement)
        else:
            alter += changes
    drop += [f"drop domain {name};" for name in sorted(set(before) - set(after))]
    return create, alter, drop


_TYPE_MAX = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


@dataclass(frozen=True)
class Identity:
    """The sequence options of one identity column."""

    schema: str
    table: str  # quoted schema.table
    column: str  # quoted
    data_type: str
    start: int
    increment: int
    minvalue: int
    maxvalue: int
    cache: int
    cycle: bool

    def fresh(self) -> Identity:
        """The options PostgreSQL gives a new identity column of this type."""
        up = self.increment > 0
        top = _TYPE_MAX.get(self.data_type, 9223372036854775807)
        return Identity(
            self.schema,
            self.table,
            self.column,
            self.data_type,
            1 if up else -1,
            1,
            1 if up else -top - 1,
            top if up else -1,
            1,
            False,
        )

    def alter(self, old: Identity, restart: bool) -> str | None:
        """ALTER TABLE ... ALTER COLUMN ... SET ... from `old`, or None when nothing differs."""
        sets = []
        for attr, clause in (
            ("increment", "increment by {}"),
            ("minvalue", "minvalue {}"),
            ("maxvalue", "maxvalue {}"),
            ("start", "start with {}"),
            ("cache", "cache {}"),
        ):
            if getattr(self, attr) != getattr(old, attr):
                sets.append("set " + clause.format(getattr(self, attr)))
        if self.cycle != old.cycle:
            sets.append("set cycle" if self.cycle else "set no cycle")
        if not sets:
            return None
        if restart and self.start != old.start:
            sets.append("restart")  # a new column: its first value is START
        return f"alter table {self.table} alter column {self.column} {' '.join(sets)};"


def read_identities(conn: Any, keeps: Any) -> dict[tuple[str, str], Identity]:
    """Return identity columns' options, by (quoted table, quoted column)."""
    found = (Identity(*row) for row in rows(conn, "identities"))
    return {(i.table, i.column): i for i in found if keeps(i.schema)}


def identity_statements(
    before: dict[tuple[str, str], Identity], after: dict[tuple[str, str], Identity]
) -> list[str]:
    """Statements (run after the columns exist) that give identity columns their options."""
    out = []
    for key, new in sorted(after.items()):
        old = before.get(key)
        statement = new.alter(old or new.fresh(), restart=old is None)
        if statement:
            out.append(statement)
    return out


@dataclass(frozen=True)
class WholeObject:
    """An object migra does not know (extended statistics, rule, event trigger), diffed by its
    whole definition: a changed one is dropped and created again."""

    kind: str
    schema: str | None  # None: database-wide (event triggers)
    name: str
    definition: str
    settings: str | None  # ALTER that follows the definition (statistics target, enabled state)
    drop: str
    table: str | None  # the table or view it belongs to, `schema.name`

    def create(self) -> list[str]:
        return [f"{self.definition};"] + ([f"{self.settings};"] if self.settings else [])


def read_whole_objects(conn: Any, keeps: Any) -> dict[tuple[str, str], WholeObject]:
    found = (WholeObject(*row) for row in rows(conn, "whole_objects"))
    return {(o.kind, o.name): o for o in found if keeps(o.schema)}


def whole_object_statements(
    statements: list[str],
    before: dict[tuple[str, str], WholeObject],
    after: dict[tuple[str, str], WholeObject],
) -> tuple[list[str], list[str]]:
    """(drops, creates): drops run first, while every table they name still exists; creates run
    last, once their tables, columns and functions do. An unchanged object is created again
    when migra re-creates its table or view, since it went with the drop."""
    recreated = created_names(statements)
    drops = [f"{old.drop};" for key, old in before.items() if after.get(key) != old]
    creates = [
        s
        for key, new in after.items()
        if before.get(key) != new or (new.table and new.table.lower() in recreated)
        for s in new.create()
    ]
    return drops, creates


_STORAGE = {"p": "plain", "e": "external", "x": "extended", "m": "main"}


@dataclass(frozen=True)
class ColumnSettings:
    """A column's statistics target, storage mode, options and compression, where set."""

    schema: str
    table: str  # quoted
    kind: str  # "table" or "materialized view"
    column: str
    statistics: int | None
    storage: str | None
    default_storage: str
    options: tuple[str, ...]  # "key=value"
    compression: str | None

    def changes(self, old: ColumnSettings | None) -> list[str]:
        """ALTER statements that take `old` (None: nothing set) to these settings."""
        only = "only " if self.kind == "table" else ""
        head = f"alter {self.kind} {only}{self.table} alter column {ident(self.column)}"
        out = []
        if self.statistics != (old.statistics if old else None):
            out.append(
                f"{head} set statistics {-1 if self.statistics is None else self.statistics};"
            )
        if self.storage != (old.storage if old else None):
            out.append(f"{head} set storage {_STORAGE[self.storage or self.default_storage]};")
        before = dict(o.split("=", 1) for o in (old.options if old else ()))
        after = dict(o.split("=", 1) for o in self.options)
        if gone := [k for k in before if k not in after]:
            out.append(f"{head} reset ({', '.join(gone)});")
        if changed := {k: v for k, v in after.items() if before.get(k) != v}:
            out.append(f"{head} set ({', '.join(f'{k} = {v}' for k, v in changed.items())});")
        if self.compression != (old.compression if old else None):
            method = {"p": "pglz", "l": "lz4"}.get(self.compression or "", "default")
            out.append(f"{head} set compression {method};")
        return out


def read_column_settings(conn: Any, keeps: Any) -> dict[tuple[str, str], ColumnSettings]:
    found = (
        ColumnSettings(
            row[0], row[1], row[2], row[3], row[4], row[5], row[6], tuple(row[7]), row[8]
        )
        for row in rows(conn, "column_settings")
    )
    return {(s.table, s.column): s for s in found if keeps(s.schema)}


def column_settings_statements(
    statements: list[str],
    before: dict[tuple[str, str], ColumnSettings],
    after: dict[tuple[str, str], ColumnSettings],
    i_target: Any,
) -> list[str]:
    """Statements (run last) that set or reset per-column settings; a re-created table or
    materialized view starts from nothing."""
    recreated = created_names(statements)
    out = []
    for key, new in after.items():
        out += new.changes(None if bare(new.table) in recreated else before.get(key))
    for (table, column), old in before.items():
        target = i_target.relations.get(table)
        if (
            (table, column) in after
            or target is None
            or ident(column) not in {c.quoted_name for c in target.columns.values()}
        ):
            continue
        if bare(table) in recreated:
            continue
        cleared = ColumnSettings(
            old.schema, table, old.kind, column, None, None, old.default_storage, (), None
        )
        out += cleared.changes(old)
    return out
