"""The diff engine: the only module that uses migra and schemainspect (upstream.py imports them).

migra is frozen upstream; its gaps are fixed in this layer (see docs/engine-notes.md),
never by patching its source. Each database is inspected once and both directions are
computed from the same pair of inspections.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import (
    catalog,
    comments_grants,
    enums,
    notnull,
    ordering,
    partitions,
    sqltext,
    typechange,
    upstream,
)

if TYPE_CHECKING:
    from .config import Config


@dataclass(frozen=True)
class SchemaFilter:
    """Which PostgreSQL schemas take part in a diff."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, config: Config) -> SchemaFilter:
        """The project's filter: its include/exclude lists, and never the tracking schema."""
        return cls(
            include=config.include_schemas,
            exclude=(*config.exclude_schemas, config.tracking_schema),
        )

    def keeps(self, schema: str | None) -> bool:
        """Return whether objects in `schema` are compared."""
        if schema is None:
            return True
        if self.include:
            return schema in self.include
        return schema not in self.exclude

    @property
    def excluded_for_dump(self) -> list[str]:
        """Schemas to leave out of `pg_dump`; include-lists are applied as post-filters."""
        return list(self.exclude)


def inspect(url: Any, schemas: SchemaFilter) -> Any:
    """Inspect the database at a SQLAlchemy `url`, keeping only the schemas in `schemas`."""
    # Imported here: SQLAlchemy and schemainspect take ~0.3 s to import, and `check` on a
    # project in sync never inspects anything.
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    upstream.load()
    from schemainspect import get_inspector
    from schemainspect.pg.obj import PROPS

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            inspector = get_inspector(conn)
            inspector.schemactl_sequences = catalog.read_sequences(conn, schemas.keeps)
            inspector.schemactl_collations = catalog.read_collations(conn, schemas.keeps)
            inspector.schemactl_inherited = ordering.read_inherited_columns(conn, schemas.keeps)
            inspector.schemactl_comments = comments_grants.read_comments(conn, schemas.keeps)
            inspector.schemactl_grants = comments_grants.read_grants(conn, schemas.keeps)
            inspector.schemactl_default_privileges = comments_grants.read_default_privileges(
                conn, schemas.keeps
            )
            inspector.schemactl_storage = catalog.read_storage(conn, schemas.keeps)
            inspector.schemactl_domains = catalog.read_domains(conn, schemas.keeps)
            inspector.schemactl_identities = catalog.read_identities(conn, schemas.keeps)
            inspector.schemactl_index_attachments = partitions.read_index_attachments(
                conn, schemas.keeps
            )
            inspector.schemactl_table_functions = ordering.read_table_functions(conn, schemas.keeps)
            inspector.schemactl_whole_objects = catalog.read_whole_objects(conn, schemas.keeps)
            inspector.schemactl_column_settings = catalog.read_column_settings(conn, schemas.keeps)
            inspector.schemactl_not_null = notnull.read_not_null_names(conn, schemas.keeps)
            partitions.add_partitioned_dependents(conn, schemas.keeps, inspector.selectables)
            partitions.drop_partition_clones(conn, inspector)
            inspector.schemactl_subpartition_keys = partitions.read_subpartition_keys(
                conn, schemas.keeps
            )
            inspector.schemactl_types = typechange.read_catalog(conn, schemas.keeps)
    finally:
        engine.dispose()
    for prop in PROPS.split():
        objects = getattr(inspector, prop)
        setattr(inspector, prop, {k: v for k, v in objects.items() if schemas.keeps(v.schema)})
    # schemainspect's enum query picks up domains over enums (same type category): they are
    # domains, created by catalog.domain_statements, not enums.
    domains = {
        (d.schema, d.identity.rsplit(".", 1)[-1].strip('"'))
        for d in inspector.schemactl_domains.values()
    }
    inspector.enums = {
        k: e for k, e in inspector.enums.items() if (e.schema, e.name) not in domains
    }
    for relation in inspector.relations.values():
        # schemainspect's ATTACH PARTITION statement reads `partition_spec`, an attribute it
        # never sets (AttributeError when a table becomes a partition); it is `partition_def`.
        relation.partition_spec = relation.partition_def
        for column in relation.columns.values():
            column.__class__ = _collated_column_class(type(column))
    return inspector


_COLLATED: dict[type, type] = {}


def _collated_column_class(base: type) -> type:
    """A subclass of schemainspect's column class whose definition keeps its COLLATE clause.

    schemainspect adds the collation to `ADD COLUMN` but leaves it out of the column list of
    `CREATE TABLE`, so new tables lose their columns' collations (docs/engine-notes.md).
    """
    if base.__name__ == "CollatedColumn":
        return base
    if base not in _COLLATED:

        class CollatedColumn(base):  # type: ignore[misc]
            @property
            def creation_clause(self) -> str:
                plain: str = super().creation_clause
                head = f"{self.quoted_name} {self.dbtypestr}"
                collation: str = self.collation_subclause
                return head + collation + plain[len(head) :]

            @property
            def add_column_clause(self) -> str:
                return f"add column {self.creation_clause}"

        _COLLATED[base] = CollatedColumn
    return _COLLATED[base]


def unpin_extensions(inspector: Any, pinned: frozenset[str]) -> Any:
    """A copy of an inspection in which only the extensions in `pinned` have a version.

    schemainspect records every extension's installed version, so migra wrote `CREATE
    EXTENSION … VERSION '1.6'` because the scratch server had 1.6, and the same DDL on another
    server major then gave an `ALTER EXTENSION … UPDATE` migration (docs/engine-notes.md).
    The DDL decides: a version is compared and written only where it names one."""
    extensions = {
        k: e if e.name in pinned else e.unversioned_copy() for k, e in inspector.extensions.items()
    }
    if all(extensions[k] is e for k, e in inspector.extensions.items()):
        return inspector
    clone = copy.copy(inspector)
    clone.extensions = extensions
    return clone


def migration_sql(i_from: Any, i_target: Any, pinned: frozenset[str] | None = None) -> str:
    """Return the SQL that takes the `i_from` database to the `i_target` one (`pinned`: the
    extensions whose version the DDL names; None compares every version)."""
    upstream.load()
    from migra import Migration

    if pinned is not None:
        i_from, i_target = unpin_extensions(i_from, pinned), unpin_extensions(i_target, pinned)

    i_from, additions = enums.enum_additions(i_from, i_target)
    i_from, composites = _composite_alterations(i_from, i_target)
    i_from, release, own = partitions.rebuilt_tables(i_from, i_target)
    i_from, i_changed = enums.functions_follow_enum_rewrites(i_from, i_target)
    m = Migration(
        i_from, _signature_changes(i_from, enums.views_follow_enum_rewrites(i_from, i_changed))
    )
    m.set_safety(False)  # destructive statements are reported by schemactl, not refused here
    m.add_all_changes(privileges=False)  # privileges are ours: comments_grants.grant_statements
    statements = enums.rewrite_enum_arrays(list(m.statements), i_from, i_target)
    statements = catalog.fix_sequences(
        statements, i_from.schemactl_sequences, i_target.schemactl_sequences
    )
    statements = catalog.fix_collations(
        statements, i_from.schemactl_collations, i_target.schemactl_collations
    )
    parents = {**_parents(i_target), **_parents(i_from)}
    statements = ordering.fix_inheritance(statements, parents, i_target.schemactl_inherited)
    statements = partitions.fix_subpartitions(partitions.fix_attach(statements, parents), i_target)
    statements = partitions.detach_before_drop(statements, i_from)
    statements = fix_validation(statements, i_target)
    statements = ordering.keep_standalone_indexes(statements, i_from, i_target)
    statements = ordering.reindex_recreated_matviews(statements, i_target)
    statements = ordering.functions_after_their_views(statements)
    statements = ordering.fix_table_functions(
        statements, i_from.schemactl_table_functions, i_target.schemactl_table_functions
    )
    statements = partitions.fix_index_attachments(
        statements, i_from.schemactl_index_attachments, i_target.schemactl_index_attachments
    )
    drops, creates = catalog.whole_object_statements(
        statements, i_from.schemactl_whole_objects, i_target.schemactl_whole_objects
    )
    first, last = comments_grants.comment_statements(
        drops + statements + creates, i_from.schemactl_comments, i_target.schemactl_comments
    )
    revokes, grants = comments_grants.grant_statements(
        statements, i_from.schemactl_grants, i_target.schemactl_grants
    )
    default_revokes, default_grants = comments_grants.default_privilege_statements(
        i_from.schemactl_default_privileges, i_target.schemactl_default_privileges
    )
    revokes, grants = default_revokes + revokes, grants + default_grants
    storage = catalog.storage_statements(
        statements, i_from.schemactl_storage, i_target.schemactl_storage
    )
    storage += catalog.column_settings_statements(
        statements, i_from.schemactl_column_settings, i_target.schemactl_column_settings, i_target
    )
    statements = _with_domains(
        statements, *catalog.domain_statements(i_from.schemactl_domains, i_target.schemactl_domains)
    )
    identities = catalog.identity_statements(
        i_from.schemactl_identities, i_target.schemactl_identities
    )
    statements = (
        release
        + drops
        + revokes
        + first
        + composites
        + statements
        + own
        + identities
        + storage
        + creates
        + last
        + grants
    )
    statements = notnull.rename_statements(
        statements, i_from.schemactl_not_null, i_target.schemactl_not_null
    )
    statements = drop_superseded_defaults(
        identity_before_default(reorder(regenerate_columns(statements, i_target)))
    )
    statements = typechange.drop_needless_using(
        statements, _type_changes(statements, i_from, i_target)
    )
    return _tidy(
        "".join(s + "\n\n" for s in enums.additions_first(additions, statements) + statements)
    )


def _type_changes(
    statements: list[str], i_from: Any, i_target: Any
) -> dict[tuple[str, str], typechange.TypeChange]:
    def labels(inspector: Any) -> dict[str, list[str]]:
        return {f"{e.schema}.{e.name}": list(e.elements) for e in inspector.enums.values()}

    return typechange.type_changes(
        statements,
        i_from.schemactl_types,
        i_target.schemactl_types,
        (labels(i_from), labels(i_target)),
    )


def type_changes(
    i_from: Any, i_target: Any, sql: str
) -> dict[tuple[str, str], typechange.TypeChange]:
    """What each column type change in `sql` (from `i_from` to `i_target`) does to stored values."""
    return _type_changes([st.text for st in sqltext.split(sql)[0]], i_from, i_target)


def _composite_alterations(i_from: Any, i_target: Any) -> tuple[Any, list[str]]:
    """ALTER composite types instead of dropping and creating them (docs/engine-notes.md).

    migra drops and creates a changed composite type, which fails once a column, function or
    view uses it. Attributes can be dropped and added in place (added ones go last), so when
    the kept attributes keep their order and type and new ones come last, that is what is
    written, and the type is made equal on a copy of the source inspection so migra skips it.
    Anything else is left to migra, and verification reports it.
    """
    statements: list[str] = []
    patched = {}
    for key, new in i_target.types.items():
        old = i_from.types.get(key)
        if old is None or old.columns == new.columns:
            continue
        kept = [(k, v) for k, v in old.columns.items() if k in new.columns]
        if list(new.columns.items())[: len(kept)] != kept:
            statements.append(
                f"-- note: composite type {key} is dropped and created again, because ALTER TYPE "
                "cannot "
                "reorder or retype its attributes;\n-- this fails while a column, function or view "
                "uses it "
                "(then write the change by hand)."
            )
            continue
        statements += [
            f"alter type {key} drop attribute {catalog.ident(k)};"
            for k in old.columns
            if k not in new.columns
        ]
        statements += [
            f"alter type {key} add attribute {catalog.ident(k)} {v};"
            for k, v in list(new.columns.items())[len(kept) :]
        ]
        patched[key] = new
    if not patched:
        return i_from, statements
    clone = copy.copy(i_from)
    clone.types = {**i_from.types, **patched}
    # migra diffs composite types as selectables (relations of kind "c").
    clone.selectables = {
        **i_from.selectables,
        **{k: i_target.selectables[k] for k in patched if k in i_target.selectables},
    }
    return clone, statements


def _signature_changes(i_from: Any, i_target: Any) -> Any:
    """Make migra drop and create functions that CREATE OR REPLACE cannot change.

    PostgreSQL refuses to replace a function whose result type, OUT parameters or parameter
    names change, or that loses a parameter default; migra writes CREATE OR REPLACE for all
    of them. Such functions answer "not replaceable", so migra drops them (and the views
    that use them) and creates them again.
    """

    def changed(new: Any, old: Any) -> bool:
        names = [i.name for i in new.inputs] != [i.name for i in old.inputs]
        lost_default = any(
            o.default and not n.default for o, n in zip(old.inputs, new.inputs, strict=False)
        )
        return (
            (new.returntype, new.result_string) != (old.returntype, old.result_string)
            or names
            or lost_default
        )

    keys = {
        k
        for k, f in i_target.functions.items()
        if k in i_from.functions and changed(f, i_from.functions[k])
    }
    return catalog.not_replaceable(i_target, keys) if keys else i_target


def _parents(inspector: Any) -> dict[str, list[str]]:
    """Child table (or partition) -> the table it inherits from (or is a partition of)."""
    return {name: [t.parent_table] for name, t in inspector.tables.items() if t.parent_table}


_CREATE_COMPOSITE = re.compile(r"^create type\s+\S+\s+as\s*\(", re.I)
# The first statement that can use a composite type: tables, columns, functions, views.
_TYPE_USER = re.compile(
    r"^(?:create (?:unlogged )?table|alter table|create (?:or replace "
    r")?(?:function|procedure|view|materialized view)"
    r"|set check_function_bodies)\b",
    re.I,
)
_DROP_TYPE = re.compile(r"^drop type (?P<name>[^\s;]+)", re.I)
_DROP_TYPE_USER = re.compile(r"^drop (?:table|function|procedure|view|materialized view)\b", re.I)


def reorder(statements: list[str]) -> list[str]:
    """Fix migra's placement of composite types (see docs/engine-notes.md, "composite types").

    migra creates composite types with views and functions, after the tables and functions
    that use them, and drops them before those tables, functions and views. Creations move
    before the first statement that can use them; drops (of types not created again) move
    after the last drop of a table, function or view.
    """
    creates = [s for s in statements if _CREATE_COMPOSITE.match(s.strip())]
    if creates:
        rest = [s for s in statements if not _CREATE_COMPOSITE.match(s.strip())]
        at = next((i for i, s in enumerate(rest) if _TYPE_USER.match(s.strip())), None)
        statements = rest[:at] + creates + rest[at:] if at is not None else statements
    recreated = catalog.created_names(statements)
    users = [i for i, s in enumerate(statements) if _DROP_TYPE_USER.match(s.strip())]
    early_type_drops = [
        i
        for i, s in enumerate(statements)
        if users
        and i < users[-1]
        and (m := _DROP_TYPE.match(s.strip()))
        and catalog.bare(m.group("name")) not in recreated
    ]
    if early_type_drops:
        moved = [statements[i] for i in early_type_drops]
        kept = [s for i, s in enumerate(statements) if i not in set(early_type_drops)]
        at = max(i for i, s in enumerate(kept) if _DROP_TYPE_USER.match(s.strip())) + 1
        statements = kept[:at] + moved + kept[at:]
    return statements


_COLUMN_ALTER = re.compile(
    r'^alter table (?P<table>\S+) alter column (?P<column>"(?:[^"]|"")+") (?P<action>.*);$',
    re.I | re.S,
)


def identity_before_default(statements: list[str]) -> list[str]:
    """Order identity changes against the sequences and defaults around them
    (docs/engine-notes.md, "identity").

    A column's identity is dropped first: migra writes `set default` before `drop identity`
    (refused: "column ... is an identity column"), and creates a serial's sequence while the
    identity's own sequence still holds that name. And a sequence being dropped goes before
    any `add generated ... as identity`, whose new sequence would otherwise take another name.
    """

    def action(statement: str) -> str:
        m = _COLUMN_ALTER.match(statement.strip())
        return m.group("action").lower() if m else ""

    drop_identity = [s for s in statements if action(s) == "drop identity"]
    out = drop_identity + [s for s in statements if action(s) != "drop identity"]
    adds = [i for i, s in enumerate(out) if action(s).startswith("add generated")]
    if adds:
        late = [s for i, s in enumerate(out) if i > adds[0] and _DROP_SEQUENCE.match(s.strip())]
        out = [s for s in out if s not in late]
        out[adds[0] : adds[0]] = late
    return out


_DROP_SEQUENCE = re.compile(r"^drop sequence\b", re.I)


def regenerate_columns(statements: list[str], i_target: Any) -> list[str]:
    """Drop and add a generated column whose expression changed (docs/engine-notes.md).

    migra writes `set default <expression>`, which PostgreSQL refuses for a generated column
    (and PostgreSQL 15 has no ALTER ... SET EXPRESSION). The values are derived, so nothing is
    lost; only the column's position changes.
    """
    out = []
    for statement in statements:
        m = _COLUMN_ALTER.match(statement.strip())
        table = i_target.tables.get(m.group("table")) if m else None
        column = (
            next(
                (c for c in table.columns.values() if m and c.quoted_name == m.group("column")),
                None,
            )
            if table
            else None
        )
        if (
            m
            and column is not None
            and column.is_generated
            and m.group("action").lower().startswith("set default")
        ):
            out += [
                f"alter table {m.group('table')} drop column {column.quoted_name};",
                f"alter table {m.group('table')} {column.add_column_clause};",
            ]
            continue
        out.append(statement)
    return out


def drop_superseded_defaults(statements: list[str]) -> list[str]:
    """Leave out a `set default` that a later statement replaces (docs/engine-notes.md).

    migra's enum rewrite drops a column's default, changes the type, and sets the old default
    again before the migration sets the new one; when the old default is a label the new type
    lacks, that intermediate statement fails ("invalid input value for enum").
    """
    out = []
    for i, statement in enumerate(statements):
        m = _COLUMN_ALTER.match(statement.strip())
        if m and m.group("action").lower().startswith("set default"):
            key = (m.group("table"), m.group("column"))
            later = (_COLUMN_ALTER.match(s.strip()) for s in statements[i + 1 :])
            if any(
                o
                and (o.group("table"), o.group("column")) == key
                and o.group("action").lower().startswith(("set default", "drop default"))
                for o in later
            ):
                continue
        out.append(statement)
    return out


def _with_domains(
    statements: list[str], create: list[str], alter: list[str], drop: list[str]
) -> list[str]:
    """Place domain statements among migra's (docs/engine-notes.md, "domains").

    Creates and alters go right after the last schema/extension/type/collation creation (a
    domain may be over an enum or in a new schema, and tables and functions may use it).
    Drops go after the last statement that can still use the domain (table, column, view,
    function changes) and before types, schemas and extensions are dropped.
    """

    def matching(pattern: re.Pattern[str]) -> list[int]:
        return [i for i, s in enumerate(statements) if pattern.match(s.strip())]

    users = matching(_DOMAIN_USERS)
    after_users = max(users, default=-1) + 1
    at_drop = next((i for i in matching(_DROP_BASE) if i >= after_users), len(statements))
    out = statements[:at_drop] + drop + statements[at_drop:]
    at_create = max(matching(_CREATE_BASE), default=-1) + 1
    if at_create > at_drop:
        at_create += len(drop)
    return out[:at_create] + create + alter + out[at_create:]


_DOMAIN_USERS = re.compile(
    r"^(?:alter table|drop table|drop view|drop materialized view|drop function|drop procedure)\b",
    re.I,
)
_DROP_BASE = re.compile(r"^drop (?:type|schema|extension|collation)\b", re.I)
_CREATE_BASE = re.compile(r"^create (?:schema|extension|type|collation)\b", re.I)
_ADD_NOT_VALID = re.compile(
    r"^alter table (?P<table>\S+) add constraint (?P<name>\S+) (?P<body>.*) not valid;$",
    re.I | re.S,
)
_VALIDATE = re.compile(r"^alter table (?P<table>\S+) validate constraint (?P<name>\S+);$", re.I)


def fix_validation(statements: list[str], i_target: Any) -> list[str]:
    """Keep NOT VALID constraints not valid, and add partitioned tables' constraints directly.

    migra adds every check and foreign key `not valid` and then validates it, a safe pattern
    that (a) validates constraints the DDL declares NOT VALID, and (b) fails on partitioned
    tables, where PostgreSQL does not allow NOT VALID foreign keys.
    """
    partitioned = {name for name, t in i_target.tables.items() if t.relationtype == "p"}
    declared_not_valid = {
        (c.quoted_full_table_name, c.quoted_name)
        for c in i_target.constraints.values()
        if c.definition.rstrip().upper().endswith("NOT VALID")
    }
    out = []
    for statement in statements:
        text = statement.strip()
        m = _ADD_NOT_VALID.match(text)
        if m and (
            m.group("table") in partitioned
            or (m.group("table"), m.group("name")) in declared_not_valid
        ):
            table, name, body = m.group("table"), m.group("name"), m.group("body")
            statement = f"alter table {table} add constraint {name} {body};"
        v = _VALIDATE.match(text)
        if v and (
            v.group("table") in partitioned
            or (v.group("table"), v.group("name")) in declared_not_valid
        ):
            continue
        out.append(statement)
    return out


def _tidy(sql: str) -> str:
    # migra separates statements by blank lines and ends with a newline; normalise so
    # "no changes" is exactly the empty string.
    return sql.strip() + "\n" if sql.strip() else ""


def both_directions(
    i_from: Any, i_target: Any, pinned: frozenset[str] | None = None
) -> tuple[str, str]:
    """Return (up, down) SQL between two inspected databases (each inspected once)."""
    return migration_sql(i_from, i_target, pinned), migration_sql(i_target, i_from, pinned)
