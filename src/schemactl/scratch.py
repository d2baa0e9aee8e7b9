"""Scratch databases for a project: a sandbox with the project's roles, the migrations
replayed into one database, the DDL of `schemas/` loaded into another."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from . import ddl, pgserver
from .config import Config
from .errors import SQLFileError


@contextlib.contextmanager
def sandbox(config: Config, dev_url: str | None = None, pg_version: int | None = None) -> Iterator[pgserver.Sandbox]:
    """Yield a sandbox (dev server or ephemeral cluster) in which the project's roles exist."""
    with pgserver.sandbox(dev_url or config.resolved_dev_url(), pg_version or config.pg_version) as box:
        box.create_roles(config.roles)
        yield box


def replay(box: pgserver.Sandbox, db: str, files: list[tuple[ddl.SQLFile, bool]]) -> None:
    """Run migration files (from `ddl.read_migration`) into `db`, in order."""
    with contextlib.closing(box.connect(db)) as conn:
        for f, transactional in files:
            ddl.execute_file(conn, f, transactional)


def run_migration(box: pgserver.Sandbox, db: str, migration: tuple[ddl.SQLFile, bool]) -> str | None:
    """Run one migration file (from `ddl.read_migration`) into `db` as `apply` would; return its
    error message, or None."""
    f, transactional = migration
    try:
        with contextlib.closing(box.connect(db)) as conn:
            ddl.execute_file(conn, f, transactional)
    except SQLFileError as e:
        return e.message
    return None


def load_schemas(box: pgserver.Sandbox, db: str, files: list[ddl.SQLFile]) -> None:
    """Load the DDL files of `schemas/` into `db`."""
    with contextlib.closing(box.connect(db)) as conn:
        ddl.load_schema_files(conn, files)


def version_warning(live_version: int, box: pgserver.Sandbox) -> str | None:
    """A warning when a live server's major version is not the scratch server's, else None."""
    live, here = live_version // 10000, box.server_version() // 10000
    if live == here:
        return None
    return (
        f"the live database runs PostgreSQL {live} and the scratch server PostgreSQL {here}: catalogs and "
        f"pg_dump output differ between major versions, so some differences may be the versions' own "
        f"(use --pg-version {live} if those server binaries are installed)"
    )
