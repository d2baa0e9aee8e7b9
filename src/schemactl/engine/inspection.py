"""Inspecting a database: schemainspect's view of it, kept to the project's schemas, with each
kind's catalog data beside it (engine/kind.py)."""

from __future__ import annotations

import copy
import pickle
import sys
from typing import Any, BinaryIO

from ..project.config import SchemaFilter
from . import upstream
from .kind import Inspection
from .kinds import KINDS, collations


def inspect(url: Any, schemas: SchemaFilter) -> Inspection:
    """Inspect the database at a SQLAlchemy `url`, keeping only the schemas in `schemas`."""
    # Imported here: SQLAlchemy and schemainspect take ~0.3 s to import, and `check` on a
    # project in sync never inspects anything.
    upstream.ready()
    from schemainspect import get_inspector
    from schemainspect.pg.obj import PROPS
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            inspector = get_inspector(conn)
            catalog = {kind.name: kind.read(conn, schemas.keeps) for kind in KINDS}
            for kind in KINDS:
                kind.adjust(conn, schemas.keeps, inspector, catalog[kind.name])
    finally:
        engine.dispose()
    for prop in PROPS.split():
        objects = getattr(inspector, prop)
        setattr(inspector, prop, {k: v for k, v in objects.items() if schemas.keeps(v.schema)})
    return Inspection(inspector, catalog)


# What ties an inspector to the connection it read: not kept with it (`write`).
_LIVE = ("c", "engine", "dialect")


def write(inspection: Inspection, file: BinaryIO) -> None:
    """Write an inspection to a binary file (`read`), without its connection: what the cache
    keeps for a database loaded from the same files (snapcache.py). Call it before migra runs
    on the inspection: the kinds may patch the inspector in place. Pickled straight into the
    file: at 5,000 tables the bytes alone are 21 MB."""
    _share_strings(inspection)
    inspector = copy.copy(inspection.upstream)
    for name in _LIVE:
        setattr(inspector, name, None)
    for name in [n for n in vars(inspector) if n.endswith("_QUERY")]:
        delattr(inspector, name)  # the query texts: the class has them too
    pickle.dump(inspection.replacing(inspector), file, protocol=pickle.HIGHEST_PROTOCOL)


def _share_strings(root: Any) -> None:
    """Make equal strings one object throughout an inspection's objects (`sys.intern`).

    Each value read from the catalog is a string of its own: at 5,000 tables 638,000 attribute
    strings hold 62,000 distinct values ("public", "bigint", "btree", …), 37 MiB. Shared, the
    inspection is smaller now and when a later run reads it back (pickle keeps what is
    shared); that keeps `diff` at 5,000 tables under 500 MiB. Only schemainspect's and our
    objects and plain containers are walked."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        o = todo.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, dict) or _ours(o):
            d = o if isinstance(o, dict) else getattr(o, "__dict__", None)
            if not isinstance(d, dict):
                continue
            for k, v in d.items():  # values replaced, never keys added: iteration is safe
                if type(v) is str:
                    d[k] = sys.intern(v)
                elif isinstance(v, (dict, list, tuple, set, frozenset)) or _ours(v):
                    todo.append(v)
        elif isinstance(o, list):
            for i, v in enumerate(o):
                if type(v) is str:
                    o[i] = sys.intern(v)
                else:
                    todo.append(v)
        elif isinstance(o, (tuple, set, frozenset)):
            todo.extend(v for v in o if type(v) is not str)


def _ours(o: Any) -> bool:
    module = type(o).__module__ or ""
    return module.startswith(("schemainspect", "schemactl")) and hasattr(o, "__dict__")


def read(file: BinaryIO) -> Inspection | None:
    """The inspection `write` wrote; None when it cannot be read (another version wrote it,
    or it is damaged): the database is inspected again."""
    upstream.ready()  # the classes it names
    try:
        found = pickle.load(file)
    except Exception:
        return None
    return found if isinstance(found, Inspection) else None


def unpin_extensions(inspection: Inspection, pinned: frozenset[str]) -> Inspection:
    """A copy of an inspection in which only the extensions in `pinned` have a version.

    schemainspect records every extension's installed version, so migra wrote `CREATE
    EXTENSION … VERSION '1.6'` because the scratch server had 1.6, and the same DDL on another
    server major then gave an `ALTER EXTENSION … UPDATE` migration (docs/engine-notes.md).
    The DDL decides: a version is compared and written only where it names one."""
    inspector = inspection.upstream
    extensions = {
        k: e if e.name in pinned else e.unversioned_copy() for k, e in inspector.extensions.items()
    }
    if all(extensions[k] is e for k, e in inspector.extensions.items()):
        return inspection
    clone = copy.copy(inspector)
    clone.extensions = extensions
    return inspection.replacing(clone)


def tables_and_indexes(inspection: Inspection) -> tuple[frozenset[str], dict[str, str]]:
    """The ordinary (not partitioned) tables of an inspected database, and each index's table,
    quoted as migra writes them: what an online plan may build indexes on concurrently."""
    inspector = inspection.upstream
    tables = frozenset(k for k, t in inspector.tables.items() if not t.is_partitioned)
    return tables, {k: i.quoted_full_table_name for k, i in inspector.indexes.items()}


def preload() -> None:
    """Import migra and its kin on a thread while databases load (`upstream.preload`), and make
    the column class kept inspections name (kinds/collations.py) there too."""
    upstream.preload(lambda: collations.CollatedColumnInfo)
