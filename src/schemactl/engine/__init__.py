"""The diff engine: the only package that uses migra and schemainspect (`upstream` imports them).

migra is frozen upstream; its gaps are fixed in this package (see docs/engine-notes.md), never
by patching its source. Each database is inspected once and both directions are computed from
the same pair of inspections. The rest of schemactl uses only what is exported here.
"""

from .inspection import inspect, tables_and_indexes
from .inspection import read as read_inspection
from .inspection import write as write_inspection
from .migration import both_directions, migration_sql, type_changes
from .upstream import preload, ready

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
