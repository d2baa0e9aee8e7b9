"""migra's gaps, each shown by a schema change that raw migra gets wrong.

Every case goes A -> B through `diff`, whose verification applies the up file to a replay of A
and the down file to B on a real server and compares both with pg_dump (independently of
migra). A case passes only when both directions reproduce the DDL exactly.
"""

from __future__ import annotations

import contextlib

import pytest

from schemactl import api, engine
from schemactl.engine.kinds import enums
from schemactl.project.config import SchemaFilter
from schemactl.targets import runner

from .conftest import Project, needs_extension, roundtrip, url_of


def test_raw_migra_drops_sequence_options(project: Project, dev_url: str, server) -> None:
    """The gap itself: migra's SQL for a serial column loses `AS integer`."""
    db_a, db_b = server.create_database("a"), server.create_database("b")
    try:
        with contextlib.closing(server.connect(db_b)) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE t (id serial PRIMARY KEY)")
        schemas = SchemaFilter()
        from migra import Migration

        i_a, i_b = (
            engine.inspect(server.sqlalchemy_url(db_a), schemas),
            engine.inspect(server.sqlalchemy_url(db_b), schemas),
        )
        raw = Migration(i_a.upstream, i_b.upstream)
        raw.add_all_changes()
        assert 'create sequence "public"."t_id_seq";' in raw.sql  # no AS integer: a bigint sequence
        up, _ = engine.both_directions(i_a, i_b)
        assert 'create sequence "public"."t_id_seq" as integer increment by 1' in up
    finally:
        server.drop_database(db_a)
        server.drop_database(db_b)


def test_sequence_options_are_created_and_altered(
    project: Project, dev_url: str, server, database: str
) -> None:
    first = (
        "CREATE SEQUENCE s AS smallint INCREMENT BY 5 MINVALUE 10 MAXVALUE 1000 START WITH 20 "
        "CACHE 3 CYCLE;\n"
    )
    result = roundtrip(
        project, dev_url, "CREATE TABLE a (id int);\n", "CREATE TABLE a (id int);\n" + first
    )
    assert (
        'create sequence "public"."s" as smallint increment by 5 minvalue 10 maxvalue 1000 start '
        "with 20 cache 3 cycle;" in result.up_sql
    )
    # The created sequence behaves as declared: its first value is START.
    url = url_of(server, database)
    runner.apply_migrations(project.config, url)
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute("SELECT nextval('s')")
        assert cur.fetchone() == (20,)
    changed = roundtrip(
        project,
        dev_url,
        "CREATE TABLE a (id int);\n" + first,
        "CREATE TABLE a (id int);\n"
        + first.replace("INCREMENT BY 5", "INCREMENT BY 7")
        .replace(" CYCLE", " NO CYCLE")
        .replace("AS smallint", "AS integer"),
    )
    assert (
        changed.up_sql.strip() == 'alter sequence "public"."s" as integer increment by 7 no cycle;'
    )
    assert (
        changed.down_sql.strip() == 'alter sequence "public"."s" as smallint increment by 5 cycle;'
    )


@pytest.mark.parametrize("kind", ["serial", "bigserial"])
def test_sequence_in_other_schema(project: Project, dev_url: str, kind: str) -> None:
    result = roundtrip(
        project,
        dev_url,
        "CREATE SCHEMA app;\n",
        f"CREATE SCHEMA app;\nCREATE TABLE app.t (id {kind} PRIMARY KEY);\n",
    )
    assert 'create sequence "app"."t_id_seq" as ' in result.up_sql


def test_inheriting_tables_keep_inherited_columns_inherited(
    project: Project, dev_url: str, server, database: str
) -> None:
    # migra created the child before its parent, redeclared inherited columns (making them
    # local) and dropped the parent before the child.
    result = roundtrip(
        project,
        dev_url,
        "CREATE TABLE t (id int);\n",
        "CREATE TABLE base (id bigserial, kind text NOT NULL);\n"
        "CREATE TABLE child_a (CHECK (kind = 'A'), note text) INHERITS (base);\n",
    )
    up = result.up_sql
    assert up.index('create table "public"."base"') < up.index('create table "public"."child_a"')
    assert 'create table "public"."child_a" (\n    "note" text\n) inherits ("public"."base");' in up
    down = result.down_sql
    assert down.index('drop table "public"."child_a"') < down.index('drop table "public"."base"')


def test_partitions_attach_detach_and_drop_with_their_parent(
    project: Project, dev_url: str
) -> None:
    parent = (
        "CREATE TABLE m (city int NOT NULL, day date NOT NULL{extra}) PARTITION BY RANGE (day);\n"
    )
    p1 = "CREATE TABLE m_2006 PARTITION OF m FOR VALUES FROM ('2006-01-01') TO ('2007-01-01');\n"
    p2_attached = (
        "CREATE TABLE m_2007 PARTITION OF m FOR VALUES FROM ('2007-01-01') TO ('2008-01-01');\n"
    )
    p2_plain = "CREATE TABLE m_2007 (city int NOT NULL, day date NOT NULL);\n"
    result = roundtrip(
        project,
        dev_url,
        parent.format(extra="") + p1 + p2_attached,
        parent.format(extra=", extra text") + p1 + p2_plain,
    )
    # Down re-attaches m_2007 (the right way round, after m loses "extra").
    assert result.down_sql.strip().endswith(
        'alter table "public"."m" attach partition "public"."m_2007" FOR VALUES FROM '
        "('2007-01-01') TO ('2008-01-01');"
    )
    # Dropping a partitioned table drops its partitions: they must go first.
    project.schema("schema.sql", "CREATE TABLE other (id int);\n")
    gone = api.diff(project.config.with_overrides(dev_url), "drop all", allow_destructive=True)
    assert gone.verified, gone.problems


PLAIN = """
CREATE TABLE m (id serial, d date NOT NULL, note text, PRIMARY KEY (id, d), CHECK (id > 0));
CREATE INDEX m_note ON m (note);
CREATE TABLE ref (id int PRIMARY KEY, m_id int, m_d date,
                  FOREIGN KEY (m_id, m_d) REFERENCES m (id, d));
CREATE FUNCTION tf() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER trg BEFORE INSERT ON m FOR EACH ROW EXECUTE FUNCTION tf();
ALTER TABLE m ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON m USING (id > 0);
COMMENT ON TABLE m IS 'measurements';
CREATE VIEW v AS SELECT id, note FROM m;
CREATE VIEW w AS SELECT id FROM v;
"""
PARTITIONED = PLAIN.replace(
    "CHECK (id > 0));",
    "CHECK (id > 0)) PARTITION BY RANGE (d);\n"
    "CREATE TABLE m_2020 PARTITION OF m FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');\n"
    "CREATE TABLE m_2021 PARTITION OF m FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');",
)


def test_partitioned_tables_with_keys_triggers_and_views(project: Project, dev_url: str) -> None:
    # Created from nothing: PostgreSQL clones the key, check and trigger onto each partition
    # and makes the key's index itself; none of that may be written twice.
    result = roundtrip(
        project, dev_url, "CREATE TABLE x (id int);\n", "CREATE TABLE x (id int);\n" + PARTITIONED
    )
    assert 'alter table "public"."m" add constraint "m_pkey" PRIMARY KEY (id, d);' in result.up_sql
    assert (
        "m_2020_pkey" not in result.up_sql and "ON public.m_2020 FOR EACH ROW" not in result.up_sql
    )
    # One partition dropped and back: detached first (ref's foreign key has an internal copy on
    # it); its index goes with it, and comes back with CREATE TABLE.
    fewer = PARTITIONED.replace(
        "CREATE TABLE m_2021 PARTITION OF m FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');", ""
    )
    result = roundtrip(
        project,
        dev_url,
        "CREATE TABLE x (id int);\n" + PARTITIONED,
        "CREATE TABLE x (id int);\n" + fewer,
    )
    assert (
        result.up_sql
        == 'alter table "public"."m" detach partition "public"."m_2021";\n\ndrop table '
        '"public"."m_2021";\n'
    )


def test_plain_table_becomes_partitioned_and_back(project: Project, dev_url: str) -> None:
    # PostgreSQL cannot ALTER a table into partitioning: it is dropped and created with its
    # indexes, keys, checks, triggers, policies, comment, the views over it, the foreign keys
    # pointing at it, and its serial sequence kept alive across the drop.
    result = roundtrip(project, dev_url, PLAIN, PARTITIONED)
    assert result.up_sql.startswith('alter sequence "public"."m_id_seq" owned by none;')
    assert 'alter sequence "public"."m_id_seq" owned by "public"."m"."id";' in result.down_sql


COMMENTED = """
CREATE TABLE t (id int CONSTRAINT positive CHECK (id > 0), x int);
CREATE INDEX t_x ON t (x);
CREATE VIEW v AS SELECT id FROM t;
CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';
CREATE TYPE e AS ENUM ('a');
COMMENT ON TABLE t IS 'a table';
COMMENT ON COLUMN t.id IS 'it''s the id';
COMMENT ON CONSTRAINT positive ON t IS 'ids are positive';
COMMENT ON INDEX t_x IS 'by x';
COMMENT ON VIEW v IS 'a view';
COMMENT ON FUNCTION f() IS 'one';
COMMENT ON TYPE e IS 'an enum';
"""


def test_comments_are_created_changed_and_removed(project: Project, dev_url: str) -> None:
    result = roundtrip(
        project,
        dev_url,
        "CREATE TABLE t (id int CONSTRAINT positive CHECK (id > 0), x int);\n",
        COMMENTED,
    )
    assert "comment on COLUMN public.t.id is 'it''s the id';" in result.up_sql
    assert "comment on CONSTRAINT positive on public.t is 'ids are positive';" in result.up_sql
    changed = roundtrip(project, dev_url, COMMENTED, COMMENTED.replace("'a table'", "'the table'"))
    assert changed.up_sql.strip() == "comment on TABLE public.t is 'the table';"
    # A comment removed from a kept object is set to NULL first, while every object of the old
    # state still exists; a dropped object takes its comment (and privileges) with it.
    gone = roundtrip(
        project,
        dev_url,
        COMMENTED,
        COMMENTED.replace("COMMENT ON VIEW v IS 'a view';", "")
        .replace("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1';", "")
        .replace("COMMENT ON FUNCTION f() IS 'one';", ""),
    )
    assert (
        gone.up_sql
        == 'comment on VIEW public.v is null;\n\ndrop function if exists "public"."f"();\n'
    )


def test_comments_survive_when_the_migration_recreates_their_object(
    project: Project, dev_url: str
) -> None:
    # A column type change makes migra drop and re-create the view; its comment must come back.
    before = (
        "CREATE TABLE t (id int);\nCREATE VIEW v AS SELECT id FROM t;\n"
        "COMMENT ON VIEW v IS 'keep me';\n"
    )
    result = roundtrip(project, dev_url, before, before.replace("id int", "id bigint"))
    assert result.up_sql.strip().endswith("comment on VIEW public.v is 'keep me';")


GRANTS = """
CREATE SCHEMA app;
CREATE TABLE app.t (id int);
CREATE VIEW app.v AS SELECT id FROM app.t;
CREATE SEQUENCE app.q;
CREATE FUNCTION app.f(n int) RETURNS int LANGUAGE sql AS 'select n';
"""


def test_privileges_on_schemas_views_sequences_functions_and_grant_option(
    project: Project, dev_url: str
) -> None:
    project.write_config('roles = ["analyst"]\n')
    granted = GRANTS + (
        "GRANT USAGE ON SCHEMA app TO analyst;\n"
        "GRANT SELECT ON app.t TO analyst WITH GRANT OPTION;\n"
        "GRANT SELECT ON app.v TO analyst;\n"
        "GRANT USAGE ON SEQUENCE app.q TO analyst;\n"
        "REVOKE EXECUTE ON FUNCTION app.f(int) FROM PUBLIC;\n"
        "GRANT EXECUTE ON FUNCTION app.f(int) TO analyst;\n"
        "GRANT UPDATE (id) ON app.t TO analyst;\n"
    )
    result = roundtrip(project, dev_url, GRANTS, granted)
    for line in (
        "grant usage on SCHEMA app to analyst;",
        "grant select on TABLE app.t to analyst with grant option;",
        "grant select on TABLE app.v to analyst;",
        "grant usage on SEQUENCE app.q to analyst;",
        "grant execute on FUNCTION app.f(integer) to analyst;",
        "grant update (id) on TABLE app.t to analyst;",
    ):
        assert line in result.up_sql
    assert result.up_sql.startswith("revoke execute on FUNCTION app.f(integer) from PUBLIC;")
    assert "revoke usage on SCHEMA app from analyst;" in result.down_sql


def test_domains_are_created_altered_and_dropped(project: Project, dev_url: str) -> None:
    base = "CREATE TYPE mood AS ENUM ('ok', 'sad');\nCREATE TABLE t (id int);\n"
    domains = (
        "CREATE DOMAIN posint AS int CONSTRAINT positive CHECK (VALUE > 0);\n"
        "CREATE DOMAIN feeling AS mood DEFAULT 'ok' NOT NULL;\n"
        "CREATE TABLE u (id posint, f feeling);\n"
    )
    result = roundtrip(project, dev_url, base, base + domains)
    up = result.up_sql
    assert up.index(
        "create domain public.posint as integer constraint positive CHECK ((VALUE > 0));"
    ) < up.index('create table "public"."u"')
    assert "create domain public.feeling as mood default 'ok'::mood not null;" in up
    assert result.down_sql.index('drop table "public"."u"') < result.down_sql.index(
        "drop domain public.posint;"
    )
    changed = roundtrip(
        project,
        dev_url,
        base + domains,
        base + domains.replace("CHECK (VALUE > 0)", "CHECK (VALUE > 10)").replace(" NOT NULL", ""),
    )
    assert "alter domain public.feeling drop not null;" in changed.up_sql
    assert (
        "alter domain public.posint add constraint positive CHECK ((VALUE > 10));" in changed.up_sql
    )


def test_foreign_keys_on_partitioned_tables(project: Project, dev_url: str) -> None:
    # migra adds foreign keys NOT VALID and validates them; partitioned tables refuse NOT VALID.
    base = "CREATE TABLE p (id int PRIMARY KEY);\n"
    result = roundtrip(
        project,
        dev_url,
        base + "CREATE TABLE m (id int, d date) PARTITION BY RANGE (d);\n",
        base + "CREATE TABLE m (id int REFERENCES p, d date) PARTITION BY RANGE (d);\n",
    )
    assert "not valid" not in result.up_sql.lower()


def test_identity_column_options(project: Project, dev_url: str, server, database: str) -> None:
    result = roundtrip(
        project,
        dev_url,
        "CREATE TABLE a (id int);\n",
        "CREATE TABLE a (id int);\n"
        "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 5), x "
        "int);\n",
    )
    assert (
        "alter table public.t alter column id set increment by 5 set start with 100 restart;"
        in result.up_sql
    )
    runner.apply_migrations(project.config, url_of(server, database))
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO t (x) VALUES (1), (2) RETURNING id")
        assert cur.fetchall() == [(100,), (105,)]
    changed = roundtrip(
        project,
        dev_url,
        "CREATE TABLE a (id int);\nCREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY (START WITH "
        "100 INCREMENT BY 5), x int);\n",
        "CREATE TABLE a (id int);\nCREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY (START WITH "
        "100 INCREMENT BY 10), x int);\n",
    )
    assert changed.up_sql.strip() == "alter table public.t alter column id set increment by 10;"


def test_partitioned_index_attaches_partition_indexes(project: Project, dev_url: str) -> None:
    base = (
        "CREATE TABLE m (id int, d date) PARTITION BY RANGE (d);\n"
        "CREATE TABLE m1 PARTITION OF m FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');\n"
    )
    result = roundtrip(project, dev_url, base, base + "CREATE INDEX m_id ON m (id);\n")
    assert 'alter index "public"."m_id" attach partition "public"."m1_id_idx";' in result.up_sql
    assert (
        result.down_sql.strip() == 'drop index if exists "public"."m_id";'
    )  # takes m1_id_idx with it


def test_functions_used_by_defaults_and_checks_come_first_and_go_last(
    project: Project, dev_url: str
) -> None:
    base = "CREATE TABLE t (id int);\n"
    funcs = (
        "CREATE FUNCTION next_id() RETURNS int LANGUAGE sql VOLATILE AS 'select 1';\n"
        "CREATE FUNCTION is_ok(n int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS 'begin return "
        "n > 0; end';\n"
    )
    result = roundtrip(
        project,
        dev_url,
        base,
        funcs + "CREATE TABLE t (id int DEFAULT next_id() CHECK (is_ok(id)));\n"
        "CREATE TABLE u (id int DEFAULT next_id());\n",
    )
    assert result.up_sql.index("FUNCTION public.next_id()") < result.up_sql.index(
        'create table "public"."u"'
    )
    assert "grant execute" not in result.up_sql  # new functions have PUBLIC EXECUTE already
    down = result.down_sql
    assert down.index('drop table "public"."u"') < down.index(
        'drop function if exists "public"."next_id"()'
    )


def test_extension_downgrade_is_reported_as_one_way_at_diff_time(
    project: Project, dev_url: str, server
) -> None:
    needs_extension(server, "pg_trgm")
    project.schema("schema.sql", "CREATE EXTENSION pg_trgm VERSION '1.3';\n")
    assert api.diff(project.config.with_overrides(dev_url), "old").verified
    project.schema("schema.sql", "CREATE EXTENSION pg_trgm VERSION '1.4';\n")
    result = api.diff(project.config.with_overrides(dev_url), "new")
    assert not result.verified
    assert result.problems[0].startswith(
        'down cannot be performed: extension "pg_trgm" has no update path from version "1.4" to '
        'version "1.3"'
    )
    assert "this change is one-way" in result.problems[0]


def test_statistics_rules_and_event_triggers(project: Project, dev_url: str) -> None:
    before = """
    CREATE TABLE t (a int, b int, c int);
    CREATE VIEW v AS SELECT * FROM t;
    CREATE FUNCTION et() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
    """
    after = (
        before
        + """
    CREATE STATISTICS s1 (ndistinct) ON a, c FROM t;
    ALTER STATISTICS s1 SET STATISTICS 50;
    CREATE RULE r1 AS ON INSERT TO v DO INSTEAD INSERT INTO t VALUES (new.a, new.b);
    CREATE RULE r2 AS ON DELETE TO t DO ALSO NOTIFY t;
    ALTER TABLE t DISABLE RULE r2;
    CREATE EVENT TRIGGER e1 ON ddl_command_start WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION et();
    COMMENT ON STATISTICS s1 IS 'stats';
    COMMENT ON RULE r1 ON v IS 'a rule';
    COMMENT ON EVENT TRIGGER e1 IS 'et';
    """
    )
    result = roundtrip(project, dev_url, before, after)
    assert "CREATE STATISTICS public.s1 (ndistinct) ON a, c FROM t;" in result.up_sql
    assert result.down_sql.startswith("drop event trigger e1;\n\ndrop rule r1 on public.v;")
    # Changed: re-created; the view over t goes and comes back with t's type change, and
    # takes its rule along, which is created again with its comment.
    changed = (
        after.replace("a int", "a bigint")
        .replace("ON a, c", "ON a, b")
        .replace("NOTIFY t;", "NOTIFY t2;")
        + "ALTER EVENT TRIGGER e1 DISABLE;\n"
    )
    result = roundtrip(project, dev_url, after, changed)
    assert "comment on RULE r1 on public.v is 'a rule';" in result.up_sql
    assert "alter event trigger e1 disable;" in result.up_sql


ENUM_BEFORE = """
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE t (id int, m mood DEFAULT 'sad');
CREATE VIEW happy AS SELECT id FROM t WHERE m = 'sad';
"""
ENUM_AFTER = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE t (id int, m mood DEFAULT 'happy' CHECK (m <> 'ok'));
CREATE VIEW happy AS SELECT id FROM t WHERE m = 'happy';
CREATE FUNCTION cheer() RETURNS mood LANGUAGE sql AS $$ SELECT 'happy'::mood $$;
"""


@pytest.mark.parametrize("direction", ["add", "remove"])
def test_enum_value_added_and_used_in_the_same_migration(
    project: Project, dev_url: str, server, database: str, direction: str
) -> None:
    # Adding: the new value must commit before the default, check, view and function use it.
    # Removing: the rewrite must not set the old default, which the new type lacks, again.
    before, after = (ENUM_BEFORE, ENUM_AFTER) if direction == "add" else (ENUM_AFTER, ENUM_BEFORE)
    result = roundtrip(project, dev_url, before, after)
    adds = result.up_sql if direction == "add" else result.down_sql
    assert adds.startswith(
        "alter type \"public\".\"mood\" add value if not exists 'happy' after 'ok';\n\n"
        + enums.COMMIT_POINT
        + "\n\n"
    )
    assert "set default 'happy'" not in (result.down_sql if direction == "add" else result.up_sql)
    assert api.check(
        project.config.with_overrides(dev_url), models=False
    ).ok  # replays commit points too
    # The files run through the real runner too, both ways (and their pg_dump matched already).
    url = url_of(server, database)
    runner.apply_migrations(project.config, url)
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO t (id) VALUES (1) RETURNING m::text")
        assert cur.fetchone() == ("happy" if direction == "add" else "sad",)
        cur.execute("DELETE FROM t")
        conn.commit()
    runner.rollback_migrations(project.config, url, steps=1)
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute("SELECT enum_range(NULL::mood)::text")
        assert cur.fetchone() == ("{sad,ok,happy}" if direction == "remove" else "{sad,ok}",)


def test_default_privileges(project: Project, dev_url: str) -> None:
    project.write_config('roles = ["analyst"]\n')
    result = roundtrip(
        project,
        dev_url,
        "CREATE SCHEMA s;\n",
        "CREATE SCHEMA s;\n"
        "ALTER DEFAULT PRIVILEGES IN SCHEMA s GRANT SELECT ON TABLES TO analyst WITH GRANT "
        "OPTION;\n"
        "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;\n",
    )
    assert result.up_sql == (
        "alter default privileges for role postgres revoke execute on functions from PUBLIC;\n\n"
        'alter default privileges for role postgres in schema "s" grant select on tables to '
        "analyst with grant option;\n"
    )


_VIEWS = """
create table t (id int primary key, name text, score int, note varchar(10));
create function shout(s text) returns text language sql immutable return upper(s);
create view v as select id, name from t;
create view vv as select id, name from v;
create view w as select id, shout(name) as loud from t;
grant select on v to public;
comment on view v is 'names';
"""


@pytest.mark.parametrize(
    ("old", "new", "recreated"),
    [
        # a column added, or one the views do not read changing type: nothing to redo
        ("score int", "score int, extra date", set()),
        ("score int", "score bigint", set()),
        ("note varchar(10)", "note text", set()),
        # a column they read changing type: v, the view over it (vv) and w, never more
        ("name text", "name varchar(50)", {"v", "vv", "w"}),
    ],
)
def test_views_are_recreated_only_when_what_they_read_changes(
    project: Project, dev_url: str, old: str, new: str, recreated: set[str]
) -> None:
    result = roundtrip(project, dev_url, _VIEWS, _VIEWS.replace(old, new, 1))
    for sql in (result.up_sql, result.down_sql):
        dropped = {v for v in ("v", "vv", "w") if f'drop view if exists "public"."{v}"' in sql}
        assert dropped == recreated, sql
        if not recreated:  # nor given its grants and comment again
            assert "grant " not in sql and "comment on" not in sql, sql
