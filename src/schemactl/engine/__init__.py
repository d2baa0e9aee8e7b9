"""The diff engine: the only package that uses migra and schemainspect (`upstream` imports them).

migra is frozen upstream; its gaps are fixed in this package (see docs/engine-notes.md), never
by patching its source. Each database is inspected once and both directions are computed from
the same pair of inspections. The rest of schemactl uses only what is exported here.
"""

from .inspection import from_bytes, inspect, tables_and_indexes, to_bytes
from .migration import both_directions, migration_sql, type_changes
from .upstream import preload, ready

__all__ = [
    "both_directions",
    "from_bytes",
    "inspect",
    "migration_sql",
    "preload",
    "ready",
    "tables_and_indexes",
    "to_bytes",
    "type_changes",
]
