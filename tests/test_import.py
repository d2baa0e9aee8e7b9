"""`schemactl import`: an existing database written as schemas/, proved, and adopted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from schemactl.grammar.positions import without_schema
from schemactl.project import dumpfiles
from schemactl.project.config import load_config
from schemactl.scratch import pgserver

from .conftest import Project, query, run_cli, url_of

REPO = Path(__file__).resolve().parent.parent

# Every kind the engine diffs, in a database nobody wrote schemas/ for.
LIVE = """
create extension if not exists citext;
create schema app;
create type mood as enum ('sad', 'ok', 'happy');
create type app.pair as (a int, b text);
create domain posint as int check (value > 0);
create sequence counter start 5;
create table parent (
  id int generated always as identity primary key,
  name citext not null default 'x', m mood, note text
);
comment on table parent is 'the parent';
comment on column parent.name is 'a name';
create unique index parent_name on parent (name);
create table child (
  id serial primary key, parent_id int references parent (id) on delete cascade,
  qty posint, check (qty < 100)
);
create table app.events (id bigint, at timestamptz not null, primary key (id, at))
  partition by range (at);
create index on app.events (at);
create table app.events_2024 partition of app.events
  for values from ('2024-01-01') to ('2025-01-01');
create table app.events_2025 (id bigint not null, at timestamptz not null);
create index events_2025_own on app.events_2025 (at);
alter table app.events attach partition app.events_2025
  for values from ('2025-01-01') to ('2026-01-01');
create table base (a int);
create table derived (b int) inherits (base);
create function total(p int) returns int language sql as $$ select p * 2 $$;
create function app.body() returns text language sql as $$ select 'public.x'::text $$;
create procedure bump() language plpgsql as $$ begin update parent set note = 'x'; end $$;
create function touch() returns trigger language plpgsql
  as $$ begin new.note := 'touched'; return new; end $$;
create trigger parent_touch before update on parent for each row execute function touch();
create aggregate sum2(int) (sfunc = int4pl, stype = int);
create view parent_names as select id, name from parent;
create materialized view counts as select count(*) as n from child;
create unique index counts_n on counts (n);
alter table parent enable row level security;
do $$ begin create role import_reader; exception when duplicate_object then null; end $$;
create policy readers on parent for select to import_reader using (true);
grant select on parent to import_reader;
grant usage on schema app to import_reader;
"""


def _live(server: pgserver.EphemeralServer, database: str, sql: str) -> str:
    url = url_of(server, database)
    query(url, sql)
    return url


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_import_writes_one_file_per_object_proves_it_and_adopts_the_database(
    tmp_path: Path, server: pgserver.EphemeralServer, database: str
) -> None:
    url = _live(server, database, LIVE)
    first = tmp_path / "first"
    assert run_cli("init", str(first), cwd=tmp_path).returncode == 0
    r = run_cli("import", "--db", url, "--baseline", cwd=first)
    assert r.returncode == 0, r.stderr
    assert "proved by pg_dump" in r.stderr and "recorded at 0001_import" in r.stderr
    schemas = first / "schemas"
    files = _files(schemas)
    assert {
        "extensions/citext.sql", "schemas/app.sql", "types/mood.sql", "types/app.pair.sql",
        "types/posint.sql", "sequences/counter.sql", "tables/parent.sql", "tables/child.sql",
        "tables/app.events.sql", "tables/app.events_2024.sql", "tables/derived.sql",
        "functions/total.sql", "functions/bump.sql", "functions/sum2.sql", "functions/touch.sql",
        "triggers/parent.sql", "views/parent_names.sql", "views/counts.sql",
    } <= set(files)  # fmt: skip
    parent = files["tables/parent.sql"]
    for piece in ("CREATE TABLE parent (", "COMMENT ON COLUMN parent.name", "parent_pkey",
                  "CREATE UNIQUE INDEX parent_name", "CREATE POLICY readers ON parent",
                  "GRANT SELECT ON TABLE parent TO import_reader"):  # fmt: skip
        assert piece in parent, piece
    assert "public." not in parent and "CREATE TRIGGER" not in parent
    assert "CREATE SEQUENCE child_id_seq" in files["tables/child.sql"]  # a serial's sequence
    assert "'public.x'::text" in files["functions/app.body.sql"]  # bodies stay as written
    assert 'roles = ["import_reader"]' in (first / "schemactl.toml").read_text()
    assert sorted(p.name for p in (first / "generated").glob("*.sql")) == [
        "0001_import.down.sql", "0001_import.up.sql"
    ]  # fmt: skip
    status = run_cli("status", "--db", url, "--format", "json", cwd=first)
    assert json.loads(status.stdout)["current"] == "0001_import", status.stdout
    assert run_cli("check", cwd=first).returncode == 0
    again = run_cli("diff", "-m", "next", cwd=first)
    assert again.returncode == 0 and "no changes" in again.stderr, again.stderr

    # The same database imported again (the ledger's schema is left out): the same bytes.
    second = tmp_path / "second"
    assert run_cli("init", str(second), cwd=tmp_path).returncode == 0
    r = run_cli("import", "--db", url, "--format", "json", cwd=second)
    assert r.returncode == 0, r.stderr
    assert _files(second / "schemas") == files
    assert json.loads(r.stdout)["roles_added"] == ["import_reader"]


def test_the_example_projects_database_imports_to_files_that_load_to_it(
    tmp_path: Path, server: pgserver.EphemeralServer, database: str
) -> None:
    example = tmp_path / "example"
    shutil.copytree(REPO, example, ignore=shutil.ignore_patterns(".*", "src", "tests", "docs"))
    url = url_of(server, database)
    for role in load_config(example).roles:  # server-wide: made before the migrations run
        query(url, f"do $$ begin create role {role}; exception when others then null; end $$")
    assert run_cli("apply", "--db", url, cwd=example).returncode == 0
    fresh = tmp_path / "fresh"
    assert run_cli("init", str(fresh), cwd=tmp_path).returncode == 0
    r = run_cli("import", "--db", url, cwd=fresh)
    assert r.returncode == 0 and "proved by pg_dump" in r.stderr, r.stderr
    drift = run_cli("diff", "--db", url, cwd=fresh)
    assert drift.returncode == 0 and "matches schemas/" in drift.stderr, drift.stderr


def test_import_refuses_a_project_that_has_files_and_replaces_them_with_force(
    project: Project, server: pgserver.EphemeralServer, database: str
) -> None:
    url = _live(server, database, "create table t (id int primary key);")
    project.schema("mine.sql", "create table mine (id int);")
    r = project.cli("import", "--db", url)
    assert r.returncode == 2 and "schemas/ is not empty" in r.stderr and "--force" in r.stderr
    assert (project.root / "schemas" / "mine.sql").exists()  # nothing touched
    r = project.cli("import", "--db", url, "--force")
    assert r.returncode == 0, r.stderr
    assert _files(project.root / "schemas") == {
        "tables/t.sql": "CREATE TABLE t (\n    id integer NOT NULL\n);\n\n"
        "ALTER TABLE ONLY t\n    ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n"
    }
    r = project.cli("import", "--db", url, "--force")
    assert r.returncode == 2 and "generated/ already holds migrations" in r.stderr


def test_a_dump_is_cut_into_files_by_owner_and_only_public_loses_its_qualifier() -> None:
    dump = """--
-- Name: t; Type: TABLE; Schema: public; Owner: -
--

SET default_tablespace = '';

CREATE TABLE public.t (
    id integer
);


--
-- Name: t t_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.t
    ADD CONSTRAINT t_pkey PRIMARY KEY (id);


--
-- Name: f(); Type: FUNCTION; Schema: s; Owner: -
--

CREATE FUNCTION s.f() RETURNS text
    LANGUAGE sql
    AS $$
SET search_path = public;
select 'public.t'
$$;


--
-- Name: TABLE t; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.t TO "Reader", app;


--
-- PostgreSQL database dump complete
--

"""
    found = dumpfiles.layout(dump)
    assert found.files == {
        "functions/s.f.sql": "CREATE FUNCTION s.f() RETURNS text\n    LANGUAGE sql\n    AS $$\n"
        "SET search_path = public;\nselect 'public.t'\n$$;\n",
        "tables/t.sql": "CREATE TABLE t (\n    id integer\n);\n\nALTER TABLE ONLY t\n"
        "    ADD CONSTRAINT t_pkey PRIMARY KEY (id);\n\n"
        'GRANT SELECT ON TABLE t TO "Reader", app;\n',
    }
    assert found.roles == {"Reader", "app"}
    assert without_schema("select \"public\".x, public.y, 'public.z'") == (
        "select \"public\".x, y, 'public.z'"
    )


def test_import_from_a_fleet_reads_its_first_database_and_says_so(
    project: Project, server: pgserver.EphemeralServer, database: str
) -> None:
    first = _live(server, database, "create table t (id int);")
    other = server.create_database("other")
    try:
        (project.root / "fleet.txt").write_text(f"{first}\n{url_of(server, other)}\n")
        project.write_config('[environments.fleet]\nurls_from = "fleet.txt"\n')
        r = project.cli("import", "--env", "fleet")
        assert r.returncode == 0, r.stderr
        assert "names 2 databases: imported from the first" in r.stderr
        assert (project.root / "schemas" / "tables" / "t.sql").exists()
    finally:
        server.drop_database(other)
