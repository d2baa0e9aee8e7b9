"""Defects a new user hits on the first day (issue 13), each through the real command line."""

from __future__ import annotations

import contextlib
import json

import psycopg2

from .conftest import Project, url_of


def _query(url: str, sql: str) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall() if cur.description else []
        conn.commit()
        return rows


# ------------------------------------------------------------------ 1. empty files ----


def test_files_without_statements_are_files_without_statements(project: Project, server, database: str) -> None:
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
    assert "warning: generated/0002_data.up.sql has no statements: 0002_data is recorded as applied" in r.stderr
    assert _query(url, "SELECT version, state FROM schemactl.migrations ORDER BY 1") == [
        (1, "applied"), (2, "applied")]


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
    assert ("nothing of the failed rollback of 0002_b was kept (its transaction was rolled back): "
            "the database is still at 0002") in r.stderr
    assert "was rolled back; the database is at" not in r.stderr
    r = project.cli("rollback", "--db", url, "--steps", "1", "--target", "1")
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == "error: --steps 1 and --target 1 both say how far to roll back: use only one"
    project.migration(2, "b", "CREATE TABLE b (id int);\n", "DROP TABLE b;\n")
    assert project.cli("repair", "--db", url).returncode == 0
    r = project.cli("rollback", "--db", url, "--target", "0")
    assert r.returncode == 0 and "done: 2 migration(s); the database has no migration applied" in r.stderr, r.stderr
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
    import subprocess
    import sys

    project.schema("t.sql", "create table t (id int);\n")
    r = subprocess.run([sys.executable, "-W", "error", "-c", _WITHOUT_PKG_RESOURCES, "diff", "-m", "t"],
                       cwd=project.root, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "verified" in r.stderr and "Warning" not in r.stderr and "pkg_resources" not in r.stderr
    probe = ("import sys; from schemactl import engine; engine._import_upstream(); import migra; "
             "print('pkg_resources' in sys.modules)")
    r = subprocess.run([sys.executable, "-W", "error", "-c", probe], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr
