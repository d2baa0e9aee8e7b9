from __future__ import annotations

from pathlib import Path

import pytest

from schemactl import api
from schemactl.errors import ConfigError
from schemactl.project.config import load_config


def write(p: Path, text: str) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def test_defaults_and_walk_up(tmp_path: Path) -> None:
    write(tmp_path / "schemactl.toml", 'roles = ["analyst"]\n')
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    config = load_config(cwd=nested)
    assert config.root == tmp_path
    assert config.schemas == tmp_path / "schemas"
    assert config.generated == tmp_path / "generated"
    assert config.models == tmp_path / "models" / "models.py"
    assert config.roles == ("analyst",)
    assert config.tracking_schema == "schemactl"


def test_pyproject_section(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.schemactl]\nschemas = "db/ddl"\n'
    )
    assert load_config(cwd=tmp_path).schemas == tmp_path / "db" / "ddl"


def test_project_option_overrides_walk(tmp_path: Path) -> None:
    write(tmp_path / "one" / "schemactl.toml", 'schemas = "s1"\n')
    write(tmp_path / "two" / "schemactl.toml", 'schemas = "s2"\n')
    config = load_config(project=tmp_path / "two", cwd=tmp_path / "one")
    assert config.schemas == tmp_path / "two" / "s2"


def test_no_config_hints_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(cwd=tmp_path)
    assert "no schemactl.toml" in e.value.message
    assert "schemactl init" in (e.value.hint or "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('shemas = "x"\n', "unknown setting 'shemas'"),
        ("roles = 'analyst'\n", "'roles' must be a list of non-empty strings"),
        ("pg_version = '15'\n", "'pg_version' must be a major version such as 16, or \"auto\""),
        ('schemas = ""\n', "'schemas' must be a non-empty string"),
        ("[environments.prod]\nurl = 5\n", "environments.prod.url must be a non-empty string"),
        (
            '[environments.prod]\nurl = "x"\nuser = "y"\n',
            "unknown setting 'environments.prod.user'",
        ),
        ('include_schemas = ["a"]\nexclude_schemas = ["b"]\n', "not both"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path / "schemactl.toml", text)
    with pytest.raises(ConfigError) as e:
        load_config(cwd=tmp_path)
    assert message in e.value.message


def test_malformed_toml_reports_line(tmp_path: Path) -> None:
    write(tmp_path / "schemactl.toml", 'schemas = "x"\nroles = ["a" "b"]\n')
    with pytest.raises(ConfigError) as e:
        load_config(cwd=tmp_path)
    assert e.value.message.startswith("schemactl.toml: invalid TOML")
    assert "line 2" in e.value.message


def test_environment_interpolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(
        tmp_path / "schemactl.toml", '[environments.prod]\nurl = "postgresql://app:${DB_PW}@h/db"\n'
    )
    config = load_config(cwd=tmp_path)
    monkeypatch.delenv("DB_PW", raising=False)
    with pytest.raises(ConfigError) as e:
        config.environment_url("prod")
    assert "${DB_PW}" in e.value.message and "environments.prod.url" in e.value.message
    monkeypatch.setenv("DB_PW", "s3cret")
    assert config.environment_url("prod") == "postgresql://app:s3cret@h/db"
    with pytest.raises(ConfigError, match="unknown environment 'staging'"):
        config.environment_url("staging")


def test_init_writes_starter_and_refuses_overwrite(tmp_path: Path) -> None:
    created = api.init(tmp_path)
    assert tmp_path / "schemactl.toml" in created
    for d in ("schemas", "generated", "models"):
        assert (tmp_path / d).is_dir()
    # the starter file is itself a valid configuration
    assert load_config(cwd=tmp_path).schemas == tmp_path / "schemas"
    with pytest.raises(ConfigError, match="already exists"):
        api.init(tmp_path)
