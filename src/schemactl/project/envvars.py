"""Every environment variable schemactl reads, read here and nowhere else (README,
"Configuration" lists the same table; tests/test_layout.py checks both)."""

from __future__ import annotations

import os
from pathlib import Path

# name -> what it sets. The command line wins over each of them where both exist.
VARIABLES: dict[str, str] = {
    "SCHEMACTL_DATABASE_URL": "the target database (then DATABASE_URL), when --db/--env name none",
    "SCHEMACTL_ENV": "the environment a run targets (--env)",
    "SCHEMACTL_DEV_URL": "a dev server for scratch databases instead of ephemeral ones (--dev-url)",
    "SCHEMACTL_PG_BIN": "the PostgreSQL bin directory to use, and no other",
    "SCHEMACTL_PG_USER": "the OS user scratch servers run as when schemactl runs as root",
    "SCHEMACTL_CACHE_DIR": "where what runs keep lives (else ~/.cache/schemactl)",
    "SCHEMACTL_TMPDIR": "where scratch clusters live (else /dev/shm, else TMPDIR)",
    "SCHEMACTL_KEEP_MIB": "what scratch clusters kept between runs may take, in MiB (1024; 0 none)",
    "SCHEMACTL_DEBUG": "1: a full traceback for internal errors",
}

ENV = "SCHEMACTL_ENV"  # typer reads these two itself (envvar=), by these names
DEV_URL = "SCHEMACTL_DEV_URL"


def _get(name: str) -> str | None:
    assert name in VARIABLES or name in ("DATABASE_URL", "XDG_CACHE_HOME"), name
    return os.environ.get(name) or None


def database_url() -> tuple[str, str] | None:
    """(variable, URL) of the first of SCHEMACTL_DATABASE_URL, DATABASE_URL that is set."""
    for name in ("SCHEMACTL_DATABASE_URL", "DATABASE_URL"):
        if value := _get(name):
            return name, value
    return None


def pg_bin() -> str | None:
    return _get("SCHEMACTL_PG_BIN")


def pg_user() -> str | None:
    return _get("SCHEMACTL_PG_USER")


def cache_dir() -> Path:
    if explicit := _get("SCHEMACTL_CACHE_DIR"):
        return Path(explicit)
    base = _get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "schemactl"


def tmpdir() -> str | None:
    return _get("SCHEMACTL_TMPDIR")


def keep_mib() -> str | None:
    return _get("SCHEMACTL_KEEP_MIB")


def debug() -> bool:
    return bool(_get("SCHEMACTL_DEBUG"))
