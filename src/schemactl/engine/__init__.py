"""The diff engine: the only package that uses migra and schemainspect (`upstream` imports them),
and what reads or rewrites the SQL it generates (`renames`, `online`, `destructive`).

migra is frozen upstream; its gaps are fixed in this package (see docs/engine-notes.md), never
by patching its source. Each database is inspected once and both directions are computed from
the same pair of inspections. Other wings use what is exported here, the catalog helpers
(`catalog`) and the kinds' registry (`kinds.NOT_DIFFED`).

May import: grammar, project.
"""

from .inspection import inspect, preload, tables_and_indexes
from .inspection import read as read_inspection
from .inspection import write as write_inspection
from .migration import both_directions, migration_sql, type_changes
from .upstream import ready

__all__ = [
    "both_directions",
    "inspect",
    "migration_sql",
    "preload",
    "read_inspection",
    "ready",
    "tables_and_indexes",
    "type_changes",
    "write_inspection",
]
