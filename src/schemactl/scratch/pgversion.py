"""Which PostgreSQL major the scratch server runs, so migrations are generated and verified on
the major they will run on.

`--pg-version N` wins, then `pg_version = N` in the configuration. `pg_version = "auto"` asks
the servers of the configured environments for their major: once, then from a small cache
(keyed by the environment's URL without its password) that expires after a day and that every
command connecting to a database refreshes (`remember`). Where environments run different
majors, the oldest is used: a migration must run on all of them, and it is the oldest that
lacks syntax the newer ones have. An environment that cannot be reached does not stop a `diff`
on a laptop: it is named in a warning and the usual discovery order applies.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..connect import dburl
from ..errors import SchemactlError
from ..project import headers
from ..project.config import AUTO, Config, cache_root
from ..project.migfiles import MigrationPair

TTL = 24 * 3600  # seconds an environment's major is trusted without asking again
_KEEP = 64  # databases remembered (every apply target is, not only environments)
_TIMEOUT = 5  # connect timeout, seconds: a diff should not hang on an unreachable production


@dataclass(frozen=True)
class Choice:
    """The major a command asks for (None: the discovery default) and why."""

    major: int | None
    reason: str
    warnings: tuple[str, ...] = ()


def _cache_file() -> Path:
    return cache_root() / "environment-majors.json"


def _read_cache() -> dict[str, dict[str, float]]:
    try:
        data = json.loads(_cache_file().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(url: str, server_version: int) -> None:
    """Record the major of the server at `url` (from a connection a command made anyway)."""
    key, major = dburl.mask(url), server_version // 10000
    with _remembering:  # a fleet's threads remember concurrently: one read-modify-write at a time
        cache = _read_cache()
        entry = cache.get(key)
        if entry and entry.get("major") == major and time.time() - entry.get("asked", 0) < TTL / 2:
            return  # fresh enough: no write on every apply
        cache[key] = {"major": major, "asked": time.time()}
        cache = dict(sorted(cache.items(), key=lambda kv: -kv[1].get("asked", 0))[:_KEEP])
        path = _cache_file()
        with contextlib.suppress(OSError):  # a read-only cache only costs a question next time
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
            tmp.replace(path)


_remembering = threading.Lock()


def _ask(url: str) -> int:
    with contextlib.closing(
        dburl.connect(url, application_name="schemactl pg_version", connect_timeout=_TIMEOUT)
    ) as conn:
        version = int(conn.server_version)
    remember(url, version)
    return version // 10000


def _environment_major(name: str, config: Config) -> tuple[int | None, str | None]:
    """(major, None), or (None, why it is unknown)."""
    try:
        url = config.environment_url(name)
    except SchemactlError as e:
        return None, e.message
    entry = _read_cache().get(dburl.mask(url))
    if entry and time.time() - entry.get("asked", 0) < TTL:
        return int(entry["major"]), None
    try:
        return _ask(url), None
    except SchemactlError as e:
        if entry:  # stale beats nothing: majors change once in years
            return int(entry["major"]), None
        return None, e.message


def choose(config: Config | None, pg_version: int | None) -> Choice:
    """The major a scratch server should run for `config`, and why."""
    if pg_version is not None:
        return Choice(pg_version, f"--pg-version {pg_version}")
    if config is None or config.pg_version is None:
        return Choice(None, "")
    if config.pg_version != AUTO:
        return Choice(
            int(config.pg_version), f"pg_version = {config.pg_version} in the configuration"
        )
    majors: dict[str, int] = {}
    warnings: list[str] = []
    for name in sorted(config.environments):
        major, why = _environment_major(name, config)
        if major is None:
            warnings.append(
                f'pg_version = "auto": cannot ask environment {name!r} for its PostgreSQL major '
                f"({why})"
            )
        else:
            majors[name] = major
    if not majors:
        return Choice(None, 'pg_version = "auto", but no environment answered', tuple(warnings))
    oldest = min(majors.values())
    named = ", ".join(f"{n!r} runs {m}" for n, m in majors.items())
    if len(set(majors.values())) > 1:
        warnings.append(
            f'pg_version = "auto": the environments run different PostgreSQL majors ({named}); '
            f"migrations are verified on the oldest, {oldest}"
        )
    return Choice(oldest, f'pg_version = "auto": {named}', tuple(warnings))


def wanted(
    config: Config | None, pg_version: int | None, warn: Callable[[str], None] | None = None
) -> int | None:
    """The major to ask discovery for (None: its default); `warn` hears why "auto" fell short."""
    choice = choose(config, pg_version)
    if warn:
        for message in choice.warnings:
            warn(message)
    return choice.major


def mismatch_fix(major: int) -> str:
    """How to make scratch servers run PostgreSQL `major`: the setting, and the binaries if this
    machine lacks them."""
    from . import pgbinaries

    fix = f'set pg_version = {major} (or "auto") in schemactl.toml, or pass --pg-version {major}'
    try:
        have = {b.major for b in pgbinaries.discover()}
    except SchemactlError:
        have = set()
    if major not in have:
        fix += (
            f", after installing PostgreSQL {major} server binaries (Debian/Ubuntu: "
            f"postgresql-{major}; "
            "or point SCHEMACTL_PG_BIN at them)"
        )
    return fix


def verified_elsewhere(pairs: list[MigrationPair], server_version: int) -> list[str]:
    """Warnings for the pairs whose header says they were verified on another major than the
    database's (catalogs, defaults and pg_dump differ between majors), naming the fix."""
    live = server_version // 10000
    others: dict[int, list[MigrationPair]] = {}
    for pair in pairs:
        major = headers.read(pair.up.read_text(encoding="utf-8", errors="replace")).major
        if major is not None and major != live:
            others.setdefault(major, []).append(pair)
    out = []
    for major, ps in sorted(others.items()):
        one = len(ps) == 1
        out.append(
            f"{', '.join(p.id for p in ps)} {'was' if one else 'were'} verified on PostgreSQL "
            f"{major}, and this "
            f"database runs PostgreSQL {live}: to verify {'it' if one else 'them'} on {live}, "
            f"{mismatch_fix(live)}, "
            f"then run `schemactl verify {' '.join(str(p.version) for p in ps)}`"
        )
    return out
