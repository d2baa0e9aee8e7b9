"""Defects a new user hits on the first day (issue 13), each through the real command line."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from .conftest import Project, needs_extension, url_of
from .conftest import query as _query

REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ 1. empty files ----


def test_files_without_statements_are_files_without_statements(
    project: Project, server, database: str
) -> None:
    project.schema("schema.sql", "-- the schema lives in tables/\n/* nothing here yet */\n")
    project.schema("empty.sql", "")
    for args in (["diff", "--print"], ["check"]):
        r = project.cli(*args)
        assert r.returncode == 0, r.stderr
        assert "empty query" not in r.stderr
    project.schema("tables/t.sql", "create table t (id int);\n")
    r = project.cli("diff", "-m", "create from nothing")
    assert r.returncode == 0 and "verified: up reaches schemas/" in r.stderr, r.stderr
    assert project.cli("new", "-m", "data").returncode == 0  # an empty hand-written pair
    for args in (["diff", "--print"], ["check"]):
        r = project.cli(*args)
        assert r.returncode == 0 and "empty query" not in r.stderr, r.stderr
    url = url_of(server, database)
    r = project.cli("apply", "--db", url)
    assert r.returncode == 0, r.stderr
    assert (
        "warning: generated/0002_data.up.sql has no statements: 0002_data is recorded as applied"
        in r.stderr
    )
    assert _query(url, "SELECT version, state FROM schemactl.migrations ORDER BY 1") == [
        (1, "applied"),
        (2, "applied"),
    ]


# ------------------------------------------------------------------ 16-18. run reports ----


def test_run_reports_say_where_the_database_stands(project: Project, server, database: str) -> None:
    url = url_of(server, database, password="hunter2")
    project.migration(1, "a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")
    project.migration(2, "b", "CREATE TABLE b (id int);\nSELECT 1/0;\n", "DROP TABLE b;\n")
    r = project.cli("apply", "--db", url, "--format", "json")
    assert r.returncode == 8
    data = json.loads(r.stdout)
    assert data["ok"] is False and data["dry_run"] is False and data["current"] == "0001_a"
    assert data["database"].startswith("postgresql://postgres:***@/") and "hunter2" not in r.stdout
    assert data["error"]["line"] == 2 and [s["name"] for s in data["steps"]] == ["0001_a"]
    project.migration(2, "b", "CREATE TABLE b (id int);\n", "DROP TABLE b;\nSELECT 1/0;\n")
    assert project.cli("apply", "--db", url).returncode == 0
    r = project.cli("rollback", "--db", url, "--steps", "1")
    assert r.returncode == 8
    assert (
        "nothing of the failed rollback of 0002_b was kept (its transaction was rolled back): "
        "the database is still at 0002"
    ) in r.stderr
    assert "was rolled back; the database is at" not in r.stderr
    r = project.cli("rollback", "--db", url, "--steps", "1", "--target", "1")
    assert r.returncode == 2
    assert (
        r.stderr.splitlines()[0]
        == "error: --steps 1 and --target 1 both say how far to roll back: use only one"
    )
    project.migration(2, "b", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n")
    assert project.cli("repair", "--db", url).returncode == 0
    r = project.cli("rollback", "--db", url, "--target", "0")
    assert (
        r.returncode == 0
        and "done: 2 migration(s); the database has no migration applied" in r.stderr
    ), r.stderr
    r = project.cli("status", "--db", url)
    assert ": no migration applied, 2 pending" in r.stderr


# ------------------------------------------------------------------ 10. setuptools ----

_WITHOUT_PKG_RESOURCES = """
import sys, runpy
class NoPkgResources:  # what setuptools >= 81, or no setuptools at all, looks like
    def find_spec(self, name, path=None, target=None):
        if name == "pkg_resources" or name.startswith("pkg_resources."):
            raise ModuleNotFoundError("No module named 'pkg_resources'", name=name)
sys.meta_path.insert(0, NoPkgResources())
sys.argv = ["schemactl", *sys.argv[1:]]
runpy.run_module("schemactl", run_name="__main__")
"""


def test_works_without_pkg_resources_and_never_imports_it(project: Project) -> None:
    project.schema("t.sql", "create table t (id int);\n")
    r = subprocess.run(
        [sys.executable, "-W", "error", "-c", _WITHOUT_PKG_RESOURCES, "diff", "-m", "t"],
        check=False,
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "verified" in r.stderr and "Warning" not in r.stderr and "pkg_resources" not in r.stderr
    probe = (
        "import sys; from schemactl.engine import upstream; upstream.load(); import migra; "
        "print('pkg_resources' in sys.modules)"
    )
    r = subprocess.run(
        [sys.executable, "-W", "error", "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


# ------------------------------------------------------------------ 2-3. type changes ----

_BEFORE = """
create domain positive as int check (value > 0);
create table t (
  id int primary key, name text, n int, code varchar(32), label varchar(20), note varchar,
  amount numeric(10,2), qty numeric(6,0), at timestamp(6), ratio float8, score int, tags text[],
  small int, fixed char(36), pad varchar(4), cut char(10)
);
"""
_AFTER = """
create domain positive as int check (value > 0);
create table t (
  id int primary key, name varchar(5), n bigint, code varchar(39), label text, note text,
  amount numeric(10,0), qty integer, at timestamp(0), ratio int, score numeric(4,1),
  tags varchar(3)[], small positive, fixed varchar(36), pad char(10), cut char(4)
);
"""
# column -> (lose data: refused, may fail: warned, neither: lossless); the reason's words
_EXPECTED = {
    '"name"': ("may-fail", "values longer than 5 characters make the migration fail"),
    '"n"': ("lossless", ""),
    '"code"': ("lossless", ""),
    '"label"': ("lossless", ""),
    '"note"': ("lossless", ""),
    '"amount"': ("loses-data", "fractions are rounded to whole numbers"),
    '"qty"': ("lossless", ""),
    '"at"': ("loses-data", "values are rounded to whole seconds"),
    '"ratio"': ("loses-data", "fractions are rounded to whole numbers"),
    '"score"': ("may-fail", "values of 10^3 or more make the migration fail"),
    '"tags"': ("may-fail", "values longer than 3 characters make the migration fail"),
    '"small"': ("may-fail", "values that domain public.positive rejects make the migration fail"),
    # char(n) drops its padding blanks on the way to varchar: nothing can be too long
    '"fixed"': ("lossless", ""),
    '"pad"': ("lossless", ""),
    '"cut"': (
        "may-fail",
        "values longer than 4 characters make the migration fail, unless only blanks follow the "
        "4th (those are cut)",
    ),
}


def test_type_changes_are_classified_from_postgresql_casts_and_modifiers(
    project: Project, dev_url: str
) -> None:
    from schemactl import api

    project.schema("t.sql", _BEFORE)
    api.diff(project.config.with_overrides(dev_url), "base")
    project.schema("t.sql", _AFTER)
    result = api.diff(project.config.with_overrides(dev_url), None, print_only=True)
    assert result.verified, result.problems
    found = {}
    for effect, hazards in (("loses-data", result.destructive), ("may-fail", result.may_fail)):
        for h in hazards:
            head, words = h.reason.split(": ", 1)
            found[head.removeprefix("changes the type of column ").split(" of ")[0]] = (
                effect,
                words,
            )
    for column, (effect, words) in _EXPECTED.items():
        got = found.get(column, ("lossless", ""))
        assert got[0] == effect and words in got[1], (column, got)
    # The explicit cast migra writes truncates; only a conversion PostgreSQL has no
    # implicit or assignment cast for keeps a USING clause.
    assert " using " not in result.up_sql


def test_type_changes_on_real_rows(project: Project, server, database: str) -> None:
    url = url_of(server, database)
    project.schema(
        "t.sql", "create table t (name text, n int, code varchar(32), amount numeric(10,2));\n"
    )
    assert project.cli("diff", "-m", "base").returncode == 0
    assert project.cli("apply", "--db", url).returncode == 0
    _query(url, "INSERT INTO t VALUES ('abcdefghij', 2147483647, repeat('x', 32), 12.34)")
    # lossless: no prompt, no warning, every value kept
    project.schema(
        "t.sql", "create table t (name text, n bigint, code varchar(39), amount numeric(12,2));\n"
    )
    r = project.cli("diff", "-m", "widen")
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    assert project.cli("apply", "--db", url).returncode == 0
    assert _query(url, "SELECT * FROM t")[0][1:] == (2147483647, "x" * 32, Decimal("12.34"))
    # may fail: written with a warning; on a longer value the migration fails and keeps the row
    project.schema(
        "t.sql",
        "create table t (name varchar(5), n bigint, code varchar(39), amount numeric(12,2));\n",
    )
    r = project.cli("diff", "-m", "narrow")
    assert r.returncode == 0, r.stderr
    assert (
        'warning: changes the type of column "name" of "public"."t": values longer than 5 '
        "characters make the migration fail, unless only blanks follow the 5th (those are cut) "
        "(then nothing is changed)"
    ) in r.stderr
    up = (project.root / "generated" / "0003_narrow.up.sql").read_text()
    assert "-- Can fail on existing rows (then nothing is changed):" in up and " using " not in up
    r = project.cli("apply", "--db", url)
    assert r.returncode == 8 and "value too long for type character varying(5)" in r.stderr, (
        r.stderr
    )
    assert _query(url, "SELECT name FROM t") == [("abcdefghij",)]  # not 'abcde'
    # loses data: refused until asked for
    project.schema(
        "t.sql", "create table t (name text, n bigint, code varchar(39), amount numeric(12,0));\n"
    )
    (project.root / "generated" / "0003_narrow.up.sql").unlink()
    (project.root / "generated" / "0003_narrow.down.sql").unlink()
    assert project.cli("rehash").returncode == 0
    r = project.cli("diff", "-m", "round")
    assert r.returncode == 3, r.stderr
    assert (
        'changes the type of column "amount" of "public"."t": fractions are rounded to whole '
        "numbers" in r.stderr
    )
    # ... and that is what happens to the row once it is asked for
    assert project.cli("diff", "-m", "round", "--allow-destructive").returncode == 0
    assert project.cli("apply", "--db", url).returncode == 0
    assert _query(url, "SELECT amount FROM t") == [(Decimal(12),)]


# ------------------------------------------------------------------ 9. drift ----


def test_drift_exits_1_and_names_what_would_lose_data(
    project: Project, server, database: str
) -> None:
    url = url_of(server, database)
    _query(url, "CREATE TABLE t (id int, gone text, amount numeric(8,2), name text)")
    project.schema("t.sql", "create table t (id int, amount numeric(8,0), name varchar(3));\n")
    r = project.cli("diff", "--db", url)
    assert r.returncode == 1, r.stderr
    assert 'alter table "public"."t" drop column "gone"' in r.stdout
    assert 'warning: drops column "gone" of "public"."t"' in r.stderr
    assert (
        'warning: changes the type of column "amount" of "public"."t": fractions are rounded'
        in r.stderr
    )
    assert (
        'warning: changes the type of column "name" of "public"."t": values longer than 3 '
        "characters make the migration fail, unless only blanks follow the 3rd (those are cut) "
        "(then nothing is changed)"
    ) in r.stderr
    r = project.cli("diff", "--db", url, "--format", "json")
    data = json.loads(r.stdout)
    assert r.returncode == 1 and data["status"] == "drift"
    assert sorted((d["reason"].split(":")[0], d["loses_data"]) for d in data["destructive"]) == [
        ('changes the type of column "amount" of "public"."t"', True),
        ('changes the type of column "name" of "public"."t"', False),
        ('drops column "gone" of "public"."t"', True),
    ]
    project.schema("t.sql", "create table t (id int, gone text, amount numeric(8,2), name text);\n")
    r = project.cli("diff", "--db", url, "--format", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "no-changes"


# ------------------------------------------------------------------ 4. secrets ----


def test_every_connection_string_form_is_masked_everywhere(
    project: Project, password_server
) -> None:
    import urllib.parse
    import uuid

    token = uuid.uuid4().hex  # appears nowhere else: any occurrence is a leak
    secret = f"pw {token} it's"  # a space and a quote: libpq's key=value form must quote it
    with contextlib.closing(password_server.connect("postgres")) as conn, conn.cursor() as cur:
        cur.execute("CREATE ROLE owner LOGIN PASSWORD %s", (secret,))
        cur.execute("CREATE DATABASE app OWNER owner")
    p = password_server.conn_params("postgres")
    host, port, enc = p["host"], p["port"], urllib.parse.quote(secret, safe="")
    kv_secret = "'" + secret.replace("\\", "\\\\").replace("'", "\\'") + "'"
    forms = {
        "url": (f"postgresql://owner:{enc}@/app?host={host}&port={port}", {}),
        "url-param": (f"postgresql://owner@/app?host={host}&port={port}&password={enc}", {}),
        "key=value": (f"host={host} port={port} dbname=app user=owner password={kv_secret}", {}),
        "key = value": (
            f"host={host} port={port} dbname = app user=owner password = {kv_secret}",
            {},
        ),
        "PGPASSWORD": (f"host={host} port={port} dbname=app user=owner", {"PGPASSWORD": secret}),
    }
    project.schema("t.sql", "create table t (id int);\n")
    assert project.cli("diff", "-m", "base").returncode == 0
    for form, (url, env) in forms.items():
        missing = (
            url.replace("dbname=app", "dbname=missing")
            .replace("dbname = app", "dbname=missing")
            .replace("/app?", "/missing?")
        )
        runs = {
            "apply --dry-run": project.cli("apply", "--db", url, "--dry-run", env=env),
            "apply --dry-run json": project.cli(
                "apply", "--db", url, "--dry-run", "--format", "json", env=env
            ),
            "status": project.cli("status", "--db", url, env=env),
            "status json": project.cli("status", "--db", url, "--format", "json", env=env),
            "diff --db": project.cli("diff", "--db", url, env=env),
            "cannot connect": project.cli("status", "--db", missing, env=env),
        }
        for name, r in runs.items():
            assert r.returncode == (
                7 if name == "cannot connect" else 1 if name == "diff --db" else 0
            ), (form, name, r.stderr)
            assert token not in r.stdout + r.stderr, f"{form}: the password leaked in {name}"
        shown = (
            runs["status"].stderr
            + runs["cannot connect"].stderr
            + json.loads(runs["status json"].stdout)["database"]
        )
        if form != "PGPASSWORD":
            assert "***" in shown, (form, shown)  # masked, not dropped
        assert "host=" in shown or "postgresql://owner" in shown


def test_interpolated_secrets_are_encoded_for_where_they_stand_and_never_printed(
    project: Project, password_server
) -> None:
    import uuid

    token = uuid.uuid4().hex[:12]
    # Every character with a meaning in a URL or a key=value string, and the piece after an
    # '@' that libpq, given it unencoded, took for a host name and printed.
    secret = f"Tr0ub4dor@{token} /:?#%'x"
    with contextlib.closing(password_server.connect("postgres")) as conn, conn.cursor() as cur:
        cur.execute("CREATE ROLE owner LOGIN PASSWORD %s", (secret,))
        cur.execute("CREATE DATABASE app OWNER owner")
    p = password_server.conn_params("postgres")
    env = {"DB_PASSWORD": secret, "DB_HOST": p["host"]}
    forms = {
        "url": "postgresql://owner:${DB_PASSWORD}@/app?host=${DB_HOST}&port=" + str(p["port"]),
        "query": "postgresql://owner@/app?host=${DB_HOST}&password=${DB_PASSWORD}&port="
        + str(p["port"]),
        "key=value": f"host=${{DB_HOST}} port={p['port']} dbname=app user=owner "
        "password=${DB_PASSWORD}",
    }
    project.schema("t.sql", "create table t (id int);\n")
    assert project.cli("diff", "-m", "base").returncode == 0
    for form, url in forms.items():
        project.write_config(f"[environments.prod]\nurl = {json.dumps(url)}\n")
        runs = {
            "apply": project.cli("apply", "--env", "prod", env=env),
            "status": project.cli("status", "--env", "prod", env=env),
            "status json": project.cli("status", "--env", "prod", "--format", "json", env=env),
            "history": project.cli("history", "--env", "prod", env=env),
            "diff --env": project.cli("diff", "--env", "prod", env=env),
            "rollback": project.cli("rollback", "--env", "prod", "--steps", "1", env=env),
            "wrong password": project.cli(
                "status", "--env", "prod", env={**env, "DB_PASSWORD": secret + "@nope"}
            ),
        }
        for name, r in runs.items():
            want = {"diff --env": 0, "wrong password": 7}.get(name, 0)
            assert r.returncode == want, (form, name, r.stderr)
            assert token not in r.stdout + r.stderr, f"{form}: the password leaked in {name}"
        assert "password authentication failed" in runs["wrong password"].stderr

    # Unquoted key=value on the command line: the words after --db's are not echoed in clear.
    r = project.cli("status", "--db", f"host={p['host']}", f"password={token}", "dbname=app")
    assert r.returncode == 2 and token not in r.stderr, r.stderr
    assert "hint: quote a key=value connection string as one argument" in r.stderr


# ------------------------------------------------------------------ 5-6. error positions ----


def test_the_file_at_fault_is_blamed_not_the_one_that_needs_it(project: Project) -> None:
    project.schema("a.sql", "create view a as select * from b;\n")
    project.schema("b.sql", "-- b holds the kinds\ncreate table b (id int, kind kindd);\n")
    r = project.cli("diff", "--print")
    assert r.returncode == 8
    lines = r.stderr.splitlines()
    assert lines[0] == 'error: schemas/b.sql:2:30: type "kindd" does not exist'
    assert (
        '  also failed (likely because of this): schemas/a.sql:1:32: relation "b" does not exist'
        in lines
    )


def test_positions_point_at_the_statement_not_the_comments_before_it(
    project: Project, target_url: str
) -> None:
    header = "-- 0001_a (up)\n-- Generated by schemactl.\n/* a block\n   comment */\n"
    project.migration(
        1,
        "a",
        header + "CREATE TABLE a (id int);\n\n-- then\nALTER TABLE nowhere ADD COLUMN x int;\n",
    )
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 8
    assert r.stderr.splitlines()[0].endswith(
        'generated/0001_a.up.sql:8:1: relation "nowhere" does not exist'
    )
    project.migration(1, "a", header + "DROP TABLE a;\n")  # an error without a position
    assert project.cli("rehash").returncode == 0
    r = project.cli("apply", "--db", target_url, "--format", "json")
    error = json.loads(r.stdout)["error"]
    assert (error["line"], error["column"], error["statement"]) == (5, 1, "DROP TABLE a"), error
    r = project.cli("apply", "--db", target_url)
    assert (
        "     5 | DROP TABLE a;\n       | ^" in r.stderr
        and "failing statement: DROP TABLE a\n" in r.stderr
    ), r.stderr
    project.schema(
        "s.sql", "-- people\n-- (and more)\ncreate view v as select * from missing_table;\n"
    )
    r = project.cli("diff", "--print")
    assert (
        r.stderr.splitlines()[0]
        == 'error: schemas/s.sql:3:32: relation "missing_table" does not exist'
    )
    project.schema(
        "s.sql", "-- comment first\ncreate table t (id int);\ncomment on table nothere is 'x';\n"
    )
    r = project.cli("diff", "--print")
    assert (
        r.stderr.splitlines()[0] == 'error: schemas/s.sql:3:1: relation "nothere" does not exist'
    ), r.stderr


# ------------------------------------------------------------------ 7. UNVERIFIED files ----


def test_apply_refuses_unverified_files_unless_allowed(project: Project, target_url: str) -> None:
    project.schema(
        "t.sql",
        "create table t (id int);\ncreate text search configuration total (copy = simple);\n",
    )
    assert (
        project.cli("diff", "-m", "with search configuration").returncode == 4
    )  # written, marked UNVERIFIED
    for args in (["apply"], ["apply", "--dry-run"]):
        r = project.cli(*args, "--db", target_url)
        assert r.returncode == 4, r.stderr
        first = r.stderr.splitlines()[0]
        assert first.startswith(
            "error: generated/0001_with_search_configuration.up.sql is marked UNVERIFIED: "
            "up: TEXT SEARCH CONFIGURATION"
        )
        assert "--allow-unverified" in r.stderr
    assert _query(target_url, "SELECT count(*) FROM schemactl.migrations") == [(0,)]  # nothing ran
    r = project.cli("apply", "--db", target_url, "--allow-unverified")
    assert r.returncode == 0 and "applied 0001_with_search_configuration" in r.stderr, r.stderr
    r = project.cli("rollback", "--db", target_url, "--steps", "1")
    assert (
        r.returncode == 4
        and "0001_with_search_configuration.down.sql is marked UNVERIFIED" in r.stderr
    )
    assert (
        project.cli("rollback", "--db", target_url, "--steps", "1", "--allow-unverified").returncode
        == 0
    )


# ------------------------------------------------------------------ 8. verify ----


def test_verify_catches_a_hand_written_pair_whose_down_does_not_undo_its_up(
    project: Project,
) -> None:
    project.schema("t.sql", "create table t (id int);\n")
    assert project.cli("diff", "-m", "base").returncode == 0
    assert project.cli("new", "-m", "index").returncode == 0
    up, down = (project.root / "generated" / f"0002_index.{d}.sql" for d in ("up", "down"))
    up.write_text(up.read_text() + "CREATE INDEX t_id ON t (id);\n")  # and the down forgets it
    project.schema("t.sql", "create table t (id int);\ncreate index t_id on t (id);\n")
    r = project.cli("verify")
    assert r.returncode == 4, r.stderr
    assert "error: 0002_index does not verify (marked UNVERIFIED)" in r.stderr
    assert "down: INDEX public.t_id: unexpected" in r.stderr
    assert (
        "-- UNVERIFIED" in up.read_text()
        and "--   down: INDEX public.t_id: unexpected" in down.read_text()
    )
    assert project.cli("check", "--no-models").returncode == 0  # the sum took the edit
    down.write_text(down.read_text() + "DROP INDEX t_id;\n")
    r = project.cli("check", "--verify", "--no-models")
    assert (
        r.returncode == 1
        and "finding: verified again and rewrote the headers of 0002_index" in r.stderr
    ), r.stderr
    assert (
        "-- Verified with pg_dump on PostgreSQL " in up.read_text()
        and "-- UNVERIFIED" not in down.read_text()
    )
    r = project.cli("check", "--verify", "--no-models")  # nothing changed since: nothing to verify
    assert r.returncode == 0, r.stderr
    r = project.cli("verify", "1", "--format", "json")
    data = json.loads(r.stdout)
    assert r.returncode == 0 and [(p["version"], p["verified"]) for p in data["pairs"]] == [
        ("0001_base", True)
    ]
    assert project.cli("verify", "7").returncode == 2


# ------------------------------------------------------------------ 11. pre-commit ----


def _pre_commit(project: Project, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    identity = {
        f"GIT_{who}_{what}": value
        for who in ("AUTHOR", "COMMITTER")
        for what, value in (("NAME", "t"), ("EMAIL", "t@example.com"))
    }  # try-repo may commit
    env = {
        **os.environ,
        **identity,
        "PRE_COMMIT_HOME": str(home),
        "NO_COLOR": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=project.root,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _git(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=project.root,
        check=True,
        capture_output=True,
        text=True,
    )


def test_the_readme_pre_commit_snippet_and_the_hook_repository_work(
    project: Project, tmp_path: Path
) -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## CI and pre-commit") :]
    snippet = section[
        section.index("```yaml\n") + 8 : section.index("```\n", section.index("```yaml"))
    ]
    project.schema("t.sql", "create table t (id int);\n")
    assert project.cli("diff", "-m", "base").returncode == 0
    (project.root / ".pre-commit-config.yaml").write_text(snippet)
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "base")
    home = tmp_path / "pre-commit-home"
    r = _pre_commit(project, "validate-config", ".pre-commit-config.yaml", home=home)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _pre_commit(project, "run", "--all-files", home=home)
    assert r.returncode == 0 and "Passed" in r.stdout, r.stdout + r.stderr
    r = _pre_commit(project, "try-repo", str(REPO), "schemactl-check", "--all-files", home=home)
    assert r.returncode == 0 and "Passed" in r.stdout, r.stdout + r.stderr
    project.schema("t.sql", "create table t (id int, name text);\n")  # drift
    _git(project, "add", "-A")
    for args in (["run", "--all-files"], ["try-repo", str(REPO), "schemactl-check", "--all-files"]):
        r = _pre_commit(project, *args, home=home)
        assert r.returncode == 1 and "Failed" in r.stdout, r.stdout + r.stderr
        assert "schemas/ has changes that no migration holds yet" in r.stdout


# ------------------------------------------------------------------ 12. the tutorial ----


def test_tutorial_step_6_works_as_written_on_a_fresh_server(tmp_path: Path, server) -> None:
    needs_extension(server, "citext")  # the example's DDL uses it
    import shlex
    import shutil

    from schemactl.scratch import pgserver

    readme = (REPO / "README.md").read_text()
    step = readme[
        readme.index("6. **Apply to a real database.**") : readme.index("7. **Safety nets.**")
    ]
    command = next(line.strip() for line in step.splitlines() if line.strip().startswith("psql "))
    example = tmp_path / "example"
    for name in ("schemas", "generated"):
        shutil.copytree(REPO / name, example / name)
    box = pgserver.EphemeralServer(pgserver.find_binaries())  # fresh: no role exists but postgres
    try:
        p = box.conn_params("postgres")
        args = shlex.split(command.replace("-h localhost", f"-h {p['host']} -p {p['port']}"))
        args[0] = box.binaries.tool("psql")
        subprocess.run(args, check=True, capture_output=True, text=True, timeout=60)
        config = (
            (REPO / "schemactl.toml")
            .read_text()
            .replace(
                "postgresql://postgres@localhost:5432/genomics",
                f"postgresql://postgres@/genomics?host={p['host']}&port={p['port']}",
            )
        )
        (example / "schemactl.toml").write_text(config)
        project = Project.__new__(Project)
        project.root = example
        r = project.cli("apply", "--env", "local")
        assert r.returncode == 0, r.stderr
        assert "the database is at 0003_comments_and_analyst_grants" in r.stderr
        r = project.cli("status", "--env", "local", "--format", "json")
        assert [m["state"] for m in json.loads(r.stdout)["migrations"]] == ["applied"] * 3
        assert project.cli("rollback", "--env", "local", "--steps", "1").returncode == 0
    finally:
        box.close()


# ------------------------------------------------------------------ 13. a deleted applied file ----


def test_a_deleted_applied_migration_shows_as_missing(project: Project, target_url: str) -> None:
    for v, name in ((1, "a"), (2, "b"), (3, "c")):
        project.migration(v, name, f"CREATE TABLE {name} (id int);\n", f"DROP TABLE {name};\n")
    assert project.cli("apply", "--db", target_url).returncode == 0
    for d in ("up", "down"):
        (project.root / "generated" / f"0002_b.{d}.sql").unlink()
    r = project.cli("status", "--db", target_url, "--format", "json")
    assert r.returncode == 5, r.stderr
    assert [(m["name"], m["state"]) for m in json.loads(r.stdout)["migrations"]] == [
        ("0001_a", "applied"),
        ("0002_b", "missing"),
        ("0003_c", "applied"),
    ]
    r = project.cli("status", "--db", target_url)
    assert "0002     b     missing" in r.stdout
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 5
    assert r.stderr.splitlines()[0] == "error: 0002_b applied to this database but the file is gone"
    assert "hint: restore it from version control" in r.stderr
    r = project.cli("check")  # the local history itself has a hole
    assert r.returncode == 5 and "hint: restore 0002 from version control" in r.stderr, r.stderr


# ------------------------------------------------------------------ 14. renumber ----


def test_renumber_moves_this_branchs_pairs_after_the_merged_ones(
    project: Project, target_url: str
) -> None:
    project.schema("t.sql", "create table t (id int);\n")
    assert project.cli("diff", "-m", "base").returncode == 0
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "base")
    _git(project, "checkout", "-qb", "feature")
    project.schema("u.sql", "create table u (id int);\n")
    assert project.cli("diff", "-m", "add u").returncode == 0
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "u")
    _git(project, "checkout", "-q", "main")
    project.schema("v.sql", "create table v (id int);\n")
    assert project.cli("diff", "-m", "add v").returncode == 0
    assert project.cli("diff", "-m", "v again").returncode == 0  # no change: nothing written
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "v")
    _git(project, "checkout", "-q", "feature")
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "merge", "main"],
        cwd=project.root,
        capture_output=True,
        check=False,
    )  # conflicts in schemactl.sum
    assert sorted(project.migrations())[2:] == [
        "0002_add_u.down.sql",
        "0002_add_u.up.sql",
        "0002_add_v.down.sql",
        "0002_add_v.up.sql",
    ]
    assert project.cli("check", "--no-models").returncode == 5  # two migrations share 0002
    r = project.cli("renumber")
    assert r.returncode == 0, r.stderr
    assert "renumbered 0002_add_u -> 0003_add_u" in r.stderr
    up = (project.root / "generated" / "0003_add_u.up.sql").read_text()
    assert up.startswith("-- 0003_add_u (up)\n")
    # staged as git mv stages them: renames, with the sum
    staged = _git(project, "diff", "--cached", "--name-status", "-M").stdout
    for d in ("up", "down"):
        moved = rf"^R\d*\tgenerated/0002_add_u\.{d}\.sql\tgenerated/0003_add_u\.{d}\.sql$"
        assert re.search(moved, staged, re.M), staged
    assert "generated/schemactl.sum" in staged
    assert (
        project.cli("check", "--verify", "--no-models").returncode == 1
    )  # re-verified in the new order
    assert project.cli("check", "--no-models").returncode == 0
    # an applied pair is never moved
    assert project.cli("apply", "--db", target_url).returncode == 0
    r = project.cli("renumber", "0002_add_v", "--db", target_url)
    assert r.returncode == 2 and "0002_add_v is applied to that database" in r.stderr


# ------------------------------------------------------------------ 15. history ----


def test_history_lists_runs_and_sums_them_up_per_migration(
    project: Project, target_url: str
) -> None:
    import schemactl

    project.migration(1, "a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")
    project.migration(2, "b", "CREATE TABLE b (id int);\nSELECT 1/0;\n", "DROP TABLE b;\n")
    assert project.cli("apply", "--db", target_url).returncode == 8
    project.migration(2, "b", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n")
    assert project.cli("apply", "--db", target_url).returncode == 0
    assert project.cli("rollback", "--db", target_url, "--steps", "1").returncode == 0
    r = project.cli("history", "--db", target_url, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [(e["name"], e["action"], e["status"]) for e in data["entries"]] == [
        ("0002_b", "rollback", "ok"),
        ("0002_b", "apply", "ok"),
        ("0002_b", "apply", "failed"),
        ("0001_a", "apply", "ok"),
    ]
    failed = data["entries"][2]
    assert "division by zero" in failed["error"] and failed["statement"] == "SELECT 1/0"
    assert [(m["name"], m["runs"], m["failures"]) for m in data["summary"]] == [
        ("0001_a", 1, 0),
        ("0002_b", 3, 1),
    ]
    assert {"last_ms", "mean_ms", "max_ms", "last_at"} <= set(data["summary"][1])
    r = project.cli("history", "--db", target_url, "--version", "0002", "--limit", "1")
    assert r.returncode == 0 and "the newest 1 of 3 history entries" in r.stderr, r.stderr
    assert "rollback" in r.stdout and "0001_a" not in r.stdout  # entries and summary of 0002 only
    result = schemactl.get_migration_history(project.config, target_url, limit=None, version=1)
    assert result.total == 1 and [m.name for m in result.summary] == ["0001_a"]
    # A pair that failed and was deleted, and another given its number: two migrations.
    project.migration(3, "c", "SELECT 1/0;\n", "SELECT 1;\n")
    assert project.cli("apply", "--db", target_url).returncode == 8
    for p in (project.root / "generated").glob("0003_c.*"):
        p.unlink()
    project.migration(3, "d", "CREATE TABLE d (id int);\n", "DROP TABLE d;\n")
    assert project.cli("rehash").returncode == 0
    assert project.cli("apply", "--db", target_url).returncode == 0
    r = project.cli("history", "--db", target_url, "--format", "json")
    summary = [(m["name"], m["runs"], m["failures"]) for m in json.loads(r.stdout)["summary"]]
    assert summary[-2:] == [("0003_c", 1, 1), ("0003_d", 1, 0)], summary


# ------------------------------------------------------------------ 19. a replaced failed file ----


def test_a_failed_file_replaced_by_another_is_pending_not_failed(
    project: Project, target_url: str
) -> None:
    project.migration(1, "a", "CREATE TABLE a (id int);\nSELECT 1/0;\n", "DROP TABLE a;\n")
    assert project.cli("apply", "--db", target_url).returncode == 8
    r = project.cli("status", "--db", target_url, "--format", "json")
    assert json.loads(r.stdout)["migrations"][0]["state"] == "failed"
    project.migration(1, "a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")
    r = project.cli("status", "--db", target_url, "--format", "json")
    m = json.loads(r.stdout)["migrations"][0]
    assert (m["state"], m["error"]) == ("pending", None)


# ------------------------------------------------------------------ 20. the command line ----


def test_global_flags_after_the_command_and_a_closed_pipe(project: Project) -> None:
    tables = "".join(
        f"create table t{i} (id int primary key, name text not null default 'x');\n"
        for i in range(1500)
    )
    project.schema("t.sql", tables)
    r = project.cli("check", "--no-models", "-q")
    assert r.returncode == 1 and "No such option" not in r.stderr, r.stderr
    assert project.cli("check", "--no-models", "-v").returncode == 1
    for args, code in ((["diff", "--print"], 0), (["check", "--no-models"], 1)):
        with open(project.root / "stderr.txt", "w+b") as stderr:
            p = subprocess.Popen(
                [sys.executable, "-m", "schemactl", *args],
                cwd=project.root,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env={**os.environ, "NO_COLOR": "1"},
            )
            assert p.stdout is not None
            p.stdout.read(10)
            p.stdout.close()  # `| head -c 10`
            returncode = p.wait(timeout=300)
            stderr.seek(0)
            err = stderr.read().decode()
        assert returncode == code, err  # the command's own exit code: drift still fails
        assert "Traceback" not in err and "Broken" not in err and "error" not in err, err


def test_init_output_files_and_git(tmp_path: Path) -> None:
    from .conftest import run_cli

    r = run_cli("init", "fresh", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.splitlines() == [
        f"created {p}"
        for p in ("fresh/schemactl.toml", "fresh/schemas", "fresh/generated", "fresh/models")
    ]
    root = tmp_path / "fresh"
    assert (root / "schemactl.toml").read_text().endswith("\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    listed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "generated/.gitkeep" in listed and "models/.gitkeep" in listed


def test_the_api_names_the_current_version_as_the_cli_does(
    project: Project, target_url: str
) -> None:
    import schemactl

    project.migration(1, "a", "CREATE TABLE a (id int);\n", "DROP TABLE a;\n")
    project.migration(2, "role_as_text", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n")
    run = schemactl.apply_migrations(project.config, target_url)
    assert (run.current, run.current_version) == ("0002_role_as_text", 2)
    state = schemactl.get_migration_status(project.config, target_url)
    assert (state.current, state.current_version) == ("0002_role_as_text", 2)
    r = project.cli("status", "--db", target_url, "--format", "json")
    assert json.loads(r.stdout)["current"] == state.current
    back = schemactl.rollback_migrations(project.config, target_url, steps=2)
    assert (back.current, back.current_version) == (None, None)


# ------------------------------------------------------------------ 21. what hints say ----


def test_missing_down_hint_and_a_summarised_baseline_mismatch(
    project: Project, server, database: str
) -> None:
    url = url_of(server, database)
    project.schema("t.sql", "".join(f"create table t{i} (id int);\n" for i in range(30)))
    assert project.cli("diff", "-m", "base").returncode == 0
    r = project.cli(
        "baseline", "--db", url, "--version", "1"
    )  # the database is empty: 30 tables differ
    assert r.returncode == 5 and "(30 objects differ)" in r.stderr
    lines = r.stderr.splitlines()
    assert "  TABLE public.t0: missing" in lines and "  ... and 10 more" in lines
    assert "  - CREATE TABLE public.t0 (" not in lines and len(lines) < 30
    r = project.cli("baseline", "--db", url, "--version", "1", "--verbose")
    assert "    - CREATE TABLE public.t0 (" in r.stderr.splitlines()
    (project.root / "generated" / "0001_base.down.sql").unlink()
    r = project.cli("check")
    assert r.returncode == 5
    assert (
        "hint: restore the .down.sql file from version control (a one-way change keeps one without "
        "statements: `rollback` then refuses to undo it)"
    ) in r.stderr


# ------------------------------------------------------------------ 22. data under schemas/ ----


def test_data_statements_under_schemas_are_named_in_a_warning(project: Project) -> None:
    project.schema("t.sql", "create table t (id int);\n")
    project.schema(
        "seed.sql", "-- reference data\ninsert into t values (1);\ninsert into t values (2);\n"
    )
    expected = (
        "warning: schemas/seed.sql:2: INSERT (and 1 more data statement(s)) runs only in scratch "
        "databases: "
        "data under schemas/ never reaches a migration; put seed or reference data in a `schemactl "
        "new` pair"
    )
    r = project.cli("diff", "-m", "base")
    assert r.returncode == 0 and expected in r.stderr, r.stderr
    r = project.cli("check", "--no-models")
    assert r.returncode == 0 and expected in r.stderr
    assert "values (1)" not in (project.root / "generated" / "0001_base.up.sql").read_text()
