"""`diff` against real servers: each change kind, verification, destructive refusal."""

from __future__ import annotations

import contextlib

import pytest

from schemactl import api
from schemactl.errors import DestructiveChangeError, UsageError
from schemactl.project.config import SchemaFilter
from schemactl.scratch import pgserver
from schemactl.verification import verify

from .conftest import Project, needs_extension

BASE = """
create type mood as enum ('sad', 'ok');
create sequence counter;
create table person (
    id int primary key,
    name text not null,
    mood mood default 'ok'
);
create index person_name_idx on person (name);
create function shout(t text) returns text language sql immutable as $$ select upper(t) $$;
create view loud_people as select id, shout(name) as name from person;
create function touch() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger person_touch before update on person for each row execute function touch();
"""


def diff(project: Project, dev_url: str, name: str = "change", **kw: object) -> api.DiffResult:
    return api.diff(project.config.with_overrides(dev_url), name, **kw)  # type: ignore[arg-type]


@pytest.fixture
def based(project: Project, dev_url: str) -> Project:
    project.schema("schema.sql", BASE)
    result = diff(project, dev_url, "base")
    assert result.status == "written" and result.verified, result.problems
    return project


CHANGES = {
    "add table": (
        "create table pet (id int primary key, owner int references person(id));",
        "create table",
    ),
    "add column": ("alter table person add column email text;", 'add column "email"'),
    "add index": ("create unique index person_name_uq on person (lower(name));", "person_name_uq"),
    "add check": (
        "alter table person add constraint name_len check (length(name) < 100);",
        "name_len",
    ),
    "enum value": ("alter type mood add value 'happy';", "happy"),
    "view change": (
        "create or replace view loud_people as select id, shout(name) as name, mood from person;",
        "loud_people",
    ),
    "function body": (
        "create or replace function shout(t text) returns text language sql immutable as $$ select "
        "upper(t) || '!' $$;",
        "'!'",
    ),
    "trigger": (
        "create trigger person_touch2 after insert on person for each row "
        "execute function touch();",
        "person_touch2",
    ),
    "sequence": ("create sequence other_counter;", "other_counter"),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_change_kinds_produce_verified_migrations(
    based: Project, dev_url: str, change: str
) -> None:
    statement, expected = CHANGES[change]
    based.schema("zz_change.sql", statement)
    result = diff(based, dev_url, change)
    assert result.status == "written", result
    assert result.verified, result.problems
    assert expected in result.up_sql
    assert result.version == f"0002_{change.replace(' ', '_')}"
    assert based.migrations()[-2:] == [f"{result.version}.down.sql", f"{result.version}.up.sql"]
    up = result.up_path.read_text()  # type: ignore[union-attr]
    assert up.startswith(f"-- {result.version} (up)\n")
    assert "Verified with pg_dump" in up
    # after the migration there is nothing left to generate
    assert diff(based, dev_url, "again").status == "no-changes"


def test_no_changes_writes_nothing(based: Project, dev_url: str) -> None:
    before = based.migrations()
    result = diff(based, dev_url, "nothing")
    assert result.status == "no-changes" and result.verified
    assert based.migrations() == before


def test_print_writes_nothing(based: Project, dev_url: str) -> None:
    based.schema("zz.sql", "create table extra (id int);")
    before = based.migrations()
    result = api.diff(based.config.with_overrides(dev_url), None, print_only=True)
    assert result.status == "printed" and 'create table "public"."extra"' in result.up_sql
    assert based.migrations() == before


def test_destructive_change_is_refused_and_listed(based: Project, dev_url: str) -> None:
    based.schema("zz.sql", "create table price (amount numeric(10,2));")
    diff(based, dev_url, "price")
    based.schema("schema.sql", BASE.replace("    mood mood default 'ok'\n", "    mood text\n"))
    based.schema("zz.sql", "create table price (amount numeric(10,0));")
    with pytest.raises(DestructiveChangeError) as e:
        diff(based, dev_url, "drop things")
    # enum -> text keeps every value; rounding to whole numbers does not
    assert e.value.statements == [
        'changes the type of column "amount" of "public"."price": fractions are rounded to whole '
        "numbers: "
        'alter table "public"."price" alter column "amount" set data type numeric(10,0)'
    ]
    assert len(based.migrations()) == 4  # nothing written
    result = diff(based, dev_url, "drop things", allow_destructive=True)
    assert result.verified, result.problems
    assert "-- Destructive:" in result.up_path.read_text()  # type: ignore[union-attr]


def test_dropped_table_is_destructive(based: Project, dev_url: str) -> None:
    based.schema("zz.sql", "create table extra (id int);")
    diff(based, dev_url, "extra")
    based.remove("zz.sql")
    with pytest.raises(DestructiveChangeError) as e:
        diff(based, dev_url, "drop extra")
    assert e.value.statements == ['drops table "public"."extra": drop table "public"."extra"']


def test_regenerating_a_generated_column_is_not_destructive(based: Project, dev_url: str) -> None:
    based.schema("zz.sql", "create table calc (a int, b int generated always as (a * 2) stored);")
    diff(based, dev_url, "calc")
    based.schema("zz.sql", "create table calc (a int, b int generated always as (a * 3) stored);")
    result = diff(based, dev_url, "triple")  # no --allow-destructive: the values are derived
    assert result.verified and 'drop column "b"' in result.up_sql


def test_migra_miss_is_caught_by_verification(based: Project, dev_url: str) -> None:
    # An open engine gap: text search configurations are not compared; migra sees no change,
    # pg_dump does.
    based.schema("zz.sql", "create text search configuration total (copy = simple);")
    result = diff(based, dev_url, "search configuration")
    assert result.status == "no-changes"
    assert not result.verified
    assert result.problems[:2] == [
        "TEXT SEARCH CONFIGURATION public.total: missing",
        "  schemactl does not diff TEXT SEARCH CONFIGURATION objects: write this change into the "
        "migration by hand "
        "(up and down; the expected definition is below), then run `schemactl verify`",
    ]
    assert len(based.migrations()) == 2


def test_partially_wrong_migration_is_written_unverified(based: Project, dev_url: str) -> None:
    # An open engine gap: migra creates the table but not the text search configuration.
    based.schema(
        "zz.sql",
        "create table noted (a int, b int);\n"
        "create text search configuration total (copy = simple);",
    )
    result = diff(based, dev_url, "noted")
    assert result.status == "written" and not result.verified
    assert any("TEXT SEARCH CONFIGURATION public.total: missing" in p for p in result.problems)
    header = result.up_path.read_text()  # type: ignore[union-attr]
    assert "-- UNVERIFIED" in header and "noted" in header


def test_bad_names_are_refused_or_made_safe(based: Project, dev_url: str) -> None:
    with pytest.raises(UsageError):
        diff(based, dev_url, "'; --")
    based.schema("zz.sql", "create table extra (id int);")
    result = diff(based, dev_url, "x'; drop table t; -- ünïcode/../slash")
    assert result.version == "0002_x_drop_table_t_unicode_slash"
    assert result.up_path.parent == based.root / "generated"  # type: ignore[union-attr]


def test_include_and_exclude_schemas(project: Project, dev_url: str) -> None:
    project.write_config('include_schemas = ["app"]\n')
    project.schema(
        "schema.sql",
        "create schema app;\ncreate schema other;\ncreate table app.a (id int);\ncreate table "
        "other.o (id int);\n",
    )
    result = diff(project, dev_url, "only app")
    assert result.verified, result.problems
    assert '"app"."a"' in result.up_sql and "other" not in result.up_sql


def test_verification_compares_independently(server: pgserver.EphemeralServer) -> None:
    # The comparison itself: a column moved between tables is a difference even though
    # the sorted lines of the whole dump would be the same.
    a, b = server.create_database("a"), server.create_database("b")
    try:
        for db, sql in (
            (a, "create table t1 (x int, y int); create table t2 (z int);"),
            (b, "create table t1 (x int); create table t2 (z int, y int);"),
        ):
            with contextlib.closing(server.connect(db)) as conn, conn.cursor() as cur:
                cur.execute(sql)
        f = SchemaFilter()
        diffs = verify.compare(verify.snapshot(server, a, f), verify.snapshot(server, b, f))
        assert [d.object for d in diffs] == ["TABLE public.t1", "TABLE public.t2"]
        # column order alone is not a difference
        with contextlib.closing(server.connect(b)) as conn, conn.cursor() as cur:
            cur.execute(
                "drop table t1, t2; create table t1 (x int, y int); create table t2 (z int);"
            )
        assert verify.compare(verify.snapshot(server, a, f), verify.snapshot(server, b, f)) == []
    finally:
        server.drop_database(a)
        server.drop_database(b)


def test_extension_versions_are_pinned_only_where_the_ddl_pins_them(
    project: Project, dev_url: str, server
) -> None:
    needs_extension(server, "citext")
    fresh = Project(project.root.parent / "fresh")
    fresh.schema("ext.sql", "create extension if not exists citext;\n")
    result = diff(fresh, dev_url, "ext")
    assert (
        result.verified
        and result.up_sql == 'create extension if not exists "citext" with schema "public";\n'
    )
    # A history that created citext 1.5 (as an older server's default would have), and DDL that
    # names no version: nothing to migrate, whatever version this server installs by default.
    project.migration(
        1,
        "old",
        "create extension if not exists citext with schema public version '1.5';\n",
        "drop extension citext;\n",
    )
    project.schema("ext.sql", "create extension if not exists citext;\n")
    assert diff(project, dev_url, "none").status == "no-changes"
    # The DDL pins a version: it is compared, and the upgrade written (one-way: PostgreSQL has
    # no downgrade path, which verification reports).
    project.schema("ext.sql", "create extension if not exists citext version '1.6';\n")
    result = diff(project, dev_url, "pin")
    assert result.up_sql == "alter extension \"citext\" update to '1.6';\n"
    assert any("no downgrade path" in p for p in result.problems), result.problems


def test_a_table_renamed_by_hand_keeps_its_sequence_and_is_named_a_likely_rename(
    project: Project, dev_url: str
) -> None:
    import json

    project.schema("t.sql", "create table a (id serial primary key, name text);\n")
    assert project.cli("--dev-url", dev_url, "diff", "-m", "a").returncode == 0
    # pg_dump's way of writing a renamed serial table: the sequence keeps its old name
    project.schema(
        "t.sql",
        "create sequence a_id_seq as integer;\n"
        "create table b (id integer primary key default nextval('a_id_seq'), name text);\n"
        "alter sequence a_id_seq owned by b.id;\n",
    )
    hint = (
        'if "public"."a" was renamed to "public"."b", write `-- @renamed from=a` after '
        "`CREATE TABLE b` in schemas/: RENAME keeps the rows"
    )
    r = project.cli("--dev-url", dev_url, "diff", "-m", "b")
    assert r.returncode == 3 and hint in r.stderr, r.stderr
    r = project.cli(
        "--dev-url", dev_url, "diff", "-m", "b", "--allow-destructive", "--format", "json"
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["verified"], doc["problems"]  # the sequence outlives the old table
    assert f"looks like a rename: {hint}" in doc["warnings"]
    up = (project.root / "generated" / "0002_b.up.sql").read_text()
    assert f"-- Looks like a rename (this file drops and creates):\n--   {hint}\n" in up


def test_a_type_change_postgresql_cannot_convert_is_never_written(
    project: Project, dev_url: str
) -> None:
    project.schema("t.sql", "create table t (id int primary key, c time);\n")
    assert project.cli("--dev-url", dev_url, "diff", "-m", "a").returncode == 0
    project.schema("t.sql", "create table t (id int primary key, c timestamp);\n")
    for extra in ((), ("--allow-destructive",)):
        r = project.cli("--dev-url", dev_url, "diff", "-m", "b", *extra)
        assert r.returncode == 4, r.stderr
        assert r.stderr.startswith(
            'error: up: changes the type of column "c" of "public"."t", and PostgreSQL has no '
            "cast from time without time zone to timestamp without time zone"
        ), r.stderr
        assert "hint: write the conversion by hand: `schemactl new -m NAME`" in r.stderr
        assert project.migrations() == ["0001_a.down.sql", "0001_a.up.sql"]  # nothing written


def test_an_identity_whose_range_shrinks_is_named_as_failing_past_its_bound(
    project: Project, dev_url: str, target_url: str
) -> None:
    from .conftest import query

    ident = "create table t (id int generated by default as identity (maxvalue {}) primary key);\n"
    project.schema("t.sql", ident.format(1000000))
    assert project.cli("--dev-url", dev_url, "diff", "-m", "a").returncode == 0
    assert project.cli("apply", "--db", target_url).returncode == 0
    query(target_url, "insert into t select from generate_series(1, 150)")
    project.schema("t.sql", ident.format(100))
    r = project.cli("--dev-url", dev_url, "diff", "-m", "b")
    assert r.returncode == 0, r.stderr
    said = (
        "changes the bounds of the identity of column id of public.t: fails if it has already "
        "handed out a value past the new ones"
    )
    assert f"warning: {said} (then nothing is changed)" in r.stderr
    up = (project.root / "generated" / "0002_b.up.sql").read_text()
    assert f"-- Can fail on existing rows (then nothing is changed):\n--   {said}\n" in up
    r = project.cli("apply", "--db", target_url)  # as said: past 100 already, nothing changed
    assert r.returncode == 8 and "cannot be greater than MAXVALUE" in r.stderr, r.stderr
