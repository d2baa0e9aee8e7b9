"""The PostgreSQL major migrations are verified on: `pg_version = "auto"` takes the one the
environments run, headers say which major verified a pair, `apply` says when a database runs
another and how to fix it, and a server whose build lacks a feature is named as such."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemactl.scratch import pgbinaries, pgserver

from .conftest import Project, query, url_of


@pytest.fixture
def other_major(
    discovery: None, server: pgserver.EphemeralServer
) -> Iterator[tuple[int, int, pgserver.EphemeralServer]]:
    """(the session server's major, another installed major, a running server of the other)."""
    here = server.server_version() // 10000
    others = [b for b in pgbinaries.discover() if b.major != here]
    if not others:
        pytest.skip("needs two PostgreSQL majors (the system one and the bundled one)")
    box = pgserver.EphemeralServer(others[0])
    try:
        yield here, others[0].major, box
    finally:
        box.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _auto(project: Project, url: str) -> None:
    project.write_config(f'pg_version = "auto"\n[environments.prod]\nurl = "{url}"\n')


def test_auto_verifies_on_the_major_the_environment_runs(
    other_major: tuple[int, int, pgserver.EphemeralServer],
    project: Project,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default, other, prod = other_major
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "cache"))
    prod_db = prod.create_database("prod")
    _auto(project, url_of(prod, prod_db))
    r = project.cli("doctor", "--format", "json")
    report = json.loads(r.stdout)
    assert (
        report["reason"] == f"pg_version = \"auto\": 'prod' runs {other}" and not report["problems"]
    ), r.stdout
    assert next(s["major"] for s in report["servers"] if s["chosen"]) == other

    project.schema("t.sql", "create table t (id int primary key, name text);\n")
    r = project.cli("diff", "-m", "base")
    assert r.returncode == 0, r.stderr
    up = (project.root / "generated" / "0001_base.up.sql").read_text()
    assert f"-- Verified with pg_dump on PostgreSQL {other} (pair " in up

    # Asked once: with production gone, the cached answer still holds and nothing warns.
    prod.close()
    r = project.cli("diff", "-m", "again")
    assert r.returncode == 0 and "no changes" in r.stderr and "warning" not in r.stderr, r.stderr


def test_auto_with_an_environment_it_cannot_ask_warns_and_uses_the_default(
    discovery: None, project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "cache"))
    _auto(project, f"postgresql://app:s3cret-pw@127.0.0.1:{_free_port()}/app")
    project.schema("t.sql", "create table t (id int primary key);\n")
    r = project.cli("diff", "-m", "base")
    assert r.returncode == 0, r.stderr
    warning = next(ln for ln in r.stderr.splitlines() if ln.startswith("warning:"))
    assert (
        "pg_version = \"auto\": cannot ask environment 'prod' for its PostgreSQL major" in warning
    )
    assert "s3cret-pw" not in r.stderr + r.stdout
    default = pgbinaries.choose(pgbinaries.discover(), None)
    assert default is not None
    up = (project.root / "generated" / "0001_base.up.sql").read_text()
    assert f"on PostgreSQL {default.major} (pair " in up


def test_auto_without_environments_is_a_configuration_error(project: Project) -> None:
    project.write_config('pg_version = "auto"\n')
    r = project.cli("diff", "-m", "x")
    assert r.returncode == 2
    assert r.stderr.startswith(
        'error: schemactl.toml: pg_version = "auto" takes the major of the environments'
    )
    assert "hint: add an [environments.NAME] table" in r.stderr
    project.write_config('pg_version = "newest"\n')
    r = project.cli("diff", "-m", "x")
    assert r.returncode == 2 and 'must be a major version such as 16, or "auto"' in r.stderr


def test_apply_names_the_fix_when_the_database_runs_another_major(
    other_major: tuple[int, int, pgserver.EphemeralServer],
    project: Project,
    server: pgserver.EphemeralServer,
    database: str,
) -> None:
    default, other, _ = other_major
    project.schema("t.sql", "create table t (id int primary key);\n")
    assert project.cli("--pg-version", str(other), "diff", "-m", "base").returncode == 0
    url = url_of(server, database)
    r = project.cli("apply", "--db", url)
    assert r.returncode == 0, r.stderr
    warning = next(ln for ln in r.stderr.splitlines() if ln.startswith("warning:"))
    assert warning.startswith(
        f"warning: 0001_base was verified on PostgreSQL {other}, and this database runs "
        f"PostgreSQL {default}: to verify it on {default}, set pg_version = {default}"
    )
    assert warning.endswith("then run `schemactl verify 1`")

    # A failing apply says it too: there it may explain the failure.
    project.schema("u.sql", "create table u (id int primary key);\n")
    assert project.cli("--pg-version", str(other), "diff", "-m", "u").returncode == 0
    query(url, "create table u (id int)")
    r = project.cli("apply", "--db", url)
    assert r.returncode == 8, r.stderr
    assert f"warning: 0002_u was verified on PostgreSQL {other}" in r.stderr, r.stderr
    failed = json.loads(project.cli("apply", "--db", url, "--format", "json").stdout)
    assert failed["ok"] is False and "0002_u was verified on" in failed["warnings"][0]
    query(url, "drop table u")
    project.remove("u.sql")
    for p in (project.root / "generated").glob("0002_u.*"):
        p.unlink()
    project.cli("rehash")
    dry = json.loads(project.cli("apply", "--db", url, "--dry-run", "--format", "json").stdout)
    assert dry["warnings"] == []  # nothing is pending: nothing to warn about

    # The fix it names: verify on the database's major. Only the verification lines change, so the
    # applied file is still `applied`, not `changed`.
    # (on the session server's binaries: the test's discovery need not find every major)
    assert server.binaries is not None
    r = project.cli("--pg-version", str(default), "verify", "1")
    assert r.returncode == 0, r.stderr
    up = (project.root / "generated" / "0001_base.up.sql").read_text()
    assert f"on PostgreSQL {default} (pair " in up
    status = json.loads(project.cli("status", "--db", url, "--format", "json").stdout)
    assert [m["state"] for m in status["migrations"]] == ["applied"], status
    assert query(url, "SELECT count(*) FROM t") == [(0,)]
    # A ledger written before checksums left the verification lines out still matches.
    up_path = project.root / "generated" / "0001_base.up.sql"
    query(
        url,
        "UPDATE schemactl.migrations SET checksum = "
        f"'{hashlib.sha256(up_path.read_bytes()).hexdigest()}'",
    )
    status = json.loads(project.cli("status", "--db", url, "--format", "json").stdout)
    assert [m["state"] for m in status["migrations"]] == ["applied"], status


def test_a_feature_the_server_lacks_is_named_with_the_fix(project: Project) -> None:
    project.schema("ext.sql", "create extension if not exists no_such_thing;\n")
    r = project.cli("diff", "-m", "x")
    assert r.returncode == 8, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0].startswith("error: schemas/ext.sql:1:1: the scratch server (PostgreSQL ")
    assert lines[0].endswith(
        "has no no_such_thing extension installed, so CREATE EXTENSION no_such_thing cannot run "
        "there"
    )
    hint = next(ln for ln in lines if ln.startswith("hint:"))
    assert "SCHEMACTL_PG_BIN=DIR" in hint


def test_a_server_built_without_icu_says_so(discovery: None, project: Project) -> None:
    import subprocess

    embedded = next((b for b in pgbinaries.discover() if b.source == pgbinaries.EMBEDDED), None)
    if (
        embedded is None
        or "--without-icu"
        not in subprocess.run(
            [embedded.tool("pg_config"), "--configure"], capture_output=True, text=True, check=False
        ).stdout
    ):
        pytest.skip("needs the bundled server built without ICU")
    project.schema("c.sql", "create collation german (provider = icu, locale = 'de-DE');\n")
    r = project.cli("--pg-version", str(embedded.major), "diff", "-m", "x")
    assert r.returncode == 8
    assert r.stderr.startswith(
        f"error: schemas/c.sql:1:1: the scratch server (PostgreSQL {embedded.major} in "
    )
    assert (
        "is built without ICU, so ICU collations cannot be created there"
        in r.stderr.splitlines()[0]
    )
    assert "ICU is not supported in this build" not in r.stderr


_ATTACHED = """create table customers (id int primary key, user_name text not null,
      email text not null default '');
    create table purchases (id int primary key, customer_id int not null references customers,
      total numeric not null check (total >= 0));
    create table m (city int not null, day date not null) partition by range (day);
    create table m_7 partition of m for values from ('2007-01-01') to ('2008-01-01');"""
# Ten edits a team makes in a week, renames and a partition detached and attached among them:
# on PostgreSQL 18 each leaves NOT NULL constraint names (`customers_username_not_null` after a
# rename, the parent's after a detach) that no other major has.
_WEEK = (
    """create table customers (id int primary key, username text not null, email text);
    create table orders (id int primary key, customer_id int not null references customers,
      total numeric not null);""",
    """create table customers (id int primary key,
      user_name text not null, -- @renamed from=username
      email text);
    create table orders (id int primary key, customer_id int not null references customers,
      total numeric not null);""",
    """create table customers (id int primary key,
      user_name text not null,
      email text not null default '');
    create table orders (id int primary key, customer_id int not null references customers,
      total numeric not null);""",
    """create table customers (id int primary key, user_name text not null,
      email text not null default '');
    create table purchases -- @renamed from=orders
      (id int primary key, customer_id int not null references customers,
      total numeric not null);""",
    _ATTACHED,
    """create table customers (id int primary key, user_name text not null,
      email text not null default '');
    create table purchases (id int primary key, customer_id int not null references customers,
      total numeric not null check (total >= 0));
    create table m (city int not null, day date not null) partition by range (day);
    create table m_7 (city int not null, day date not null);""",
    _ATTACHED,
    """create table customers (id int primary key, user_name text not null,
      email text not null default '');
    create table purchases (id int primary key, customer_id int not null references customers,
      total numeric not null check (total >= 0));
    create index on purchases (customer_id);
    create table m (town int not null, -- @renamed from=city
      day date not null) partition by range (day);
    create table m_7 partition of m for values from ('2007-01-01') to ('2008-01-01');""",
    """create table clients -- @renamed from=customers
      (id int primary key, user_name text not null, email text not null default '');
    create table purchases (id int primary key, customer_id int not null references clients,
      total numeric not null check (total >= 0));
    create index on purchases (customer_id);
    create table m (town int not null, day date not null) partition by range (day);
    create table m_7 partition of m for values from ('2007-01-01') to ('2008-01-01');""",
    """create table clients (id int primary key,
      login text not null, -- @renamed from=user_name
      email text not null default '');
    create table purchases (id int primary key, customer_id int not null references clients,
      total numeric not null check (total >= 0), placed date not null default current_date);
    create index on purchases (customer_id);
    create table m (town int not null, day date not null) partition by range (day);
    create table m_7 partition of m for values from ('2007-01-01') to ('2008-01-01');""",
)


@pytest.mark.parametrize("made_on", ["the session's major", "the other major"])
def test_a_history_made_on_one_major_checks_clean_and_applies_on_another(
    other_major: tuple[int, int, pgserver.EphemeralServer],
    server: pgserver.EphemeralServer,
    project: Project,
    made_on: str,
) -> None:
    here, other, other_box = other_major
    made, used, box = (
        (here, other, other_box) if made_on == "the session's major" else (other, here, server)
    )
    for i, ddl in enumerate(_WEEK):
        project.schema("s.sql", ddl + "\n")
        r = project.cli("--pg-version", str(made), "diff", "-m", f"edit {i}")
        assert r.returncode == 0 and "verified:" in r.stderr, (i, r.stderr)
    generated = "".join(p.read_text() for p in sorted((project.root / "generated").glob("*.sql")))
    # A NOT NULL's name is touched only where this migration made it differ (a renamed column,
    # a detach or attach), and only where it exists: never a bare rename that fails on 15.
    for line in generated.splitlines():
        if "_not_null" in line and not line.startswith("--"):
            assert line.startswith("DO $$BEGIN IF EXISTS (SELECT FROM pg_constraint"), line

    r = project.cli("--pg-version", str(used), "check", "--no-models")
    assert r.returncode == 0, r.stdout + r.stderr
    url = url_of(box, box.create_database("week"))
    r = project.cli("apply", "--db", url)
    assert r.returncode == 0, r.stderr
    r = project.cli("rollback", "--db", url, "--steps", str(len(_WEEK)))
    assert r.returncode == 0, r.stderr
    assert query(url, "select count(*) from pg_tables where schemaname = 'public'") == [(0,)]


def test_snapshots_kept_for_one_dev_server_are_not_taken_for_another(
    other_major: tuple[int, int, pgserver.EphemeralServer],
    project: Project,
    server: pgserver.EphemeralServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # dev_url set in schemactl.toml (not on the command line): the snapshot cache used to be
    # keyed by the local binaries, so a dev server of another major reused the first one's.
    _, _, other = other_major
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "cache"))
    project.schema("t.sql", "create table t (id int primary key);\n")
    assert project.cli("diff", "-m", "base").returncode == 0
    unchanged = "unchanged since an earlier run: nothing to load"
    for box, kept in ((server, False), (server, True), (other, False)):
        project.write_config(f'dev_url = "{url_of(box, "postgres")}"\n')
        r = project.cli("-v", "check", "--no-models")
        assert r.returncode == 0, r.stderr
        assert (unchanged in r.stderr) == kept, r.stderr


def test_verify_on_another_major_rewrites_only_what_verification_changed(
    other_major: tuple[int, int, pgserver.EphemeralServer], project: Project
) -> None:
    # A laptop whose only PostgreSQL is another major than the team's: discovery picks it.
    here, other, box = other_major
    assert box.binaries is not None
    laptop = {"SCHEMACTL_PG_BIN": str(box.binaries.bindir)}
    for i, column in enumerate(("a int", "b text", "c date")):
        project.schema(f"t{i}.sql", f"create table t{i} (id int primary key, {column});\n")
        assert project.cli("--pg-version", str(here), "diff", "-m", f"t{i}").returncode == 0
    generated = project.root / "generated"
    files = sorted(generated.iterdir())
    before = {p: p.read_bytes() for p in files}

    r = project.cli("verify", env=laptop)
    assert r.returncode == 0, r.stderr
    assert {p: p.read_bytes() for p in files} == before  # nothing to commit
    assert "rewrote" not in r.stderr
    note = f"note: this machine verifies on PostgreSQL {other}, the headers name PostgreSQL {here}"
    assert r.stderr.count(note) == 1, r.stderr
    assert f"pg_version = {here} in schemactl.toml" in r.stderr

    # An edited pair is verified again, and its header names the major that verified it.
    down = generated / "0002_t1.down.sql"
    down.write_text(down.read_text() + "-- reviewed\n")
    r = project.cli("verify", "--format", "json", env=laptop)
    assert r.returncode == 0, r.stderr
    assert [p["version"] for p in json.loads(r.stdout)["pairs"] if p["rewritten"]] == ["0002_t1"]
    assert f"on PostgreSQL {other} (pair" in down.read_text()
    assert f"on PostgreSQL {here} (pair" in (generated / "0001_t0.up.sql").read_text()

    # A major the team pins is what every header is to name.
    r = project.cli("--pg-version", str(other), "verify", "--format", "json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert [p["version"] for p in report["pairs"] if p["rewritten"]] == ["0001_t0", "0003_t2"]
    assert report["notes"] == []


def test_a_virtual_generated_column_needs_18_and_stays_virtual_there(
    discovery: None, project: Project
) -> None:
    found = pgbinaries.discover()
    newest, oldest = max(b.major for b in found), min(b.major for b in found)
    if newest < 18:
        pytest.skip("needs PostgreSQL 18 (virtual generated columns)")
    project.schema("t.sql", "create table t (a int, b int generated always as (a * 2) virtual);\n")
    if oldest < 18:  # the DDL needs a newer major: said, naming the statement
        r = project.cli("--pg-version", str(oldest), "diff", "-m", "base")
        assert r.returncode == 8 and "schemas/t.sql:1:" in r.stderr, r.stderr
        assert f"PostgreSQL 18's grammar reads this statement and {oldest}'s does not" in r.stderr
    r = project.cli("--pg-version", str(newest), "diff", "-m", "base")
    assert r.returncode == 0 and "verified:" in r.stderr, r.stderr
    project.schema(
        "t.sql",
        "create table t (a int, b int generated always as (a * 2) virtual,\n"
        "  c bigint generated always as (a + 1) virtual);\n",
    )
    r = project.cli("--pg-version", str(newest), "diff", "-m", "c")
    assert r.returncode == 0 and "verified:" in r.stderr, r.stderr
    up = (project.root / "generated" / "0002_c.up.sql").read_text()
    assert 'add column "c" bigint generated always as ((a + 1)) virtual;' in up


def test_import_and_baseline_compare_like_with_like_when_the_scratch_major_differs(
    other_major: tuple[int, int, pgserver.EphemeralServer], project: Project
) -> None:
    # Each major deparses a view its own way (15: `SELECT t.id`, 18: `SELECT id`): the live
    # schema is loaded into the scratch server too, and compared there.
    here, other, live = other_major
    db = live.create_database("live")
    url = url_of(live, db)
    query(url, "create table t (id int primary key, n int); create view v as select id from t;")
    r = project.cli("--pg-version", str(here), "import", "--db", url, "--baseline")
    assert r.returncode == 0, r.stderr
    assert f"runs PostgreSQL {other} and the scratch server PostgreSQL {here}" in r.stderr
    assert r.stderr.count("warning: the live database runs") == 1
    assert "recorded at 0001_import" in r.stderr
