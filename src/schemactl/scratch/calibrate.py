"""How fast this machine's PostgreSQL rewrites a table, builds an index and scans a table to
validate a constraint: measured once per server build and target settings on generated rows,
kept in the cache, and used to project a migration's measured hazards to a target's sizes
(targets/cost.py).

The scratch servers run without durability (fsync off, minimal WAL, in memory): a rewrite
there writes no WAL and syncs nothing, which a production target does. So the rates are
measured on a server of their own that runs with the settings of the target that decide what
a write costs (`DECIDING`), on disk when the target syncs to disk. What remains different is
the machine: the environment's `cost_factor` says how much slower or faster the target is.

The rows are a typical narrow table (a key, an integer, a 32-character text, a timestamp),
vacuumed as a production table is. Rates are per byte of heap for what reads or writes the
whole heap (a rewrite, a validation scan) and per row for an index build (sorting is per
key). What the calibration server runs with (fsync, WAL level, on what filesystem) is kept
with the rates, so that a projection can say what it assumed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pwd
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..project import envvars
from ..version import __version__
from . import pgcluster, pgserver
from .pgbinaries import PgBinaries, build_identity

ROWS = 300_000  # large enough that fixed costs (catalog work, a commit) are a few percent

# A target's settings that decide what writing costs (as pg_settings gives them; memory in kB).
DECIDING = (
    "fsync", "full_page_writes", "synchronous_commit", "wal_level", "maintenance_work_mem",
    "max_parallel_maintenance_workers",
)  # fmt: skip


@dataclass(frozen=True)
class Calibration:
    """Rates measured on the calibration server."""

    rewrite_bytes_per_s: float  # heap bytes a rewrite (ALTER COLUMN … TYPE) copies per second
    scan_bytes_per_s: float  # heap bytes VALIDATE CONSTRAINT reads per second
    index_rows_per_s: float  # rows CREATE INDEX (btree, one column) indexes per second
    concurrent_rows_per_s: float  # the same, CREATE INDEX CONCURRENTLY (two scans)
    rewrite_index_rows_per_s: float  # rows per second a rewrite puts into each index it rebuilds
    server: str = ""  # the build measured (postgres --version)
    settings: dict[str, str] = field(default_factory=dict)  # as the calibration server ran
    where: str = ""  # "on disk" or "in memory"

    def assumption(self) -> str:
        """What the projections assume, in a line."""
        said = ", ".join(f"{k}={v}" for k, v in sorted(self.settings.items()))
        return (
            f"rates measured here on {self.server.split('|')[0]}, {self.where}, with the "
            f"target's settings ({said}), on {ROWS:,} generated rows"
        )


def calibration(binaries: PgBinaries, target: dict[str, str]) -> Calibration:
    """The rates of `binaries`' build with the `target`'s settings: kept from an earlier run,
    else measured on a server started for it, and kept."""
    options = {k: target[k] for k in DECIDING if k in target}
    if "maintenance_work_mem" in options:
        options["maintenance_work_mem"] += "kB"
    build = build_identity(binaries.bindir)
    said = "|".join(f"{k}={v}" for k, v in sorted(options.items()))
    kind = "|".join(Calibration.__dataclass_fields__)  # what a kept one holds: a new field, anew
    key = hashlib.sha256(f"{build}|{said}|{__version__}|{ROWS}|{kind}".encode()).hexdigest()[:16]
    path = envvars.cache_dir() / f"calibration-{key}.json"
    with contextlib.suppress(OSError, ValueError, TypeError):
        return Calibration(**json.loads(path.read_text(encoding="utf-8")))
    durable = options.get("fsync", "on") == "on"
    parent = disk_parent(pgcluster.unprivileged_user()) if durable else None
    box = pgserver.EphemeralServer(binaries, options, parent)
    try:
        in_memory = box.base_dir.startswith(str(pgcluster.MEMORY_DIR))
        found = measure(box, build, "in memory" if in_memory else "on disk")
    finally:
        box.close()
    with contextlib.suppress(OSError):  # a cache only ever costs time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(found)), encoding="utf-8")
        tmp.replace(path)
    return found


def disk_parent(run_as: pwd.struct_passwd | None) -> str | None:
    """A temporary directory on disk, not in memory, that the server user can reach."""
    explicit = envvars.tmpdir()
    candidates = [Path(explicit)] if explicit else []
    for candidate in [*candidates, Path(tempfile.gettempdir()), Path("/var/tmp")]:
        in_memory = str(candidate.resolve()).startswith(str(pgcluster.MEMORY_DIR))
        reachable = run_as is None or pgcluster.reachable_by(candidate, run_as)
        if candidate.is_dir() and not in_memory and reachable:
            return str(candidate)
    return None


def measure(box: pgserver.Sandbox, build: str, where: str = "") -> Calibration:
    """Measure the rates on a new database of `box` (dropped after); `where` its data lives."""
    db = box.create_database("calibrate")
    try:
        with contextlib.closing(box.connect(db, autocommit=True)) as conn, conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE calib (id bigint, n integer, label text, at timestamptz);"
                "INSERT INTO calib SELECT g, g, md5(g::text), now() - g * interval '1 s' "
                f"FROM generate_series(1, {ROWS}) g"
            )
            cur.execute("VACUUM ANALYZE calib")  # as a production table stands: hint bits set
            cur.execute("SELECT pg_table_size('calib')")
            heap = float(cur.fetchone()[0])
            rewrite = _timed(cur, "ALTER TABLE calib ALTER COLUMN n TYPE bigint")
            cur.execute("VACUUM ANALYZE calib")
            cur.execute("ALTER TABLE calib ADD CONSTRAINT k CHECK (n > -1) NOT VALID")
            scan = _timed(cur, "ALTER TABLE calib VALIDATE CONSTRAINT k")
            index = _timed(cur, "CREATE INDEX calib_n ON calib (n)")
            concurrent = _timed(cur, "CREATE INDEX CONCURRENTLY calib_id ON calib (id)")
            # The same rewrite with the two indexes: what rebuilding each costs within one.
            cur.execute("ALTER TABLE calib DROP CONSTRAINT k")
            cur.execute("VACUUM ANALYZE calib")
            indexed = _timed(cur, "ALTER TABLE calib ALTER COLUMN n TYPE integer")
            cur.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(DECIDING),)
            )
            settings = dict(cur.fetchall())
    finally:
        box.drop_database(db)
    per_index = max((indexed - rewrite) / 2, 1e-6)
    rates = (heap / rewrite, heap / scan, ROWS / index, ROWS / concurrent, ROWS / per_index)
    return Calibration(*rates, build, settings, where)


def _timed(cur: Any, sql: str) -> float:
    t0 = time.perf_counter()
    cur.execute(sql)
    return max(time.perf_counter() - t0, 1e-6)
