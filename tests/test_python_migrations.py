"""Python migrations (`NNNN_slug.py`) beside SQL pairs, through the real CLI against real
servers: applied, rolled back and replayed like SQL, with their settings, checks and errors."""

from __future__ import annotations

import contextlib
import json
import signal
import textwrap
from pathlib import Path

import pytest

from schemactl.scratch import pgserver

from .conftest import Project, until_a_lock_wait_gives_up, wait_for_query
from .conftest import popen_cli as _popen
from .conftest import query as _query

USERS = "CREATE TABLE users (id int PRIMARY KEY, first text NOT NULL, last text NOT NULL);\n"
BACKFILL = '''
"""Fill in display names from first and last names."""


def up(conn, environment):
    conn.log(f"backfilling in {environment}")
    conn.batches(
        "UPDATE users SET display_name = first || ' ' || last"
        " WHERE id IN (SELECT id FROM users WHERE display_name IS NULL LIMIT %(batch)s)",
        size=2,
        total="SELECT count(*) FROM users WHERE display_name IS NULL",
        label="display names",
    )


def down(conn, environment):
    conn.execute("UPDATE users SET display_name = NULL")


def check_after(conn, environment):
    missing = conn.scalar("SELECT count(*) FROM users WHERE display_name IS NULL")
    assert missing == 0, f"{missing} users have no display name"
'''


def _module(doc: str, up: str, rest: str = "") -> str:
    """A Python migration whose down does nothing."""
    body = textwrap.indent(textwrap.dedent(up).strip(), "    ")
    return (
        f'"""{doc}"""\n{rest}\n\ndef up(conn, environment):\n{body}\n\n\n'
        "def down(conn, environment):\n    pass\n"
    )


def _python(project: Project, version: int, slug: str, text: str) -> Path:
    path = project.root / "generated" / f"{version:04d}_{slug}.py"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _mixed(project: Project) -> None:
    """0001 users (SQL), 0002 display_name (SQL), 0003 the backfill (Python), 0004 NOT NULL."""
    project.migration(1, "users", USERS, "DROP TABLE users;\n")
    project.migration(
        2,
        "display",
        "ALTER TABLE users ADD COLUMN display_name text;\n",
        "ALTER TABLE users DROP COLUMN display_name;\n",
    )
    _python(project, 3, "backfill", BACKFILL)
    project.migration(
        4,
        "required",
        "ALTER TABLE users ALTER display_name SET NOT NULL;\n",
        "ALTER TABLE users ALTER display_name DROP NOT NULL;\n",
    )
    assert project.cli("rehash").returncode == 0
    project.schema(
        "schema.sql", USERS.replace("NOT NULL);", "NOT NULL, display_name text NOT NULL);")
    )


def _names(url: str) -> list[tuple]:
    return _query(url, "SELECT id, first, last, display_name FROM users ORDER BY id")


def test_a_backfill_between_sql_migrations_applies_rolls_back_and_applies_again(
    project: Project, target_url: str, dev_url: str
) -> None:
    _mixed(project)
    assert project.cli("apply", "--db", target_url, "--target", "2").returncode == 0
    _query(
        target_url,
        "INSERT INTO users (id, first, last) VALUES"
        + ", ".join(f" ({i}, 'Ada{i}', 'Lovelace')" for i in range(1, 6)),
    )
    r = project.cli("apply", "--db", target_url, "--dry-run")
    assert "# Python migration generated/0003_backfill.py" in r.stdout
    assert '"""Fill in display names from first and last names."""' in r.stdout
    assert _names(target_url)[0][3] is None  # a dry run runs nothing
    r = project.cli("apply", "--db", target_url, "--env", "local")
    assert r.returncode == 0, r.stderr
    assert "backfilling in local" in r.stderr and "display names: 5 of 5" in r.stderr
    full = [(i, f"Ada{i}", "Lovelace", f"Ada{i} Lovelace") for i in range(1, 6)]
    assert _names(target_url) == full
    doc = json.loads(project.cli("status", "--db", target_url, "--format", "json").stdout)
    assert [(m["name"], m["kind"], m["state"]) for m in doc["migrations"]] == [
        ("0001_users", "sql", "applied"),
        ("0002_display", "sql", "applied"),
        ("0003_backfill", "python", "applied"),
        ("0004_required", "sql", "applied"),
    ]
    r = project.cli("rollback", "--db", target_url, "--target", "2")
    assert r.returncode == 0, r.stderr
    assert _names(target_url) == [(i, f, last, None) for i, f, last, _ in full]
    assert project.cli("apply", "--db", target_url).returncode == 0
    assert _names(target_url) == full
    # The scratch replay runs the Python migration too (on an empty table): check agrees.
    r = project.cli("--dev-url", dev_url, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not list((project.root / "generated").rglob("__pycache__"))


def test_an_irreversible_migration_refuses_rollback_and_says_which(
    project: Project, target_url: str
) -> None:
    project.migration(1, "users", USERS, "DROP TABLE users;\n")
    _python(
        project,
        2,
        "split",
        '''
        """Move names into another table, for good."""
        reversible = False


        def up(conn, environment):
            conn.execute("CREATE TABLE names AS SELECT id, first FROM users")
        ''',
    )
    project.migration(3, "later", "CREATE TABLE later (id int);\n", "DROP TABLE later;\n")
    assert project.cli("rehash").returncode == 0
    assert project.cli("apply", "--db", target_url).returncode == 0
    r = project.cli("status", "--db", target_url)
    assert "split  (python)  (irreversible)" in r.stdout
    for dry in ([], ["--dry-run"]):
        r = project.cli("rollback", "--db", target_url, "--target", "0", *dry)
        assert r.returncode == 5, r.stderr
        assert "error: 0002_split cannot be rolled back: generated/0002_split.py says" in r.stderr
        assert "--target 0002" in r.stderr
    # Nothing ran: 0003, the newest, was not rolled back either.
    assert _query(target_url, "SELECT to_regclass('later') IS NOT NULL") == [(True,)]
    assert project.cli("rollback", "--db", target_url, "--steps", "1").returncode == 0


def test_a_failing_check_after_rolls_the_migration_back_and_is_in_the_history(
    project: Project, target_url: str
) -> None:
    project.migration(1, "users", USERS + "INSERT INTO users VALUES (1, 'A', 'B');\n", "")
    _python(
        project,
        2,
        "shout",
        _module("Upper-case every name.", 'conn.execute("UPDATE users SET first = upper(first)")')
        + "\n\ndef check_after(conn, environment):\n"
        "    return conn.scalar(\"SELECT count(*) FROM users WHERE first = 'NOBODY'\") > 0\n",
    )
    assert project.cli("rehash").returncode == 0
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 8, r.stderr
    assert (
        "error: apply of 0002_shout failed: generated/0002_shout.py: check_after returned False"
        in r.stderr
    )
    assert "Traceback" not in r.stderr
    assert _query(target_url, "SELECT first FROM users") == [("A",)]  # rolled back
    assert _query(target_url, "SELECT version, status FROM schemactl.history ORDER BY id") == [
        (1, "ok"),
        (2, "failed"),
    ]


def test_an_exception_names_the_line_and_the_statement(project: Project, target_url: str) -> None:
    project.migration(1, "users", USERS, "DROP TABLE users;\n")
    path = _python(
        project,
        2,
        "broken",
        _module("A typo in a column name.", "conn.execute(\"UPDATE users SET frist = 'x'\")"),
    )
    assert project.cli("rehash").returncode == 0
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 8
    assert (
        'error: apply of 0002_broken failed: generated/0002_broken.py:5: column "frist" of '
        'relation "users" does not exist' in r.stderr
    )
    assert "failing statement: UPDATE users SET frist = 'x'" in r.stderr
    assert "Traceback" not in r.stderr
    path.write_text(
        path.read_text().replace("conn.execute(\"UPDATE users SET frist = 'x'\")", "1 / 0")
    )
    r = project.cli("apply", "--db", target_url, env={"SCHEMACTL_DEBUG": "1"})
    assert "generated/0002_broken.py:5: ZeroDivisionError: division by zero" in r.stderr
    assert "Traceback" in r.stderr  # the migration's own, for its author
    path.write_text('"""No up."""\nreversible = maybe()\n')
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 8
    assert "error: generated/0002_broken.py:2: `reversible` must be a literal" in r.stderr


def test_an_edited_applied_python_migration_is_refused(
    project: Project, target_url: str, dev_url: str
) -> None:
    project.migration(1, "users", USERS, "DROP TABLE users;\n")
    project.schema("schema.sql", USERS)
    path = _python(
        project,
        2,
        "noop",
        '"""Nothing."""\n\n\ndef up(conn, environment):\n    pass\n\n\n'
        "def down(conn, environment):\n    pass\n",
    )
    assert project.cli("rehash").returncode == 0
    assert project.cli("apply", "--db", target_url).returncode == 0
    path.write_text(path.read_text() + "# an edit\n")
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 5
    assert "applied migration 0002_noop changed since it was applied" in r.stderr
    r = project.cli("--dev-url", dev_url, "check")
    assert (
        r.returncode == 1
        and "0002_noop.py was edited after it was generated" in r.stdout + r.stderr
    )


def test_a_non_transactional_batch_migration_killed_midway_is_partial(
    project: Project, target_url: str
) -> None:
    project.migration(
        1,
        "jobs",
        "CREATE TABLE jobs (id int PRIMARY KEY, done bool NOT NULL DEFAULT false);\n"
        "INSERT INTO jobs (id) SELECT generate_series(1, 40);\n",
        "DROP TABLE jobs;\n",
    )
    _python(
        project,
        2,
        "finish_jobs",
        '''
        """Mark every job done, one batch at a time."""
        transactional = False


        def up(conn, environment):
            conn.batches(
                "UPDATE jobs SET done = true FROM pg_sleep(0.1)"
                " WHERE id IN (SELECT id FROM jobs WHERE NOT done LIMIT %(batch)s)",
                size=1,
            )


        def down(conn, environment):
            conn.execute("UPDATE jobs SET done = false")
        ''',
    )
    assert project.cli("rehash").returncode == 0
    assert project.cli("apply", "--db", target_url, "--target", "1").returncode == 0
    p = _popen(project, "apply", "--db", target_url)
    wait_for_query(target_url, "SELECT 1 FROM jobs WHERE done HAVING count(*) >= 3", p)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=30)
    done = _query(target_url, "SELECT count(*) FROM jobs WHERE done")[0][0]
    assert 3 <= done < 40  # the batches that committed stay
    doc = json.loads(project.cli("status", "--db", target_url, "--format", "json").stdout)
    assert [m["state"] for m in doc["migrations"]] == ["applied", "partial"]
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 5 and "0002_finish_jobs did not run in one transaction" in r.stderr


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_rolls_a_python_migration_back(
    project: Project, target_url: str, sig: int, code: int
) -> None:
    project.migration(1, "users", USERS, "DROP TABLE users;\n")
    _python(
        project,
        2,
        "slow",
        _module(
            "Insert, then wait.",
            """
            conn.execute("INSERT INTO users VALUES (1, 'A', 'B')")
            conn.execute("SELECT pg_sleep(60)")
            """,
        ),
    )
    assert project.cli("rehash").returncode == 0
    assert project.cli("apply", "--db", target_url, "--target", "1").returncode == 0
    p = _popen(project, "apply", "--db", target_url)
    wait_for_query(
        target_url, "SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'", p, 30
    )
    p.send_signal(sig)
    _, err = p.communicate(timeout=30)
    assert p.returncode == code, err
    assert "Traceback" not in err
    assert _query(target_url, "SELECT count(*) FROM users") == [(0,)]
    assert _query(target_url, "SELECT version, status FROM schemactl.history ORDER BY id") == [
        (1, "ok"),
        (2, "interrupted"),
    ]
    doc = json.loads(project.cli("status", "--db", target_url, "--format", "json").stdout)
    assert [m["state"] for m in doc["migrations"]] == ["applied", "failed"]


def test_a_schema_change_made_in_python_but_not_in_schemas_is_drift(
    project: Project, dev_url: str
) -> None:
    project.migration(1, "users", USERS, "DROP TABLE users;\n")
    project.schema("schema.sql", USERS)
    _python(
        project,
        2,
        "audit",
        _module("An audit table, made in code.", 'conn.execute("CREATE TABLE audit (id int)")'),
    )
    assert project.cli("rehash").returncode == 0
    r = project.cli("--dev-url", dev_url, "check")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "audit" in r.stdout + r.stderr
    project.schema("schema.sql", USERS + "CREATE TABLE audit (id int);\n")
    r = project.cli("--dev-url", dev_url, "check")
    assert r.returncode == 0, r.stdout + r.stderr


def test_retry_on_lock_retries_a_transactional_python_migration_only(
    project: Project, target_url: str, server: pgserver.EphemeralServer, database: str
) -> None:
    project.migration(1, "users", USERS, "DROP TABLE users;\n")
    for version, setting in ((2, ""), (3, "transactional = False\n")):
        _python(
            project,
            version,
            f"lock{version}",
            _module(
                "Waits for the table.",
                f"""
                conn.execute("INSERT INTO users VALUES ({version}, 'A', 'B')")
                conn.execute("SET lock_timeout = '200ms'")
                conn.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
                """,
                setting,
            ),
        )
    assert project.cli("rehash").returncode == 0
    assert project.cli("apply", "--db", target_url, "--target", "1").returncode == 0
    with contextlib.closing(server.connect(database, autocommit=False)) as reader:
        with reader.cursor() as cur:
            cur.execute("LOCK TABLE users IN ACCESS SHARE MODE")
        p = _popen(project, "apply", "--db", target_url, "--target", "2", "--retry-on-lock", "3")
        until_a_lock_wait_gives_up(target_url, "LOCK TABLE users IN ACCESS EXCLUSIVE%", p)
        reader.rollback()
        _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err  # rolled back and run again: one row, not two
    assert "retry 1 of 3" in err
    assert _query(target_url, "SELECT id FROM users") == [(2,)]
    with contextlib.closing(server.connect(database, autocommit=False)) as reader:
        with reader.cursor() as cur:
            cur.execute("LOCK TABLE users IN ACCESS SHARE MODE")
        r = project.cli("apply", "--db", target_url, "--retry-on-lock", "3")
        reader.rollback()
    assert r.returncode == 8 and "retry" not in r.stderr.replace("--retry-on-lock", "")
    assert _query(target_url, "SELECT id FROM users ORDER BY id") == [(2,), (3,)]  # it stays
    doc = json.loads(project.cli("status", "--db", target_url, "--format", "json").stdout)
    assert [m["state"] for m in doc["migrations"]] == ["applied", "applied", "partial"]
