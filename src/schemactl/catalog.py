"""Catalog facts schemainspect does not read, and the statements migra misses because of it.

Each query lives in `sql/*.sql`. `engine.inspect` runs them on the same connection as the
inspection and attaches the results to the inspector, so both directions of a diff use one
read of each database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
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


def read_inherited_columns(conn: Any, keeps: Any) -> dict[str, set[str]]:
    """Return, by quoted table name, the quoted names of columns the table only inherits."""
    out: dict[str, set[str]] = {}
    for schema, table, column in conn.exec_driver_sql(_query("inherited_columns")).fetchall():
        if keeps(schema):
            out.setdefault(f"{_ident(schema)}.{_ident(table)}", set()).add(_ident(column))
    return out


_CREATE_INHERITING = re.compile(
    r'^create (?P<kind>(?:unlogged )?table) (?P<name>"(?:[^"]|"")+"\."(?:[^"]|"")+") \(\n(?P<columns>.*)\n\) inherits \((?P<parents>[^)]*)\);$',
    re.I | re.S,
)
_ALTER_COLUMN = re.compile(
    r'^alter table (?P<table>"(?:[^"]|"")+"\."(?:[^"]|"")+") (?P<action>add|drop) column (?P<column>"(?:[^"]|"")+")', re.I
)
_DROP_TABLE = re.compile(r'^drop table (?P<name>"(?:[^"]|"")+"\."(?:[^"]|"")+");$', re.I)
_QUOTED = re.compile(r'"(?:[^"]|"")+"\."(?:[^"]|"")+"')


def fix_inheritance(statements: list[str], parents_before: dict[str, list[str]], inherited: dict[str, set[str]]) -> list[str]:
    """Make inheritance work both ways (docs/engine-notes.md, "table inheritance").

    A child's CREATE TABLE keeps only its own columns (migra also lists the inherited ones,
    which makes them local); children are created after their parents; and dropped tables
    go before the tables they inherit from (`parents_before`: child -> parents, from both
    databases).
    """
    out = []
    for statement in statements:
        m = _CREATE_INHERITING.match(statement.strip())
        if m:
            skip = inherited.get(m.group("name"), set())
            columns = [c for c in m.group("columns").split(",\n") if c.strip().split(" ", 1)[0] not in skip]
            body = "\n" + ",\n".join(columns) + "\n" if columns else ""
            statement = f"create {m.group('kind')} {m.group('name')} ({body}) inherits ({m.group('parents')});"
        out.append(statement)
    # Creations: a child after each of its parents.
    created = {m.group("name"): i for i, s in enumerate(out) if (m := _CREATE_INHERITING.match(s.strip()))}
    for child in list(created):
        statement = next(s for s in out if (m := _CREATE_INHERITING.match(s.strip())) and m.group("name") == child)
        parents = _QUOTED.findall(_CREATE_INHERITING.match(statement.strip()).group("parents"))
        at = out.index(statement)
        last_parent = max(
            (i for i, s in enumerate(out) for p in parents if _creates(s, p)), default=-1
        )
        if last_parent > at:
            out.insert(last_parent, out.pop(at))
    # A child's own column goes before the parent gains a column of that name: adding first
    # would merge the two, and the merged column could no longer be dropped from the child.
    for i, statement in enumerate(list(out)):
        m = _ALTER_COLUMN.match(statement.strip())
        if not m or m.group("action").lower() != "add":
            continue
        parent, column = m.group("table"), m.group("column")
        for j in range(i + 1, len(out)):
            d = _ALTER_COLUMN.match(out[j].strip())
            if d and d.group("action").lower() == "drop" and d.group("column") == column \
                    and parent in parents_before.get(d.group("table"), []):
                out.insert(out.index(statement), out.pop(j))
    # Drops: a parent after each of its children.
    for child, parents in parents_before.items():
        drops = {_drop_name(s): i for i, s in enumerate(out) if _drop_name(s)}
        if child not in drops:
            continue
        for parent in parents:
            drops = {_drop_name(s): i for i, s in enumerate(out) if _drop_name(s)}
            if parent in drops and drops[parent] < drops[child]:
                out.insert(drops[child], out.pop(drops[parent]))
    return out


def _creates(statement: str, name: str) -> bool:
    s = statement.strip().lower()
    return s.startswith(("create table ", "create unlogged table ")) and s.split("(", 1)[0].split()[-1] == name.lower()


def _drop_name(statement: str) -> str | None:
    m = _DROP_TABLE.match(statement.strip())
    return m.group("name") if m else None


@dataclass(frozen=True)
class Comment:
    """A COMMENT ON some object."""

    type: str  # as pg_identify_object names it: "table", "table column", "function", ...
    schema: str
    identity: str  # as COMMENT ON accepts it, e.g. public.t.id or c on public.t
    text: str
    owner: str  # the relation, function, type or schema it belongs to

    @property
    def target(self) -> str:
        """`TABLE public.t`, `CONSTRAINT c ON DOMAIN public.d`, ... for COMMENT ON."""
        kind = self.type
        if kind.endswith(" column"):
            return f"COLUMN {self.identity}"
        if kind == "domain constraint":
            name, _, domain = self.identity.partition(" on ")
            return f"CONSTRAINT {name} ON DOMAIN {domain}"
        if kind == "table constraint":
            return f"CONSTRAINT {self.identity}"
        if kind == "composite type":
            return f"TYPE {self.identity}"
        return f"{kind.upper()} {self.identity}"

    def statement(self, text: str | None) -> str:
        """COMMENT ON this object IS `text` (NULL removes it)."""
        return f"comment on {self.target} is {'null' if text is None else _literal(text)};"


def read_comments(conn: Any, keeps: Any) -> dict[tuple[str, str], Comment]:
    """Return the comments on objects in the schemas `keeps(schema)` accepts."""
    rows = conn.exec_driver_sql(_query("comments").replace("%", "%%")).fetchall()
    found = (Comment(*row) for row in rows)
    return {(c.type, c.identity): c for c in found if keeps(c.schema)}


def comment_statements(
    statements: list[str], before: dict[tuple[str, str], Comment], after: dict[tuple[str, str], Comment]
) -> tuple[list[str], list[str]]:
    """Return (first, last): comments to remove before anything else runs (every object of
    the old state still exists then), and comments to set after everything else (every
    object of the new state exists then), including those on objects the migration
    re-creates (a new object starts without a comment)."""
    recreated, dropped = _created_names(statements), _dropped_names(statements)
    # Objects the migration drops take their comments with them.
    first = [c.statement(None) for key, c in before.items() if key not in after and _bare(c.owner) not in dropped]
    last = [
        c.statement(c.text)
        for key, c in after.items()
        if key not in before or before[key].text != c.text or _bare(c.owner) in recreated
    ]
    return first, last


_CREATED = re.compile(
    r'^create (?:or replace )?(?:unlogged |materialized |recursive )*(?:table|view|function|procedure|type|domain|sequence|schema|aggregate|index|unique index)\s+(?:if not exists\s+)?(?P<name>[^\s(]+)',
    re.I,
)


def _created_names(statements: list[str]) -> set[str]:
    out = set()
    for statement in statements:
        m = _CREATED.match(statement.strip())
        if m:
            out.add(_bare(m.group("name")))
    return out


_DROPPED = re.compile(
    r"^drop (?:materialized view|view|table|function|procedure|aggregate|type|domain|sequence|schema|index)\s+(?:if exists\s+)?(?P<name>[^\s;]+)",
    re.I,
)


def _dropped_names(statements: list[str]) -> set[str]:
    return {_bare(m.group("name")) for s in statements if (m := _DROPPED.match(s.strip()))}


def _bare(name: str) -> str:
    """`"public"."t"`, `public.t`, `public.f(integer)` -> `public.t` / `public.f` (for matching)."""
    return name.split("(", 1)[0].replace('"', "").lower()


@dataclass(frozen=True)
class Grant:
    """One privilege on one object for one grantee (not the owner)."""

    kind: str  # TABLE, SEQUENCE, FUNCTION, PROCEDURE, SCHEMA
    schema: str
    identity: str
    grantee: str  # quoted role name or PUBLIC
    privilege: str
    grantable: bool
    # Only PostgreSQL's built-in default (e.g. EXECUTE to PUBLIC on a function): an object
    # created by the migration has it already.
    is_default: bool = field(default=False, compare=False)

    def grant(self) -> str:
        option = " with grant option" if self.grantable else ""
        return f"grant {self.privilege.lower()} on {self.kind} {self.identity} to {self.grantee}{option};"

    def revoke(self) -> str:
        return f"revoke {self.privilege.lower()} on {self.kind} {self.identity} from {self.grantee};"


def read_grants(conn: Any, keeps: Any) -> set[Grant]:
    """Return the non-owner privileges on objects in the schemas `keeps(schema)` accepts."""
    rows = conn.exec_driver_sql(_query("privileges").replace("%", "%%")).fetchall()
    return {g for g in (Grant(*row) for row in rows) if keeps(g.schema)}


def grant_statements(statements: list[str], before: set[Grant], after: set[Grant]) -> tuple[list[str], list[str]]:
    """Return (first, last): revokes while every old object still exists, grants once every
    new object exists, including grants on objects the migration re-creates."""
    recreated, dropped = _created_names(statements), _dropped_names(statements)
    gone = before - after
    first = [g.revoke() for g in sorted(gone, key=_grant_key) if _bare(g.identity) not in dropped]
    last = [
        g.grant()
        for g in sorted(after, key=_grant_key)
        if (g not in before or _bare(g.identity) in recreated)
        and not (g.is_default and _bare(g.identity) in recreated)
    ]
    return first, last


def _grant_key(g: Grant) -> tuple[str, str, str, str]:
    return (g.kind, g.identity, g.grantee, g.privilege)


@dataclass(frozen=True)
class Storage:
    """A table's or materialized view's storage parameters and FORCE ROW LEVEL SECURITY."""

    schema: str
    identity: str
    kind: str  # "table" or "materialized view"
    options: tuple[str, ...]  # "key=value"
    force_rls: bool

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
                pairs = ", ".join(f"{k} = {_literal(v)}" for k, v in tail)
                out.append(f"alter {self.kind} {self.identity} set ({pairs});")
        if self.force_rls != (old.force_rls if old else False):
            out.append(f"alter table {self.identity} {'' if self.force_rls else 'no '}force row level security;")
        return out


def read_storage(conn: Any, keeps: Any) -> dict[str, Storage]:
    """Return storage settings of tables/materialized views that have any, by identity."""
    rows = conn.exec_driver_sql(_query("storage").replace("%", "%%")).fetchall()
    found = (Storage(schema, ident, kind, tuple(opts), force) for schema, ident, kind, opts, force in rows)
    return {s.identity: s for s in found if keeps(s.schema)}


def storage_statements(statements: list[str], before: dict[str, Storage], after: dict[str, Storage]) -> list[str]:
    """Statements (run last) that give tables and materialized views their storage settings."""
    recreated = _created_names(statements)
    out = []
    for identity, new in sorted(after.items()):
        old = None if _bare(identity) in recreated else before.get(identity)
        out += new.changes(old)
    for identity, old in sorted(before.items()):
        if identity not in after and _bare(identity) not in recreated | _dropped_names(statements):
            out += Storage(old.schema, identity, old.kind, (), False).changes(old)
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
            out.append(f"alter domain {name} " + (f"set default {self.default};" if self.default else "drop default;"))
        if old.not_null != self.not_null:
            out.append(f"alter domain {name} {'set' if self.not_null else 'drop'} not null;")
        for check in sorted(set(old.checks) - set(self.checks)):
            out.append(f"alter domain {name} drop constraint {check.split(' ', 1)[0]};")
        for check in sorted(set(self.checks) - set(old.checks)):
            out.append(f"alter domain {name} add constraint {check};")
        return out


def read_domains(conn: Any, keeps: Any) -> dict[str, Domain]:
    """Return the domains in the schemas `keeps(schema)` accepts, by identity."""
    rows = conn.exec_driver_sql(_query("domains")).fetchall()
    found = (Domain(*row[:6], tuple(row[6])) for row in rows)
    return {d.identity: d for d in found if keeps(d.schema)}


def domain_statements(before: dict[str, Domain], after: dict[str, Domain]) -> tuple[list[str], list[str], list[str]]:
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
        return Identity(self.schema, self.table, self.column, self.data_type,
                        1 if up else -1, 1, 1 if up else -top - 1, top if up else -1, 1, False)

    def alter(self, old: Identity, restart: bool) -> str | None:
        """ALTER TABLE ... ALTER COLUMN ... SET ... from `old`, or None when nothing differs."""
        sets = []
        for attr, clause in (("increment", "increment by {}"), ("minvalue", "minvalue {}"),
                             ("maxvalue", "maxvalue {}"), ("start", "start with {}"), ("cache", "cache {}")):
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
    rows = conn.exec_driver_sql(_query("identities")).fetchall()
    found = (Identity(*row) for row in rows)
    return {(i.table, i.column): i for i in found if keeps(i.schema)}


def identity_statements(before: dict[tuple[str, str], Identity], after: dict[tuple[str, str], Identity]) -> list[str]:
    """Statements (run after the columns exist) that give identity columns their options."""
    out = []
    for key, new in sorted(after.items()):
        old = before.get(key)
        statement = new.alter(old or new.fresh(), restart=old is None)
        if statement:
            out.append(statement)
    return out


def read_index_attachments(conn: Any, keeps: Any) -> set[tuple[str, str]]:
    """Return (parent index, attached partition index) pairs, quoted as migra quotes them."""
    rows = conn.exec_driver_sql(_query("index_attachments").replace("%", "%%")).fetchall()
    return {(parent, child) for schema, parent, child in rows if keeps(schema)}


_DROP_INDEX = re.compile(r'^drop index if exists (?P<name>"(?:[^"]|"")+"\."(?:[^"]|"")+");$', re.I)


def fix_index_attachments(statements: list[str], before: set[tuple[str, str]], after: set[tuple[str, str]]) -> list[str]:
    """Attach partition indexes to their partitioned index, and let a dropped partitioned index
    take its attached indexes with it (dropping those first is refused)."""
    dropped = {m.group("name") for s in statements if (m := _DROP_INDEX.match(s.strip()))}
    cascaded = {child for parent, child in before if parent in dropped}
    out = [s for s in statements if not ((m := _DROP_INDEX.match(s.strip())) and m.group("name") in cascaded)]
    out += [f"alter index {parent} attach partition {child};" for parent, child in sorted(after - before)]
    return out


def read_table_functions(conn: Any, keeps: Any) -> set[str]:
    """Return `schema.name` (lower case) of functions that defaults, checks or indexes call."""
    rows = conn.exec_driver_sql(_query("table_functions")).fetchall()
    return {name.lower() for schema, name in rows if keeps(schema)}


_CREATE_FUNCTION = re.compile(r"^create (?:or replace )?function (?P<name>[^\s(]+)\s*\(", re.I)
_DROP_FUNCTION = re.compile(r"^drop function (?:if exists )?(?P<name>[^\s(]+)\s*\(", re.I)
_TABLE_CHANGE = re.compile(r"^(?:create (?:unlogged )?table|alter table|drop table)\b", re.I)


def fix_table_functions(statements: list[str], before: set[str], after: set[str]) -> list[str]:
    """Create functions that tables call before the table changes, and drop them after.

    Moved creations run with `check_function_bodies` off for the rest of the transaction, as
    pg_dump does, because a SQL function's body may refer to tables created later.
    """
    changes = [i for i, s in enumerate(statements) if _TABLE_CHANGE.match(s.strip())]
    if not changes:
        return statements
    first_change, last_change = changes[0], changes[-1]
    early = [
        i for i, s in enumerate(statements)
        if i > first_change and (m := _CREATE_FUNCTION.match(s.strip())) and _bare(m.group("name")) in after
    ]
    late = [
        i for i, s in enumerate(statements)
        if i < last_change and (m := _DROP_FUNCTION.match(s.strip())) and _bare(m.group("name")) in before
    ]
    if not early and not late:
        return statements
    moved = set(early) | set(late)
    out: list[str] = []
    for i, s in enumerate(statements):
        if i == first_change and early:
            out.append("set local check_function_bodies = off;")
            out += [statements[j] for j in early]
        if i not in moved:
            out.append(s)
        if i == last_change:
            out += [statements[j] for j in late]
    return out
