"""The kinds schemactl handles itself, in the order their hooks run (engine/kind.py), and what
that makes schemactl diff.

The order is the order of each hook: a later kind sees what an earlier one did. Where it
matters: whole objects are placed before comments read the drops and creates; domains go
among migra's statements after the kinds that read those statements; the dependency order
runs on the finished migration but before enum values are moved to the front, since a commit
point must stay between them and their users; functions change the target after enums did.
"""

from __future__ import annotations

from .. import dependencies
from ..kind import Kind
from . import (
    aggregates,
    collations,
    column_settings,
    column_types,
    columns,
    comments,
    composites,
    constraints,
    domains,
    enums,
    functions,
    identities,
    indexes,
    inheritance,
    matviews,
    not_null,
    partition_columns,
    partitions,
    privileges,
    replica_identity,
    sequences,
    storage,
    views,
    whole_objects,
)

KINDS: tuple[Kind, ...] = (
    views.KIND,
    indexes.KIND,
    sequences.KIND,
    collations.KIND,
    inheritance.KIND,
    composites.KIND,
    partitions.KIND,
    constraints.KIND,
    matviews.KIND,
    whole_objects.KIND,
    aggregates.KIND,
    comments.KIND,
    privileges.KIND,
    storage.KIND,
    column_settings.KIND,
    replica_identity.KIND,
    domains.KIND,
    identities.KIND,
    not_null.KIND,
    partition_columns.KIND,
    columns.KIND,
    column_types.KIND,
    dependencies.KIND,
    enums.KIND,
    functions.KIND,
)

# pg_dump's object types (TOC `Type:`) that migra diffs.
_MIGRA_COVERS = (
    "SCHEMA", "EXTENSION", "TABLE", "VIEW", "MATERIALIZED VIEW", "SEQUENCE", "INDEX",
    "CONSTRAINT", "FK CONSTRAINT", "DEFAULT", "FUNCTION", "PROCEDURE", "TYPE", "TRIGGER",
    "POLICY", "ROW SECURITY", "COLLATION", "COMMENT", "ACL", "DEFAULT ACL", "SEQUENCE OWNED BY",
)  # fmt: skip

# Every object type pg_dump writes a TOC entry for (PostgreSQL 15–18), longest first so that a
# prefix test finds the most specific.
_DUMP_TYPES = (
    "PUBLICATION TABLES IN SCHEMA", "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY",
    "FOREIGN DATA WRAPPER", "TEXT SEARCH TEMPLATE", "PROCEDURAL LANGUAGE", "TEXT SEARCH PARSER",
    "PUBLICATION TABLE", "OPERATOR FAMILY", "OPERATOR CLASS", "ACCESS METHOD", "USER MAPPING",
    "SUBSCRIPTION", "PUBLICATION", "CONVERSION", "AGGREGATE", "TRANSFORM", "OPERATOR", "SERVER",
    "CAST",
)  # fmt: skip


def covered() -> frozenset[str]:
    """The pg_dump object types schemactl diffs: migra's and every kind's."""
    return frozenset(_MIGRA_COVERS).union(*(k.covers for k in KINDS))


# What `verify` names as not diffed when a difference is of one of these types.
NOT_DIFFED: tuple[str, ...] = tuple(t for t in _DUMP_TYPES if t not in covered())
