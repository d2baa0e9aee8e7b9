"""`schemactl squash`: a long history folded into one pair, and what databases make of it."""

from __future__ import annotations

import json

from schemactl.project.config import SchemaFilter
from schemactl.scratch import pgserver
from schemactl.verification import verify

from .conftest import Project, url_of


def _history(project: Project, n: int) -> None:
    """`n` hand-written pairs: tables and columns added, renamed, and backfilled."""
    project.migration(1, "t0", "create table t0 (id int primary key, v int);", "drop table t0;")
    for i in range(2, n + 1):
        t = f"t{i // 5}"
        if i % 5 == 0:
            up, down = f"create table {t} (id int primary key, v int);", f"drop table {t};"
        elif i % 5 == 1:
            up, down = (
                f"alter table {t} rename column v to w{i};",
                f"alter table {t} rename column w{i} to v;",
            )
        elif i % 5 == 2:
            up, down = (
                f"alter table {t} add column c{i} text;\nupdate {t} set c{i} = 'x';",
                f"alter table {t} drop column c{i};",
            )
        else:
            up, down = (
                f"create index {t}_{i} on {t} (id);",
                f"drop index {t}_{i};",
            )
        project.migration(i, f"step{i}", up, down)
    assert project.cli("rehash").returncode == 0


def _dump(server: pgserver.EphemeralServer, db: str) -> verify.Snapshot:
    text = pgserver.pg_dump(server.binaries, server.conn_params(db), ["schemactl"])
    return verify.parse_dump(text, SchemaFilter())


def test_a_squashed_history_replays_equal_and_databases_at_its_end_or_inside_behave(
    project: Project, server: pgserver.EphemeralServer, database: str
) -> None:
    _history(project, 40)
    at_end, inside, fresh = (
        database,
        server.create_database("inside"),
        server.create_database("new"),
    )
    try:
        assert project.cli("apply", "--db", url_of(server, at_end)).returncode == 0
        r = project.cli("apply", "--db", url_of(server, inside), "--target", "12")
        assert r.returncode == 0, r.stderr
        r = project.cli("squash", "--through", "40", "--format", "json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert len(out["replaced"]) == 40 and out["up_file"] == "generated/0040_squashed.up.sql"
        assert len(out["backfills"]) == 8  # the UPDATEs, named, not carried
        assert project.migrations() == ["0040_squashed.down.sql", "0040_squashed.up.sql"]
        up = (project.root / "generated" / "0040_squashed.up.sql").read_text()
        assert "-- schemactl:squashes 0001-0040" in up and "-- Verified with pg_dump" in up

        status = project.cli("status", "--db", url_of(server, at_end), "--format", "json")
        (squashed,) = json.loads(status.stdout)["migrations"]
        assert squashed["state"] == "squashed", status.stdout
        assert squashed["squashes"] == "0001-0040"
        text = project.cli("status", "--db", url_of(server, at_end))
        assert "0001-0040 squashed into 0040_squashed" in text.stderr
        assert project.cli("apply", "--db", url_of(server, at_end)).returncode == 0
        r = project.cli("apply", "--db", url_of(server, inside))
        assert r.returncode == 5 and "the database is at 0012, inside 0001-0040" in r.stderr
        r = project.cli("rollback", "--db", url_of(server, at_end), "--steps", "1")
        assert r.returncode == 5 and "rollback stops above it" in r.stderr

        assert project.cli("apply", "--db", url_of(server, fresh)).returncode == 0
        assert not verify.compare(_dump(server, at_end), _dump(server, fresh))  # replays equal
    finally:
        server.drop_database(inside)
        server.drop_database(fresh)


def test_squash_refuses_what_cannot_be_folded_into_schema_sql(project: Project) -> None:
    project.migration(1, "a", "create table a (id int);", "drop table a;")
    project.migration(2, "seed", "insert into a values (1);", "delete from a;")
    project.migration(3, "b", "create table b (id int);", "drop table b;")
    assert project.cli("rehash").returncode == 0
    r = project.cli("squash", "--through", "3")
    assert r.returncode == 2 and "0002_seed.up.sql inserts rows" in r.stderr
    assert "--through 0001" in r.stderr
    assert len(project.migrations()) == 6  # nothing changed
    r = project.cli("squash", "--through", "1")
    assert r.returncode == 2 and "nothing to squash" in r.stderr


def test_squash_refuses_a_python_migration_in_its_range(project: Project) -> None:
    project.migration(1, "a", "create table a (id int);", "drop table a;")
    (project.root / "generated" / "0002_code.py").write_text(
        '"""Code."""\n\n\ndef up(conn, environment):\n    pass\n\n\n'
        "def down(conn, environment):\n    pass\n"
    )
    project.migration(3, "b", "create table b (id int);", "drop table b;")
    assert project.cli("rehash").returncode == 0
    r = project.cli("squash", "--through", "0003_b")
    assert r.returncode == 2 and "0002_code.py is a Python migration" in r.stderr, r.stderr
