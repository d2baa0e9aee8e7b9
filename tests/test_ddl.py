from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from schemactl.errors import ConfigError, SQLFileError
from schemactl.project import ddl
from schemactl.project.config import DEFAULT_LOAD_ORDER
from schemactl.scratch.pgserver import EphemeralServer

from .conftest import Project


def load(project: Project, server: EphemeralServer, database: str) -> list[str]:
    files = ddl.discover(project.root / "schemas", tuple(DEFAULT_LOAD_ORDER), project.root)
    loaded: list[str] = []
    with contextlib.closing(server.connect(database)) as conn:
        ddl.load_schema_files(conn, files, on_file=lambda f: loaded.append(f.rel))
    return loaded


def tables(server: EphemeralServer, database: str) -> list[str]:
    with contextlib.closing(server.connect(database)) as conn, conn.cursor() as cur:
        cur.execute(
            "select relname from pg_class where relkind in ('r','v') and relnamespace = "
            "'public'::regnamespace order by 1"
        )
        return [r[0] for r in cur.fetchall()]


def test_component_folders_load_in_default_order(project: Project) -> None:
    project.schema("views/v.sql", "create view v as select 1;")
    project.schema("tables/t.sql", "create table t();")
    project.schema("types/e.sql", "create type e as enum ('a');")
    project.schema("zzz_other.sql", "select 1;")
    project.schema("extensions/x.sql", "select 1;")
    files = ddl.discover(project.root / "schemas", tuple(DEFAULT_LOAD_ORDER), project.root)
    assert [f.rel for f in files] == [
        "schemas/extensions/x.sql",
        "schemas/types/e.sql",
        "schemas/tables/t.sql",
        "schemas/views/v.sql",
        "schemas/zzz_other.sql",
    ]


def test_custom_load_order(project: Project) -> None:
    project.schema("b/x.sql", "select 1;")
    project.schema("a/y.sql", "select 1;")
    files = ddl.discover(project.root / "schemas", ("b", "a"), project.root)
    assert [f.rel for f in files] == ["schemas/b/x.sql", "schemas/a/y.sql"]


def test_files_needing_later_definitions_are_retried(
    project: Project, server: EphemeralServer, database: str
) -> None:
    # Alphabetical order puts the view and the FK before what they need.
    project.schema("a_view.sql", "create view a_view as select id from z_table;")
    project.schema("b_child.sql", "create table b_child (id int references z_table(id));")
    project.schema(
        "c_func.sql",
        "create function c_func() returns setof a_view language sql as 'select * from a_view';",
    )
    project.schema("z_table.sql", "create table z_table (id int primary key);")
    loaded = load(project, server, database)
    assert loaded[0] == "schemas/z_table.sql"
    assert set(loaded) == {f"schemas/{n}.sql" for n in ("a_view", "b_child", "c_func", "z_table")}
    assert tables(server, database) == ["a_view", "b_child", "z_table"]


def test_syntax_error_names_file_line_and_column(
    project: Project, server: EphemeralServer, database: str
) -> None:
    project.schema(
        "tables/sample.sql", "-- samples\ncreate table ok (id int);\n\nselect *\n    FORM ok;\n"
    )
    with pytest.raises(SQLFileError) as e:
        load(project, server, database)
    assert e.value.message == 'schemas/tables/sample.sql:5:5: syntax error at or near "FORM"'
    assert e.value.source_line == "    FORM ok;"
    assert (e.value.line, e.value.column) == (5, 5)
    assert tables(server, database) == []  # the file's transaction was rolled back


def _load_fails(project: Project, server: EphemeralServer, database: str, sql: str) -> SQLFileError:
    """The error loading schemas/t.sql (holding `sql`) raises."""
    project.schema("t.sql", sql)
    with pytest.raises(SQLFileError) as e:
        load(project, server, database)
    return e.value


def test_missing_dependency_that_never_appears_is_reported(
    project: Project, server: EphemeralServer, database: str
) -> None:
    sql = "create table t (id int);\ncreate view v as select * from nowhere;\n"
    error = _load_fails(project, server, database, sql)
    assert error.message == 'schemas/t.sql:2:32: relation "nowhere" does not exist'


def test_unknown_role_hints_at_config(
    project: Project, server: EphemeralServer, database: str
) -> None:
    sql = "create table t (id int);\ngrant select on t to no_such_role_x;\n"
    error = _load_fails(project, server, database, sql)
    assert 'role "no_such_role_x" does not exist' in error.message
    assert "roles" in (error.hint or "")


def test_psql_meta_command_is_rejected(project: Project) -> None:
    project.schema("t.sql", "create table t (id int);\n\\i other.sql\n")
    with pytest.raises(SQLFileError) as e:
        ddl.discover(project.root / "schemas", tuple(DEFAULT_LOAD_ORDER), project.root)
    assert e.value.message == "schemas/t.sql:2:1: psql meta-command \\i is not supported"


def test_transaction_control_is_rejected(project: Project) -> None:
    project.schema("t.sql", "BEGIN;\ncreate table t (id int);\nCOMMIT;\n")
    with pytest.raises(SQLFileError) as e:
        ddl.discover(project.root / "schemas", tuple(DEFAULT_LOAD_ORDER), project.root)
    assert (
        e.value.message
        == "schemas/t.sql:1:1: transaction control statement BEGIN is not allowed here"
    )


def test_non_utf8_file_is_rejected(project: Project) -> None:
    p = project.schema("t.sql", "")
    p.write_bytes(b"create table t (id int);\n-- caf\xe9\n")
    with pytest.raises(SQLFileError) as e:
        ddl.discover(project.root / "schemas", tuple(DEFAULT_LOAD_ORDER), project.root)
    assert e.value.message == "schemas/t.sql:2: not valid UTF-8 (byte 0xe9)"


def test_missing_or_empty_schemas_dir(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        ddl.discover(tmp_path / "schemas", tuple(DEFAULT_LOAD_ORDER), tmp_path)
    (tmp_path / "schemas").mkdir()
    assert ddl.discover(tmp_path / "schemas", tuple(DEFAULT_LOAD_ORDER), tmp_path) == []
