"""Project configuration: `schemactl.toml` or `[tool.schemactl]` in `pyproject.toml`.

Settings are validated strictly (unknown keys and wrong types name the key) because a typo
in a CI config should fail loudly rather than silently fall back to a default.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError
from . import envvars
from .environments import Environment, interpolate, parse_environment

CONFIG_FILE = "schemactl.toml"
AUTO = "auto"  # pg_version: the major the environments' servers run
PYPROJECT = "pyproject.toml"

# Component folders under schemas/ load in this order; anything else loads last.
DEFAULT_LOAD_ORDER = [
    "extensions",
    "schemas",
    "types",
    "sequences",
    "tables",
    "functions",
    "views",
    "triggers",
]


GENERATORS = ("declarative", "dataclasses", "tables", "sqlmodels")


# PostgreSQL's table lock modes, weakest first: what `hazard_locks` names, and the order in
# which the data trial (verification/data/hazards.py) ranks the locks it measures. From
# ShareLock on, writers wait; with AccessExclusiveLock, readers too.
LOCK_MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)


@dataclass(frozen=True)
class ModelSettings:
    """How `generate-models` calls sqlacodegen (flags override these)."""

    generator: str = "declarative"
    schemas: tuple[str, ...] = ()  # empty: every schema diff/check look at
    exclude_tables: tuple[str, ...] = ()  # "table" or "schema.table"
    views: bool = True
    options: tuple[str, ...] = ()  # sqlacodegen generator options, e.g. "use_inflect"


@dataclass(frozen=True)
class SchemaFilter:
    """Which PostgreSQL schemas take part in a diff."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def keeps(self, schema: str | None) -> bool:
        """Return whether objects in `schema` are compared."""
        if schema is None:
            return True
        if self.include:
            return schema in self.include
        return schema not in self.exclude

    @property
    def excluded_for_dump(self) -> list[str]:
        """Schemas to leave out of `pg_dump`; include-lists are applied as post-filters."""
        return list(self.exclude)


@dataclass(frozen=True)
class Config:
    """A loaded project configuration with all paths made absolute."""

    root: Path
    source: Path | None
    schemas: Path
    generated: Path
    models: Path
    roles: tuple[str, ...] = ()
    include_schemas: tuple[str, ...] = ()
    exclude_schemas: tuple[str, ...] = ()
    load_order: tuple[str, ...] = tuple(DEFAULT_LOAD_ORDER)
    pg_version: int | str | None = None  # a major, AUTO, or None (discovery's default)
    dev_url: str | None = None
    tracking_schema: str = "schemactl"
    environments: dict[str, Environment] = field(default_factory=dict)
    model_settings: ModelSettings = field(default_factory=ModelSettings)
    data_check: bool = True  # data-aware verification (off: only to measure what it costs)
    sample_rows: int = 3  # generated rows per table for data-aware verification
    sample_data: Path | None = None  # a folder of INSERT files, run before the generated rows
    hazard_locks: tuple[str, ...] | None = None  # lock modes that pass; None: hazards only warn
    online: bool = False  # diff writes online plans (as with --online)
    online_lock_timeout: str = "5s"  # SET LOCAL lock_timeout at the start of each online part
    expand_contract: bool = False  # diff writes expand/contract pairs (--expand-contract)
    expand_contract_lock_timeout: str = "500ms"  # the lock_timeout of their transactions

    def with_overrides(self, dev_url: str | None = None, pg_version: int | None = None) -> Config:
        """This configuration with the command line's `--dev-url` / `--pg-version` applied:
        every scratch database of a run then follows the config alone."""
        changes: dict[str, Any] = {}
        if dev_url:
            changes["dev_url"] = dev_url
        if pg_version is not None:
            changes["pg_version"] = pg_version
        return replace(self, **changes) if changes else self

    @property
    def schema_filter(self) -> SchemaFilter:
        """The schemas diffs look at: the include/exclude lists, never the tracking schema."""
        return SchemaFilter(
            include=self.include_schemas, exclude=(*self.exclude_schemas, self.tracking_schema)
        )

    def rel(self, path: Path) -> str:
        """Return `path` relative to the project root when it lies inside it (for messages)."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def environment_url(self, name: str) -> str:
        """Return the resolved URL of environment `name`, interpolating `${VAR}`."""
        env = self.environments.get(name)
        if env is None:
            known = ", ".join(sorted(self.environments)) or "none are configured"
            raise ConfigError(
                f"unknown environment {name!r} (known: {known})",
                hint=f"add an [environments.{name}] table with a url to {self._source_name()}",
            )
        if env.is_fleet:
            raise UsageError(
                f"environment {name!r} names many databases; this command runs on one",
                hint="pass --db URL for one of them (apply, rollback and status take the fleet)",
            )
        return interpolate(env.url, f"environments.{name}.url")

    def targets_fleet(self, db: str | None, env: str | None) -> bool:
        """Whether a run names an environment of many databases (and no --db instead)."""
        found = self.environments.get(env or "") if not db else None
        return found is not None and found.is_fleet

    def database_url(self, db: str | None = None, env: str | None = None) -> str:
        """The target database: `db`, else environment `env`'s URL, else SCHEMACTL_DATABASE_URL,
        else DATABASE_URL."""
        if db:
            return db
        if env:
            return self.environment_url(env)
        if found := envvars.database_url():
            return found[1]
        raise ConfigError(
            "no database given",
            hint="pass --db URL or --env NAME, or set SCHEMACTL_DATABASE_URL (or DATABASE_URL)",
        )

    def resolved_dev_url(self) -> str | None:
        """Return `dev_url` with `${VAR}` references resolved, or None."""
        return interpolate(self.dev_url, "dev_url") if self.dev_url else None

    def _source_name(self) -> str:
        return self.source.name if self.source else CONFIG_FILE


def cache_root() -> Path:
    """Where schemactl keeps what it may reuse between runs (SCHEMACTL_CACHE_DIR)."""
    return envvars.cache_dir()


# key -> (expected python type, description used in messages)
_STR_KEYS = {
    "schemas",
    "generated",
    "models",
    "dev_url",
    "tracking_schema",
    "models_generator",
    "sample_data",
    "online_lock_timeout",
    "expand_contract_lock_timeout",
}
_LIST_KEYS = {
    "roles",
    "include_schemas",
    "exclude_schemas",
    "load_order",
    "models_schemas",
    "models_exclude_tables",
    "models_options",
    "hazard_locks",
}
_BOOL_KEYS = {"models_views", "data_check", "online", "expand_contract"}
_KNOWN = _STR_KEYS | _LIST_KEYS | _BOOL_KEYS | {"pg_version", "environments", "sample_rows"}


def find_config(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """Walk up from `start` to the first directory with a schemactl configuration."""
    for d in [start, *start.parents]:
        found = _config_in(d)
        if found is not None:
            return found
    return None


def _config_in(d: Path) -> tuple[Path, dict[str, Any]] | None:
    own = d / CONFIG_FILE
    if own.is_file():
        return own, _read_toml(own)
    py = d / PYPROJECT
    if py.is_file():
        data = _read_toml(py)
        section = data.get("tool", {}).get("schemactl")
        if isinstance(section, dict):
            return py, section
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path.name}: invalid TOML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: not UTF-8 text") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None


def load_config(project: Path | None = None, cwd: Path | None = None) -> Config:
    """Find and validate the configuration: in `project` if given, else walking up from cwd."""
    start = (cwd or Path.cwd()).resolve()
    if project is not None:
        project = project.resolve()
        if not project.is_dir():
            raise ConfigError(f"--project {project}: no such directory")
        found = _config_in(project)
        if found is None:
            raise ConfigError(
                f"no {CONFIG_FILE} (or [tool.schemactl] in {PYPROJECT}) in {project}",
                hint="run `schemactl init` there to create one",
            )
    else:
        found = find_config(start)
        if found is None:
            raise ConfigError(
                f"no {CONFIG_FILE} (or [tool.schemactl] in {PYPROJECT}) found in {start} "
                "or any parent directory",
                hint="run `schemactl init` to create one, or pass --project DIR",
            )
    path, data = found
    return parse_config(data, path)


def parse_config(data: dict[str, Any], source: Path) -> Config:
    """Validate a configuration mapping read from `source`."""
    where = source.name if source.name == CONFIG_FILE else f"{source.name} [tool.schemactl]"
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting {unknown[0]!r}",
            hint="known settings: " + ", ".join(sorted(_KNOWN)),
        )
    for key in _STR_KEYS & set(data):
        if not isinstance(data[key], str) or not data[key]:
            raise ConfigError(f"{where}: setting {key!r} must be a non-empty string")
    for key in _LIST_KEYS & set(data):
        v = data[key]
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise ConfigError(f"{where}: setting {key!r} must be a list of non-empty strings")
    pg_version = data.get("pg_version")
    if (
        pg_version is not None
        and pg_version != AUTO
        and (isinstance(pg_version, bool) or not isinstance(pg_version, int))
    ):
        raise ConfigError(
            f"{where}: setting 'pg_version' must be a major version such as 16, or \"auto\""
        )
    if pg_version == AUTO and not data.get("environments"):
        raise ConfigError(
            f'{where}: pg_version = "auto" takes the major of the environments\' servers, and none '
            "is configured",
            hint="add an [environments.NAME] table with a url, or set pg_version to a major such "
            "as 16",
        )
    if data.get("include_schemas") and data.get("exclude_schemas"):
        raise ConfigError(f"{where}: set include_schemas or exclude_schemas, not both")
    generator = data.get("models_generator", "declarative")
    if generator not in GENERATORS:
        raise ConfigError(
            f"{where}: setting 'models_generator' must be one of {', '.join(GENERATORS)}, got "
            f"{generator!r}"
        )
    for key in _BOOL_KEYS & set(data):
        if not isinstance(data[key], bool):
            raise ConfigError(f"{where}: setting {key!r} must be true or false")
    tracking = data.get("tracking_schema", "schemactl")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", tracking):
        raise ConfigError(
            f"{where}: setting 'tracking_schema' must be a lower-case identifier, got {tracking!r}"
        )

    envs: dict[str, Environment] = {}
    raw_envs = data.get("environments", {})
    if not isinstance(raw_envs, dict):
        raise ConfigError(f"{where}: 'environments' must be a table of [environments.NAME] tables")
    for name, table in raw_envs.items():
        envs[name] = parse_environment(where, name, table)

    root = source.parent
    sample_rows = data.get("sample_rows", 3)
    if (
        isinstance(sample_rows, bool)
        or not isinstance(sample_rows, int)
        or not 0 <= sample_rows <= 1000
    ):
        raise ConfigError(f"{where}: setting 'sample_rows' must be a whole number from 0 to 1000")
    return Config(
        root=root,
        source=source,
        schemas=root / data.get("schemas", "schemas"),
        generated=root / data.get("generated", "generated"),
        models=root / data.get("models", "models/models.py"),
        roles=tuple(data.get("roles", ())),
        include_schemas=tuple(data.get("include_schemas", ())),
        exclude_schemas=tuple(data.get("exclude_schemas", ())),
        load_order=tuple(data.get("load_order", DEFAULT_LOAD_ORDER)),
        pg_version=pg_version,
        dev_url=data.get("dev_url"),
        tracking_schema=tracking,
        environments=envs,
        model_settings=ModelSettings(
            generator=generator,
            schemas=tuple(data.get("models_schemas", ())),
            exclude_tables=tuple(data.get("models_exclude_tables", ())),
            views=data.get("models_views", True),
            options=tuple(data.get("models_options", ())),
        ),
        data_check=data.get("data_check", True),
        online=data.get("online", False),
        online_lock_timeout=data.get("online_lock_timeout", "5s"),
        expand_contract=data.get("expand_contract", False),
        expand_contract_lock_timeout=data.get("expand_contract_lock_timeout", "500ms"),
        sample_rows=sample_rows,
        sample_data=root / data["sample_data"] if "sample_data" in data else None,
        hazard_locks=_hazard_locks(data, where),
    )


def _hazard_locks(data: dict[str, Any], where: str) -> tuple[str, ...] | None:
    if "hazard_locks" not in data:
        return None
    wrong = [m for m in data["hazard_locks"] if m not in LOCK_MODES]
    if wrong:
        raise ConfigError(
            f"{where}: setting 'hazard_locks' names {wrong[0]!r}, which is not a lock mode",
            hint="lock modes: " + ", ".join(LOCK_MODES),
        )
    return tuple(data["hazard_locks"])
