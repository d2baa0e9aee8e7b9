"""Fleets: one environment, many databases (README "Fleets"), through the real CLI against
tens of databases on one local server, a few of which fail in different ways."""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator

import pytest

from schemactl.scratch import pgserver
from schemactl.targets import fleet, session

from .conftest import Project, url_of, wait_for_query
from .conftest import popen_cli as _popen
from .conftest import query as _query

SIZE = 40


@pytest.fixture
def fleet_dbs(server: pgserver.EphemeralServer) -> Iterator[list[str]]:
    names = [server.create_database("fleet") for _ in range(SIZE)]
    try:
        yield [url_of(server, n) for n in names]
    finally:
        for n in names:
            server.drop_database(n)


def _project(project: Project, urls: list[str], slow: bool = False) -> None:
    (project.root / "fleet.txt").write_text(
        "# the tenants\n" + "\n".join(urls) + "\n\n", encoding="utf-8"
    )
    project.write_config('[environments.fleet]\nurls_from = "fleet.txt"\n')
    wait = "SELECT pg_sleep(0.3);\n" if slow else ""
    project.migration(1, "a", "CREATE TABLE a (id int);\n" + wait, "DROP TABLE a;\n")
    project.migration(2, "b", "CREATE TABLE b (id int);\n" + wait, "DROP TABLE b;\n")
    project.migration(3, "c", "CREATE TABLE c (id int);\n" + wait, "DROP TABLE c;\n")


def _versions(project: Project, *args: str) -> dict[str, int]:
    r = project.cli("status", "--env", "fleet", "--format", "json", *args)
    return json.loads(r.stdout)["versions"]


def test_a_fleet_is_applied_concurrently_and_status_agrees(
    project: Project, fleet_dbs: list[str], dev_url: str
) -> None:
    _project(project, fleet_dbs)
    r = project.cli("apply", "--env", "fleet", "--parallel", "8", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counts"] == {"ok": SIZE} and len(doc["databases"]) == SIZE
    assert {(d["before"], d["after"]) for d in doc["databases"]} == {(None, "0003_c")}
    assert _versions(project) == {"0003_c": SIZE}
    r = project.cli("apply", "--env", "fleet")  # text: the table, and nothing left to do
    assert r.returncode == 0 and "40 ok" in r.stderr
    # diff --env: schemas/ loaded once, every database compared with it
    project.schema("schema.sql", "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n")
    r = project.cli("--dev-url", dev_url, "diff", "--env", "fleet", "--format", "json")
    assert r.returncode == 1, r.stderr
    drifted = [d for d in json.loads(r.stdout)["databases"] if d["status"] == "drift"]
    assert len(drifted) == SIZE and 'drop table "public"."c"' in drifted[0]["sql"]
    _query(fleet_dbs[5], "DROP TABLE c")
    r = project.cli("--dev-url", dev_url, "diff", "--env", "fleet")
    assert r.returncode == 1
    assert "drift on 39 database(s)" in r.stderr and "no changes on 1 database(s)" in r.stderr
    r = project.cli("rollback", "--env", "fleet", "--steps", "1", "--parallel", "8", "--keep-going")
    assert r.returncode == 10, r.stderr  # the one that lost its table c: its down fails
    assert _versions(project) == {"0002_b": SIZE - 1, "0003_c": 1}


def test_three_failing_databases_leave_the_others_at_the_latest_version(
    project: Project, fleet_dbs: list[str], server: pgserver.EphemeralServer
) -> None:
    unreachable = fleet_dbs[0].replace("port=", "port=1")  # nothing listens there
    failing, locked = fleet_dbs[10], fleet_dbs[20]
    _project(project, [unreachable, *fleet_dbs[1:]])
    _query(failing, "CREATE TABLE c (id int)")  # 0003 fails there
    with contextlib.closing(psycopg2_connect(locked)) as holder, holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s, %s)", session.lock_key("schemactl"))
        r = project.cli(
            "apply", "--env", "fleet", "--parallel", "8", "--keep-going", "--lock-wait", "1",
            "--format", "json",
        )  # fmt: skip
    assert r.returncode == 10, r.stderr
    doc = json.loads(r.stdout)
    assert doc["counts"] == {"ok": SIZE - 3, "failed": 3}
    failed = {d["database"]: d["error"] for d in doc["databases"] if d["status"] == "failed"}
    assert set(failed) == {fleet.dburl.mask(u) for u in (unreachable, failing, locked)}
    assert "could not connect" in failed[unreachable] or "connect" in failed[unreachable]
    assert 'relation "c" already exists' in failed[failing]
    assert "lock" in failed[locked]
    assert _versions(project) == {"0003_c": SIZE - 3, "0002_b": 1, "empty": 1, "unreachable": 1}
    # Without --keep-going, one at a time: the first failure stops new databases starting,
    # and none succeeded (exit 11).
    r = project.cli("apply", "--env", "fleet", "--parallel", "1", "--format", "json")
    assert r.returncode == 11
    statuses = [d["status"] for d in json.loads(r.stdout)["databases"]]
    assert statuses[0] == "failed" and set(statuses[1:]) == {"not-run"}


def psycopg2_connect(url: str):  # type: ignore[no-untyped-def]
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def test_ctrl_c_leaves_every_database_at_a_boundary_and_a_second_run_finishes(
    project: Project, fleet_dbs: list[str]
) -> None:
    _project(project, fleet_dbs, slow=True)
    p = _popen(project, "apply", "--env", "fleet", "--parallel", "4")
    wait_for_query(fleet_dbs[0], "SELECT 1 WHERE to_regclass('c') IS NOT NULL", p)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert "Traceback" not in err and "left at a migration boundary" in err
    versions = _versions(project)
    assert versions.get("0003_c", 0) < SIZE and sum(versions.values()) == SIZE
    for url in fleet_dbs:  # the ledger says exactly what each database holds
        ledger = _query(url, "SELECT to_regclass('schemactl.migrations') IS NOT NULL")[0][0]
        recorded = (
            _query(url, "SELECT count(*) FROM schemactl.migrations WHERE state = 'applied'")
            if ledger
            else [(0,)]
        )
        tables = _query(url, "SELECT count(*) FROM pg_tables WHERE tablename IN ('a', 'b', 'c')")
        assert recorded == tables, url
    r = project.cli("apply", "--env", "fleet", "--parallel", "8")
    assert r.returncode == 0, r.stderr
    assert _versions(project) == {"0003_c": SIZE}


def test_shards_cover_the_fleet_exactly_once(project: Project, fleet_dbs: list[str]) -> None:
    _project(project, fleet_dbs)
    seen: list[str] = []
    for k in range(1, 5):
        r = project.cli("status", "--env", "fleet", "--shard", f"{k}/4", "--format", "json")
        assert r.returncode == 0, r.stderr
        part = [d["database"] for d in json.loads(r.stdout)["databases"]]
        assert 0 < len(part) < SIZE
        seen += part
    assert sorted(seen) == sorted(fleet.dburl.mask(u) for u in fleet_dbs)
    # the password is not part of the key: rotating it moves no database
    url = "postgresql://app:old@db.example/t1"
    assert fleet.shard_of(url, 7) == fleet.shard_of(url.replace(":old@", ":new@"), 7)
    for bad in ("0/4", "5/4", "x"):
        r = project.cli("status", "--env", "fleet", "--shard", bad)
        assert r.returncode == 2 and "--shard" in r.stderr
    r = project.cli("apply", "--db", fleet_dbs[0], "--shard", "1/2")
    assert r.returncode == 2 and "--shard splits an environment of many databases" in r.stderr


def test_a_failing_canary_keeps_the_rest_of_the_fleet_waiting(
    project: Project, fleet_dbs: list[str]
) -> None:
    _project(project, fleet_dbs)
    _query(fleet_dbs[1], "CREATE TABLE b (id int)")  # the second canary fails at 0002
    r = project.cli("apply", "--env", "fleet", "--canary", "3", "--keep-going", "--format", "json")
    assert r.returncode == 10, r.stderr
    statuses = [d["status"] for d in json.loads(r.stdout)["databases"]]
    assert statuses[:3] == ["ok", "failed", "ok"] and set(statuses[3:]) == {"not-run"}
    _query(fleet_dbs[1], "DROP TABLE b")
    r = project.cli("apply", "--env", "fleet", "--canary", "3", "--parallel", "8")
    assert r.returncode == 0, r.stderr
    assert _versions(project) == {"0003_c": SIZE}
    r = project.cli("apply", "--env", "fleet", "--parallel", "0")
    assert r.returncode == 2 and "--parallel 0: must be 1 or more" in r.stderr


def test_output_without_a_terminal_is_never_cut(project: Project, fleet_dbs: list[str]) -> None:
    # A CI log: stdout and stderr are pipes, and a COLUMNS of 80 (rich's own default) must not
    # cut a URL, a name or a timestamp.
    urls = fleet_dbs[:4]
    _project(project, urls)
    project.migration(
        4, "a_name_long_enough_to_be_cut_at_eighty_columns_in_any_table", "CREATE TABLE d ();\n"
    )
    _query(urls[1], "CREATE TABLE b (id int)")  # fails at 0002; with the canary, 2-3 never run
    narrow = {"COLUMNS": "80"}
    r = project.cli("apply", "--env", "fleet", "--canary", "2", "--parallel", "1", env=narrow)
    assert r.returncode == 10, r.stderr
    rows = {ln.split()[0]: ln for ln in r.stdout.splitlines()[1:] if ln.strip()}
    assert set(rows) == set(urls), r.stdout  # every URL whole, each its own row
    assert "not-run" in rows[urls[3]]
    for line in rows.values():
        if "not-run" in line:
            assert "empty" not in line, line  # never connected: nothing is known of it

    r = project.cli("apply", "--db", urls[0], env=narrow)
    assert r.returncode == 0, r.stderr
    r = project.cli("status", "--db", urls[0], env=narrow)
    assert "a_name_long_enough_to_be_cut_at_eighty_columns_in_any_table" in r.stdout, r.stdout
    r = project.cli("history", "--db", urls[0], env=narrow)
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    import re

    assert len(re.findall(stamp, r.stdout)) >= 4 + 4, r.stdout  # entries and summary, whole
