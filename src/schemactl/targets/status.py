"""Where each migration stands: the files in `generated/` against the database's ledger.

`apply`, `rollback`, `baseline` and `repair` all start here: read the files, read the ledger,
work out every migration's state, and refuse to go on while an applied file was edited or
removed or a no-transaction run stopped partway.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from ..connect import dburl
from ..errors import IntegrityError
from ..project import migfiles
from ..project.config import Config
from ..project.migration import Migration, read_all
from . import ledger, session

# The states `apply` runs (an awaiting contract pair only with --contract).
RUNNABLE = ("pending", "failed", "out-of-order", "awaiting-contract")


@dataclass
class MigrationStatus:
    """One migration as the files and the database see it."""

    version: int
    name: str
    # applied, baseline, skipped, pending, changed (checksum differs), missing (applied, file
    # gone), out-of-order (pending below the current version), failed (last attempt failed;
    # apply retries it, resuming a file in parts where it stopped), partial (a no-transaction
    # file stopped partway where running it again is not safe; needs `repair`), squashed (a
    # squash of versions this database holds through the old files: in effect), inside-squash
    # (the database stopped inside the range a squash replaces: apply the old files first)
    state: str
    file: str | None = None
    checksum: str | None = None
    recorded_checksum: str | None = None
    applied_at: dt.datetime | None = None
    applied_by: str | None = None
    execution_ms: int | None = None
    error: str | None = None
    environments: tuple[str, ...] | None = None
    kind: str = "sql"  # sql, or python (NNNN_slug.py)
    reversible: bool = True  # False: a Python migration that says `reversible = False`
    squashes: str | None = None  # a squash: the versions it replaces, "0001-0042"


@dataclass
class StatusResult:
    """Every migration with its state, and the version the database is at."""

    migrations: list[MigrationStatus]
    current_version: int | None
    database: str
    ledger_exists: bool

    @property
    def current(self) -> str | None:
        """The name (NNNN_slug) of the version the database is at, as the CLI shows it."""
        return next((m.name for m in self.migrations if m.version == self.current_version), None)

    @property
    def pending(self) -> list[MigrationStatus]:
        """Migrations `apply` would run."""
        return [m for m in self.migrations if m.state in RUNNABLE]

    @property
    def problems(self) -> list[MigrationStatus]:
        """Migrations that stop `apply` until someone acts."""
        return [
            m
            for m in self.migrations
            if m.state in ("changed", "missing", "partial", "inside-squash")
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "current": self.current,
            "pending": len(self.pending),
            "ok": not self.problems,
            "migrations": [asdict(m) for m in self.migrations],
        }


# ------------------------------------------------------------------ files ----


def read_files(config: Config) -> dict[int, Migration]:
    """Every migration under `generated/`, read once (migration.py)."""
    return read_all(config.generated, config.root)


def label(
    version: int | None, files: dict[int, Migration], led: ledger.Ledger | None = None
) -> str:
    if version is None:
        return "no migration (empty)"
    if version in files:
        return files[version].name
    row = led.rows.get(version) if led else None
    return row.name if row else f"{version:04d}"


# ------------------------------------------------------------------ status ----


def states(
    files: dict[int, Migration], led: ledger.Ledger, config: Config
) -> list[MigrationStatus]:
    """Return every migration known to the files or the ledger, with its state."""
    current = led.current
    out = []
    # A squash (`schemactl squash`) replaces the versions below it: their ledger rows stay, and
    # say only whether the database holds them.
    squash = files[min(files)].squashes if files else None
    replaced = range(squash[0], squash[1]) if squash else range(0)
    held = [v for v in replaced if v in led.rows and led.rows[v].in_effect]
    gaps = set(range(squash[1] if squash else 1, max(files, default=0))) - set(files)
    for v in sorted((set(files) | set(led.rows) | gaps) - set(replaced)):
        f, row = files.get(v), led.rows.get(v)
        s = MigrationStatus(v, f.name if f else row.name if row else f"{v:04d}", "pending")
        if f:
            s.file, s.checksum, s.environments = config.rel(f.pair.up), f.checksum, f.environments
            s.kind, s.reversible = ("python" if f.python else "sql"), f.reversible
            if f.squashes:
                s.squashes = f"{f.squashes[0]:04d}-{f.squashes[1]:04d}"
        if row:
            s.recorded_checksum, s.applied_at, s.applied_by = (
                row.checksum,
                row.applied_at,
                row.applied_by,
            )
            s.execution_ms = row.execution_ms
        if row and row.state in ("running", "failed"):
            # Stopped between parts, or in one that can run again: apply resumes it there.
            resumable = row.resume_part is not None and f is not None and f.matches(row.checksum)
            s.state = "failed" if resumable else "partial"
            s.error = (
                led.failures[v].error if v in led.failures else None
            ) or "stopped while running"
        elif f is None:
            s.state = "missing"
            if row is None:
                s.error = "no file, and not applied to this database"
        elif row:
            s.state = row.state if f.matches(row.checksum) else "changed"
            if s.state == "changed" and f.squashes and row.in_effect:
                s.state = "squashed"  # the old files' version: held, through them
        elif f.squashes and held:
            s.state = "inside-squash"
            s.error = (
                f"the database is at {max(held):04d}, inside {f.squashes[0]:04d}-{v:04d} "
                f"that {f.name} replaces"
            )
        elif current is not None and v < current:
            s.state = "out-of-order"
        elif v in led.failures and (
            f is None or (led.failures[v].checksum is None or f.matches(led.failures[v].checksum))
        ):
            # Only the file that failed is `failed`; a replaced file is simply pending.
            s.state, s.error = "failed", led.failures[v].error or led.failures[v].status
        if s.state == "pending" and f is not None and f.phase == "contract":
            s.state = "awaiting-contract"  # `apply` stops here; `apply --contract` runs it
        out.append(s)
    return out


def validate(statuses: list[MigrationStatus]) -> None:
    """Refuse to run while an applied file was edited or removed, or a partial run is unresolved."""
    changed = [s for s in statuses if s.state == "changed"]
    if changed:
        detail = []
        for s in changed:
            detail += [
                f"{s.file}: recorded {s.recorded_checksum}",
                f"{' ' * len(s.file or '')}  file     {s.checksum}",
            ]
        names = ", ".join(s.name for s in changed)
        raise IntegrityError(
            f"applied migration{'s' if len(changed) > 1 else ''} {names} changed since "
            f"{'they were' if len(changed) > 1 else 'it was'} applied (checksum differs)",
            hint="restore the file from version control; if the edit was deliberate (the database "
            "already "
            "matches it), run `schemactl repair` to record the new checksum",
            detail=detail,
        )
    missing = [s for s in statuses if s.state == "missing" and s.recorded_checksum is not None]
    if missing:
        raise IntegrityError(
            f"{', '.join(s.name for s in missing)} applied to this database but the file is gone",
            hint="restore it from version control (e.g. `git log --diff-filter=D -- generated/`); "
            "if it was "
            "removed on purpose, `schemactl repair` forgets it",
        )
    gaps = [s for s in statuses if s.state == "missing"]
    if gaps:
        raise IntegrityError(
            f"migration numbering has a gap: {gaps[0].name} has no files",
            hint=migfiles.gap_hint(gaps[0].version),
        )
    inside = [s for s in statuses if s.state == "inside-squash"]
    if inside:
        raise IntegrityError(
            f"{inside[0].error}: the squash cannot run over part of what it replaces",
            hint="apply the old files from version control first (check out the commit before "
            "the squash), then this database counts the squash as applied",
        )
    partial = [s for s in statuses if s.state == "partial"]
    if partial:
        s = partial[0]
        raise IntegrityError(
            f"{s.name} did not run in one transaction (no-transaction or commit points) and "
            "stopped "
            f"partway: {s.error}",
            hint="undo or finish what it did by hand (see `schemactl status`; parts schemactl "
            "wrote before "
            "a commit point are safe to run twice), then run `schemactl repair`; the next apply "
            "runs it again",
        )


def get_migration_status(config: Config, database: str) -> StatusResult:
    """Return every migration's state on the database at `database` (changes nothing)."""
    files = read_files(config)
    with session.open_session(database, "status", config.tracking_schema) as conn:
        led = ledger.read(conn, config.tracking_schema)
    return StatusResult(
        states(files, led, config), led.current, dburl.mask(database), led.version > 0
    )


def applied_versions(database: str, tracking_schema: str, command: str = "renumber") -> set[int]:
    """The versions the ledger of `database` records as applied."""
    with session.open_session(database, command, tracking_schema) as conn:
        return set(ledger.read(conn, tracking_schema).rows)
