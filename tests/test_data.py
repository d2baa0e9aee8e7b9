"""Data-aware verification through the real CLI: each pair tried on sample rows, with what it
measured (locks, rewrites, index builds, validation scans), what fails with rows, and the
values it loses; and the same migration applied to a real database with rows."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from schemactl.scratch import pgserver
from schemactl.targets import runner

from .conftest import Project

BASE = "CREATE TABLE p (id serial PRIMARY KEY, name text NOT NULL, note text, big int);\n"


def _diff(project: Project, dev_url: str, *args: str) -> tuple[Any, dict[str, Any]]:
    """`schemactl diff` (JSON), and the document it printed."""
    r = project.cli("--dev-url", dev_url, "diff", "--format", "json", *args)
    return r, (json.loads(r.stdout) if r.stdout.strip() else {})


def _based(project: Project, dev_url: str, schema: str = BASE) -> None:
    project.schema("schema.sql", schema)
    r, doc = _diff(project, dev_url, "-m", "base")
    assert r.returncode == 0 and doc["verified"], r.stderr


def _found(doc: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [h for h in doc["hazards"] if h["kind"] == kind]


def test_a_type_change_that_long_values_refuse_fails_with_data_and_truncates_nothing(
    project: Project, dev_url: str, server: pgserver.EphemeralServer, database: str, target_url: str
) -> None:
    _based(project, dev_url)
    project.schema("schema.sql", BASE.replace("note text", "note varchar(5)"))
    r, doc = _diff(project, dev_url, "-m", "narrow")
    assert r.returncode == 0, r.stderr
    (failure,) = _found(doc, "fails-with-data")
    assert failure["relation"] == "public.p" and failure["direction"] == "up"
    assert "value too long for type character varying(5)" in failure["detail"]
    assert doc["sample_rows"] >= 3
    up = (project.root / "generated" / "0002_narrow.up.sql").read_text()
    assert "--   fails-with-data: fails with rows on public.p: value too long" in up
    # On a real database with a long value the migration fails, and nothing is cut.
    runner.apply_migrations(project.config, target_url, target=1)
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO p (name, note) VALUES ('a', 'a long note')")
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 8 and "value too long" in r.stderr
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute("SELECT note FROM p")
        assert cur.fetchall() == [("a long note",)]


def test_a_cast_that_cuts_values_is_data_loss_and_refused(project: Project, dev_url: str) -> None:
    _based(project, dev_url, BASE.replace("big int", "amount numeric(10,2)"))
    project.schema("schema.sql", BASE.replace("big int", "amount integer"))
    r, doc = _diff(project, dev_url, "-m", "round")
    assert r.returncode == 3, r.stderr  # refused, like a destructive change
    assert "error: the migration would lose data" in r.stderr
    r, doc = _diff(project, dev_url, "-m", "round", "--allow-destructive")
    assert r.returncode == 0, r.stderr
    (lost,) = [h for h in _found(doc, "data-loss") if h["direction"] == "up"]
    assert "public.p.amount rounded" in lost["detail"] and "became" in lost["detail"]


def test_a_not_null_column_without_default_fails_with_data(project: Project, dev_url: str) -> None:
    _based(project, dev_url)
    project.schema("schema.sql", BASE.replace("big int", "big int, c int NOT NULL"))
    r, doc = _diff(project, dev_url, "-m", "c")
    assert r.returncode == 0 and doc["verified"], r.stderr  # fine on the empty database
    (failure,) = _found(doc, "fails-with-data")
    assert 'column "c" of relation "p" contains null values' in failure["detail"]
    assert 'add column "c" integer not null' in failure["statement"]
    fix = (
        'give "c" a DEFAULT; or add it nullable, fill it in a `schemactl new` pair, and set NOT '
        "NULL in a migration after that"
    )
    assert failure["fix"] == fix
    up = (project.root / "generated" / "0002_c.up.sql").read_text()
    assert f"--     fix: {fix}\n" in up
    project.schema("schema.sql", BASE.replace("big int", "big int, d int NOT NULL"))
    r = project.cli("--dev-url", dev_url, "diff", "--print")
    assert f"    fix: {fix.replace('c', 'd', 1)}" in r.stderr, r.stderr


def test_every_statement_that_fails_on_rows_is_found_not_only_the_first(
    project: Project, dev_url: str
) -> None:
    _based(project, dev_url)
    checked = BASE.replace(
        "big int", "big int CHECK (big > 1000), CONSTRAINT named CHECK (length(note) > 100)"
    )
    project.schema("schema.sql", checked.replace("name text NOT NULL", "name text NOT NULL UNIQUE"))
    r, doc = _diff(project, dev_url, "-m", "checks")
    assert r.returncode == 0 and doc["verified"], r.stderr
    failures = _found(doc, "fails-with-data")
    details = " | ".join(f["detail"] for f in failures)
    assert len(failures) == 2, details  # the rows' names are distinct: UNIQUE holds
    assert "p_big_check" in details and '"named"' in details, details
    assert all("NOT VALID" in f["fix"] for f in failures)


def test_an_index_build_and_a_rewrite_are_measured(project: Project, dev_url: str) -> None:
    _based(project, dev_url)
    indexed = BASE + "CREATE INDEX p_name ON p (name);\n"
    project.schema("schema.sql", indexed)
    r, doc = _diff(project, dev_url, "-m", "index")
    assert r.returncode == 0, r.stderr
    (build,) = _found(doc, "index-build")
    assert (build["relation"], build["lock"], build["rewrite"]) == ("public.p", "ShareLock", False)
    project.schema("schema.sql", indexed.replace("big int", "big bigint"))
    text = project.cli("--dev-url", dev_url, "diff", "--print")  # the table, in text mode
    assert "measured on 3 sample rows:" in text.stderr
    assert "  up  rewrite  public.p  AccessExclusiveLock" in text.stderr
    r, doc = _diff(project, dev_url, "-m", "widen")
    assert r.returncode == 0, r.stderr
    (rewrite,) = _found(doc, "rewrite")
    assert (rewrite["lock"], rewrite["rewrite"]) == ("AccessExclusiveLock", True)
    assert 'alter column "big" set data type bigint' in rewrite["statement"]


def test_hazard_locks_refuse_what_they_do_not_allow(project: Project, dev_url: str) -> None:
    _based(project, dev_url)
    project.write_config('hazard_locks = ["AccessShareLock", "RowExclusiveLock", "ShareLock"]\n')
    project.schema("schema.sql", BASE.replace("big int", "big bigint"))
    r, _ = _diff(project, dev_url, "-m", "widen")
    assert r.returncode == 9, r.stderr
    assert "error: the migration takes AccessExclusiveLock on public.p" in r.stderr
    assert "--allow-hazards" in r.stderr
    assert project.migrations() == ["0001_base.down.sql", "0001_base.up.sql"]  # nothing written
    r, _ = _diff(project, dev_url, "-m", "widen", "--allow-hazards")
    assert r.returncode == 0, r.stderr
    project.write_config('hazard_locks = ["ShareLockk"]\n')
    r = project.cli("--dev-url", dev_url, "diff", "--print")
    assert r.returncode == 2 and "'hazard_locks' names 'ShareLockk'" in r.stderr


def test_sample_files_and_tables_that_take_no_row(project: Project, dev_url: str) -> None:
    schema = BASE + "CREATE TABLE odd (v text NOT NULL CHECK (v = 'only this'));\n"
    _based(project, dev_url, schema)
    project.write_config('sample_rows = 2\nsample_data = "sampledata"\n')
    (project.root / "sampledata").mkdir()
    (project.root / "sampledata" / "rows.sql").write_text(
        "INSERT INTO odd VALUES ('only this');\nINSERT INTO nowhere VALUES (1);\n"
    )
    project.schema("schema.sql", schema.replace("v text", "v varchar(4)"))
    r, doc = _diff(project, dev_url, "-m", "odd")
    assert r.returncode == 0, r.stderr
    # The sample row the schema takes made the narrowing fail; the other one is named.
    (failure,) = _found(doc, "fails-with-data")
    assert failure["relation"] == "public.odd"
    assert any(
        w.startswith("sampledata/rows.sql:2: sample row not inserted") for w in doc["warnings"]
    )
    # A table no generated row satisfies is named, never fatal.
    project.write_config("")
    project.schema("schema.sql", schema.replace("note text", "note text, extra int"))
    r, doc = _diff(project, dev_url, "-m", "extra")
    assert r.returncode == 0, r.stderr
    assert any('"public"."odd": no sample row could be inserted' in w for w in doc["warnings"])


@pytest.mark.parametrize("value", ["data_check = 1", "sample_rows = -1"])
def test_data_settings_are_checked(project: Project, value: str) -> None:
    project.write_config(value + "\n")
    r = project.cli("diff", "--print")
    assert r.returncode == 2 and value.split(" ")[0] in r.stderr


RENAMED = """
create type feeling as enum ( -- @renamed from=mood
  'fine', -- @renamed from=ok
  'sad');
create table accounts ( -- @renamed from=users
  id serial primary key,
  user_name text not null, -- @renamed from=username
  m feeling,
  note text,
  constraint accounts_note check (note <> '') -- @renamed from=users_note
);
create index accounts_user_name on accounts (user_name); -- @renamed from=users_username
"""


def test_renames_keep_values_and_positions(
    project: Project, dev_url: str, server: pgserver.EphemeralServer, database: str, target_url: str
) -> None:
    _based(
        project,
        dev_url,
        "create type mood as enum ('ok', 'sad');\n"
        "create table users (id serial primary key, username text not null, m mood, note text,"
        " constraint users_note check (note <> ''));\n"
        "create index users_username on users (username);\n",
    )
    runner.apply_migrations(project.config, target_url)
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO users (username, m, note) VALUES ('ann', 'ok', 'n')")
    project.schema("schema.sql", RENAMED)
    r, doc = _diff(project, dev_url, "-m", "renames")  # no --allow-destructive needed
    assert r.returncode == 0 and doc["verified"], r.stderr
    assert not _found(doc, "data-loss") and not doc["destructive"]
    up, down = doc["up_sql"], doc["down_sql"]
    for line in (
        'alter type "public"."mood" rename to "feeling";',
        """alter type "public"."feeling" rename value 'ok' to 'fine';""",
        'alter table "public"."users" rename to "accounts";',
        'alter table "public"."accounts" rename column "username" to "user_name";',
        'alter table "public"."accounts" rename constraint "users_note" to "accounts_note";',
        'alter index "public"."users_username" rename to "accounts_user_name";',
        # named after the table by PostgreSQL: renamed with it, not dropped and rebuilt
        'alter table "public"."accounts" rename constraint "users_pkey" to "accounts_pkey";',
        'alter sequence "public"."users_id_seq" rename to "accounts_id_seq";',
    ):
        assert line in up, line
    assert "drop" not in up.lower() and "drop" not in down.lower()
    assert 'alter table "public"."accounts" rename to "users";' in down
    r = project.cli("apply", "--db", target_url)
    assert r.returncode == 0, r.stderr
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, user_name, m::text, note FROM accounts")
        assert cur.fetchall() == [(1, "ann", "fine", "n")]
        cur.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attnum > 0"
            " ORDER BY attnum"
        )
        assert [n for (n,) in cur.fetchall()] == ["id", "user_name", "m", "note"]  # in place
    # The annotations stay in the DDL; with the old names gone they change nothing.
    r, doc = _diff(project, dev_url, "-m", "again")
    assert r.returncode == 0 and doc["status"] == "no-changes", r.stderr


def test_a_drop_and_add_of_one_type_names_the_annotation(project: Project, dev_url: str) -> None:
    _based(project, dev_url)
    project.schema("schema.sql", BASE.replace("note text", "remark text"))
    r, _ = _diff(project, dev_url, "-m", "remark")
    assert r.returncode == 3
    assert (
        'if "public"."p"."note" was renamed to "remark", write `-- @renamed from=note` after '
        "remark's definition in schemas/"
    ) in r.stderr


def test_verify_tries_hand_written_pairs_on_rows(project: Project, dev_url: str) -> None:
    _based(project, dev_url)
    r = project.cli("new", "-m", "backfill")
    assert r.returncode == 0, r.stderr
    up = project.root / "generated" / "0002_backfill.up.sql"
    up.write_text("ALTER TABLE p ALTER COLUMN big TYPE bigint;\nUPDATE p SET note = NULL;\n")
    (project.root / "generated" / "0002_backfill.down.sql").write_text(
        "ALTER TABLE p ALTER COLUMN big TYPE integer;\n"
    )
    r = project.cli("--dev-url", dev_url, "verify", "--format", "json")
    (pair,) = [p for p in json.loads(r.stdout)["pairs"] if p["version"] == "0002_backfill"]
    kinds = {h["kind"] for h in pair["hazards"]}
    assert {"rewrite", "data-loss"} <= kinds, pair
    lost = next(h for h in pair["hazards"] if h["kind"] == "data-loss")
    assert "public.p.note emptied (NULL)" in lost["detail"]


SPREAD = (
    "CREATE FUNCTION c_has_rows() RETURNS boolean LANGUAGE plpgsql STABLE\n"
    "    AS $$ BEGIN RETURN (SELECT count(*) > 0 FROM c); END $$;\n"
    "CREATE TABLE a (id serial PRIMARY KEY, name text);\n"
    "CREATE TABLE b (id serial PRIMARY KEY, a_id int NOT NULL REFERENCES a, x int);\n"
    "CREATE TABLE c (id serial PRIMARY KEY, name text);\n"
)


def test_only_the_tables_a_pair_reaches_are_filled(project: Project, dev_url: str) -> None:
    _based(project, dev_url, SPREAD)
    project.schema("schema.sql", SPREAD.replace("x int)", "x int, y int DEFAULT 1)"))
    r, doc = _diff(project, dev_url, "-m", "y")
    assert r.returncode == 0 and doc["verified"], r.stderr
    assert doc["sample_rows"] == 6  # b, and a for b's key; c is out of the pair's reach


def test_a_run_that_reads_a_table_left_empty_is_tried_again_with_every_table_filled(
    project: Project, dev_url: str
) -> None:
    # On empty tables the new CHECK reaches only b; on rows it calls a function that reads c,
    # which (left empty) would make it fail. Tried again with c filled, it holds.
    _based(project, dev_url, SPREAD)
    project.schema("schema.sql", SPREAD.replace("x int)", "x int CHECK (c_has_rows()))"))
    r, doc = _diff(project, dev_url, "-m", "check")
    assert r.returncode == 0 and doc["verified"], r.stderr
    assert not _found(doc, "fails-with-data"), doc["hazards"]
    assert doc["sample_rows"] == 9


def test_verify_measures_a_rename_pair_as_diff_did(project: Project, dev_url: str) -> None:
    schema = "CREATE TYPE mood AS ENUM ('ok', 'sad');\n" + BASE.replace(
        "big int", "big int, feeling mood"
    )
    _based(project, dev_url, schema)
    renamed = (
        schema.replace("'sad'", "'blue' -- @renamed from=sad\n")
        .replace("CREATE TABLE p", "CREATE TABLE q -- @renamed from=p\n")
        .replace("note text,", "remark text, -- @renamed from=note\n")
    )
    project.schema("schema.sql", renamed)
    r, doc = _diff(project, dev_url, "-m", "renames")
    assert r.returncode == 0 and doc["verified"], r.stderr
    assert _found(doc, "data-loss") == []
    r = project.cli("--dev-url", dev_url, "verify", "--format", "json")
    assert r.returncode == 0, r.stderr
    found = [h for p in json.loads(r.stdout)["pairs"] for h in p["hazards"]]
    assert [h for h in found if h["kind"] == "data-loss"] == [], found


def test_sample_rows_meet_simple_checks(project: Project, dev_url: str) -> None:
    checked = """CREATE TABLE run (
      id serial PRIMARY KEY,
      read_length int NOT NULL CHECK (read_length BETWEEN 30 AND 100000),
      share numeric(4,3) CHECK (share > 0 AND share < 1),
      mode text NOT NULL CHECK (mode IN ('single', 'paired')),
      ref text NOT NULL, alt text NOT NULL, CONSTRAINT differ CHECK (ref <> alt),
      started_at timestamptz NOT NULL,
      finished_at timestamptz CHECK (finished_at IS NULL OR finished_at >= started_at),
      low int CHECK (-5 < low), high int CHECK (high <= -7)
    );
    """
    _based(project, dev_url, checked)
    project.schema("schema.sql", checked.replace("high int", "high int, note text"))
    r, doc = _diff(project, dev_url, "-m", "note")
    assert r.returncode == 0, r.stderr
    assert not [w for w in doc["warnings"] if "no sample row" in w], doc["warnings"]
    assert doc["sample_rows"] == 3  # all three rows taken (before: none, and a warning)
