"""Many databases under one environment (`urls`, `urls_from`, `urls_query`; README "Fleets"):
the list resolved and sharded, and `apply` / `rollback` / `status` run on each database
concurrently, each exactly as on one database (its own migration lock, checksums and
per-migration transactions).

A stop (a failure without `keep_going`, Ctrl-C, SIGTERM) starts no new database and lets
those running finish the migration they are in; so every database stays at a migration
boundary and the next run continues from where each one stands.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..connect import dburl
from ..errors import ConfigError, ExitCode, Interrupted, SchemactlError, UsageError
from ..project.config import Config
from ..project.environments import Environment, interpolate
from . import runner, status
from .execution import Step


def targets(config: Config, name: str, shard: tuple[int, int] | None = None) -> list[str]:
    """The URLs of fleet environment `name` (see `Config.targets_fleet`), in the order given,
    each once; with `shard` (K, N), the stable K-th of N parts (README "Sharding")."""
    urls = _listed(config, config.environments[name])
    unique = list(dict.fromkeys(urls))
    if shard is None:
        return unique
    k, n = shard
    return [u for u in unique if shard_of(u, n) == k - 1]


def _listed(config: Config, env: Environment) -> list[str]:
    where = f"environments.{env.name}"
    urls = [interpolate(u, f"{where}.urls") for u in env.urls]
    if env.urls_from:
        path = Path(env.urls_from)
        path = path if path.is_absolute() else config.root / path
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ConfigError(
                f"{where}.urls_from: cannot read {env.urls_from}: {e.strerror}",
                hint="one database URL per line; blank lines and # comments are skipped",
            ) from None
        for i, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                urls.append(interpolate(line.strip(), f"{env.urls_from}:{i}"))
    if env.urls_query:
        url = interpolate(env.url, f"{where}.url")
        with contextlib.closing(dburl.connect(url, application_name="schemactl fleet")) as conn:
            with conn.cursor() as cur:
                try:
                    cur.execute(env.urls_query)
                    rows = cur.fetchall()
                except Exception as e:
                    raise ConfigError(
                        f"{where}.urls_query failed on {dburl.mask(url)}: {str(e).strip()}"
                    ) from None
        urls += [interpolate(str(r[0]), f"{where}.urls_query") for r in rows if r and r[0]]
    if not urls:
        raise ConfigError(f"{where} names no database", hint="check urls, urls_from, urls_query")
    return urls


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 ≤ K ≤ N) as (K, N)."""
    k, _, n = text.partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise UsageError(
            f"--shard {text!r}: expected K/N with 1 <= K <= N", hint="e.g. --shard 2/4"
        )
    return int(k), int(n)


def shard_of(url: str, n: int) -> int:
    """Which of `n` shards a database falls in (0-based): by a hash of its URL without the
    password, so a rotated password moves nothing."""
    digest = hashlib.sha256(dburl.mask(url).encode()).digest()
    return int.from_bytes(digest[:8], "big") % n


# ------------------------------------------------------------------ runs ----


@dataclass
class DatabaseRun:
    """One database of a fleet run."""

    database: str  # password masked
    status: str  # ok, failed, stopped (at a migration boundary), not-run
    before: str | None = None  # NNNN_slug, None: no migration applied
    after: str | None = None
    duration_ms: int = 0
    error: str | None = None
    steps: list[Step] = field(default_factory=list)
    waiting: str | None = None  # the contract pair apply stopped before

    def to_json(self) -> dict[str, Any]:
        return {
            "awaiting_contract": self.waiting,
            "database": self.database,
            "status": self.status,
            "before": self.before,
            "after": self.after,
            "duration_ms": self.duration_ms,
            "error": self.error,
            "steps": [s.to_json() for s in self.steps],
        }


@dataclass
class FleetResult:
    """What `apply` or `rollback` did on every database of an environment."""

    environment: str
    command: str  # apply, rollback
    databases: list[DatabaseRun]
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0: every database succeeded; 10: some did; 11: none did (README "Exit codes")."""
        ok = sum(d.status == "ok" for d in self.databases)
        if self.interrupted:
            return int(ExitCode.INTERRUPTED)
        if ok == len(self.databases):
            return int(ExitCode.OK)
        return int(ExitCode.FLEET_SOME if ok else ExitCode.FLEET_NONE)

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for d in self.databases:
            counts[d.status] = counts.get(d.status, 0) + 1
        return {
            "ok": self.exit_code == 0,
            "environment": self.environment,
            "command": self.command,
            "counts": counts,
            "interrupted": self.interrupted,
            "databases": [d.to_json() for d in self.databases],
        }


class _Stop(BaseException):
    """Raised between two migrations of a database when the fleet stops."""


# (event, database, detail): "start", "step" (a migration done), "end" (its DatabaseRun)
Events = Callable[[str, str, Any], None]


@dataclass(frozen=True)
class FleetSettings:
    """How a fleet run goes, beside the RunSettings every database gets."""

    parallel: int = 4
    canary: int = 0  # the first K databases first; the rest only if they all succeed
    keep_going: bool = False  # a failure does not stop the others

    def __post_init__(self) -> None:
        if self.parallel < 1:
            raise UsageError(f"--parallel {self.parallel}: must be 1 or more")
        if self.canary < 0:
            raise UsageError(f"--canary {self.canary}: must be 0 or more")


def run(
    config: Config,
    name: str,
    urls: list[str],
    command: str,
    fleet: FleetSettings,
    events: Events = lambda event, database, detail: None,
    **arguments: Any,
) -> FleetResult:
    """Run `runner.apply_migrations` (command "apply") or `rollback_migrations` on every URL
    of environment `name`, `fleet.parallel` at a time (see the module docstring for how it
    stops); `arguments` go to each call."""
    function = runner.apply_migrations if command == "apply" else runner.rollback_migrations
    arguments.setdefault("environment", name)
    stop = threading.Event()
    results = [DatabaseRun(dburl.mask(u), "not-run") for u in urls]

    def one(i: int) -> None:
        if stop.is_set():
            return
        d = results[i]
        events("start", d.database, None)
        t0 = time.monotonic()

        def on_step(step: Step) -> None:
            d.steps.append(step)
            events("step", d.database, step)
            if stop.is_set():
                raise _Stop

        try:
            result = function(config, urls[i], on_step=on_step, **arguments)
            d.status, d.before, d.after = "ok", result.previous, result.current
            d.waiting = getattr(result, "waiting", None)
        except _Stop:
            d.status = "stopped"
            d.after = d.steps[-1].name if command == "apply" else None
        except Exception as e:  # one database's failure, reported with it; never a traceback
            d.status = "failed"
            d.error = e.message if isinstance(e, SchemactlError) else f"internal error: {e!r}"
            d.after = d.steps[-1].name if d.steps and command == "apply" else None
            if not fleet.keep_going:
                stop.set()
        d.duration_ms = int((time.monotonic() - t0) * 1000)
        events("end", d.database, d)

    interrupted = False
    first = list(range(min(fleet.canary, len(urls))))
    rest = list(range(len(first), len(urls)))
    with cf.ThreadPoolExecutor(max_workers=fleet.parallel) as pool:
        for batch in (first, rest):
            if not batch or stop.is_set():
                continue
            pending = {pool.submit(one, i) for i in batch}
            while pending:
                try:
                    _, pending = cf.wait(pending, timeout=0.2)
                except (KeyboardInterrupt, Interrupted):
                    interrupted = True  # finish the running migrations, start nothing new
                    stop.set()
                    events("stopping", "", sum(1 for r in results if r.status == "not-run"))
            if any(results[i].status != "ok" for i in batch) and batch is first:
                stop.set()  # a canary failed: the rest wait for a fix
    return FleetResult(name, command, results, interrupted)


# ------------------------------------------------------------------ status ----


@dataclass
class FleetStatus:
    """Every database's status, and the fleet grouped by the version each is at."""

    environment: str
    databases: list[tuple[str, status.StatusResult | None, str | None]]  # (url, result, error)

    @property
    def by_version(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for database, result, _ in self.databases:
            key = "unreachable" if result is None else (result.current or "empty")
            groups.setdefault(key, []).append(database)
        return groups

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "versions": {k: len(v) for k, v in self.by_version.items()},
            "databases": [
                {"database": d, "error": e, **(r.to_json() if r else {"ok": False})}
                for d, r, e in self.databases
            ],
        }


def get_status(config: Config, environment: str, urls: list[str], parallel: int) -> FleetStatus:
    """`status` of every database, `parallel` at a time."""

    def one(url: str) -> tuple[str, status.StatusResult | None, str | None]:
        try:
            return dburl.mask(url), status.get_migration_status(config, url), None
        except SchemactlError as e:
            return dburl.mask(url), None, e.message

    with cf.ThreadPoolExecutor(max_workers=parallel) as pool:
        return FleetStatus(environment, list(pool.map(one, urls)))
