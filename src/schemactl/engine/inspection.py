"""Inspecting a database: schemainspect's view of it, kept to the project's schemas, with the
catalog data schemactl reads itself (our own queries in `sql/`) attached."""

from __future__ import annotations

import copy
from typing import Any

from ..config import SchemaFilter
from . import (
    catalog,
    comments_grants,
    dependencies,
    notnull,
    ordering,
    partitions,
    typechange,
    upstream,
)


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
            inspector.schemactl_dependencies = dependencies.read(conn, schemas.keeps)
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
