"""Scratch PostgreSQL for loading DDL: an ephemeral cluster (pgcluster.py: how it is made
and run), or databases on a dev server.

Both kinds of sandbox offer the same small surface (`Sandbox`): create, connect to, dump and
drop a database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import re
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extensions

from ..connect import dburl
from ..errors import SchemactlError, ServerUnavailable, first_line
from . import kept, pgcluster
from .pgbinaries import PgBinaries, dump_binaries, find_binaries
from .pgbinaries import pg_dump as pg_dump  # callers name it here, beside the sandboxes

log = logging.getLogger(__name__)

SOCKET_PORT = pgcluster.SOCKET_PORT
DB_TAG = "schemactl scratch database"


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

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Any]:
        """A cursor on the admin database, on a new connection (a local socket costs little)."""
        with contextlib.closing(self.connect(self.admin_db)) as conn, conn.cursor() as cur:
            yield cur

    def create_database(self, label: str) -> str:
        """Create an empty, tagged scratch database and return its name."""
        name = _scratch_name(label)
        with self._admin() as cur:
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            cur.execute(f'COMMENT ON DATABASE "{name}" IS %s', (f"{DB_TAG} pid={os.getpid()}",))
        return name

    # Since 15, CREATE DATABASE writes every block of a copy to the WAL by default, so that no
    # checkpoint is needed. In the ephemeral cluster (memory filesystem, fsync off) a
    # checkpoint is nearly free, and copying the files is 3-4x faster (1,000 tables: 0.1 s
    # against 0.3-0.46 s); a dev server keeps the default.
    _copy_files = False

    def copy_database(self, template: str, label: str) -> str:
        """Create a tagged scratch database as a copy of `template` (which nobody may be
        connected to) and return its name."""
        name = _scratch_name(label)
        with self._admin() as cur:
            files = self._copy_files and cur.connection.server_version >= 150000
            strategy = " STRATEGY FILE_COPY" if files else ""
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
            cur.execute(f'COMMENT ON DATABASE "{name}" IS %s', (f"{DB_TAG} pid={os.getpid()}",))
        return name

    def server_version(self) -> int:
        """The server's version number (150018 for 15.18)."""
        with self._admin() as cur:
            return int(cur.connection.server_version)

    def drop_database(self, name: str) -> None:
        """Drop a scratch database, disconnecting whoever is still on it."""
        with self._admin() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def create_roles(self, roles: tuple[str, ...] | list[str]) -> None:
        """Create cluster-wide roles the DDL refers to (existing ones are left alone)."""
        if not roles:
            return
        with self._admin() as cur:
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

    def template(self, history_key: str) -> str | None:
        """A kept database holding the replay of the history `history_key` (kept.py)."""
        return None

    def keep_template(self, db: str, history_key: str, copy: bool) -> None:
        """Keep `db`, a replay of the history `history_key`, for later runs (kept.py)."""

    def close(self, keep: bool = True) -> None:
        """Release the sandbox (stop the server, or nothing for a dev server); `keep`: what may
        be kept for the next run is kept (False after an interrupt)."""


def _scratch_name(label: str) -> str:
    return f"schemactl_{re.sub(r'[^a-z0-9]', '', label.lower())[:20]}_{uuid.uuid4().hex[:10]}"


class EphemeralServer(Sandbox):
    """A private PostgreSQL cluster in a temporary directory, removed on close (or, made with
    `keep`, kept for the next run: kept.py)."""

    _copy_files = True

    def __init__(
        self,
        binaries: PgBinaries,
        options: dict[str, str] | None = None,
        parent: str | None = None,
        keep: kept.Spec | None = None,
    ) -> None:
        """`options`: server settings over the scratch ones; `parent`: where its directory goes
        (default: memory where there is room; calibrate.py puts a durable one on disk);
        `keep`: start on the cluster an earlier run kept for these roles, if there is one, and
        keep this one at `close`."""
        run_as = pgcluster.unprivileged_user()
        binaries = pgcluster.reachable_binaries(binaries, run_as)
        self.binaries = binaries
        self._spares: list[str] | None = None  # read on first use
        self._spares_lock = threading.Lock()  # databases are made from threads (flow.py)
        self._templates: set[str] | None = None  # kept histories, read on first use
        keep = keep if keep is not None and kept.limit_bytes() else None
        self._keep = keep
        self._kept: kept.Claimed | None = None
        self._pg: pgcluster.Cluster | None = None
        parent = parent or pgcluster.temp_parent(run_as) or tempfile.gettempdir()
        key = kept.cluster_key(binaries, pgcluster.INITDB_ARGS, keep) if keep else ""
        claimed = kept.claim(parent, key, run_as, binaries.major) if keep else None
        if keep:
            kept.tidy_later(parent, key)
        if claimed is not None:
            self.base_dir = str(claimed.path)
            try:
                self._start(binaries, run_as, options, fresh=False)
                self._kept = claimed
                return
            except ServerUnavailable as e:  # damaged: forgotten, and this run goes on cold
                log.debug("kept cluster %s not usable: %s", claimed.home, e.message)
                kept.discard(claimed)
        self.base_dir = tempfile.mkdtemp(prefix="schemactl-pg-", dir=parent)  # 0700
        self._start(binaries, run_as, options, fresh=True)
        if keep:
            self._kept = kept.adopt(Path(self.base_dir), parent, key)

    def _start(
        self,
        binaries: PgBinaries,
        run_as: pwd.struct_passwd | None,
        options: dict[str, str] | None,
        fresh: bool,
    ) -> None:
        """Start the server in `base_dir`, copying the cached initialised cluster when `fresh`;
        on failure stop it and remove the directory."""
        cache = pgcluster.cache_dir(binaries)
        self._pg = None
        try:
            if fresh and (cache / "PG_VERSION").exists():
                pgcluster.copy_tree(cache, Path(self.base_dir) / "data")
                with contextlib.suppress(OSError):
                    os.utime(cache)  # in use: see _age_out
            # Constructed, then started, so that an interrupt while it starts still finds the
            # process to stop and the directory to remove.
            self._pg = pgcluster.Cluster(
                binaries, run_as, options, base_dir=self.base_dir, auto_start=0
            )
            self._pg.kept = not fresh
            self._pg.setup()
            kept.mark_owner(Path(self.base_dir))
            self._pg.start()
        except BaseException as e:
            if self._pg is not None:
                with contextlib.suppress(Exception):
                    self._pg.terminate()
            self._pg = None
            shutil.rmtree(self.base_dir, ignore_errors=True)
            if isinstance(e, (RuntimeError, OSError)) and not isinstance(e, ServerUnavailable):
                lines = [ln for ln in str(e).splitlines() if ln.strip()][-3:]
                raise ServerUnavailable(
                    "could not start an ephemeral PostgreSQL server: " + " | ".join(lines),
                    hint="use an existing server with --dev-url, or check SCHEMACTL_PG_BIN",
                ) from None
            raise

    def template(self, history_key: str) -> str | None:
        """The kept database holding the replay of the history `history_key`, if there is one."""
        if self._kept is None or not history_key:
            return None
        name = kept.template_name(history_key)
        with self._spares_lock:
            if self._templates is None:
                with self._admin() as cur:
                    cur.execute(
                        "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                        (kept.TEMPLATE_PREFIX,),
                    )
                    self._templates = {r[0] for r in cur.fetchall()}
            if name not in self._templates:
                return None
            self._kept.used[name] = time.time()
        return name

    def keep_template(self, db: str, history_key: str, copy: bool) -> None:
        """Keep `db`, a replay of the history `history_key`, for later runs: a copy of it
        (`copy`: this run goes on using it), else the database itself, renamed."""
        if self._kept is None or not history_key or self.template(history_key) is not None:
            return
        name = kept.template_name(history_key)
        try:
            with self._admin() as cur:
                if copy:
                    cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{db}" STRATEGY FILE_COPY')
                else:
                    cur.execute(f'ALTER DATABASE "{db}" RENAME TO "{name}"')
        except psycopg2.Error as e:  # only costs speed next time
            log.debug("could not keep %s: %s", name, e)
            return
        with self._spares_lock:
            assert self._templates is not None  # read by self.template above
            self._templates.add(name)
            self._kept.used[name] = time.time()

    def conn_params(self, dbname: str) -> dict[str, Any]:
        assert self._pg is not None  # set in __init__, which raises otherwise
        params: dict[str, Any] = self._pg.dsn(dbname=dbname)
        return params

    def create_database(self, label: str) -> str:
        with self._spares_lock:
            if self._spares is None:
                with self._admin() as cur:
                    cur.execute(
                        "SELECT datname FROM pg_database WHERE datname = ANY(%s) ORDER BY 1",
                        (list(pgcluster.SPARE_DATABASES),),
                    )
                    self._spares = [r[0] for r in cur.fetchall()]
            spare = self._spares.pop(0) if self._spares else None
        if spare is None:
            return super().create_database(label)
        name = _scratch_name(label)
        with self._admin() as cur:
            cur.execute(f'ALTER DATABASE "{spare}" RENAME TO "{name}"')
        return name

    def close(self, keep: bool = True) -> None:
        """Stop the server and remove its directory; or, when it may be kept (and `keep`: the
        run ended without an interrupt), leave it ready for the next run."""
        claimed, self._kept = self._kept, None
        size = None
        try:
            if claimed is not None and keep and self._keep is not None and self._pg is not None:
                with contextlib.suppress(psycopg2.Error), self._admin() as cur:
                    size = kept.tidy(cur, claimed, self._keep, pgcluster.SPARE_DATABASES)
            if self._pg is not None:
                self._pg.stop(signal.SIGINT if size is not None else signal.SIGQUIT)
        finally:
            if claimed is None or size is None or not kept.put_back(claimed, size):
                shutil.rmtree(self.base_dir, ignore_errors=True)


class DevServer(Sandbox):
    """Scratch databases on an existing server named by a URL (`--dev-url`)."""

    def __init__(self, url: str, binaries: PgBinaries | None) -> None:
        self.binaries = binaries
        self._params = dburl.conn_params(url)
        self._created: list[str] = []
        self.admin_db = self._params.get("dbname") or "postgres"
        # Admin connections are kept and reused: over a network each new one is a handshake,
        # TLS and authentication, and a diff made 14 of them for CREATE and DROP DATABASE.
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        try:
            self._idle.append(self.connect(self.admin_db))
        except psycopg2.OperationalError as e:
            raise ServerUnavailable(
                f"cannot connect to the dev server: {first_line(e)}",
                hint="check --dev-url / dev_url (host, port, user, password)",
            ) from None

    def conn_params(self, dbname: str) -> dict[str, Any]:
        return {**self._params, "dbname": dbname}

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Any]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        conn = conn or self.connect(self.admin_db)
        try:
            with conn.cursor() as cur:
                yield cur
        except BaseException:
            conn.close()  # in an unknown state: not given out again
            raise
        with self._lock:
            self._idle.append(conn)

    def create_database(self, label: str) -> str:
        name = super().create_database(label)
        self._created.append(name)
        return name

    def copy_database(self, template: str, label: str) -> str:
        name = super().copy_database(template, label)
        self._created.append(name)
        return name

    def drop_database(self, name: str) -> None:
        super().drop_database(name)
        with contextlib.suppress(ValueError):
            self._created.remove(name)  # dropped already: close() need not ask again

    def close(self, keep: bool = True) -> None:
        for name in list(self._created):
            with contextlib.suppress(psycopg2.Error):
                self.drop_database(name)
        for conn in self._idle:
            conn.close()
        self._idle = []

    def leftovers(self) -> list[str]:
        """Return tagged scratch databases that nobody is connected to."""
        with self._admin() as cur:
            cur.execute(
                """SELECT d.datname FROM pg_database d
                   WHERE shobj_description(d.oid, 'pg_database') LIKE %s
                     AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                     WHERE a.datname = d.datname)
                   ORDER BY 1""",
                (DB_TAG + "%",),
            )
            return [r[0] for r in cur.fetchall()]


@contextlib.contextmanager
def sandbox(
    dev_url: str | None = None, pg_version: int | None = None, keep: kept.Spec | None = None
) -> Iterator[Sandbox]:
    """Yield a sandbox (a dev server if a URL is given, else an ephemeral cluster, `keep`: the
    one kept for these roles, kept again); close it (nothing kept after an interrupt)."""
    box: Sandbox
    if dev_url:
        # A dev server's major is its own: the pg_dump that reads it must be as new (an older
        # one refuses: "server version: 18.6; pg_dump version: 15").
        box = DevServer(dev_url, None)
        box.binaries = dump_binaries(box.server_version() // 10000)
    else:
        box = EphemeralServer(find_binaries(pg_version), keep=keep)
    try:
        yield box
    except SchemactlError:  # a finding (bad DDL, a refusal): what is kept stays good
        box.close()
        raise
    except BaseException:
        box.close(keep=False)
        raise
    box.close()
