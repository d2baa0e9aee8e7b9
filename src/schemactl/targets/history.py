"""`schemactl history`: the audit trail the ledger keeps (every apply, rollback, baseline and
repair, with its duration, error and failing statement), and a summary per migration."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from ..connect import dburl
from ..project.config import Config
from . import ledger, session


@dataclass
class HistoryEntry:
    """One recorded run (newest first in a `HistoryResult`)."""

    id: int
    version: int | None
    name: str | None
    action: str  # apply, rollback, baseline, repair
    status: str  # ok, failed, interrupted, skipped, forced
    started_at: dt.datetime
    duration_ms: int
    checksum: str | None
    error: str | None
    statement: str | None
    performed_by: str
    client: str | None


@dataclass
class MigrationSummary:
    """Every apply and rollback of one migration, summed up."""

    version: int
    name: str
    runs: int  # apply and rollback attempts
    failures: int  # of them failed or interrupted
    last_at: dt.datetime
    last_ms: int | None  # the newest successful run
    mean_ms: float | None  # over successful runs
    max_ms: int | None


@dataclass
class HistoryResult:
    """The newest entries (at most `limit`) and the summary of all of them."""

    database: str  # masked
    entries: list[HistoryEntry]
    summary: list[MigrationSummary]
    total: int  # entries recorded (matching the version asked for)

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "total": self.total,
            "entries": [asdict(e) for e in self.entries],
            "summary": [asdict(m) for m in self.summary],
        }


_COLUMNS = (
    "id, version, name, action, status, started_at, duration_ms, checksum, error, statement, "
    "performed_by, client"
)


def get_migration_history(
    config: Config, database: str, *, limit: int | None = 50, version: int | None = None
) -> HistoryResult:
    """Return the newest `limit` history entries (of `version` only, if given) and a
    per-migration summary of runs, failures and durations. Changes nothing."""
    schema = config.tracking_schema
    where, args = ("WHERE version = %s", (version,)) if version is not None else ("", ())
    with session.open_session(database, "history", schema) as conn, conn.cursor() as cur:
        if ledger.read(conn, schema).version == 0:
            return HistoryResult(dburl.mask(database), [], [], 0)
        cur.execute(f"SELECT count(*) FROM {schema}.history {where}", args)
        total = cur.fetchone()[0]
        cur.execute(
            f"SELECT {_COLUMNS} FROM {schema}.history {where} ORDER BY id DESC"
            + (" LIMIT %s" if limit is not None else ""),
            (*args, limit) if limit is not None else args,
        )
        entries = [HistoryEntry(*row) for row in cur.fetchall()]
        cur.execute(
            # By version and name: a pair deleted after it failed, and another given its
            # number, are two migrations, not one with the other's failures.
            f"""SELECT version,
                       name,
                       count(*),
                       count(*) FILTER (WHERE status IN ('failed', 'interrupted')),
                       max(started_at),
                       (array_agg(duration_ms ORDER BY id DESC) FILTER (WHERE status = 'ok'))[1],
                       avg(duration_ms) FILTER (WHERE status = 'ok'),
                       max(duration_ms) FILTER (WHERE status = 'ok')
                FROM {schema}.history
                WHERE action IN ('apply', 'rollback') AND status <> 'skipped'
                  AND version IS NOT NULL
                      {where.replace("WHERE", "AND")}
                GROUP BY version, name ORDER BY version, min(id)""",
            args,
        )
        summary = [
            MigrationSummary(
                v, name, runs, failed, last_at, last, None if mean is None else float(mean), longest
            )
            for v, name, runs, failed, last_at, last, mean, longest in cur.fetchall()
        ]
        conn.rollback()
    return HistoryResult(dburl.mask(database), entries, summary, total)
