"""`schemactl plan` against a target holding 2,000,000 rows (README, "What a migration will
cost there"): each kind of hazard projected from the target's sizes, then applied, the
projection within a factor of 2 of what applying took (scripts/cost.py, which the bench runs
at other sizes); a budget refusal; the lock-queue warning; a role that cannot read the table."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import query as _query

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import cost  # noqa: E402  (scripts/ is no package)

ROWS = 2_000_000


@pytest.fixture(scope="module")
def big(server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A project whose first migration makes `big`, applied to a target holding ROWS rows."""
    root = cost.project(tmp_path_factory.mktemp("plan") / "p")
    url = cost.filled(server, root, ROWS)
    yield root, url
    server.drop_database(url.split("/")[3].split("?")[0])


@pytest.mark.parametrize("case", cost.CASES, ids=[c[0] for c in cost.CASES])
def test_projection_within_a_factor_of_two(
    big: tuple[Path, str], case: tuple[str, str, str, str]
) -> None:
    root, url = big
    statement, measured = cost.one(root, url, case)
    assert statement["table"] == "public.big" and statement["rows"] > ROWS * 0.9
    assert statement["bytes"] > 100_000_000
    projected = statement["projected_seconds"]
    print(f"{case[0]}: projected {projected:.2f} s, measured {measured:.2f} s")
    assert 0.5 <= measured / projected <= 2, (projected, measured)


def test_lock_queue_warning_and_budget(big: tuple[Path, str]) -> None:
    root, url = big
    for version, (name, up, down, _) in ((2, cost.CASES[0]), (3, cost.CASES[4])):
        (root / "generated" / f"000{version}_{name}.up.sql").write_text(up + "\n")
        (root / "generated" / f"000{version}_{name}.down.sql").write_text(down + "\n")
    config = (root / "schemactl.toml").read_text()
    (root / "schemactl.toml").write_text(
        config + f'[environments.prod]\nurl = "{url}"\nmax_rewrite = "10ms"\ncost_factor = 2\n'
        f'[environments.tenants]\nurls = ["{url}"]\nmax_exclusive_lock = "1ms"\n'
    )
    assert cost.cli(root, "rehash").returncode == 0
    try:
        refused = cost.cli(root, "plan", "--env", "prod")
        assert refused.returncode == 9, refused.stderr
        assert "error: 0002_rewrite: ALTER TABLE big ALTER COLUMN n TYPE bigint" in refused.stderr
        assert "over max_rewrite = 10ms" in refused.stderr and "--allow-hazards" in refused.stderr
        applied = cost.cli(root, "apply", "--env", "prod")
        assert applied.returncode == 9 and "over max_rewrite" in applied.stderr
        fleet = cost.cli(root, "apply", "--env", "tenants")  # its first database stands for it
        assert fleet.returncode == 9 and "over max_exclusive_lock = 1ms" in fleet.stderr
        assert _query(url, "SELECT max(version) FROM schemactl.migrations") == [(1,)]
        r = cost.cli(root, "plan", "--env", "prod", "--allow-hazards", "--format", "json")
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["cost_factor"] == 2
        rewrite, online = doc["migrations"]
        (plain,) = [s for s in rewrite["statements"] if s["kind"] == "rewrite"]
        assert "no lock_timeout bounds the wait" in plain["lock_queue"]
        assert plain["blocks"] == "reads and writes" and plain["lock_timeout"] is False
        exclusive = [s for s in online["statements"] if s["lock"] == "AccessExclusiveLock"]
        assert exclusive and all(s["lock_timeout"] for s in exclusive)
        assert [s["lock_queue"] for s in online["statements"]] == [None] * len(online["statements"])
        scan = [s for s in online["statements"] if s["kind"] == "validation-scan"]
        assert scan and scan[0]["blocks"] == "nothing" and scan[0]["lock_queue"] is None
        text = cost.cli(root, "apply", "--env", "prod", "--dry-run", "--allow-hazards")
        assert text.returncode == 0, text.stderr
        assert "lock queue: waits for ACCESS EXCLUSIVE on public.big" in text.stderr
        assert "cost_factor 2" in text.stderr and "nothing was changed" in text.stderr
    finally:
        (root / "schemactl.toml").write_text(config)
        for p in (root / "generated").glob("000[23]_*"):
            p.unlink()
        assert cost.cli(root, "rehash").returncode == 0


def test_a_role_that_cannot_read_the_table_plans(big: tuple[Path, str]) -> None:
    """Sizes and statistics need no privilege on the table: the ledger's, as for `status`."""
    root, url = big
    _query(url, "DROP ROLE IF EXISTS watcher; CREATE ROLE watcher LOGIN")
    _query(url, "GRANT USAGE ON SCHEMA schemactl TO watcher")
    _query(url, "GRANT SELECT ON ALL TABLES IN SCHEMA schemactl TO watcher")
    name, up, down, _ = cost.CASES[1]
    (root / "generated" / f"0002_{name}.up.sql").write_text(up + "\n")
    (root / "generated" / f"0002_{name}.down.sql").write_text(down + "\n")
    assert cost.cli(root, "rehash").returncode == 0
    try:
        r = cost.cli(root, "plan", "--db", url.replace("postgres@", "watcher@"), "--format", "json")
        assert r.returncode == 0, r.stderr
        (statement,) = json.loads(r.stdout)["migrations"][0]["statements"]
        assert statement["rows"] > ROWS * 0.9 and statement["projected_seconds"] > 0
    finally:
        for p in (root / "generated").glob("0002_*"):
            p.unlink()
        assert cost.cli(root, "rehash").returncode == 0
        _query(url, "REVOKE ALL ON ALL TABLES IN SCHEMA schemactl FROM watcher")
        _query(url, "REVOKE ALL ON SCHEMA schemactl FROM watcher; DROP ROLE watcher")


def test_diff_db_projects_the_drift(big: tuple[Path, str]) -> None:
    """`diff --db` says what its SQL would cost there, as `plan` says it."""
    root, url = big
    (root / "schemas" / "s.sql").write_text(cost.TABLE.replace("n integer", "n bigint"))
    try:
        r = cost.cli(root, "diff", "--db", url, "--format", "json")
        assert r.returncode == 1, r.stderr  # drift is a finding
        doc = json.loads(r.stdout)
        (statement,) = [s for s in doc["costs"]["migrations"][0]["statements"]]
        assert statement["kind"] == "rewrite" and statement["table"] == "public.big"
        assert statement["rows"] > ROWS * 0.9 and statement["projected_seconds"] > 0.1
        text = cost.cli(root, "diff", "--db", url)
        assert "≈" in text.stderr and "lock queue: waits for ACCESS EXCLUSIVE" in text.stderr
    finally:
        (root / "schemas" / "s.sql").unlink()


def test_calibration_runs_with_the_targets_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A durable target's rates are measured on a server that syncs, writes full pages and
    WAL, on disk; kept per build and settings, so another target's settings measure again."""
    from schemactl.scratch import calibrate, pgbinaries

    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path))
    durable = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "on",
               "wal_level": "replica", "maintenance_work_mem": "65536"}  # fmt: skip
    binaries = pgbinaries.find_binaries()
    found = calibrate.calibration(binaries, durable)
    assert found.where == "on disk"
    assert {k: found.settings[k] for k in durable} == durable
    assert found.rewrite_bytes_per_s > 0 and found.index_rows_per_s > 0
    (kept,) = tmp_path.glob("calibration-*.json")
    assert calibrate.calibration(binaries, durable) == found  # read back, not measured again
    scratch = calibrate.calibration(binaries, {**durable, "fsync": "off"})
    assert scratch.where == "in memory" and len(list(tmp_path.glob("calibration-*.json"))) == 2
    assert kept.exists()


def test_a_dry_run_without_a_server_to_project_on_still_prints(big: tuple[Path, str]) -> None:
    """No PostgreSQL to calibrate and try on (a deploy host with only a client): the dry run
    says there is no projection and goes on; a budget, which cannot be checked then, refuses."""
    import os
    import subprocess

    root, url = big
    name, up, down, _ = cost.CASES[0]
    (root / "generated" / f"0002_{name}.up.sql").write_text(up + "\n")
    (root / "generated" / f"0002_{name}.down.sql").write_text(down + "\n")
    config = (root / "schemactl.toml").read_text()
    assert cost.cli(root, "rehash").returncode == 0
    env = {**os.environ, "SCHEMACTL_PG_BIN": str(root / "nowhere")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "schemactl", *args]
        return subprocess.run(command, cwd=root, capture_output=True, text=True, env=env)

    try:
        r = run("apply", "--db", url, "--dry-run")
        assert r.returncode == 0, r.stderr
        assert r.stderr.startswith("warning: no projection of what the statements cost")
        assert "nothing was changed" in r.stderr
        (root / "schemactl.toml").write_text(
            config + f'[environments.prod]\nurl = "{url}"\nmax_rewrite = "1min"\n'
        )
        refused = run("apply", "--env", "prod")
        assert refused.returncode == 7 and refused.stderr.startswith("error: "), refused.stderr
        assert _query(url, "SELECT max(version) FROM schemactl.migrations") == [(1,)]
    finally:
        (root / "schemactl.toml").write_text(config)
        for p in (root / "generated").glob("0002_*"):
            p.unlink()
        assert cost.cli(root, "rehash").returncode == 0
