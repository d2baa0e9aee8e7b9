"""The runner as CI runs it: real `schemactl` processes, killed, interrupted, racing each other."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import time

from .conftest import Project, url_of, wait_for_query
from .conftest import popen_cli as _popen
from .conftest import query as _query


def test_apply_status_rollback_from_the_command_line(
    project: Project, server, database: str
) -> None:
    url = url_of(
        server, database, password="sekret"
    )  # trust auth ignores it; it must never be printed
    project.migration(1, "a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")
    project.migration(2, "b", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n")
    r = project.cli("apply", "--db", url)
    assert r.returncode == 0, r.stderr
    assert (
        "applied 0001_a (" in r.stderr
        and "done: 2 migration(s); the database is at 0002_b" in r.stderr
    )
    r = project.cli("status", "--db", url)
    assert r.returncode == 0 and "0002     b     applied" in r.stdout
    assert "postgresql://postgres:***@/" in r.stderr and ": at 0002_b, 0 pending" in r.stderr
    r = project.cli("status", "--db", url, "--format", "json")
    data = json.loads(r.stdout)
    assert data["current"] == "0002_b" and [m["state"] for m in data["migrations"]] == [
        "applied",
        "applied",
    ]
    r = project.cli("rollback", "--db", url, "--steps", "1", "--dry-run")
    assert r.returncode == 0 and "DROP TABLE b;" in r.stdout and "nothing was changed" in r.stderr
    r = project.cli("rollback", "--db", url, "--steps", "1", "--format", "json")
    data = json.loads(r.stdout)
    assert (
        data["ok"] and data["current"] == "0001_a" and data["steps"][0]["status"] == "rolled-back"
    )
    r = project.cli("apply", "--db", url, "--dry-run", "--format", "json")
    assert json.loads(r.stdout)["steps"][0]["sql"] == "CREATE TABLE b (id int);\n"
    everything = (
        r.stdout
        + r.stderr
        + "".join(str(v) for v in _query(url, "SELECT * FROM schemactl.history"))
    )
    assert "sekret" not in everything


def test_failure_reports_file_statement_and_exit_code(project: Project, target_url: str) -> None:
    project.migration(1, "bad", "CREATE TABLE a (id int);\nALTER TABLE a ADD COLUMN id int;\n")
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 8
    assert r.stderr.splitlines()[0] == (
        'error: apply of 0001_bad failed: generated/0001_bad.up.sql:2:1: column "id" of relation '
        '"a" already exists'
    )
    assert (
        "failing statement: ALTER TABLE a ADD COLUMN id int" in r.stderr
        and "Traceback" not in r.stderr
    )
    r = project.cli("apply", "--db", target_url, "--format", "json")
    error = json.loads(r.stdout)["error"]
    assert (error["file"], error["line"], error["sqlstate"]) == (
        "generated/0001_bad.up.sql",
        2,
        "42701",
    )


def test_connection_failures_are_one_clear_line(project: Project, server, password_server) -> None:
    project.migration(1, "a", "CREATE TABLE a (id int);\n")
    p = password_server.conn_params("postgres")
    cases = {
        "postgresql://app:wrong-password@/postgres?host={host}&port={port}": (
            'password authentication failed for user "app"'
        ),
        "postgresql://postgres:sekret@/no_such_db?host={host}&port={port}": (
            'database "no_such_db" does not exist'
        ),
        "postgresql://postgres:sekret@127.0.0.1:1/db": "Connection refused",
    }
    for template, reason in cases.items():
        url = template.format(host=p["host"], port=p["port"])
        for command in ("apply", "status", "rollback --steps 1"):
            r = project.cli(*command.split(), "--db", url)
            assert r.returncode == 7, (command, r.stderr)
            first, *rest = r.stderr.splitlines()
            assert first.startswith("error: cannot connect to postgresql://") and reason in first
            assert rest[-1].startswith("hint: ") and len(rest) == 1
            assert "wrong-password" not in r.stderr and "sekret" not in r.stderr
    r = project.cli("apply")
    assert r.returncode == 2 and "error: no database given" in r.stderr


def test_eight_concurrent_appliers_apply_each_migration_once(
    project: Project, target_url: str
) -> None:
    project.migration(1, "counter", "CREATE TABLE counter (version int);\n")
    for v in range(2, 7):
        project.migration(
            v, f"m{v}", f"INSERT INTO counter VALUES ({v});\nSELECT pg_sleep(0.05);\n"
        )
    procs = [_popen(project, "apply", "--db", target_url, "--lock-wait", "120") for _ in range(8)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outputs
    assert _query(target_url, "SELECT version FROM counter ORDER BY 1") == [
        (v,) for v in range(2, 7)
    ]
    assert _query(
        target_url,
        "SELECT version, count(*) FROM schemactl.history WHERE status = 'ok' GROUP BY 1 ORDER BY 1",
    ) == [(v, 1) for v in range(1, 7)]
    did_work = [err for _, err in outputs if "applied 0001_counter" in err]
    assert len(did_work) == 1  # the others waited for the lock, then found nothing pending


def _consistent(url: str, n: int) -> int:
    """Assert the database sits at a migration boundary its ledger describes; return it."""
    tables = {
        r[0] for r in _query(url, "SELECT tablename FROM pg_tables WHERE tablename LIKE 't\\_%'")
    }
    applied = (
        [
            r[0]
            for r in _query(
                url, "SELECT version FROM schemactl.migrations WHERE state = 'applied' ORDER BY 1"
            )
        ]
        if _query(url, "SELECT to_regclass('schemactl.migrations')") != [(None,)]
        else []
    )
    assert applied == list(range(1, len(applied) + 1)), applied  # a prefix, no holes
    assert tables == {f"t_{v}" for v in applied}, (tables, applied)
    logged = [r[0] for r in _query(url, "SELECT version FROM log ORDER BY 1")] if applied else []
    assert logged == [v for v in applied if v > 1]  # each data change exactly once
    if applied:
        ok = _query(
            url, "SELECT count(*) FROM schemactl.history WHERE action = 'apply' AND status = 'ok'"
        )
        rolled = _query(
            url,
            "SELECT count(*) FROM schemactl.history WHERE action = 'rollback' AND status = 'ok'",
        )
        assert ok[0][0] - rolled[0][0] == len(applied)
    return len(applied)


def test_sigkill_at_random_moments_leaves_a_migration_boundary(
    project: Project, target_url: str
) -> None:
    n = 20
    project.migration(
        1,
        "t_1",
        "CREATE TABLE t_1 (id int);\nCREATE TABLE log (version int);\n",
        "DROP TABLE log;\nDROP TABLE t_1;\n",
    )
    for v in range(2, n + 1):
        project.migration(
            v,
            f"t_{v}",
            f"CREATE TABLE t_{v} (id int);\nINSERT INTO log VALUES ({v});\n"
            "SELECT pg_sleep(0.05);\n",
            f"DELETE FROM log WHERE version = {v};\nDROP TABLE t_{v};\nSELECT pg_sleep(0.05);\n",
        )
    seed = int(os.environ.get("SCHEMACTL_TEST_SEED", time.time()))
    rng = random.Random(seed)
    kills, at = 0, 0
    for _ in range(14):
        # Apply until everything is in, then roll it all back: both directions get killed (both
        # sleep a little per migration, so a run lasts long enough for most kills to land in it).
        command = ("rollback", "--target", "0") if at == n else ("apply",)
        p = _popen(project, *command, "--db", target_url, "--lock-wait", "30")
        # Wait until it is connected (start-up time varies with machine load), then kill it at
        # a random moment of the run.
        deadline = time.monotonic() + 20
        while (
            p.poll() is None
            and time.monotonic() < deadline
            and not _query(
                target_url,
                "SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'schemactl %' "
                "AND datname = current_database()",
            )
        ):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.9))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.communicate(timeout=60)
        at = _consistent(target_url, n)
    r = project.cli("apply", "--db", target_url, "--lock-wait", "30")
    assert r.returncode == 0, (seed, r.stderr)
    assert _consistent(target_url, n) == n, seed
    assert kills >= 7, f"seed {seed}: only {kills} of 14 kills landed mid-run"


def test_ctrl_c_rolls_back_the_running_migration(project: Project, target_url: str) -> None:
    project.migration(1, "a", "CREATE TABLE a (id int);\n")
    project.migration(2, "slow", "CREATE TABLE b (id int);\nSELECT pg_sleep(60);\n")
    p = _popen(project, "apply", "--db", target_url)
    wait_for_query(
        target_url, "SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'", p, 30
    )
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert time.monotonic() - t0 < 10  # the statement was cancelled, not waited for
    assert (
        "interrupted" in err.splitlines()[-1]
        and "rolled back" in err.splitlines()[-1]
        and "Traceback" not in err
    )
    assert _query(target_url, "SELECT to_regclass('b')") == [(None,)]
    assert _query(target_url, "SELECT version, state FROM schemactl.migrations") == [(1, "applied")]
    assert _query(
        target_url, "SELECT version, status FROM schemactl.history WHERE status <> 'ok'"
    ) == [(2, "interrupted")]


def test_a_password_appears_in_no_output_log_file_or_row(project: Project, password_server) -> None:
    import uuid

    # Generated here, so it appears nowhere else: any occurrence below is a leak. (Its shape,
    # pw-<32 hex>, lets a grep over the whole test run's output look for leaks too.)
    secret = f"pw-{uuid.uuid4().hex}"
    p = password_server.conn_params("postgres")
    with contextlib.closing(password_server.connect("postgres")) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE ROLE owner LOGIN PASSWORD '{secret}'")
        cur.execute("CREATE DATABASE app OWNER owner")
        cur.execute("CREATE DATABASE adopted OWNER owner")
    url = f"postgresql://owner:{secret}@/app?host={p['host']}&port={p['port']}"
    adopted = url.replace("/app?", "/adopted?")
    project.schema("t.sql", "create table t (id int);\n")
    assert project.cli("diff", "-m", "base").returncode == 0
    project.migration(2, "broken", "create table u (id int);\nselect 1/0;\n", "drop table u;\n")
    runs = [
        project.cli("apply", "--db", url, "--target", "1"),
        project.cli("apply", "--db", url, "--format", "json"),  # fails: division by zero
        project.cli("apply", "--db", url),
        project.cli("status", "--db", url),
        project.cli("status", "--db", url, "--format", "json"),
        project.cli("diff", "--db", url),
        project.cli("diff", "--db", url, "--format", "json"),
        project.cli("rollback", "--db", url, "--steps", "1", "--format", "json"),
        project.cli("baseline", "--db", adopted, "--version", "1", "--force", "--format", "json"),
        project.cli("repair", "--db", url),
        project.cli("-v", "apply", env={"DATABASE_URL": url, "SCHEMACTL_DEBUG": "1"}),
        project.cli("apply", "--db", url.replace(secret, secret + "-wrong")),  # refused: exit 7
        project.cli("apply", "--db", url.replace("/app?", "/missing?")),
    ]
    assert [r.returncode for r in runs][:3] == [0, 8, 8], [r.stderr for r in runs]
    assert runs[-2].returncode == 7 and runs[-1].returncode == 7
    outputs = "".join(r.stdout + r.stderr for r in runs)
    assert "cannot connect to postgresql://owner:***@" in outputs  # masked, not omitted
    rows = _query(
        url,
        "SELECT h::text FROM schemactl.history h UNION ALL SELECT m::text FROM "
        "schemactl.migrations m",
    )
    rows += _query(adopted, "SELECT h::text FROM schemactl.history h")
    files = "".join(f.read_text(errors="replace") for f in project.root.rglob("*") if f.is_file())
    for where, text in (
        ("output", outputs),
        ("bookkeeping rows", repr(rows)),
        ("project files", files),
    ):
        assert secret not in text, f"the password leaked into {where}"


def test_a_migration_that_turns_off_function_body_checks_does_so_for_itself_only(
    project: Project, target_url: str
) -> None:
    project.schema("f.sql", "create function one() returns int language sql as $$ select 1 $$;\n")
    assert project.cli("diff", "-m", "one").returncode == 0
    up = (project.root / "generated" / "0001_one.up.sql").read_text()
    assert "set local check_function_bodies = off;" in up
    assert "\nset check_function_bodies" not in up
    # A hand-written pair after it, in the same apply: its body is checked as usual.
    project.migration(
        2,
        "broken",
        "create function two() returns int language sql as $$ select n from nowhere $$;\n",
        "drop function two();\n",
    )
    assert project.cli("rehash").returncode == 0
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 8 and 'relation "nowhere" does not exist' in r.stderr, r.stderr


def test_a_rollback_says_what_it_cannot_give_back_before_it_runs(
    project: Project, target_url: str
) -> None:
    import json

    project.schema("t.sql", "create table t (id int primary key, note text, old text);\n")
    assert project.cli("diff", "-m", "base").returncode == 0
    project.schema("t.sql", "create table t (id int primary key, note text, added int);\n")
    assert project.cli("diff", "-m", "swap", "--allow-destructive").returncode == 0
    assert project.cli("apply", "--db", target_url).returncode == 0
    gone = (
        'warning: 0002_swap: its up file drops column "old" of "public"."t"; rolling it back '
        "brings back the structure, not the values"
    )
    lost = (
        'warning: 0002_swap: rolling it back drops column "added" of "public"."t", with the '
        "values written there since"
    )
    r = project.cli("rollback", "--db", target_url, "--steps", "1", "--dry-run")
    assert r.returncode == 0 and gone in r.stderr and lost in r.stderr, r.stderr
    r = project.cli("rollback", "--db", target_url, "--steps", "1", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert [f"warning: {w}" for w in json.loads(r.stdout)["warnings"]] == [gone, lost]
    assert project.cli("apply", "--db", target_url).returncode == 0
    r = project.cli("rollback", "--db", target_url, "--steps", "1")
    assert r.returncode == 0
    said = r.stderr.splitlines()
    ran = next(i for i, line in enumerate(said) if line.startswith("rolled back 0002_swap"))
    assert said.index(gone) < ran
    assert said.count(gone) == 1  # said once, before it ran
