"""Shared fixtures: one real ephemeral PostgreSQL cluster per test session, and projects."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from schemactl.api import DiffResult, diff
from schemactl.project.config import Config, load_config
from schemactl.scratch import pgbinaries, pgserver

TEST_MAJOR = (
    "SCHEMACTL_TEST_PG_VERSION"  # the server major the suite runs on (default: discovery's)
)


_CACHE = "SCHEMACTL_CACHE_DIR"


def pytest_configure(config: pytest.Config) -> None:
    """Run the whole suite (and the CLIs it starts) with a cache of its own, so that what earlier
    runs kept (results, replayed histories) never answers for a test; and on the major
    SCHEMACTL_TEST_PG_VERSION names, through SCHEMACTL_PG_BIN; tests of discovery itself clear
    that (`discovery` fixture)."""
    import tempfile

    os.environ[_CACHE] = tempfile.mkdtemp(prefix="schemactl-test-cache-")
    wanted = os.environ.get(TEST_MAJOR)
    if not wanted:
        return
    if not wanted.isdigit():
        raise pytest.UsageError(f"{TEST_MAJOR}={wanted!r}: give a major version such as 18")
    chosen = pgbinaries.choose(pgbinaries.discover(), int(wanted))
    if chosen is None:
        raise pytest.UsageError(
            f"{TEST_MAJOR}={wanted}: no PostgreSQL {wanted} server binaries found (see `schemactl "
            "doctor`)"
        )
    os.environ["SCHEMACTL_PG_BIN"] = str(chosen.bindir)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The suite's cache removed, with the scratch clusters kept in memory that it points at."""
    import shutil

    from schemactl.scratch import kept

    if cache := os.environ.get(_CACHE):
        kept.clean_all()
        shutil.rmtree(cache, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> str:
    b = pgserver.find_binaries()
    return (
        f"PostgreSQL {b.major} ({b.source}) in {b.bindir}; set {TEST_MAJOR} to choose another major"
    )


@pytest.fixture
def discovery(monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery as a user's machine sees it: without the suite's SCHEMACTL_PG_BIN."""
    monkeypatch.delenv("SCHEMACTL_PG_BIN", raising=False)


@pytest.fixture(scope="session")
def server() -> Iterator[pgserver.EphemeralServer]:
    """A real cluster shared by the tests that need a live database."""
    box = pgserver.EphemeralServer(pgserver.find_binaries())
    try:
        yield box
    finally:
        box.close()


@pytest.fixture(scope="session")
def dev_url(server: pgserver.EphemeralServer) -> str:
    """A libpq URL of the session cluster, used as `--dev-url` to keep API tests fast."""
    p = server.conn_params("postgres")
    return f"postgresql://postgres@/postgres?host={p['host']}&port={p['port']}"


def url_of(server: pgserver.EphemeralServer, dbname: str, password: str | None = None) -> str:
    """A libpq URL for `dbname` on the session cluster (the password is ignored by trust auth)."""
    p = server.conn_params(dbname)
    auth = f"postgres:{password}" if password else "postgres"
    return f"postgresql://{auth}@/{dbname}?host={p['host']}&port={p['port']}"


def query(url: str, sql: str) -> list[tuple]:
    """Run one statement on the database at `url` (committed); return its rows."""
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall() if cur.description else []
        conn.commit()
        return rows


@pytest.fixture
def target_url(server: pgserver.EphemeralServer, database: str) -> str:
    """URL of a fresh empty database that migrations are applied to."""
    return url_of(server, database)


@pytest.fixture
def icu(server: pgserver.EphemeralServer) -> None:
    """Skip where the suite's server is built without ICU (the bundled one)."""
    with contextlib.closing(server.connect("postgres")) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_collation WHERE collprovider = 'i' AND collname LIKE '%-x-icu'"
        )
        if cur.fetchone()[0] == 0:
            pytest.skip("this PostgreSQL is built without ICU")


def needs_extension(server: pgserver.EphemeralServer, name: str) -> None:
    """Skip where the suite's server has no `name` extension (a bundle without contrib)."""
    with contextlib.closing(server.connect("postgres")) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", (name,))
        if cur.fetchone() is None:
            pytest.skip(f"this PostgreSQL has no {name} extension")


@pytest.fixture
def database(server: pgserver.EphemeralServer) -> Iterator[str]:
    """A fresh empty database on the session cluster, dropped afterwards."""
    name = server.create_database("test")
    try:
        yield name
    finally:
        server.drop_database(name)


class Project:
    """A schemactl project in a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "schemas").mkdir(parents=True)
        self.write_config()

    def write_config(self, extra: str = "") -> None:
        (self.root / "schemactl.toml").write_text(
            'schemas = "schemas"\ngenerated = "generated"\n' + textwrap.dedent(extra)
        )

    def schema(self, rel: str, sql: str) -> Path:
        p = self.root / "schemas" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(sql))
        return p

    def migration(self, version: int, slug: str, up: str, down: str = "") -> tuple[Path, Path]:
        """Write a hand-made migration pair into generated/."""
        d = self.root / "generated"
        d.mkdir(exist_ok=True)
        paths = d / f"{version:04d}_{slug}.up.sql", d / f"{version:04d}_{slug}.down.sql"
        paths[0].write_text(textwrap.dedent(up))
        paths[1].write_text(textwrap.dedent(down))
        return paths

    def remove(self, rel: str) -> None:
        (self.root / "schemas" / rel).unlink()

    @property
    def config(self) -> Config:
        return load_config(self.root)

    def migrations(self) -> list[str]:
        d = self.root / "generated"
        return sorted(p.name for p in d.glob("*.sql")) if d.exists() else []

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real `schemactl` entry point in this project."""
        return run_cli(*args, cwd=self.root, env=env)


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "schemactl", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


def popen_cli(project: Project, *args: str) -> subprocess.Popen[str]:
    """Start the real `schemactl` entry point in `project`, to signal it or race it."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "schemactl", *args],
        cwd=project.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_query(url: str, sql: str, p: subprocess.Popen[str], timeout: float = 60) -> None:
    """Wait until `sql` returns a row on `url` while `p` runs (killed, with its output in the
    failure, if it ends first or the time runs out)."""
    deadline = time.monotonic() + timeout
    while not query(url, sql):
        if time.monotonic() > deadline or p.poll() is not None:
            p.kill()
            raise AssertionError(p.communicate())
        time.sleep(0.05)


def until_a_lock_wait_gives_up(url: str, statement_like: str, p: subprocess.Popen[str]) -> None:
    """Wait until a statement LIKE `statement_like` waits for a lock on `url`, then until it
    stops waiting (its lock_timeout fired)."""
    waiting = (
        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        f" AND query LIKE '{statement_like}'"
    )
    wait_for_query(url, waiting, p)
    while query(url, waiting):
        time.sleep(0.02)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / f"proj-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def password_server() -> Iterator[pgserver.EphemeralServer]:
    """A cluster that asks for passwords (over its Unix socket) for every role but postgres."""
    box = pgserver.EphemeralServer(pgserver.find_binaries())
    try:
        with contextlib.closing(box.connect("postgres")) as conn, conn.cursor() as cur:
            cur.execute("CREATE ROLE app LOGIN PASSWORD 'right-password'")
            Path(box.base_dir, "data", "pg_hba.conf").write_text(
                "local all postgres trust\nlocal all all scram-sha-256\n"
            )
            cur.execute("SELECT pg_reload_conf()")
        time.sleep(0.3)
        yield box
    finally:
        box.close()


def roundtrip(project: Project, dev_url: str, before: str, after: str) -> DiffResult:
    """Write `before`, diff; write `after`, diff; return the second (verified) result."""
    project.schema("schema.sql", textwrap.dedent(before))
    first = diff(project.config.with_overrides(dev_url), "before", allow_destructive=True)
    assert first.verified, first.problems
    project.schema("schema.sql", textwrap.dedent(after))
    second = diff(project.config.with_overrides(dev_url), "after", allow_destructive=True)
    assert second.verified, second.problems
    return second
