"""`schemactl push`: schemas/ onto a development database, verified first, refused where
migrations rule."""

from __future__ import annotations

import json

from schemactl.scratch import pgserver

from .conftest import Project, query, url_of

TABLE = "create table t (id int primary key, old text);\n"
WANTED = "create table t (id int primary key, old text, name text not null default 'x');\n"


def _columns(url: str) -> list[str]:
    rows = query(
        url, "SELECT attname FROM pg_attribute WHERE attrelid = 't'::regclass AND attnum > 0"
    )
    return sorted(r[0] for r in rows)


def test_push_brings_the_database_to_schemas_and_apply_then_refuses_it(
    project: Project, server: pgserver.EphemeralServer, database: str
) -> None:
    url = url_of(server, database)
    query(url, TABLE + "insert into t values (1, 'kept');")
    project.schema("t.sql", WANTED)
    dry = project.cli("push", "--db", url, "--dry-run")
    assert dry.returncode == 0 and 'add column "name"' in dry.stdout, dry.stderr
    assert _columns(url) == ["id", "old"]  # a dry run runs nothing
    r = project.cli("push", "--db", url, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "pushed"
    assert _columns(url) == ["id", "name", "old"]
    assert query(url, "SELECT old, name FROM t") == [("kept", "x")]
    again = project.cli("push", "--db", url)
    assert again.returncode == 0 and "no changes" in again.stderr, again.stderr
    history = project.cli("history", "--db", url, "--format", "json")
    assert [e["action"] for e in json.loads(history.stdout)["entries"]] == ["push"]
    project.migration(1, "t", TABLE)
    applied = project.cli("apply", "--db", url)
    assert applied.returncode == 5 and "changed by `schemactl push`" in applied.stderr


def test_push_refuses_data_loss_production_and_a_database_migrations_manage(
    project: Project, server: pgserver.EphemeralServer, database: str
) -> None:
    url = url_of(server, database)
    query(url, TABLE + "insert into t values (1, 'kept');")
    project.schema("t.sql", "create table t (id int primary key);\n")
    r = project.cli("push", "--db", url)
    assert r.returncode == 3 and 'drop column "old"' in r.stderr, r.stderr
    assert _columns(url) == ["id", "old"]  # nothing ran
    project.write_config(f'[environments.live]\nurl = "{url}"\nproduction = true\n')
    r = project.cli("push", "--env", "live", "--allow-destructive")
    assert r.returncode == 2 and "marked production = true" in r.stderr
    assert _columns(url) == ["id", "old"]

    project.write_config()
    project.schema("t.sql", TABLE)
    project.migration(1, "t", TABLE)
    assert project.cli("baseline", "--db", url, "--version", "1").returncode == 0
    project.schema("t.sql", WANTED)
    r = project.cli("push", "--db", url)
    assert r.returncode == 5 and "managed by migrations (at version 0001)" in r.stderr
