"""`schemactl push`: a development database brought to schemas/ without a migration, as
pgschema and sqldef users expect, but with `diff`'s safety: the SQL is generated against a
scratch copy of the live schema (its `pg_dump --schema-only` loaded), verified there to reach
schemas/ by pg_dump, judged and tried on sample rows as `diff` judges a pair, and only then run
on the database: in one transaction with its history entry (an online plan's parts each in
their own). The history records the push, so `apply` and `rollback` refuse the database
afterwards (ledger.Ledger.refuse_if_pushed); environments marked `production = true` are
refused before anything is read.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..connect import dburl
from ..engine.destructive import DestructiveStatement
from ..errors import IntegrityError, SQLFileError, UnverifiedMigration, UsageError
from ..project import ddl, sqlfiles
from ..project.config import Config
from ..project.sqlfiles import SQLFile
from ..scratch import sandbox
from ..verification import data, steps, verify
from ..verification.data.findings import Hazard
from . import ledger, session

Progress = Callable[[str], None]


@dataclass
class PushResult:
    """What `push` ran (or, with `dry_run`, would run) on the database."""

    database: str  # masked
    status: str  # "pushed", "printed" (dry run), "no-changes"
    sql: str = ""
    destructive: list[DestructiveStatement] = field(default_factory=list)
    may_fail: list[DestructiveStatement] = field(default_factory=list)
    hazards: list[Hazard] = field(default_factory=list)
    sample_rows: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "status": self.status,
            "sql": self.sql,
            "destructive": [d.to_json() for d in self.destructive],
            "may_fail": [d.to_json() for d in self.may_fail],
            "hazards": [h.to_json() for h in self.hazards],
            "sample_rows": self.sample_rows,
            "warnings": self.warnings,
        }


def refuse_production(config: Config, environment: str | None) -> None:
    """Production changes only through migrations: `push` refuses such an environment."""
    env = config.environments.get(environment or "")
    if env is not None and env.production:
        raise UsageError(
            f"environment {environment!r} is marked production = true: push refuses it",
            hint="production changes through migrations: `schemactl diff -m NAME`, then apply",
        )


def push(
    config: Config,
    database: str,
    *,
    environment: str | None = None,
    allow_destructive: bool = False,
    allow_hazards: bool = False,
    dry_run: bool = False,
    lock_wait: float = session.DEFAULT_LOCK_WAIT,
    progress: Progress = lambda _: None,
    warn: Progress = lambda _: None,
) -> PushResult:
    """Bring the database at `database` to schemas/ (see the module docstring)."""
    refuse_production(config, environment)
    schema = config.tracking_schema
    with session.open_session(database, "push", schema) as conn:
        if (led := ledger.read(conn, schema)).current is not None:
            raise IntegrityError(
                f"this database is managed by migrations (at version {led.current:04d}): a push "
                "would leave its ledger describing another schema",
                hint="bring it to schemas/ the way it came: `schemactl diff -m NAME`, then apply",
            )
        live_major = conn.server_version // 10000
    progress(f"reading {dburl.mask(database)}")
    dump = steps.live_dump(config, database, live_major)
    result = PushResult(dburl.mask(database), "no-changes")
    sql = _planned(config, dump, live_major, allow_destructive, result, progress, warn)
    if not sql:
        return result
    data.refuse(result.hazards, config.hazard_locks, allow_destructive, allow_hazards)
    result.sql, result.status = sql, "printed" if dry_run else "pushed"
    if not dry_run:
        progress(f"pushing to {result.database}")
        _run(database, schema, sql, lock_wait)
    return result


def _planned(
    config: Config,
    dump: str,
    live_major: int,
    allow_destructive: bool,
    result: PushResult,
    progress: Progress,
    warn: Progress,
) -> str:
    """The SQL from the live schema to schemas/, verified and tried on rows in scratch (what
    was judged and measured goes into `result`)."""
    schemas = config.schema_filter
    files = ddl.discover(config.schemas, config.load_order, config.root)
    with sandbox.sandbox(config) as box:
        if message := sandbox.version_warning(live_major * 10000, box):
            warn(message)
        progress("loading the live schema and schemas/ into scratch databases")
        live_db = steps.load_live(box, dump)
        target_db = steps.load_schemas(box, files)
        was, wanted = steps.inspect(box, live_db, schemas), steps.inspect(box, target_db, schemas)
        up, down = steps.changes(was, wanted, files, [], config)
        if not up:
            return ""
        judged = steps.judge(up, down, was, wanted, refuse=not allow_destructive)
        result.destructive, result.may_fail = judged.destructive, judged.may_fail
        progress("verifying the push on a copy, and trying it on sample rows")
        rows_db = box.copy_database(live_db, "data") if config.data_check else ""
        target = verify.snapshot(box, target_db, schemas)
        problems = steps.verify_direction(box, live_db, "up", up, target, schemas)
        report = (
            data.try_with_rows(box, rows_db, up, down, config) if rows_db else data.DataReport()
        )
    if problems:
        raise UnverifiedMigration(
            "the push does not bring a copy of the database to schemas/; nothing was run",
            hint="`schemactl diff --db` shows the SQL; write what it cannot as a migration",
            detail=problems,
        )
    result.hazards, result.sample_rows = report.worth_saying([]), report.rows
    result.warnings += report.notes
    return up


def _run(database: str, schema: str, sql: str, lock_wait: float) -> None:
    """Run `sql` on the database and record the push in its history: in one transaction when
    the SQL is one part; else each part in its own, and the entry (failed, if a part failed:
    the parts before it stay) after them."""
    f = SQLFile(Path("push"), "push", sql)
    parts = sqlfiles.commit_parts(f)
    single = len(parts) == 1 and parts[0].transactional
    with (
        session.open_session(database, "push", schema) as conn,
        session.migration_lock(conn, schema, lock_wait),
    ):
        ledger.ensure(conn, schema)
        started, clock = ledger.now(), time.monotonic()
        error: SQLFileError | None = None
        if not single:
            try:
                sqlfiles.execute_file(conn, f)
            except SQLFileError as e:
                error = e
        with session.transaction(conn) as cur:
            if single:
                sqlfiles.run_statements(cur, f)
            entry = ledger.Entry(
                action="push",
                status="failed" if error else "ok",
                started_at=started,
                duration_ms=int((time.monotonic() - clock) * 1000),
                checksum=hashlib.sha256(sql.encode()).hexdigest(),
                error=error.message if error else None,
            )
            ledger.log(cur, schema, entry)
        if error is not None:
            raise error
