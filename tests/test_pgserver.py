from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from schemactl.errors import ServerUnavailable
from schemactl.scratch import pgcluster, pgserver

from .conftest import Project


def _server_pids(base_dir: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", base_dir], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_server_runs_unprivileged_on_a_private_socket(server: pgserver.EphemeralServer) -> None:
    with contextlib.closing(server.connect("postgres")) as conn, conn.cursor() as cur:
        cur.execute("show listen_addresses")
        assert cur.fetchone() == ("",)  # Unix socket only
        cur.execute("select pg_backend_pid()")
        pid = cur.fetchone()[0]
        uid = os.stat(f"/proc/{pid}").st_uid  # while connected: the backend exits with the session
    if os.geteuid() == 0:
        assert uid != 0, "PostgreSQL must not run as root"
    # the temporary directory is private
    assert stat.S_IMODE(os.stat(server.base_dir).st_mode) == 0o700


def test_close_leaves_no_process_and_no_directory() -> None:
    box = pgserver.EphemeralServer(pgserver.find_binaries())
    base = box.base_dir
    assert _server_pids(base)
    box.close()
    assert not _server_pids(base)
    assert not Path(base).exists()


def test_sandbox_cleans_up_after_an_error() -> None:
    seen: list[str] = []
    with pytest.raises(RuntimeError, match="boom"):
        with pgserver.sandbox() as box:
            assert isinstance(box, pgserver.EphemeralServer)
            seen.append(box.base_dir)
            raise RuntimeError("boom")
    assert not _server_pids(seen[0])
    assert not Path(seen[0]).exists()


def test_initialised_cluster_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "cache"))
    with pgserver.sandbox():
        pass
    cached = list((tmp_path / "cache").iterdir())
    assert len(cached) == 1 and (cached[0] / "PG_VERSION").exists()
    with pgserver.sandbox() as box:  # second start copies the cache and works
        with contextlib.closing(box.connect("postgres")) as conn, conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)


def test_missing_binaries_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SCHEMACTL_PG_BIN", str(tmp_path))
    with pytest.raises(ServerUnavailable) as e:
        pgserver.find_binaries()
    assert "holds no `postgres` binary" in e.value.message
    monkeypatch.delenv("SCHEMACTL_PG_BIN")
    with pytest.raises(ServerUnavailable) as e:
        pgserver.find_binaries(version=3)
    assert "no PostgreSQL 3 server binaries found" in e.value.message
    assert "apt-get install postgresql-3" in (e.value.hint or "")


def test_dev_server_databases_are_tagged_and_cleaned(
    server: pgserver.EphemeralServer, dev_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from schemactl import api

    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path))  # clean also empties the cache's
    dev = pgserver.DevServer(dev_url, server.binaries)
    leftover = dev.create_database("leftover")  # as if a run had been killed
    assert leftover in dev.leftovers()
    assert f"database {leftover} (on the dev server)" in api.clean(dev_url)
    assert leftover not in dev.leftovers()
    copy = dev.copy_database(dev.create_database("original"), "copy")  # renames, data checks
    dev.close()
    with contextlib.closing(server.connect("postgres")) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (copy,))
        assert cur.fetchone() == (0,)  # dropped with the rest when the run ends


@pytest.mark.parametrize("after", [0.0, 0.7, 2.0], ids=["at-start", "early", "loading"])
@pytest.mark.parametrize(("sig", "code"), [(2, 130), (15, 143)], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(
    "command", [["diff", "-m", "x"], ["check"], ["generate-models"]], ids=lambda c: c[0]
)
def test_interrupted_commands_stop_the_server_and_remove_their_directory(
    tmp_path: Path, command: list[str], sig: int, code: int, after: float
) -> None:
    import sys
    import tempfile
    import time

    # A scratch directory of our own that the server's unprivileged user can reach (pytest's is
    # 0700).
    tmp = Path(tempfile.mkdtemp(prefix="sigtest-", dir="/tmp"))
    tmp.chmod(0o755)
    proj = tmp_path / "proj"
    (proj / "schemas").mkdir(parents=True)
    (proj / "schemactl.toml").write_text("")
    # enough DDL that loading is still running when the signal arrives (on disk, not in memory)
    (proj / "schemas" / "s.sql").write_text(
        "\n".join(f"create table t{i} (id int primary key, v text);" for i in range(3000))
    )
    p = subprocess.Popen(
        [sys.executable, "-m", "schemactl", *command],
        cwd=proj,
        env={**os.environ, "SCHEMACTL_TMPDIR": str(tmp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not any(tmp.glob("schemactl-pg-*/tmp/.s.PGSQL.*")):
        time.sleep(0.01)
    assert any(tmp.glob("schemactl-pg-*")), "server never started"
    base = str(next(tmp.glob("schemactl-pg-*")))
    segment = _shared_memory_id(Path(base, "data", "postmaster.pid"))
    time.sleep(after)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == code, err
    assert "interrupted" in err and "Traceback" not in err
    assert not _server_pids(base)
    assert list(tmp.iterdir()) == []
    tmp.rmdir()
    # No shared memory left behind: this server's own System V segment (its dynamic shared
    # memory is files in the data directory, removed above). Other servers' are not ours.
    assert segment is None or segment not in _shared_memory_ids()
    assert not (proj / "generated").exists() or not list(
        (proj / "generated").glob("*.sql")
    )  # nothing half-written


def _shared_memory_id(pidfile: Path) -> str | None:
    """The System V shared memory id a running server wrote into its postmaster.pid (line 7:
    key, id), or None when it is not there yet."""
    for _ in range(500):
        lines = pidfile.read_text().splitlines() if pidfile.exists() else []
        if len(lines) >= 7 and lines[6].split():
            return lines[6].split()[-1]
        time.sleep(0.01)
    return None


def _shared_memory_ids() -> set[str]:
    rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    return {row.split()[1] for row in rows}


def test_unreachable_tmpdir_falls_back_for_the_server_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr(pgcluster, "MEMORY_MIN_FREE", 1 << 62)  # no memory filesystem has room
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    with pgserver.sandbox() as box:
        assert isinstance(box, pgserver.EphemeralServer)
        if os.geteuid() == 0:
            assert not box.base_dir.startswith(str(private))
        else:
            assert box.base_dir.startswith(str(private))


def test_scratch_clusters_prefer_memory_and_obey_schemactl_tmpdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if (
        pgcluster.MEMORY_DIR.is_dir()
        and shutil.disk_usage(pgcluster.MEMORY_DIR).free >= pgcluster.MEMORY_MIN_FREE
    ):
        with pgserver.sandbox() as box:
            assert box.base_dir.startswith(str(pgcluster.MEMORY_DIR))  # type: ignore[attr-defined]
    import tempfile

    mine = Path(
        tempfile.mkdtemp(prefix="schemactl-tmpdir-", dir="/tmp")
    )  # reachable by the server's user
    mine.chmod(0o755)
    monkeypatch.setenv("SCHEMACTL_TMPDIR", str(mine))
    try:
        with pgserver.sandbox() as box:
            assert box.base_dir.startswith(str(mine))  # type: ignore[attr-defined]
            db = box.create_database("first")  # a spare database, renamed
            assert box.create_database("second") != db
            assert box.create_database("third")  # spares used up: CREATE DATABASE
    finally:
        shutil.rmtree(mine)


def test_a_diff_on_a_dev_server_reuses_its_connections_and_sends_a_file_at_once(
    project: Project,
) -> None:
    # Over a network every connection is a handshake and every statement a round trip: a diff
    # opened a connection per CREATE and DROP DATABASE, and sent BEGIN, a file and COMMIT apart.
    box = pgserver.EphemeralServer(pgserver.find_binaries())
    try:
        with contextlib.closing(box.connect("postgres")) as conn, conn.cursor() as cur:
            cur.execute("ALTER SYSTEM SET log_connections = on")
            cur.execute("ALTER SYSTEM SET log_statement = 'all'")
            cur.execute("SELECT pg_reload_conf()")
        p = box.conn_params("postgres")
        url = f"postgresql://postgres@/postgres?host={p['host']}&port={p['port']}"
        project.schema("a.sql", "create table a (id int primary key, b_id int references b);\n")
        project.schema("b.sql", "create table b (id int primary key);\n")
        project.schema("c.sql", "create view c as select id from a;\n")
        r = project.cli("--dev-url", url, "diff", "-m", "first")
        assert r.returncode == 0, r.stderr
        log = Path(box.base_dir, "Cluster.log").read_text(errors="replace")
    finally:
        box.close()
    admin = re.findall(r"connection authorized: user=\S+ database=postgres(?! application)", log)
    assert 1 <= len(admin) <= 3, len(admin)  # was 13 here: one per CREATE or DROP DATABASE
    # a.sql needs b.sql: loaded file by file, each file one query between its BEGIN and COMMIT
    assert re.search(r"statement: BEGIN;\s+create table b \(id int primary key\);", log)
    # and never the file alone after a BEGIN of its own (three round trips)
    assert not re.search(r"statement: create table b", log), log
