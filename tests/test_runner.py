"""The migration runner through its Python API, against real databases on the session cluster."""

from __future__ import annotations

import contextlib
import hashlib

import psycopg2
import pytest

from schemactl.errors import ConfigError, IntegrityError, LockTimeout, MigrationFailed, UsageError
from schemactl.targets import bookkeeping, runner, session, status

from .conftest import Project, url_of


def _query(url: str, sql: str, args: tuple = ()) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall() if cur.description else []
        conn.commit()
        return rows


def _tables(url: str) -> set[str]:
    return {
        r[0] for r in _query(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }


def _three(project: Project) -> None:
    project.migration(1, "a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")
    project.migration(2, "b", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n")
    project.migration(
        3, "c", "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);\n", "DROP TABLE c;\n"
    )


def test_apply_records_each_migration_with_checksum_and_history(
    project: Project, target_url: str
) -> None:
    _three(project)
    result = runner.apply_migrations(project.config, target_url)
    assert [(s.name, s.status) for s in result.steps] == [
        ("0001_a", "applied"),
        ("0002_b", "applied"),
        ("0003_c", "applied"),
    ]
    assert result.current_version == 3
    assert _tables(target_url) == {"a", "b", "c"}
    rows = _query(
        target_url,
        "SELECT version, name, checksum, state, applied_by FROM schemactl.migrations ORDER BY 1",
    )
    up = project.root / "generated" / "0003_c.up.sql"
    assert rows[2] == (
        3,
        "0003_c",
        hashlib.sha256(up.read_bytes()).hexdigest(),
        "applied",
        "postgres",
    )
    history = _query(
        target_url, "SELECT version, action, status FROM schemactl.history ORDER BY id"
    )
    assert history == [(1, "apply", "ok"), (2, "apply", "ok"), (3, "apply", "ok")]
    # A second run finds nothing to do.
    assert runner.apply_migrations(project.config, target_url).steps == []


def test_rollback_by_steps_and_to_target(project: Project, target_url: str) -> None:
    _three(project)
    runner.apply_migrations(project.config, target_url)
    result = runner.rollback_migrations(project.config, target_url, steps=2)
    assert [s.name for s in result.steps] == ["0003_c", "0002_b"]  # newest first
    assert result.current_version == 1 and _tables(target_url) == {"a"}
    runner.apply_migrations(project.config, target_url)
    assert (
        runner.rollback_migrations(project.config, target_url, target="0").current_version is None
    )
    assert _tables(target_url) == set()
    actions = _query(
        target_url,
        "SELECT action, count(*) FROM schemactl.history WHERE status = 'ok' GROUP BY 1 ORDER BY 1",
    )
    assert actions == [("apply", 5), ("rollback", 5)]
    with pytest.raises(UsageError, match="none is applied"):
        runner.rollback_migrations(project.config, target_url, steps=1)
    with pytest.raises(UsageError, match="--steps N or --target"):
        runner.rollback_migrations(project.config, target_url)


def test_apply_to_target_and_dry_run_change_nothing_beyond(
    project: Project, target_url: str
) -> None:
    _three(project)
    dry = runner.apply_migrations(
        project.config, target_url, settings=runner.RunSettings(dry_run=True)
    )
    assert [s.status for s in dry.steps] == ["would-apply"] * 3
    assert dry.steps[2].sql == (project.root / "generated" / "0003_c.up.sql").read_text()
    assert _query(target_url, "SELECT to_regnamespace('schemactl')") == [
        (None,)
    ]  # not even the ledger
    assert runner.apply_migrations(project.config, target_url, target=2).current_version == 2
    assert _tables(target_url) == {"a", "b"}
    with pytest.raises(UsageError, match="no migration 0009"):
        runner.apply_migrations(project.config, target_url, target=9)


def _second_fails(project: Project, target_url: str, slug: str, up_sql: str) -> MigrationFailed:
    """Apply 0001_a and a 0002 holding `up_sql`, which fails; return the failure."""
    project.migration(1, "a", "CREATE TABLE a (id int);\n")
    project.migration(2, slug, up_sql)
    with pytest.raises(MigrationFailed) as info:
        runner.apply_migrations(project.config, target_url)
    return info.value


def test_failed_migration_rolls_back_completely_and_is_recorded(
    project: Project, target_url: str
) -> None:
    sql = "CREATE TABLE b (id int);\n\nINSERT INTO nowhere VALUES (1);\n"
    e = _second_fails(project, target_url, "b", sql)
    assert (
        e.message
        == 'apply of 0002_b failed: generated/0002_b.up.sql:3:13: relation "nowhere" does not exist'
    )
    assert e.error.statement == "INSERT INTO nowhere VALUES (1)" and e.error.line == 3
    assert [s.name for s in e.completed] == ["0001_a"]
    assert (
        "nothing of the failed apply of 0002_b was kept (its transaction was rolled back): the "
        "database is still at 0001" in e.detail
    )
    assert _tables(target_url) == {"a"}  # b's first statement was rolled back too
    failed = _query(
        target_url, "SELECT version, status, statement FROM schemactl.history WHERE status <> 'ok'"
    )
    assert failed == [(2, "failed", "INSERT INTO nowhere VALUES (1)")]
    st = status.get_migration_status(project.config, target_url)
    assert [(m.name, m.state) for m in st.migrations] == [
        ("0001_a", "applied"),
        ("0002_b", "failed"),
    ]
    up = project.root / "generated" / "0002_b.up.sql"
    up.write_text("CREATE TABLE b (id int);\n")  # fixed: the next apply retries it
    assert runner.apply_migrations(project.config, target_url).current_version == 2


def test_edited_applied_file_stops_apply_until_repair(project: Project, target_url: str) -> None:
    _three(project)
    runner.apply_migrations(project.config, target_url, target=2)
    up = project.root / "generated" / "0001_a.up.sql"
    old = hashlib.sha256(up.read_bytes()).hexdigest()
    up.write_text("CREATE TABLE a (id bigint);\n")
    new = hashlib.sha256(up.read_bytes()).hexdigest()
    with pytest.raises(IntegrityError, match="0001_a changed since it was applied") as info:
        runner.apply_migrations(project.config, target_url)
    assert any(old in d for d in info.value.detail) and any(new in d for d in info.value.detail)
    assert "schemactl repair" in (info.value.hint or "")
    assert _tables(target_url) == {"a", "b"}  # nothing ran
    assert status.get_migration_status(project.config, target_url).migrations[0].state == "changed"
    assert bookkeeping.repair(project.config, target_url) == [
        f"0001_a: recorded checksum {old} -> {new}"
    ]
    assert _query(
        target_url, "SELECT version, error FROM schemactl.history WHERE action = 'repair'"
    ) == [(1, f"0001_a: recorded checksum {old} -> {new}")]
    assert runner.apply_migrations(project.config, target_url).current_version == 3


def test_missing_applied_file_is_refused_and_repair_forgets_it(
    project: Project, target_url: str
) -> None:
    _three(project)
    runner.apply_migrations(project.config, target_url)
    for p in (project.root / "generated").glob("0003_c.*"):
        p.unlink()
    with pytest.raises(
        IntegrityError, match="0003_c applied to this database but the file is gone"
    ):
        runner.apply_migrations(project.config, target_url)
    assert [m.state for m in status.get_migration_status(project.config, target_url).migrations][
        -1
    ] == "missing"
    assert bookkeeping.repair(project.config, target_url) == [
        "0003_c: forgotten (its files are gone)"
    ]
    assert status.get_migration_status(project.config, target_url).current_version == 2


def test_out_of_order_pending_migration_needs_a_flag(project: Project, target_url: str) -> None:
    _three(project)
    runner.apply_migrations(project.config, target_url)
    # As after a merge: 0002 never ran here, 0003 did.
    _query(target_url, "DROP TABLE b; DELETE FROM schemactl.migrations WHERE version = 2")
    st = status.get_migration_status(project.config, target_url)
    assert [m.state for m in st.migrations] == ["applied", "out-of-order", "applied"]
    with pytest.raises(
        IntegrityError,
        match=r"0002_b is pending but the database is already at 0003_c \(out of order\)",
    ):
        runner.apply_migrations(project.config, target_url)
    result = runner.apply_migrations(project.config, target_url, allow_out_of_order=True)
    assert [s.name for s in result.steps] == ["0002_b"] and _tables(target_url) == {"a", "b", "c"}


def test_environment_directive_skips_elsewhere_but_keeps_the_sequence(
    project: Project, server, target_url: str
) -> None:
    project.migration(1, "a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")
    project.migration(
        2,
        "seed",
        "-- schemactl:environments development, test\nINSERT INTO a VALUES (42);\n",
        "DELETE FROM a;\n",
    )
    project.migration(3, "c", "CREATE TABLE c (id int);\n", "DROP TABLE c;\n")
    with pytest.raises(UsageError, match="0002_seed runs only in development, test"):
        runner.apply_migrations(project.config, target_url)
    result = runner.apply_migrations(project.config, target_url, environment="production")
    assert [(s.name, s.status) for s in result.steps] == [
        ("0001_a", "applied"),
        ("0002_seed", "skipped"),
        ("0003_c", "applied"),
    ]
    assert _query(target_url, "SELECT count(*) FROM a") == [(0,)]
    assert _query(target_url, "SELECT state FROM schemactl.migrations WHERE version = 2") == [
        ("skipped",)
    ]
    # Rolling back a skipped migration runs no down file (its DELETE would be wrong here).
    _query(target_url, "INSERT INTO a VALUES (7)")
    runner.rollback_migrations(project.config, target_url, target=1)
    assert _query(target_url, "SELECT * FROM a") == [(7,)]
    dev_db = server.create_database("dev")
    try:
        runner.apply_migrations(project.config, url_of(server, dev_db), environment="development")
        assert _query(url_of(server, dev_db), "SELECT * FROM a") == [(42,)]
    finally:
        server.drop_database(dev_db)


def test_no_transaction_file_runs_statement_by_statement(project: Project, target_url: str) -> None:
    project.migration(1, "a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")
    project.migration(2, "idx", "CREATE INDEX CONCURRENTLY a_id ON a (id);\n", "DROP INDEX a_id;\n")
    with pytest.raises(MigrationFailed, match="cannot run inside a transaction block") as info:
        runner.apply_migrations(project.config, target_url)
    assert "schemactl:no-transaction" in (info.value.hint or "")
    project.migration(
        2,
        "idx",
        "-- schemactl:no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n",
        "-- schemactl:no-transaction\nDROP INDEX CONCURRENTLY a_id;\n",
    )
    result = runner.apply_migrations(project.config, target_url)
    assert result.steps[0].transactional is False
    assert _query(target_url, "SELECT indexname FROM pg_indexes WHERE tablename = 'a'") == [
        ("a_id",)
    ]
    runner.rollback_migrations(project.config, target_url, steps=1)
    assert _query(target_url, "SELECT indexname FROM pg_indexes WHERE tablename = 'a'") == []


def test_no_transaction_file_that_stops_partway_blocks_until_repair(
    project: Project, target_url: str
) -> None:
    sql = "-- schemactl:no-transaction\nCREATE TABLE b (id int);\nSELECT 1/0;\n"
    e = _second_fails(project, target_url, "two", sql)
    assert "division by zero" in e.message
    assert "the statements before this one stay applied" in " ".join(e.detail)
    assert _tables(target_url) == {
        "a",
        "b",
    }  # the first statement stays: that is what no-transaction means
    st = status.get_migration_status(project.config, target_url)
    assert (st.migrations[1].state, st.migrations[1].error) == (
        "partial",
        "generated/0002_two.up.sql:3:1: division by zero",
    )
    with pytest.raises(
        IntegrityError, match="0002_two did not run in one transaction .* and stopped partway"
    ):
        runner.apply_migrations(project.config, target_url)
    _query(target_url, "DROP TABLE b")  # the user undoes the partial work ...
    (project.root / "generated" / "0002_two.up.sql").write_text(
        "-- schemactl:no-transaction\nCREATE TABLE b (id int);\n"
    )  # ... fixes the file ...
    assert bookkeeping.repair(project.config, target_url) == [
        "0002_two: partial run cleared; the next apply runs it again"
    ]
    assert (
        runner.apply_migrations(project.config, target_url).current_version == 2
    )  # ... and applies again


ENUM_USED = """CREATE TYPE e AS ENUM ('a', 'b');
CREATE TABLE t (x e DEFAULT 'a');
"""


def test_commit_points_cut_a_migration_into_parts_and_apply_resumes_where_it_stopped(
    project: Project, target_url: str
) -> None:
    project.migration(1, "a", ENUM_USED, "DROP TABLE t;\nDROP TYPE e;\n")
    project.migration(
        2,
        "c",
        "ALTER TYPE e ADD VALUE 'c';\n-- values must commit before use\n-- "
        "schemactl:commit\nALTER TABLE t ALTER x SET DEFAULT 'c';\n"
        "INSERT INTO t DEFAULT VALUES;\nINSERT INTO side VALUES (1);\n",
        "-- nothing",
    )
    # In one transaction PostgreSQL would refuse the new value; here the first part commits,
    # the second fails and is rolled back, and the ledger records where the file stopped.
    with pytest.raises(MigrationFailed, match='relation "side" does not exist') as info:
        runner.apply_migrations(project.config, target_url)
    assert "the parts before the part from line 3 stay committed" in " ".join(info.value.detail)
    assert "it resumes 0002_c at the part from line 3" in (info.value.hint or "")
    assert _query(target_url, "SELECT enum_range(NULL::e)::text, (SELECT count(*) FROM t)") == [
        ("{a,b,c}", 0)
    ]
    assert status.get_migration_status(project.config, target_url).migrations[1].state == "failed"
    _query(target_url, "CREATE TABLE side (id int)")  # the cause, fixed outside the file
    # Resumed at the second part: the first (ADD VALUE without IF NOT EXISTS) would fail again.
    assert runner.apply_migrations(project.config, target_url).current_version == 2
    assert _query(target_url, "SELECT x::text FROM t") == [("c",)]
    history = _query(
        target_url, "SELECT status FROM schemactl.history WHERE version = 2 ORDER BY id"
    )
    assert history == [("failed",), ("ok",)]


def test_a_file_edited_after_it_stopped_partway_needs_repair(
    project: Project, target_url: str
) -> None:
    project.migration(1, "a", ENUM_USED, "DROP TABLE t;\nDROP TYPE e;\n")
    up, _ = project.migration(
        2,
        "c",
        "ALTER TYPE e ADD VALUE IF NOT EXISTS 'c';\n-- values must commit before use\n-- "
        "schemactl:commit\nALTER TABLE t ALTER x SET DEFAULT 'c';\n"
        "INSERT INTO t DEFAULT VALUES;\nSELECT 1/0;\n",
        "-- nothing",
    )
    with pytest.raises(MigrationFailed, match="division by zero"):
        runner.apply_migrations(project.config, target_url)
    # Where a changed file stopped says nothing about the new one: repair, then all of it.
    up.write_text(up.read_text().replace("SELECT 1/0;\n", ""))
    assert status.get_migration_status(project.config, target_url).migrations[1].state == "partial"
    with pytest.raises(IntegrityError, match="stopped partway"):
        runner.apply_migrations(project.config, target_url)
    bookkeeping.repair(project.config, target_url)
    assert (
        runner.apply_migrations(project.config, target_url).current_version == 2
    )  # part one runs again, harmlessly
    assert _query(target_url, "SELECT x::text FROM t") == [("c",)]
    history = _query(
        target_url, "SELECT status FROM schemactl.history WHERE version = 2 ORDER BY id"
    )
    assert history[0] == ("failed",) and history[-1] == ("ok",)


def test_a_failure_in_the_first_part_rolls_back_like_any_migration(
    project: Project, target_url: str
) -> None:
    project.migration(1, "a", ENUM_USED, "DROP TABLE t;\nDROP TYPE e;\n")
    project.migration(
        2, "c", "ALTER TYPE e ADD VALUE 'c';\nSELECT 1/0;\n-- schemactl:commit\nSELECT 1;\n"
    )
    with pytest.raises(MigrationFailed, match="division by zero") as info:
        runner.apply_migrations(project.config, target_url)
    assert (
        "nothing of the failed apply of 0002_c was kept (its transaction was rolled back): the "
        "database is still at 0001" in info.value.detail
    )
    assert _query(target_url, "SELECT enum_range(NULL::e)::text") == [("{a,b}",)]
    assert status.get_migration_status(project.config, target_url).migrations[1].state == "failed"


def test_lock_wait_times_out_naming_the_holder(project: Project, target_url: str) -> None:
    project.migration(1, "a", "CREATE TABLE a (id int);\n")
    holder = psycopg2.connect(target_url, application_name="someone else")
    try:
        holder.autocommit = True
        with holder.cursor() as cur:
            cur.execute(
                "SELECT pg_advisory_lock(%s, %s), pg_backend_pid()", session.lock_key("schemactl")
            )
            pid = cur.fetchone()[1]
        with pytest.raises(
            LockTimeout,
            match=rf"holds the lock on this database \(pid {pid}, 'someone else', user postgres",
        ):
            runner.apply_migrations(
                project.config, target_url, settings=runner.RunSettings(lock_wait=0.3)
            )
    finally:
        holder.close()
    assert (
        runner.apply_migrations(project.config, target_url).current_version == 1
    )  # released with the session


def test_statement_timeout_and_lock_timeout_apply_to_migrations(
    project: Project, target_url: str
) -> None:
    project.migration(1, "slow", "CREATE TABLE a (id int);\nSELECT pg_sleep(5);\n")
    with pytest.raises(
        MigrationFailed, match="canceling statement due to statement timeout"
    ) as info:
        runner.apply_migrations(
            project.config, target_url, settings=runner.RunSettings(statement_timeout="200ms")
        )
    assert info.value.error.statement == "SELECT pg_sleep(5)"
    with pytest.raises(UsageError, match="--lock-timeout 'soon'"):
        runner.apply_migrations(
            project.config, target_url, settings=runner.RunSettings(lock_timeout="soon")
        )
    assert _tables(target_url) == set()


def test_baseline_adopts_a_database_that_matches(
    project: Project, target_url: str, dev_url: str
) -> None:
    _three(project)
    _query(
        target_url, "CREATE TABLE a (id int); CREATE TABLE b (id int)"
    )  # built by hand, = 0001..0002
    with pytest.raises(IntegrityError, match=r"does not match migrations 0001..0003") as info:
        bookkeeping.baseline(project.config.with_overrides(dev_url), target_url, 3)
    assert any("c" in line for line in info.value.detail)
    result = bookkeeping.baseline(project.config.with_overrides(dev_url), target_url, "0002")
    assert result.recorded == ["0001_a", "0002_b"] and not result.forced
    st = status.get_migration_status(project.config, target_url)
    assert [m.state for m in st.migrations] == ["baseline", "baseline", "pending"]
    assert [s.name for s in runner.apply_migrations(project.config, target_url).steps] == ["0003_c"]
    with pytest.raises(IntegrityError, match="already has migrations recorded"):
        bookkeeping.baseline(project.config.with_overrides(dev_url), target_url, 1)


def test_baseline_force_records_despite_differences(
    project: Project, target_url: str, dev_url: str
) -> None:
    _three(project)
    result = bookkeeping.baseline(project.config.with_overrides(dev_url), target_url, 1, force=True)
    assert result.forced and result.differences
    assert _query(target_url, "SELECT action, status FROM schemactl.history") == [
        ("baseline", "forced")
    ]


def test_ledger_from_a_newer_release_or_a_foreign_schema_is_refused(
    project: Project, target_url: str
) -> None:
    project.migration(1, "a", "CREATE TABLE a (id int);\n")
    _query(target_url, "CREATE SCHEMA schemactl; CREATE TABLE schemactl.stuff (x int)")
    with pytest.raises(
        IntegrityError, match="exists in this database but is not a schemactl ledger"
    ):
        runner.apply_migrations(project.config, target_url)
    _query(target_url, "DROP SCHEMA schemactl CASCADE")
    runner.apply_migrations(project.config, target_url)
    _query(target_url, "INSERT INTO schemactl.ledger_version (version) VALUES (99)")
    with pytest.raises(IntegrityError, match="newer than this schemactl"):
        status.get_migration_status(project.config, target_url)


def test_resolve_database_precedence(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    project.write_config('[environments.staging]\nurl = "postgresql://u@staging/app"\n')
    config = project.config
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@generic/app")
    assert config.database_url(None, None) == "postgresql://u@generic/app"
    monkeypatch.setenv("SCHEMACTL_DATABASE_URL", "postgresql://u@own/app")
    assert config.database_url(None, None) == "postgresql://u@own/app"
    assert config.database_url(None, "staging") == "postgresql://u@staging/app"
    assert config.database_url("postgresql://u@flag/app", "staging") == "postgresql://u@flag/app"
    monkeypatch.delenv("SCHEMACTL_DATABASE_URL")
    monkeypatch.delenv("DATABASE_URL")
    with pytest.raises(ConfigError, match="no database given"):
        config.database_url(None, None)


def test_rollback_refuses_an_empty_down_file_of_a_real_change(
    project: Project, target_url: str
) -> None:
    project.migration(1, "a", "CREATE TABLE a (id int);\n", "-- nothing here\n")
    project.migration(2, "noop", "-- a placeholder\n", "")
    runner.apply_migrations(project.config, target_url)
    assert (
        runner.rollback_migrations(project.config, target_url, steps=1).current_version == 1
    )  # empty both ways: fine
    with pytest.raises(
        IntegrityError,
        match=r"0001_a cannot be rolled back: generated/0001_a.down.sql has no statements",
    ):
        runner.rollback_migrations(project.config, target_url, steps=1)
    assert status.get_migration_status(project.config, target_url).current_version == 1


def test_custom_tracking_schema_is_used_and_ignored_by_diff(
    project: Project, target_url: str, dev_url: str
) -> None:
    from schemactl import api

    project.write_config('tracking_schema = "ops_ledger"\n')
    project.schema("tables.sql", "CREATE TABLE a (id int);\n")
    api.diff(project.config.with_overrides(dev_url), "init")
    runner.apply_migrations(project.config, target_url)
    assert _query(target_url, "SELECT version, state FROM ops_ledger.migrations") == [
        (1, "applied")
    ]
    assert _query(target_url, "SELECT to_regnamespace('schemactl')") == [(None,)]
    # The ledger is not part of the schema: the live database is in sync with schemas/.
    assert api.drift(project.config.with_overrides(dev_url), target_url).sql == ""


def test_a_version_1_ledger_is_read_as_it_is_and_upgraded_by_apply(
    project: Project, target_url: str
) -> None:
    from importlib import resources

    _three(project)
    v1 = resources.files("schemactl").joinpath("sql/ledger_v1.sql").read_text("utf-8")
    first = next(iter(status.read_files(project.config).values()))
    _query(
        target_url,
        "CREATE SCHEMA schemactl; SET search_path TO schemactl;"
        + v1
        + "INSERT INTO ledger_version (version) VALUES (1);"
        f"INSERT INTO migrations (version, name, checksum, state) VALUES"
        f" (1, '0001_a', '{first.checksum}', 'applied');"
        "RESET search_path; CREATE TABLE a (id int);",
    )
    # status changes nothing, so it reads the old tables as they are
    st = status.get_migration_status(project.config, target_url)
    assert [m.state for m in st.migrations] == ["applied", "pending", "pending"]
    assert _query(target_url, "SELECT max(version) FROM schemactl.ledger_version") == [(1,)]
    assert runner.apply_migrations(project.config, target_url).current_version == 3
    assert _query(target_url, "SELECT max(version) FROM schemactl.ledger_version") == [
        (3,)
    ]  # the newest: v2 (resume_part), v3 (push)
    assert _query(target_url, "SELECT version, resume_part FROM schemactl.migrations") == [
        (1, None),
        (2, None),
        (3, None),
    ]
