"""The diff engine: the only module that imports migra and schemainspect.

migra is frozen upstream; its gaps are fixed in this layer (see docs/engine-notes.md),
never by patching its source. Each database is inspected once and both directions are
computed from the same pair of inspections.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from .pgserver import Sandbox


@dataclass(frozen=True)
class SchemaFilter:
    """Which PostgreSQL schemas take part in a diff."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pkg_resources inside
        from schemainspect import get_inspector
        from schemainspect.pg.obj import PROPS

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            inspector = get_inspector(conn)
    finally:
        engine.dispose()
    for prop in PROPS.split():
        objects = getattr(inspector, prop)
        setattr(inspector, prop, {k: v for k, v in objects.items() if schemas.keeps(v.schema)})
    return inspector


def migration_sql(i_from: Any, i_target: Any) -> str:
    """Return the SQL that takes the `i_from` database to the `i_target` one."""
    from migra import Migration

    m = Migration(i_from, i_target)
    m.set_safety(False)  # destructive statements are reported by schemactl, not refused here
    m.add_all_changes(privileges=True)
    return _tidy("".join(s + "\n\n" for s in reorder(list(m.statements))))


_CREATE_COMPOSITE = re.compile(r'^create type\s+\S+\s+as\s*\(', re.I)
_CREATE_TABLE = re.compile(r"^create (?:unlogged )?table\b", re.I)
_DROP_TYPE = re.compile(r"^drop type\b", re.I)
_DROP_TABLE = re.compile(r"^drop table\b", re.I)


def reorder(statements: list[str]) -> list[str]:
    """Fix migra's placement of composite types (see docs/engine-notes.md, "composite types").

    migra creates composite types with views and functions, after the tables whose columns
    use them, and drops them before those tables, functions and views. Creations move before
    the first CREATE TABLE; drops move after the last DROP TABLE.
    """
    creates = [s for s in statements if _CREATE_COMPOSITE.match(s.strip())]
    if creates:
        rest = [s for s in statements if not _CREATE_COMPOSITE.match(s.strip())]
        at = next((i for i, s in enumerate(rest) if _CREATE_TABLE.match(s.strip())), None)
        statements = rest[:at] + creates + rest[at:] if at is not None else statements
    last_drop_table = max((i for i, s in enumerate(statements) if _DROP_TABLE.match(s.strip())), default=-1)
    early_type_drops = [
        i for i, s in enumerate(statements) if i < last_drop_table and _DROP_TYPE.match(s.strip())
    ]
    if early_type_drops:
        moved = [statements[i] for i in early_type_drops]
        kept = [s for i, s in enumerate(statements) if i not in set(early_type_drops)]
        at = max(i for i, s in enumerate(kept) if _DROP_TABLE.match(s.strip())) + 1
        statements = kept[:at] + moved + kept[at:]
    return statements


def _tidy(sql: str) -> str:
    # migra separates statements by blank lines and ends with a newline; normalise so
    # "no changes" is exactly the empty string.
    return sql.strip() + "\n" if sql.strip() else ""


def both_directions(box: Sandbox, from_db: str, target_db: str, schemas: SchemaFilter) -> tuple[str, str]:
    """Return (up, down) SQL between two scratch databases from one inspection of each."""
    i_from = inspect(box.sqlalchemy_url(from_db), schemas)
    i_target = inspect(box.sqlalchemy_url(target_db), schemas)
    return migration_sql(i_from, i_target), migration_sql(i_target, i_from)
