"""schemactl's own tables in the target database: applied migrations and their history.

They live in the tracking schema (`schemactl` unless configured), which `diff` and `check`
ignore. The tables carry their own version (`ledger_version`) so later releases can upgrade
them: `sql/ledger_vN.sql` files run once each, in order, under the migration lock.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..errors import IntegrityError
from ..version import __version__

LATEST = 3  # the newest ledger version this release knows; sql/ledger_v{1..LATEST}.sql


@dataclass(frozen=True)
class Row:
    """A migration the database has a record of."""

    version: int
    name: str
    checksum: str
    state: str  # applied, baseline, skipped, running, failed
    applied_at: dt.datetime
    applied_by: str
    execution_ms: int
    # running or failed: how many parts of the file committed, where `apply` resumes (None:
    # unknown, or a part that cannot run twice stopped partway)
    resume_part: int | None = None

    @property
    def in_effect(self) -> bool:
        """True when the database counts this migration as done (run, baselined or skipped)."""
        return self.state in ("applied", "baseline", "skipped")


@dataclass(frozen=True)
class Failure:
    """The last unsuccessful attempt to apply a version, from the history."""

    status: str  # failed, interrupted
    error: str | None
    started_at: dt.datetime
    checksum: str | None = None  # of the file that failed: a different file now is a new attempt


@dataclass
class Ledger:
    """What the tracking schema says (empty when it does not exist yet)."""

    version: int  # 0 when the tracking schema does not exist
    rows: dict[int, Row]
    failures: dict[int, Failure]  # versions whose latest apply attempt did not succeed
    pushed: dt.datetime | None = None  # the last `push` since the last baseline, if any

    @property
    def current(self) -> int | None:
        """The highest version in effect, or None."""
        done = [v for v, r in self.rows.items() if r.in_effect]
        return max(done) if done else None

    def refuse_if_pushed(self, command: str) -> None:
        """`push` changed this database: no migration describes its schema, so `command`
        (apply, rollback) would run files over a state they never saw."""
        if self.pushed is not None:
            raise IntegrityError(
                f"this database was changed by `schemactl push` (last at "
                f"{self.pushed:%Y-%m-%d %H:%M}): no migration describes its schema, so {command} "
                "refuses it",
                hint="push is for development databases: keep pushing to this one, or recreate "
                "it and run apply (or `schemactl baseline` once it matches the migrations)",
            )


def _version(cur: Any, schema: str) -> int:
    """Return the ledger version in `schema`, 0 if there is none; refuse foreign schemas."""
    cur.execute(
        """SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = n.oid),
                  to_regclass(quote_ident(n.nspname) || '.ledger_version') IS NOT NULL
           FROM pg_namespace n WHERE n.nspname = %s""",
        (schema,),
    )
    row = cur.fetchone()
    if row is None:
        return 0
    relations, has_version = row
    if not has_version:
        if relations == 0:
            return 0  # an empty schema of that name: we can move in
        raise IntegrityError(
            f"schema {schema!r} exists in this database but is not a schemactl ledger",
            hint="set `tracking_schema` in the config to a schema name of schemactl's own",
        )
    cur.execute(f"SELECT max(version) FROM {schema}.ledger_version")
    version = cur.fetchone()[0] or 0
    if version > LATEST:
        raise IntegrityError(
            f"this database's ledger ({schema}) is version {version}, newer than this schemactl "
            f"({__version__}) understands (version {LATEST})",
            hint="upgrade schemactl to the release that last migrated this database",
        )
    return version


def ensure(conn: Any, schema: str) -> None:
    """Create the tracking schema or upgrade its tables to LATEST. Call with the lock held."""
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            current = _version(cur, schema)
            if current < LATEST:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                cur.execute(f"SET LOCAL search_path TO {schema}")
                for v in range(current + 1, LATEST + 1):
                    cur.execute(
                        resources.files("schemactl")
                        .joinpath(f"sql/ledger_v{v}.sql")
                        .read_text("utf-8")
                    )
                    cur.execute("INSERT INTO ledger_version (version) VALUES (%s)", (v,))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = True


def read(conn: Any, schema: str) -> Ledger:
    """Read the ledger; a database without one reads as empty (nothing is created)."""
    with conn.cursor() as cur:
        version = _version(cur, schema)
        if version == 0:
            return Ledger(0, {}, {})
        resume = "resume_part" if version >= 2 else "NULL"
        cur.execute(
            f"SELECT version, name, checksum, state, applied_at, applied_by, execution_ms, "
            f"{resume} FROM {schema}.migrations ORDER BY version"
        )
        rows = {r[0]: Row(*r) for r in cur.fetchall()}
        cur.execute(
            f"""SELECT DISTINCT ON (version) version, status, error, started_at, checksum
                FROM {schema}.history WHERE action = 'apply' AND version IS NOT NULL
                ORDER BY version, id DESC"""
        )
        failures = {
            v: Failure(status, error, started, checksum)
            for v, status, error, started, checksum in cur.fetchall()
            if status in ("failed", "interrupted") and not (v in rows and rows[v].in_effect)
        }
        pushed = None
        if version >= 3:
            cur.execute(
                f"""SELECT max(started_at) FROM {schema}.history WHERE action = 'push'
                    AND id > (SELECT coalesce(max(id), 0) FROM {schema}.history
                              WHERE action = 'baseline')"""
            )
            pushed = cur.fetchone()[0]
    if not conn.autocommit:
        conn.rollback()  # end the read-only transaction psycopg2 opened
    return Ledger(version, rows, failures, pushed)


def now() -> dt.datetime:
    """The current time in UTC, for history entries."""
    return dt.datetime.now(dt.UTC)


def _client() -> str:
    """Who is running schemactl, for the history's `client` column."""
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = str(os.getuid())
    return f"schemactl {__version__} {user}@{socket.gethostname()} pid {os.getpid()}"


def put(cur: Any, schema: str, *args: Any, **kwargs: Any) -> None:
    """Insert or replace the row of a version (the arguments are `put_sql`'s)."""
    cur.execute(put_sql(cur, schema, *args, **kwargs))


def put_sql(
    cur: Any,
    schema: str,
    version: int,
    name: str,
    checksum: str,
    state: str,
    execution_ms: int = 0,
    resume_part: int | None = None,
) -> bytes:
    """The statement `put` runs, for sending together with others in one round trip."""
    sql: bytes = cur.mogrify(
        f"""INSERT INTO {schema}.migrations
              (version, name, checksum, state, execution_ms, resume_part)
            VALUES (%s, %s, %s, %s, %s, %s)
            ON CONFLICT (version) DO UPDATE SET name = excluded.name, checksum = excluded.checksum,
              state = excluded.state, execution_ms = excluded.execution_ms,
              applied_at = excluded.applied_at, applied_by = excluded.applied_by,
              resume_part = excluded.resume_part""",
        (version, name, checksum, state, execution_ms, resume_part),
    )
    return sql


def remove(cur: Any, schema: str, version: int) -> None:
    """Delete the row of `version`."""
    cur.execute(remove_sql(cur, schema, version))


def remove_sql(cur: Any, schema: str, version: int) -> bytes:
    """The statement `remove` runs, for sending together with others in one round trip."""
    sql: bytes = cur.mogrify(f"DELETE FROM {schema}.migrations WHERE version = %s;\n", (version,))
    return sql


def set_checksum(cur: Any, schema: str, version: int, checksum: str) -> None:
    """Record `checksum` as the applied file's (`repair`, after a deliberate edit)."""
    cur.execute(
        f"UPDATE {schema}.migrations SET checksum = %s WHERE version = %s", (checksum, version)
    )


@dataclass(frozen=True)
class Entry:
    """One history entry."""

    action: str  # apply, rollback, baseline, repair, push
    status: str  # ok, failed, interrupted, skipped, forced
    started_at: dt.datetime
    version: int | None = None
    name: str | None = None
    duration_ms: int = 0
    checksum: str | None = None
    error: str | None = None
    statement: str | None = None


def log(cur: Any, schema: str, entry: Entry) -> None:
    """Append one entry to the history."""
    cur.execute(log_sql(cur, schema, entry))


def note(cur: Any, schema: str, action: str, status: str, m: Any, error: str | None = None) -> None:
    """Append an entry about migration `m` (anything with version, name and checksum) that
    happened just now and took no time: a skip, a repair."""
    at = now()
    log(cur, schema, Entry(action, status, at, m.version, m.name, checksum=m.checksum, error=error))


def log_sql(cur: Any, schema: str, e: Entry) -> bytes:
    """The statement `log` runs, for sending together with others in one round trip."""
    sql: bytes = cur.mogrify(
        f"""INSERT INTO {schema}.history
              (version, name, action, status, started_at, duration_ms, checksum, error,
               statement, client)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (
            e.version,
            e.name,
            e.action,
            e.status,
            e.started_at,
            e.duration_ms,
            e.checksum,
            e.error,
            e.statement,
            _CLIENT,
        ),
    )
    return sql


_CLIENT = _client()
