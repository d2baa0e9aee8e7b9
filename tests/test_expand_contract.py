"""Expand/contract plans through the real CLI and the runner (README, "Zero-downtime changes"):
two verified pairs, `apply` stopping before the contract pair, `status` saying so, backfills
that resume without filling a row twice, rollbacks that keep the window's rows, and the
traffic test: old and new clients through a deploy, against a plain `diff` of the same change."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from schemactl.errors import Interrupted
from schemactl.project import backfill
from schemactl.targets import runner

from .conftest import Project, until_a_lock_wait_gives_up
from .conftest import popen_cli as _popen
from .conftest import query as _query

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import traffic  # noqa: E402  (scripts/ is no package: the bench runs the same scenarios)

OLD = """
CREATE TABLE users (
  id serial PRIMARY KEY,
  username text NOT NULL,
  score integer NOT NULL,
  legacy text,
  CONSTRAINT users_score_key UNIQUE (score)
);
CREATE INDEX users_username_idx ON users (username);
CREATE TABLE notes (id bigserial PRIMARY KEY, body text);
"""
NEW = """
CREATE TABLE users (
  id serial PRIMARY KEY,
  user_name text NOT NULL, -- @renamed from=username
  score bigint NOT NULL,
  created timestamptz NOT NULL DEFAULT clock_timestamp(),
  slug text NOT NULL, -- @backfill lower(user_name)
  CONSTRAINT users_score_key UNIQUE (score)
);
CREATE INDEX users_user_name_idx ON users (user_name);
CREATE TABLE memos ( -- @renamed from=notes
  id bigserial PRIMARY KEY,
  body text
);
"""


def _cli(project: Project, dev_url: str, *args: str) -> Any:
    return project.cli("--dev-url", dev_url, *args)


def _planned(project: Project, dev_url: str, target_url: str) -> dict[str, Any]:
    """OLD applied to the target with rows, NEW diffed as an expand/contract plan."""
    project.schema("app.sql", OLD)
    assert _cli(project, dev_url, "diff", "-m", "init").returncode == 0
    runner.apply_migrations(project.config, target_url)
    _query(
        target_url,
        "INSERT INTO users (username, score, legacy) SELECT 'U' || g, g, 'x' "
        "FROM generate_series(1, 2500) g; INSERT INTO notes (body) VALUES ('a'), ('b')",
    )
    project.schema("app.sql", NEW)
    r = _cli(
        project, dev_url, "diff", "-m", "deploy", "--expand-contract", "--allow-destructive",
        "--format", "json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def test_two_verified_pairs_and_apply_stops_before_contract(
    project: Project, dev_url: str, target_url: str
) -> None:
    doc = _planned(project, dev_url, target_url)
    assert doc["verified"] and doc["version"] == "0002_deploy"
    assert doc["contract"]["version"] == "0003_deploy_contract"
    assert project.migrations() == [
        "0001_init.down.sql", "0001_init.up.sql", "0002_deploy.down.sql", "0002_deploy.up.sql",
        "0003_deploy_contract.down.sql", "0003_deploy_contract.up.sql",
    ]  # fmt: skip
    up = (project.root / "generated" / "0002_deploy.up.sql").read_text()
    contract = (project.root / "generated" / "0003_deploy_contract.up.sql").read_text()
    assert "-- schemactl:expand" in up and "-- schemactl:commit backfill" in up
    assert "-- schemactl:contract" in contract and 'drop column "legacy"' in contract
    assert any("shadow column" in line for line in doc["plan"])
    lost = [h["detail"] for h in doc["hazards"] if h["kind"] == "data-loss"]
    # the dropped column's values are lost (asked for); the shadow's live on in user_name
    assert lost and all("drops column legacy of public.users" in d for d in lost), lost

    r = _cli(project, dev_url, "apply", "--db", target_url)
    assert r.returncode == 0, r.stderr
    assert "0003_deploy_contract waits for `apply --contract`" in r.stderr
    status = _cli(project, dev_url, "status", "--db", target_url, "--format", "json")
    assert status.returncode == 0
    states = {m["name"]: m["state"] for m in json.loads(status.stdout)["migrations"]}
    assert states == {
        "0001_init": "applied", "0002_deploy": "applied",
        "0003_deploy_contract": "awaiting-contract",
    }  # fmt: skip
    text = _cli(project, dev_url, "status", "--db", target_url)
    assert "awaiting-contract" in text.stdout
    # The window: both applications' SQL works, and each sees what the other wrote.
    _query(target_url, "INSERT INTO users (username, score) VALUES ('Old', 10000)")
    _query(target_url, "INSERT INTO users (user_name, score) VALUES ('New', 5000000000)")
    _query(target_url, "UPDATE users SET username = 'Changed' WHERE id = 1")
    _query(target_url, "INSERT INTO notes (body) VALUES ('old client')")
    rows = _query(
        target_url,
        "SELECT user_name, username, slug FROM users WHERE id = 1 OR score IN (10000, 5000000000) "
        "ORDER BY id",
    )
    assert rows == [("Changed", "Changed", "u1"), ("Old", "Old", "old"), ("New", "New", "new")]
    assert _query(target_url, "SELECT count(*) FROM memos") == [(3,)]
    assert _query(target_url, "SELECT count(*) FROM users WHERE created IS NULL") == [(0,)]

    r = _cli(project, dev_url, "apply", "--db", target_url, "--contract")
    assert r.returncode == 0, r.stderr
    assert "applied 0003_deploy_contract" in r.stderr
    assert _query(target_url, "SELECT to_regclass('notes')") == [(None,)]
    columns = _query(
        target_url,
        "SELECT string_agg(attname, ',' ORDER BY attname) FROM pg_attribute "
        "WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped",
    )
    assert columns == [("created,id,score,slug,user_name",)]
    check = _cli(project, dev_url, "check", "--no-models")
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_fleet_stops_before_the_contract_on_every_database(
    project: Project, dev_url: str, target_url: str, server: Any
) -> None:
    """A fleet (with a canary) runs the expand pair everywhere and waits, database by database,
    for `--contract`."""
    _planned(project, dev_url, target_url)
    other = server.create_database("fleet")
    try:
        p = server.conn_params(other)
        urls = [target_url, f"postgresql://postgres@/{other}?host={p['host']}&port={p['port']}"]
        (project.root / "fleet.txt").write_text("\n".join(urls) + "\n")
        project.write_config('[environments.fleet]\nurls_from = "fleet.txt"\n')
        r = _cli(project, dev_url, "apply", "--env", "fleet", "--canary", "1", "--format", "json")
        assert r.returncode == 0, r.stderr
        runs = json.loads(r.stdout)["databases"]
        assert [d["awaiting_contract"] for d in runs] == ["0003_deploy_contract"] * 2
        assert [d["after"] for d in runs] == ["0002_deploy"] * 2
        text = _cli(project, dev_url, "apply", "--env", "fleet")
        assert "0003_deploy_contract waits for `apply --contract`" in text.stderr
        r = _cli(project, dev_url, "apply", "--env", "fleet", "--contract", "--format", "json")
        assert [d["after"] for d in json.loads(r.stdout)["databases"]] == [
            "0003_deploy_contract"
        ] * 2
    finally:
        server.drop_database(other)


def test_a_part_that_hits_its_lock_timeout_is_retried_by_itself(
    project: Project, dev_url: str, target_url: str, server: Any, database: str
) -> None:
    """A long reader holds the table: the expand pair's first part gives up after 500 ms and
    runs again by itself (no --retry-on-lock), once the reader is gone."""
    _planned(project, dev_url, target_url)
    with contextlib.closing(server.connect(database, autocommit=False)) as reader:
        with reader.cursor() as cur:
            cur.execute("SELECT count(*) FROM users")
        p = _popen(project, "apply", "--db", target_url)
        until_a_lock_wait_gives_up(target_url, "%add column%", p)
        reader.rollback()
        out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert (
        "canceling statement due to lock timeout; ran the part again after 1 s (retry 1 of 6)"
        in err
    )
    assert "0003_deploy_contract waits for `apply --contract`" in err


def test_a_renamed_table_whose_columns_change_keeps_its_view_through_the_swap(
    project: Project, dev_url: str, target_url: str
) -> None:
    """A renamed table whose key and a unique column are widened (swapped), one column renamed
    and widened plainly, one dropped: the old name's view is dropped and made again around the
    swap, with the table's grants; old clients write through it during the window."""
    project.write_config('roles = ["reader"]\n')
    project.schema("app.sql", """
        CREATE TABLE orders (id serial PRIMARY KEY, qty integer NOT NULL, code text NOT NULL,
          note text NOT NULL, ref integer UNIQUE);
        COMMENT ON COLUMN orders.qty IS 'how many';
        GRANT SELECT, INSERT ON orders TO reader;
    """)  # fmt: skip
    assert _cli(project, dev_url, "diff", "-m", "init").returncode == 0
    _query(
        target_url, "DO $$ BEGIN CREATE ROLE reader; EXCEPTION WHEN duplicate_object THEN END $$"
    )
    runner.apply_migrations(project.config, target_url)
    _query(target_url, "INSERT INTO orders (qty, code, note, ref) VALUES (1, '7', 'n', 1)")
    project.schema("app.sql", """
        CREATE TABLE purchases ( -- @renamed from=orders
          id bigserial PRIMARY KEY, qty bigint NOT NULL,
          sku bigint NOT NULL, -- @renamed from=code
          ref bigint UNIQUE);
        COMMENT ON COLUMN purchases.qty IS 'how many';
        GRANT SELECT, INSERT ON purchases TO reader;
    """)  # fmt: skip
    r = _cli(
        project, dev_url, "diff", "-m", "wider", "--expand-contract", "--allow-destructive",
        "--format", "json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["verified"], doc["problems"]
    assert any("sku" in line and "plainly" in line for line in doc["plan"])
    runner.apply_migrations(project.config, target_url)
    _query(target_url, "INSERT INTO orders (qty, code, ref) VALUES (2, '8', 2)")  # old client
    _query(target_url, "INSERT INTO purchases (qty, sku, ref) VALUES (3, 9, 3000000000)")
    assert _query(target_url, "SELECT qty, sku, ref FROM purchases ORDER BY qty") == [
        (1, 7, 1), (2, 8, 2), (3, 9, 3000000000),
    ]  # fmt: skip
    grants = _query(
        target_url,
        "SELECT privilege_type FROM information_schema.role_table_grants "
        "WHERE table_name = 'orders' AND grantee = 'reader' ORDER BY 1",
    )
    assert grants == [("INSERT",), ("SELECT",)]


def test_a_swap_converts_as_the_engine_does(
    project: Project, dev_url: str, target_url: str
) -> None:
    """An enum column moved to another enum: no cast between them, the engine converts through
    text; the copy, its trigger and the way back do the same."""
    project.schema("app.sql", """
        CREATE TYPE mood AS ENUM ('ok', 'sad');
        CREATE TYPE feeling AS ENUM ('ok', 'sad', 'glad');
        CREATE TABLE t (id int PRIMARY KEY, m mood NOT NULL);
    """)  # fmt: skip
    assert _cli(project, dev_url, "diff", "-m", "init").returncode == 0
    runner.apply_migrations(project.config, target_url)
    _query(target_url, "INSERT INTO t VALUES (1, 'ok'), (2, 'sad')")
    project.schema("app.sql", """
        CREATE TYPE mood AS ENUM ('ok', 'sad');
        CREATE TYPE feeling AS ENUM ('ok', 'sad', 'glad');
        CREATE TABLE t (id int PRIMARY KEY, m feeling NOT NULL);
    """)  # fmt: skip
    r = _cli(project, dev_url, "diff", "-m", "feel", "--expand-contract", "--format", "json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["verified"], r.stderr + str(doc.get("problems"))
    assert any("copied, backfilled" in line for line in doc["plan"])
    runner.apply_migrations(project.config, target_url)
    _query(target_url, "INSERT INTO t VALUES (3, 'sad')")
    assert _query(target_url, "SELECT id, m::text FROM t ORDER BY id") == [
        (1, "ok"), (2, "sad"), (3, "sad"),
    ]  # fmt: skip
    assert _cli(project, dev_url, "rollback", "--db", target_url, "--steps", "1").returncode == 0
    assert _query(target_url, "SELECT pg_typeof(m)::text, count(*) FROM t GROUP BY 1") == [
        ("mood", 3)
    ]


def test_a_swapped_columns_partial_index_is_built_once_and_back_as_it_was(
    project: Project, dev_url: str
) -> None:
    """A partial index on a column widened to numeric: built once, on the copy (not again by
    the engine's own statements), and on the way back as it was written (ALTER TYPE would
    leave its predicate as it reads on numeric)."""
    index = "CREATE INDEX t_price ON t (price) WHERE price > 0;"
    project.schema("app.sql", f"CREATE TABLE t (id int PRIMARY KEY, price integer);\n{index}")
    assert _cli(project, dev_url, "diff", "-m", "init").returncode == 0
    project.schema("app.sql", f"CREATE TABLE t (id int PRIMARY KEY, price numeric(12,2));\n{index}")
    r = _cli(project, dev_url, "diff", "-m", "money", "--expand-contract", "--format", "json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["verified"], r.stderr + str(doc.get("problems"))
    assert doc["up_sql"].count("CREATE INDEX CONCURRENTLY") == 1
    assert (
        "CREATE INDEX t_price ON public.t USING btree (price) WHERE (price > 0);" in doc["down_sql"]
    )


def test_rollback_of_expand_keeps_the_window_rows(
    project: Project, dev_url: str, target_url: str
) -> None:
    _planned(project, dev_url, target_url)
    runner.apply_migrations(project.config, target_url)
    _query(target_url, "INSERT INTO users (username, score, legacy) VALUES ('Old', 10001, 'o')")
    _query(target_url, "INSERT INTO users (user_name, score) VALUES ('New', 10002)")
    _query(target_url, "INSERT INTO memos (body) VALUES ('new client')")
    r = _cli(project, dev_url, "rollback", "--db", target_url, "--steps", "1")
    assert r.returncode == 0, r.stderr
    assert _query(
        target_url, "SELECT username, score FROM users WHERE score > 10000 ORDER BY score"
    ) == [("Old", 10001), ("New", 10002)]
    assert _query(target_url, "SELECT count(*) FROM notes") == [(3,)]
    assert _query(target_url, "SELECT count(*) FROM users") == [(2502,)]
    assert _cli(project, dev_url, "status", "--db", target_url, "--format", "json").returncode == 0


def test_a_not_null_column_without_a_value_is_refused(project: Project, dev_url: str) -> None:
    project.schema("app.sql", "CREATE TABLE t (id int PRIMARY KEY);")
    assert _cli(project, dev_url, "diff", "-m", "init").returncode == 0
    project.schema("app.sql", "CREATE TABLE t (id int PRIMARY KEY, code text NOT NULL);")
    r = _cli(project, dev_url, "diff", "-m", "code", "--expand-contract")
    assert r.returncode == 4, r.stderr
    assert 'error: "public"."t"."code" is added NOT NULL without a default' in r.stderr
    assert "hint: say which with `-- @backfill <expression>`" in r.stderr
    assert "Traceback" not in r.stderr
    assert project.migrations() == ["0001_init.down.sql", "0001_init.up.sql"]


def test_config_key_and_plain_fallback(project: Project, dev_url: str) -> None:
    """`expand_contract = true` plans without the flag; a type change a view depends on, and a
    change that needs no plan, are written as before."""
    project.write_config("expand_contract = true\n")
    project.schema("app.sql", "CREATE TABLE t (id int PRIMARY KEY, n int);\n"
                   "CREATE VIEW v AS SELECT n FROM t;")  # fmt: skip
    assert _cli(project, dev_url, "diff", "-m", "init").returncode == 0
    project.schema("app.sql", "CREATE TABLE t (id int PRIMARY KEY, n bigint, note text);\n"
                   "CREATE VIEW v AS SELECT n FROM t;")  # fmt: skip
    r = _cli(project, dev_url, "diff", "-m", "wider", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert "contract" not in doc and doc["verified"]
    up = (project.root / "generated" / "0002_wider.up.sql").read_text()
    assert "-- schemactl:expand" not in up and 'add column "note" text' in up


def test_backfill_resumes_without_filling_a_row_twice(target_url: str) -> None:
    _query(
        target_url,
        "CREATE TABLE t (id int PRIMARY KEY, at timestamptz); "
        "INSERT INTO t (id) SELECT g FROM generate_series(1, 20000) g",
    )
    update = "UPDATE public.t SET at = clock_timestamp() WHERE (at IS NULL)"
    seen: list[int] = []

    def stop_after_two(label: str, done: int, total: int | None) -> None:
        seen.append(done)
        if len(seen) == 3:  # the start, then two batches committed
            raise Interrupted(2)

    with contextlib.closing(psycopg2.connect(target_url)) as conn:
        with pytest.raises(Interrupted):
            backfill.run(conn, update, stop_after_two)
        first = dict(_query(target_url, "SELECT id, at FROM t WHERE at IS NOT NULL"))
        assert 0 < len(first) < 20000
        rest = backfill.run(conn, update, lambda *_: None)
    assert rest == 20000 - len(first)  # only what was left
    after = dict(_query(target_url, "SELECT id, at FROM t"))
    assert all(after[k] == v for k, v in first.items())  # never filled again
    assert None not in after.values()
    with contextlib.closing(psycopg2.connect(target_url)) as conn:
        assert backfill.run(conn, update, lambda *_: None) == 0


def test_backfill_refuses_what_it_cannot_batch() -> None:
    with pytest.raises(ValueError, match="WHERE"):
        backfill.read("UPDATE t SET a = 1")
    with pytest.raises(ValueError, match="FROM, WITH or RETURNING"):
        backfill.read("UPDATE t SET a = 1 WHERE a IS NULL RETURNING id")
    fill = backfill.read('UPDATE "s"."t" SET a = (b OR c) WHERE (a IS NULL OR a = 0)')
    assert fill.table == '"s"."t"' and fill.columns == ("a",)
    assert fill.where == "(a IS NULL OR a = 0)"


@pytest.mark.parametrize("mode", ["plain", "expand-contract"])
def test_traffic_through_a_deploy(server: Any, mode: str) -> None:
    """Old clients through the deploy, new ones after it: the plan loses no write and fails no
    transaction; the plain migration of the same change breaks the old clients."""
    found = traffic.scenario(server, 10_000, mode)
    print(found.line())
    assert found.old.transactions > 0 and found.new.transactions > 0
    assert found.lost == []
    if mode == "plain":
        assert found.old.failures  # renamed column and table: the old SQL fails
        assert any("does not exist" in f for f in found.old.failures)
    else:
        assert found.old.failures == [] and found.new.failures == []


def test_traffic_then_rollback_keeps_both_sides_rows(server: Any) -> None:
    found = traffic.scenario(server, 10_000, "expand-contract", rollback=True)
    assert found.old.failures == [] and found.new.failures == []
    assert found.new.accounts and found.lost == []
