"""The real `schemactl` process: exit codes and the exact lines users see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemactl.scratch import pgserver

from .conftest import Project, needs_extension, run_cli

REPO = Path(__file__).resolve().parents[1]


def test_version_and_help() -> None:
    p = run_cli("--version", cwd=REPO)
    assert p.returncode == 0 and p.stdout.startswith("schemactl ")
    p = run_cli("--help", cwd=REPO)
    assert p.returncode == 0
    for command in ("init", "diff", "check", "new", "rehash", "clean"):
        assert command in p.stdout


def test_usage_error_exit_2(tmp_path: Path) -> None:
    p = run_cli("diff", "--bogus", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.splitlines()[0] == "error: No such option: --bogus"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["rollback", "--steps", "two"], "'--steps': 'two' is not a valid integer."),
        (["apply", "--lock-wait", "soon"], "'--lock-wait': 'soon' is not a valid number."),
        (["status", "--format", "yaml"], "'--format': 'yaml' is not one of 'text', 'json'."),
    ],
    ids=["int", "float", "enum"],
)
def test_a_bad_option_value_is_a_usage_error(tmp_path: Path, args: list[str], said: str) -> None:
    # Converted by cli/params.py, not typer's pydantic adapters: the same one-line error.
    p = run_cli(*args, "--db", "postgresql://nobody@/x?host=/nonexistent", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.splitlines()[0] == f"error: Invalid value for {said}"
    assert "Traceback" not in p.stderr


def test_good_option_values_are_converted(tmp_path: Path) -> None:
    from schemactl.cli import params
    from schemactl.cli.shared import Format

    # What each kind becomes, as the commands receive it.
    kinds = [(int, "3", 3), (float, "2.5", 2.5), (Format, "json", Format.json),
             (bool, "true", True), (str, "x", "x"), (Path, "d", Path("d"))]  # fmt: skip
    for kind, raw, value in kinds:
        assert params._convert(kind, raw, None, None) == value
    assert params._plain(list[str]) and not params._plain(list[int]) and not params._plain(dict)


def test_no_config(tmp_path: Path) -> None:
    p = run_cli("check", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.startswith("error: no schemactl.toml")
    assert "hint: run `schemactl init`" in p.stderr
    assert "Traceback" not in p.stderr


def test_diff_check_cycle_through_the_cli(project: Project) -> None:
    project.schema("tables/t.sql", "create table t (id int primary key);")
    p = project.cli("diff", "-m", "create t")
    assert p.returncode == 0, p.stderr
    assert "wrote generated/0001_create_t.up.sql" in p.stderr
    assert project.cli("check", "--no-models").returncode == 0
    project.schema("tables/t.sql", "create table t (id int primary key, note text);")
    p = project.cli("check", "--no-models", "--format", "json")
    assert p.returncode == 1
    report = json.loads(p.stdout)
    assert report["ok"] is False
    assert report["findings"][0]["kind"] == "schema-drift"
    assert 'add column "note" text' in report["pending_sql"]


def test_sql_error_is_one_line_with_position_and_exit_8(project: Project) -> None:
    project.schema("tables/sample.sql", "create table ok (id int);\nselect *\n    FORM ok;\n")
    p = project.cli("diff", "-m", "x")
    assert p.returncode == 8
    lines = p.stderr.splitlines()
    assert lines[0] == 'error: schemas/tables/sample.sql:3:5: syntax error at or near "FORM"'
    assert lines[1] == "     3 |     FORM ok;"
    assert lines[2] == "       |     ^"


def test_destructive_refusal_exit_3(project: Project) -> None:
    project.schema("tables/t.sql", "create table t (id int, gone text);")
    assert project.cli("diff", "-m", "one").returncode == 0
    project.schema("tables/t.sql", "create table t (id int);")
    p = project.cli("diff", "-m", "two")
    assert p.returncode == 3
    assert (
        p.stderr.splitlines()[0] == "error: the migration would lose data (1 destructive statement)"
    )
    assert (
        'drops column "gone" of "public"."t": alter table "public"."t" drop column "gone"'
        in p.stderr
    )
    assert "hint: review them, then run again with --allow-destructive" in p.stderr
    assert project.cli("diff", "-m", "two", "--allow-destructive").returncode == 0


def test_unverified_migration_exit_4(project: Project) -> None:
    # An open engine gap (docs/engine-notes.md): text search configurations are not diffed.
    project.schema(
        "t.sql",
        "create table noted (a int, b int);\n"
        "create text search configuration total (copy = simple);",
    )
    p = project.cli("diff", "-m", "not valid")
    assert p.returncode == 4
    assert "error: the migration could not be verified (files marked UNVERIFIED)" in p.stderr
    assert "-- UNVERIFIED" in (project.root / "generated" / "0001_not_valid.up.sql").read_text()
    assert (
        "schemactl does not diff TEXT SEARCH CONFIGURATION objects: write this change into the "
        "migration by hand" in p.stderr
    )


def test_drift_against_a_live_database(project: Project, server, database: str) -> None:  # type: ignore[no-untyped-def]
    p = server.conn_params(database)
    url = f"postgresql://postgres@/{database}?host={p['host']}&port={p['port']}"
    project.schema("t.sql", "create table t (id int);")
    out = project.cli("diff", "--db", url)
    assert out.returncode == 1, out.stderr  # drift is a finding
    assert 'create table "public"."t"' in out.stdout
    assert not (project.root / "generated").exists()


def test_unreachable_database_exit_7_and_password_masked(project: Project) -> None:
    project.schema("t.sql", "create table t (id int);")
    p = project.cli(
        "diff", "--db", "postgresql://app:Sup3rSecretPw@127.0.0.1:1/nope?connect_timeout=2"
    )
    assert p.returncode == 7
    assert "Sup3rSecretPw" not in p.stderr + p.stdout
    assert "postgresql://app:***@127.0.0.1:1/nope" in p.stderr


def test_init_then_new(tmp_path: Path) -> None:
    assert run_cli("init", cwd=tmp_path).returncode == 0
    p = run_cli("init", cwd=tmp_path)
    assert p.returncode == 2 and "already exists" in p.stderr
    p = run_cli("new", "-m", "seed data", cwd=tmp_path)
    assert p.returncode == 0
    assert (tmp_path / "generated" / "0001_seed_data.up.sql").exists()


@pytest.mark.skipif(
    os.environ.get("SCHEMACTL_SKIP_EXAMPLE") == "1", reason="example check disabled"
)
def test_bundled_example_is_in_sync(server: pgserver.EphemeralServer) -> None:
    needs_extension(server, "citext")  # the example's DDL uses it
    p = run_cli("check", cwd=REPO)
    assert p.returncode == 0, p.stderr
    assert "ok: migrations, schemas/, schemactl.sum and models/models.py agree" in p.stderr


def test_python_module_and_api_exports() -> None:
    import schemactl

    assert callable(schemactl.diff) and callable(schemactl.check)
    out = subprocess.run(
        [sys.executable, "-c", "import schemactl, sys; print('schemactl.api' in sys.modules)"],
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "False"  # heavy modules load lazily


def test_two_diffs_at_once_never_share_a_number(project: Project) -> None:
    project.schema("t.sql", "create table t (id int);")
    assert project.cli("diff", "-m", "base").returncode == 0
    project.schema("u.sql", "create table u (id int);")
    env = {**os.environ, "NO_COLOR": "1"}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "schemactl", "-v", "diff", "-m", name],
            cwd=project.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("first", "second")
    ]
    outs = [p.communicate(timeout=120) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outs
    # One wrote 0002; the other waited, replayed it too, and found nothing left to do.
    assert len([m for m in project.migrations() if m.startswith("0002_")]) == 2
    assert not [m for m in project.migrations() if m.startswith("0003_")]
    assert sum("no changes" in out + err for out, err in outs) == 1
    assert project.cli("check", "--no-models").returncode == 0


def test_json_outputs_have_the_documented_keys(project: Project, target_url: str) -> None:
    # The README's "JSON output" table, as a contract.
    def run(*args: str) -> dict:
        p = project.cli(*args, "--format", "json")
        assert p.returncode in (0, 1), p.stderr
        return json.loads(p.stdout)

    project.schema("t.sql", "create table t (id int);\n")
    assert set(run("diff", "-m", "base")) >= {
        "status",
        "version",
        "up_file",
        "down_file",
        "verified",
        "problems",
        "destructive",
        "may_fail",
        "up_sql",
        "down_sql",
    }
    assert set(run("diff", "--db", target_url)) >= {"status", "sql", "warnings", "destructive"}
    assert set(run("check")) >= {"ok", "findings", "pending_sql", "notes"}
    assert set(run("generate-models")) >= {"file", "changed", "warnings"}
    applied = run("apply", "--db", target_url)
    assert set(applied) >= {"ok", "database", "dry_run", "current", "steps", "warnings"}
    assert set(applied["steps"][0]) >= {
        "version",
        "name",
        "direction",
        "status",
        "file",
        "transactional",
        "duration_ms",
    }
    status = run("status", "--db", target_url)
    assert set(status) >= {"database", "current", "pending", "ok", "migrations"}
    assert set(status["migrations"][0]) >= {
        "version",
        "name",
        "state",
        "file",
        "checksum",
        "recorded_checksum",
        "applied_at",
        "applied_by",
        "execution_ms",
        "error",
        "environments",
    }
    assert set(run("repair", "--db", target_url)) == {"changes"}
    assert set(run("rollback", "--db", target_url, "--steps", "1")) >= {"ok", "steps", "current"}
    assert set(run("baseline", "--db", target_url, "--version", "1", "--force")) >= {
        "recorded",
        "forced",
        "differences",
        "warnings",
    }
