"""Online plans through the real CLI (README, "Online plans"): index builds outside a
transaction, constraints validated after a commit point, and what `apply` does when such a
plan stops partway (an interrupted concurrent build resumed, a lock timeout retried)."""

from __future__ import annotations

import contextlib
import json
import signal
from typing import Any

from schemactl.scratch import pgserver
from schemactl.targets import runner

from .conftest import Project, until_a_lock_wait_gives_up, wait_for_query
from .conftest import popen_cli as _popen
from .conftest import query as _query

BASE = (
    "CREATE TABLE t (id int PRIMARY KEY, a int, b int);\n"
    "CREATE INDEX t_a ON t (a);\n"
    "CREATE TABLE part (id int, k int) PARTITION BY RANGE (id);\n"
)
CHANGED = (
    "CREATE TABLE t (id int PRIMARY KEY, a int, b int UNIQUE);\n"
    "CREATE INDEX t_a ON t (a, b);\n"
    "CREATE INDEX t_b ON t (b);\n"
    "CREATE TABLE part (id int, k int) PARTITION BY RANGE (id);\n"
    "CREATE INDEX part_k ON part (k);\n"
    "CREATE TABLE n (id int);\nCREATE INDEX n_id ON n (id);\n"
)


def _diff(project: Project, dev_url: str, *args: str) -> tuple[Any, dict[str, Any]]:
    r = project.cli("--dev-url", dev_url, "diff", "--format", "json", *args)
    return r, (json.loads(r.stdout) if r.stdout.strip() else {})


def _based(project: Project, dev_url: str, schema: str) -> None:
    project.schema("schema.sql", schema)
    r, doc = _diff(project, dev_url, "-m", "base")
    assert r.returncode == 0 and doc["verified"], r.stderr


def _found(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [h for h in doc["hazards"] if h["kind"] == kind]


def _indexes(url: str) -> list[tuple[str, bool]]:
    return _query(
        url,
        "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indrelid = 't'::regclass ORDER BY 1",
    )


def _online_project(project: Project, dev_url: str, target_url: str) -> dict[str, Any]:
    """A table with rows on a real database, and an online migration that builds indexes."""
    _based(project, dev_url, BASE)
    runner.apply_migrations(project.config, target_url)
    _query(target_url, "INSERT INTO t SELECT g, g % 7, g FROM generate_series(1, 500) g")
    project.schema("schema.sql", CHANGED)
    r, doc = _diff(project, dev_url, "-m", "indexes", "--online")
    assert r.returncode == 0 and doc["verified"], r.stderr
    return doc


def test_online_index_builds_are_concurrent_outside_a_transaction(
    project: Project, dev_url: str, target_url: str
) -> None:
    doc = _online_project(project, dev_url, target_url)
    up = doc["up_sql"]
    assert (
        "-- schemactl:commit no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_b ON" in up
    )
    # The changed index: built under a temporary name, then the old one dropped, then renamed.
    assert (
        up.index(
            'CREATE INDEX CONCURRENTLY IF NOT EXISTS "t_a_ccnew" ON public.t USING btree (a, b)'
        )
        < up.index('DROP INDEX CONCURRENTLY IF EXISTS "public"."t_a";')
        < up.index('ALTER INDEX "public"."t_a_ccnew" RENAME TO "t_a";')
    )
    # The unique constraint: its index built concurrently, then attached in a transaction.
    assert up.index("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_b_key") < up.index(
        'add constraint "t_b_key" UNIQUE using index "t_b_key"'
    )
    # PostgreSQL builds a partitioned table's index only in a transaction, and a new table is
    # empty: both plain.
    assert "CREATE INDEX part_k ON ONLY public.part" in up
    assert "CREATE INDEX n_id ON public.n" in up
    # Measured: each build holds SHARE UPDATE EXCLUSIVE (writes go on); the one exclusive lock
    # (attaching the built index as the constraint) scans nothing.
    on_t = [(h["kind"], h["lock"]) for h in doc["hazards"] if h["relation"] == "public.t"]
    assert on_t == [("index-build", "ShareUpdateExclusiveLock")] * 3 + [
        ("lock", "AccessExclusiveLock")
    ]
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 0, r.stderr
    assert _indexes(target_url) == [
        ("t_a", True),
        ("t_b", True),
        ("t_b_key", True),
        ("t_pkey", True),
    ]
    assert _query(target_url, "SELECT count(*) FROM t") == [(500,)]

    # The down file is an online plan too: a rollback runs on the same live traffic.
    down = doc["down_sql"]
    assert down.startswith("SET LOCAL lock_timeout = ")
    assert (
        '-- schemactl:commit no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS "public"."t_b";'
        in down
    )
    assert 'drop index if exists "public"."t_b"' not in down  # the plain one, under a lock
    r = project.cli("rollback", "--db", target_url, "--steps", "1")
    assert r.returncode == 0, r.stderr
    assert _indexes(target_url) == [("t_a", True), ("t_pkey", True)]


INVALID_T_B = (
    "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass('t_b') AND NOT indisvalid"
    " AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    " AND query LIKE '%CREATE INDEX CONCURRENTLY%')"
)


def test_an_interrupted_concurrent_build_is_resumed_by_the_next_apply(
    project: Project, dev_url: str, target_url: str, server: pgserver.EphemeralServer, database: str
) -> None:
    _online_project(project, dev_url, target_url)
    # A writer's open transaction: the concurrent build of t_b waits for it, with its INVALID
    # index already in the catalog, and is interrupted there.
    with contextlib.closing(server.connect(database, autocommit=False)) as writer:
        with writer.cursor() as cur:
            cur.execute("UPDATE t SET a = a WHERE id = 1")
        p = _popen(project, "apply", "--db", target_url)
        wait_for_query(target_url, INVALID_T_B, p)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
        assert p.returncode == 130, err
        assert "Traceback" not in err
        writer.rollback()
    assert ("t_b", False) in _indexes(target_url)
    r = project.cli("status", "--db", target_url, "--format", "json")
    states = {m["name"]: m["state"] for m in json.loads(r.stdout)["migrations"]}
    assert list(states.values()) == ["applied", "failed"], states  # to resume, not to repair
    assert r.returncode == 0
    r = project.cli("apply", "--db", target_url, "--dry-run")
    assert "0002_indexes stopped partway in an earlier run: it resumes at line" in r.stderr
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 0, r.stderr
    assert "dropped the INVALID index public.t_b" in r.stdout + r.stderr
    assert _indexes(target_url) == [
        ("t_a", True),
        ("t_b", True),
        ("t_b_key", True),
        ("t_pkey", True),
    ]
    assert _query(target_url, "SELECT count(*), sum(b) FROM t") == [(500, 125250)]
    assert _query(target_url, "SELECT version, state, resume_part FROM schemactl.migrations") == [
        (1, "applied", None),
        (2, "applied", None),
    ]
    history = _query(
        target_url,
        "SELECT version, status FROM schemactl.history WHERE action = 'apply' ORDER BY id",
    )
    assert history == [(1, "ok"), (2, "interrupted"), (2, "ok")]


def test_retry_on_lock_runs_a_part_again_after_the_lock_timeout(
    project: Project, target_url: str, server: pgserver.EphemeralServer, database: str
) -> None:
    project.migration(1, "t", "CREATE TABLE t (id int PRIMARY KEY);\n", "DROP TABLE t;\n")
    project.migration(
        2,
        "c",
        "SET LOCAL lock_timeout = '300ms';\nALTER TABLE t ADD COLUMN c int;\n",
        "ALTER TABLE t DROP COLUMN c;\n",
    )
    assert project.cli("apply", "--db", target_url, "--target", "1").returncode == 0
    for retries, code in (("0", 8), ("3", 0)):
        # A reader holds the table until the first try has given up; the retry, a second
        # later, goes through.
        with contextlib.closing(server.connect(database, autocommit=False)) as reader:
            with reader.cursor() as cur:
                cur.execute("LOCK TABLE t IN ACCESS SHARE MODE")
            p = _popen(project, "apply", "--db", target_url, "--retry-on-lock", retries)
            until_a_lock_wait_gives_up(target_url, "%ADD COLUMN c int%", p)
            reader.rollback()
            out, err = p.communicate(timeout=60)
        assert p.returncode == code, err
        assert "Traceback" not in err
        if code:
            assert "canceling statement due to lock timeout" in err
            assert "--retry-on-lock N" in err and "retry 1 of" not in out + err
        else:
            assert "retry 1 of 3" in out + err, (out, err)
    assert _query(
        target_url,
        "SELECT count(*) FROM pg_attribute WHERE attname = 'c' AND attrelid = 't'::regclass",
    ) == [(1,)]
    r = project.cli("apply", "--db", target_url, "--retry-on-lock", "-1")
    assert r.returncode == 2 and "error: --retry-on-lock -1: must be 0 or more" in r.stderr


ONLINE_BASE = (
    "CREATE TABLE p (id int PRIMARY KEY);\nCREATE TABLE c (id int PRIMARY KEY, p_id int, n int);\n"
)


def test_online_plans_validate_in_a_transaction_of_their_own(
    project: Project, dev_url: str, server: pgserver.EphemeralServer, database: str, target_url: str
) -> None:
    _based(project, dev_url, ONLINE_BASE)
    runner.apply_migrations(project.config, target_url)
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1, 5)")
    # Generated rows would break the new key and the NOT NULL (a finding of its own): rows
    # that keep them, as a project's own sample file gives.
    project.write_config('sample_rows = 0\nsample_data = "sampledata"\n')
    (project.root / "sampledata").mkdir()
    (project.root / "sampledata" / "rows.sql").write_text(
        "INSERT INTO p VALUES (1), (2);\nINSERT INTO c VALUES (1, 1, 5), (2, 2, 6);\n"
    )
    project.schema(
        "schema.sql",
        ONLINE_BASE.replace("p_id int, n int", "p_id int REFERENCES p, n int NOT NULL"),
    )
    r, doc = _diff(project, dev_url, "--print")  # one transaction: writes wait for the scan
    assert doc["sample_rows"] == 4 and not _found(doc, "fails-with-data"), doc["hazards"]
    # (SET NOT NULL took ACCESS EXCLUSIVE earlier in the transaction: the scans run under it)
    assert [(h["relation"], h["lock"]) for h in _found(doc, "validation-scan")][:1] == [
        ("public.c", "AccessExclusiveLock")
    ]
    r, doc = _diff(project, dev_url, "-m", "fk", "--online")
    assert r.returncode == 0 and doc["verified"], r.stderr
    first, _, second = doc["up_sql"].partition("-- schemactl:commit")
    assert first.startswith("SET LOCAL lock_timeout = '5s';") and second
    assert 'add constraint "c_p_id_fkey" FOREIGN KEY (p_id) REFERENCES p(id) not valid;' in first
    assert 'validate constraint "c_p_id_fkey"' in second and "validate constraint" not in first
    # NOT NULL through a validated check: set without a scan under the exclusive lock.
    assert 'add constraint "c_n_online_not_null" check ("n" IS NOT NULL) not valid;' in first
    assert (
        second.index('validate constraint "c_n_online_not_null"')
        < second.index('alter column "n" set not null')
        < second.index('drop constraint "c_n_online_not_null"')
    )
    exclusive_scans = [
        h for h in _found(doc, "validation-scan") if h["lock"] == "AccessExclusiveLock"
    ]
    assert exclusive_scans == []
    assert [h["relation"] for h in _found(doc, "validation-scan")] == []  # writes never wait
    assert not _found(doc, "fails-with-data")
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 0, r.stderr
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'c'::regclass"
            " AND contype = 'f'"
        )
        assert cur.fetchall() == [("c_p_id_fkey", True)]
        cur.execute(
            "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'c'::regclass AND attname = 'n'"
        )
        assert cur.fetchall() == [(True,)]
    # Without --online, the same change validates in the migration's one transaction.
    project.write_config('online = false\nsample_rows = 0\nsample_data = "sampledata"\n')
    project.schema("schema.sql", ONLINE_BASE)
    r, doc = _diff(project, dev_url, "-m", "back", "--allow-destructive")
    assert r.returncode == 0 and "schemactl:commit" not in doc["up_sql"], r.stderr
