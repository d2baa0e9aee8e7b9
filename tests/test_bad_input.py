"""The bad-input catalogue, through the real command line: each case ends in a one-line
`error:` naming what is at fault, a `hint:` where one helps, the documented exit code, and
never a traceback."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from schemactl.scratch import pgserver, sandbox

from .conftest import Project, run_cli


def _clean_failure(p, code: int, message: str, hint: str | None) -> None:  # type: ignore[no-untyped-def]
    assert p.returncode == code, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr + p.stdout
    first = p.stderr.splitlines()[0]
    assert first.startswith("error: ") and message in first, p.stderr
    if hint is not None:
        assert any(line.startswith("hint: ") and hint in line for line in p.stderr.splitlines()), (
            p.stderr
        )


def _config(text: str) -> Callable[[Project], None]:
    return lambda project: project.write_config(text)


def _schema(text: str | bytes, name: str = "s.sql") -> Callable[[Project], None]:
    def setup(project: Project) -> None:
        path = project.root / "schemas" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())

    return setup


def _pair(version: int, slug: str) -> Callable[[Project], None]:
    return lambda project: project.migration(version, slug, "select 1;\n", "select 1;\n") and None


CASES = [
    # (id, setup, command, exit code, message, hint)
    (
        "malformed-toml",
        _config('schemas = "schemas"\ngenerated = [\n'),
        ["diff", "-m", "x"],
        2,
        "schemactl.toml:",
        None,
    ),
    ("unknown-key", _config('schemaz = "schemas"\n'), ["diff", "-m", "x"], 2, "schemaz", None),
    ("wrong-type", _config("roles = 3\n"), ["diff", "-m", "x"], 2, "roles", None),
    (
        "unset-variable",
        _config('dev_url = "${SCHEMACTL_TEST_SURELY_UNSET}"\n'),
        ["diff", "-m", "x"],
        2,
        "SCHEMACTL_TEST_SURELY_UNSET",
        None,
    ),
    (
        "syntax-error",
        _schema("create table t (id int);\ncreate tabel u (id int);\n"),
        ["diff", "-m", "x"],
        8,
        "schemas/s.sql:2:8: syntax error",
        None,
    ),
    (
        "missing-extension",
        _schema("create extension surely_not_installed_ext;\n"),
        ["diff", "-m", "x"],
        8,
        "has no surely_not_installed_ext extension installed, so CREATE EXTENSION "
        "surely_not_installed_ext cannot run there",
        "SCHEMACTL_PG_BIN=DIR",
    ),
    (
        "not-utf8",
        _schema(b"create table caf\xe9 (id int);\n"),
        ["diff", "-m", "x"],
        8,
        "schemas/s.sql:1: not valid UTF-8",
        "iconv",
    ),
    (
        "psql-meta-command",
        _schema("\\i other.sql\n"),
        ["diff", "-m", "x"],
        8,
        "psql meta-command \\i is not supported",
        "plain SQL only",
    ),
    (
        "transaction-control",
        _schema("begin;\ncreate table t (id int);\ncommit;\n"),
        ["diff", "-m", "x"],
        8,
        "transaction control statement BEGIN is not allowed here",
        "remove BEGIN/COMMIT",
    ),
    (
        "same-number",
        lambda p: (_pair(1, "a")(p), _pair(1, "b")(p)) and None,
        ["check", "--no-models"],
        5,
        "two migrations share version 0001: 0001_a, 0001_b",
        "renumber",
    ),
    (
        "numbering-gap",
        lambda p: (_pair(1, "a")(p), _pair(3, "c")(p)) and None,
        ["check", "--no-models"],
        5,
        "migration numbering has a gap: expected 0002, found 0003_c",
        "renumber",
    ),
    (
        "unknown-target",
        _pair(1, "a"),
        ["apply", "--db", "postgresql:///x", "--target", "7"],
        2,
        "--target 7: there is no migration 0007",
        "versions run from 0001 to 0001",
    ),
    (
        "missing-binaries",
        lambda p: None,
        ["--pg-version", "3", "diff", "-m", "x"],
        7,
        "no PostgreSQL 3 server binaries found",
        "apt-get install postgresql-3",
    ),
]


@pytest.mark.parametrize(
    ("setup", "args", "code", "message", "hint"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_clear_line(
    project: Project,
    tmp_path: Path,
    setup: Callable[[Project], None],
    args: list[str],
    code: int,
    message: str,
    hint: str | None,
) -> None:
    project.schema("base.sql", "create table base (id int);\n")
    setup(project)
    _clean_failure(project.cli(*args), code, message, hint)


def test_no_config_hints_init(tmp_path: Path) -> None:
    _clean_failure(
        run_cli("diff", "-m", "x", cwd=tmp_path), 2, "no schemactl.toml", "schemactl init"
    )


def test_missing_schemas_dir(project: Project) -> None:
    shutil.rmtree(project.root / "schemas", ignore_errors=True)
    _clean_failure(
        project.cli("diff", "-m", "x"), 2, "schemas directory schemas/ does not exist", "create it"
    )


def test_hostile_migration_names_give_safe_file_names(project: Project) -> None:
    project.schema("t.sql", "create table t (id int);\n")
    before = sorted(p.name for p in project.root.rglob("*"))
    p = project.cli("new", "-m", 'x\'; drop table t; -- ../../etc/passwd "quoted" ünïcödé')
    assert p.returncode == 0, p.stderr
    created = sorted(set(p.name for p in project.root.rglob("*")) - set(before))
    assert created == [
        "0001_x_drop_table_t_etc_passwd_quoted_unicode.down.sql",
        "0001_x_drop_table_t_etc_passwd_quoted_unicode.up.sql",
        "generated",
        "schemactl.sum",
    ]
    _clean_failure(project.cli("new", "-m", "'; --"), 2, "has no letters or digits", "-m")


def test_edited_and_deleted_applied_migrations_stop_apply(
    project: Project, target_url: str
) -> None:
    up, _ = project.migration(1, "a", "create table a (id int);\n", "drop table a;\n")
    assert project.cli("apply", "--db", target_url).returncode == 0
    up.write_text("create table a (id bigint);\n")
    _clean_failure(
        project.cli("apply", "--db", target_url),
        5,
        "applied migration 0001_a changed since it was applied",
        "repair",
    )
    up.unlink()
    (project.root / "generated" / "0001_a.down.sql").unlink()
    _clean_failure(
        project.cli("apply", "--db", target_url),
        5,
        "applied to this database but the file is gone",
        "restore it from version control",
    )


def test_live_server_of_another_major_version_is_named_in_a_warning(
    server: pgserver.EphemeralServer,
) -> None:
    # Only one PostgreSQL major version is installed here, so the live side is simulated.
    here = server.server_version() // 10000
    assert sandbox.version_warning(server.server_version(), server) is None
    message = sandbox.version_warning(140011, server)
    assert message is not None
    assert (
        f"PostgreSQL 14 and the scratch server PostgreSQL {here}" in message
        and "--pg-version 14" in message
    )


def test_a_50_mb_ddl_file_works_and_shows_progress(project: Project) -> None:
    # 50 MB of DDL: a few hundred tables, each with a long comment, as generated dumps have.
    text = "".join(
        f"create table t{i} (id int primary key, v text);\n-- {'x' * 200}\n" * 1
        + f"-- {'y' * 200}\n" * 800
        for i in range(330)
    )
    assert len(text.encode()) > 50_000_000
    project.schema("big.sql", text)
    p = project.cli("-v", "diff", "-m", "big", "--format", "json")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "… loading 1 schema file and replaying 0 migrations" in p.stderr
    assert os.path.getsize(project.root / "generated" / "0001_big.up.sql") > 0
