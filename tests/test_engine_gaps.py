"""migra's gaps, each shown by a schema change that raw migra gets wrong.

Every case goes A -> B through `diff`, whose verification applies the up file to a replay of A
and the down file to B on a real server and compares both with pg_dump (independently of
migra). A case passes only when both directions reproduce the DDL exactly.
"""

from __future__ import annotations

import contextlib
import textwrap

import pytest

from schemactl import api, engine, runner

from .conftest import Project, url_of


def roundtrip(project: Project, dev_url: str, before: str, after: str) -> api.DiffResult:
    """Write `before`, diff; write `after`, diff; return the second (verified) result."""
    project.schema("schema.sql", textwrap.dedent(before))
    first = api.diff(project.config, "before", allow_destructive=True, dev_url=dev_url)
    assert first.verified, first.problems
    project.schema("schema.sql", textwrap.dedent(after))
    second = api.diff(project.config, "after", allow_destructive=True, dev_url=dev_url)
    assert second.verified, second.problems
    return second


def test_raw_migra_drops_sequence_options(project: Project, dev_url: str, server) -> None:
    """The gap itself: migra's SQL for a serial column loses `AS integer`."""
    db_a, db_b = server.create_database("a"), server.create_database("b")
    try:
        with contextlib.closing(server.connect(db_b)) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE t (id serial PRIMARY KEY)")
        schemas = engine.SchemaFilter()
        from migra import Migration

        raw = Migration(
            engine.inspect(server.sqlalchemy_url(db_a), schemas), engine.inspect(server.sqlalchemy_url(db_b), schemas)
        )
        raw.add_all_changes()
        assert 'create sequence "public"."t_id_seq";' in raw.sql  # no AS integer: a bigint sequence
        up, _ = engine.both_directions(server, db_a, db_b, schemas)
        assert 'create sequence "public"."t_id_seq" as integer increment by 1' in up
    finally:
        server.drop_database(db_a)
        server.drop_database(db_b)


def test_serial_columns_keep_their_sequence_type(project: Project, dev_url: str) -> None:
    result = roundtrip(project, dev_url, "CREATE TABLE a (id int);\n",
                       "CREATE TABLE a (id int);\nCREATE TABLE b (id serial PRIMARY KEY, n smallserial);\n")
    assert "as smallint" in result.up_sql and "as integer" in result.up_sql


def test_sequence_options_are_created_and_altered(project: Project, dev_url: str, server, database: str) -> None:
    first = "CREATE SEQUENCE s AS smallint INCREMENT BY 5 MINVALUE 10 MAXVALUE 1000 START WITH 20 CACHE 3 CYCLE;\n"
    result = roundtrip(project, dev_url, "CREATE TABLE a (id int);\n", "CREATE TABLE a (id int);\n" + first)
    assert 'create sequence "public"."s" as smallint increment by 5 minvalue 10 maxvalue 1000 start with 20 cache 3 cycle;' \
        in result.up_sql
    # The created sequence behaves as declared: its first value is START.
    url = url_of(server, database)
    runner.apply_migrations(project.config, url)
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute("SELECT nextval('s')")
        assert cur.fetchone() == (20,)
    changed = roundtrip(project, dev_url, "CREATE TABLE a (id int);\n" + first,
                        "CREATE TABLE a (id int);\n" + first.replace("INCREMENT BY 5", "INCREMENT BY 7")
                        .replace(" CYCLE", " NO CYCLE").replace("AS smallint", "AS integer"))
    assert changed.up_sql.strip() == 'alter sequence "public"."s" as integer increment by 7 no cycle;'
    assert changed.down_sql.strip() == 'alter sequence "public"."s" as smallint increment by 5 cycle;'


@pytest.mark.parametrize("kind", ["serial", "bigserial"])
def test_sequence_in_other_schema(project: Project, dev_url: str, kind: str) -> None:
    result = roundtrip(project, dev_url, "CREATE SCHEMA app;\n",
                       f"CREATE SCHEMA app;\nCREATE TABLE app.t (id {kind} PRIMARY KEY);\n")
    assert 'create sequence "app"."t_id_seq" as ' in result.up_sql
