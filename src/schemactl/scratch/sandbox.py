"""Scratch databases for a project: a sandbox with the project's roles, the migrations
replayed into one database, the DDL of `schemas/` loaded into another; and the leftovers of
earlier runs on a dev server dropped (`clean`)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..errors import ServerUnavailable, SQLFileError
from ..project import ddl, sqlfiles
from ..project.config import Config
from . import kept, pgbinaries, pgserver, pgversion
from .pgbinaries import PgBinaries

if TYPE_CHECKING:  # migration.py's record; it does not import this module
    from ..project.migration import Script


@contextlib.contextmanager
def sandbox(
    config: Config,
) -> Iterator[pgserver.Sandbox]:
    """Yield a sandbox (dev server or ephemeral cluster) in which the project's roles exist; an
    ephemeral one is kept for the next run (kept.py)."""
    keep = kept.Spec(tuple(sorted(config.roles)))
    with pgserver.sandbox(config.resolved_dev_url(), pgversion.wanted(config, None), keep) as box:
        box.create_roles(config.roles)
        yield box


_ICU = "ICU is not supported in this build"
_NO_EXTENSION = re.compile(
    r'extension "([^"]+)" is not available|could not open extension control file '
    r'".*/([^/"]+)\.control"'
)


@contextlib.contextmanager
def _features_named(box: pgserver.Sandbox) -> Iterator[None]:
    """Turn the server's words for a feature its build lacks (ICU, an extension) into an error
    naming the feature, the server, and the ways to use another one."""
    try:
        yield
    except SQLFileError as e:
        if (why := missing_feature(box, e.message)) is not None:
            e.message, e.hint = why
            e.args = (e.message,)
        elif (newer := _newer_syntax(box, e)) is not None:
            e.hint = newer
        raise


def _newer_syntax(box: pgserver.Sandbox, e: SQLFileError) -> str | None:
    """The hint for DDL that a newer PostgreSQL reads and this server's grammar does not (a
    VIRTUAL generated column on 15): the DDL itself needs that major, and so will every
    migration made from it."""
    if e.sqlstate != "42601" or not e.statement:
        return None
    from pglast import parse_sql
    from pglast.parser import ParseError, get_postgresql_version

    grammar = get_postgresql_version()[0]  # the PostgreSQL whose parser pglast is
    major = box.server_version() // 10000
    if major >= grammar:
        return None
    try:
        parse_sql(e.statement)
    except ParseError:
        return None
    others = _other_majors(box.binaries) if box.binaries is not None else ""
    return (
        f"PostgreSQL {grammar}'s grammar reads this statement and {major}'s does not: the DDL "
        f"needs a newer major, and so does every migration made from it; verify on one "
        f"(--pg-version N or pg_version = N"
        + (f"; installed: {others}" if others else "")
        + ") and run that major where the migrations go"
    )


def missing_feature(box: pgserver.Sandbox, message: str) -> tuple[str, str] | None:
    """(message, hint) when `message` is the server saying its build lacks a feature, else None."""
    if _ICU in message:
        at, lacks, what = (
            message.index(_ICU),
            "is built without ICU",
            "ICU collations cannot be created there",
        )
    elif m := _NO_EXTENSION.search(message):
        name = m.group(1) or m.group(2)
        at, lacks, what = (
            m.start(),
            f"has no {name} extension installed",
            f"CREATE EXTENSION {name} cannot run there",
        )
    else:
        return None
    where = message[:at]  # "schemas/x.sql:3:1: ", as the file's other errors begin
    b = box.binaries
    if isinstance(box, pgserver.EphemeralServer) and b is not None:
        server, others = (
            f"the scratch server (PostgreSQL {b.major} in {b.bindir}, {b.source})",
            _other_majors(b),
        )
        fix = (
            "use a server that has it: "
            + (
                f"another major with --pg-version N or pg_version = N (also installed: {others}), "
                "or "
                if others
                else ""
            )
            + "SCHEMACTL_PG_BIN=DIR naming the bin directory of a PostgreSQL that has it"
        )
    else:
        server, fix = (
            "the dev server (dev_url / --dev-url)",
            "install it there, or leave dev_url unset for an ephemeral server",
        )
    return f"{where}{server} {lacks}, so {what}", fix


def _other_majors(used: PgBinaries) -> str:
    try:
        found = pgbinaries.discover()
    except ServerUnavailable:
        return ""
    return ", ".join(
        f"{b.major} ({b.source})" for b in found if (b.major, b.source) != (used.major, used.source)
    )


def replay(box: pgserver.Sandbox, db: str, scripts: list[Script]) -> None:
    """Run migrations (`Migration.up_script`) into `db`, in order."""
    with contextlib.closing(box.connect(db)) as conn, _features_named(box):
        for script in scripts:
            script.run_on(conn)


def run_migration(box: pgserver.Sandbox, db: str, script: Script) -> str | None:
    """Run one migration (`Migration.up_script` or `down_script`) into `db` as `apply`
    would; return its error message, or None."""
    try:
        with contextlib.closing(box.connect(db)) as conn, _features_named(box):
            script.run_on(conn)
    except SQLFileError as e:
        return e.message
    return None


def load_schemas(box: pgserver.Sandbox, db: str, files: list[sqlfiles.SQLFile]) -> None:
    """Load the DDL files of `schemas/` into `db`."""
    with contextlib.closing(box.connect(db)) as conn, _features_named(box):
        ddl.load_schema_files(conn, files, together=isinstance(box, pgserver.DevServer))


def version_warning(live_version: int, box: pgserver.Sandbox) -> str | None:
    """A warning when a live server's major version is not the scratch server's, else None."""
    live, here = live_version // 10000, box.server_version() // 10000
    if live == here:
        return None
    return (
        f"the live database runs PostgreSQL {live} and the scratch server PostgreSQL {here}: "
        "catalogs and "
        "pg_dump output differ between major versions, so some differences may be the versions' "
        "own; "
        f"to compare on {live}, {pgversion.mismatch_fix(live)}"
    )


def clean(dev_url: str | None) -> list[str]:
    """Remove the scratch clusters kept between runs and what killed runs left (kept.py), and
    drop the scratch databases that earlier runs left on a dev server; what was removed."""
    said = kept.clean_all()
    if dev_url:
        server = pgserver.DevServer(dev_url, None)  # dropping databases needs no local binaries
        names = server.leftovers()
        for name in names:
            server.drop_database(name)
            said.append(f"database {name} (on the dev server)")
        server.close()
    return said
