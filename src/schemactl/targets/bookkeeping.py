"""Commands that change only the bookkeeping, never the schema: `baseline` and `repair`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..connect import dburl
from ..errors import IntegrityError
from ..project.config import Config
from ..project.migfiles import parse_version
from . import ledger, session
from .status import read_files, states

DEFAULT_LOCK_WAIT = session.DEFAULT_LOCK_WAIT
_SUMMARY = 20  # differing objects a baseline mismatch names


@dataclass
class BaselineResult:
    """What `baseline` recorded."""

    version: int
    recorded: list[str]
    forced: bool
    differences: list[str] = field(default_factory=list)

    def to_json(self, warnings: list[str]) -> dict[str, Any]:
        """`warnings`: what the run said besides (a migration verified on another major)."""
        return {
            "recorded": self.recorded,
            "forced": self.forced,
            "differences": self.differences,
            "warnings": warnings,
        }


def baseline(
    config: Config,
    database: str,
    version: int | str,
    *,
    force: bool = False,
    lock_wait: float = DEFAULT_LOCK_WAIT,
    warn: Callable[[str], None] = lambda message: None,
    full_detail: bool = False,
) -> BaselineResult:
    """Record migrations 0001..`version` as applied without running them, after checking the
    live schema matches their replay (`force` records them despite differences; a mismatch
    names each differing object, every line of each with `full_detail`)."""
    # heavy (SQLAlchemy); only baseline needs them
    from ..scratch import pgbinaries, pgserver, sandbox
    from ..verification import steps, verify

    files = read_files(config)
    upto = parse_version(version, files, "--version")
    chosen = [files[v] for v in sorted(files) if v <= upto]
    schemas = config.schema_filter
    params = dburl.conn_params(database)
    with session.open_session(database, "baseline", config.tracking_schema) as conn:
        live_version = conn.server_version
        if ledger.read(conn, config.tracking_schema).rows:
            raise IntegrityError(
                "this database already has migrations recorded; baseline adopts a database "
                "schemactl has not managed",
                hint="see `schemactl status`",
            )
    with sandbox.sandbox(config) as box:
        if message := sandbox.version_warning(live_version, box):
            warn(message)
        replay = box.create_database("baseline")
        sandbox.replay(box, replay, [f.up_script for f in chosen])
        expected = verify.snapshot(box, replay, schemas)
        # The live server's own major reads it (an older pg_dump refuses a newer server).
        binaries = pgbinaries.dump_binaries(live_version // 10000)
        dump = pgserver.pg_dump(binaries, params, schemas.excluded_for_dump)
        live = steps.live_snapshot(box, dump, live_version // 10000, schemas)
    diffs = verify.compare(expected, live)
    differences = [line for d in diffs for line in d.describe()]
    if differences and not force:
        if full_detail:
            detail = differences
        else:  # one line per object: a wrong version differs in hundreds of lines
            detail = [d.describe()[0] for d in diffs[:_SUMMARY]]
            if len(diffs) > _SUMMARY:
                detail.append(f"... and {len(diffs) - _SUMMARY} more")
            detail.append("(with --verbose: every difference in full)")
        raise IntegrityError(
            f"the database does not match migrations 0001..{upto:04d} "
            f"({len(diffs)} objects differ)",
            hint="pick the version the database really is at, or record it anyway with --force",
            detail=detail,
        )
    schema = config.tracking_schema
    with (
        session.open_session(database, "baseline", config.tracking_schema) as conn,
        session.migration_lock(conn, schema, lock_wait),
    ):
        ledger.ensure(conn, schema)
        if ledger.read(conn, schema).rows:
            raise IntegrityError(
                "another run recorded migrations while baseline was comparing; nothing recorded"
            )
        with session.transaction(conn) as cur:
            for f in chosen:
                ledger.put(cur, schema, f.version, f.name, f.checksum, "baseline")
            ledger.log(
                cur,
                schema,
                ledger.Entry(
                    action="baseline",
                    status="forced" if differences else "ok",
                    started_at=ledger.now(),
                    version=upto,
                    name=files[upto].name,
                    error=f"{len(differences)} differing lines ignored (--force)"
                    if differences
                    else None,
                ),
            )
    return BaselineResult(upto, [f.name for f in chosen], bool(differences), differences)


def repair(config: Config, database: str, *, lock_wait: float = DEFAULT_LOCK_WAIT) -> list[str]:
    """Re-record checksums of edited applied files, forget applied files that are gone, and clear
    partial runs of files that do not run in one transaction; each change is logged in the
    history. Returns what changed."""
    files = read_files(config)
    schema = config.tracking_schema
    changes: list[str] = []
    with (
        session.open_session(database, "repair", config.tracking_schema) as conn,
        session.migration_lock(conn, schema, lock_wait),
    ):
        ledger.ensure(conn, schema)
        led = ledger.read(conn, schema)
        with session.transaction(conn) as cur:
            for s in states(files, led, config):
                if s.state == "changed":
                    assert s.checksum is not None  # a "changed" file exists
                    ledger.set_checksum(cur, schema, s.version, s.checksum)
                    what = f"{s.name}: recorded checksum {s.recorded_checksum} -> {s.checksum}"
                elif s.state == "missing" and s.recorded_checksum is not None:  # not a plain gap
                    ledger.remove(cur, schema, s.version)
                    what = f"{s.name}: forgotten (its files are gone)"
                elif s.state == "partial":
                    ledger.remove(cur, schema, s.version)
                    what = f"{s.name}: partial run cleared; the next apply runs it again"
                else:
                    continue
                ledger.note(cur, schema, "repair", "ok", s, what)
                changes.append(what)
    return changes
