"""The project's own files, outside any database: a starter project (`init`), an empty
hand-written pair (`new`), and the integrity file rewritten (`rehash`)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..version import __version__
from . import migfiles
from .config import Config
from .migfiles import MigrationPair

STARTER = """\
# schemactl configuration. Every setting is optional; the values shown are the defaults.
# Reference: README.md, "Configuration".

# Hand-written DDL, loaded in component-folder order (see load_order), files sorted by path.
schemas = "schemas"
# Generated up/down migrations and the integrity file schemactl.sum.
generated = "generated"
# SQLAlchemy models written by `schemactl generate-models` (one module for all schemas).
models = "models/models.py"
# sqlacodegen generator: declarative, dataclasses, tables, or sqlmodels (needs sqlmodel).
# models_generator = "declarative"
# models_schemas = []            # default: every schema diff and check look at
# models_exclude_tables = []     # "table" or "schema.table"
# models_views = true
# models_options = []            # sqlacodegen options, e.g. ["use_inflect", "nojoined"]

# Roles created in every ephemeral server before the DDL runs (for GRANTs and policies).
roles = []

# Limit diffs to some schemas, or leave some out (not both).
# include_schemas = ["public"]
# exclude_schemas = ["audit"]

# Order of component folders under schemas/; folders not listed load last.
# load_order = ["extensions", "schemas", "types", "sequences", "tables", "functions", "views",
#               "triggers"]

# PostgreSQL major of the ephemeral server (default: newest installed), or "auto": the major
# the servers of [environments] run, so migrations are verified where they will run.
# pg_version = 16

# Use an existing server for scratch databases instead of starting one.
# dev_url = "postgresql://me@localhost/postgres"

# Data-aware verification: rows generated per table before a pair is tried on data (0: none),
# a folder of INSERT files run first, and the lock modes that pass without --allow-hazards
# (not set: hazards are only reported).
# sample_rows = 3
# sample_data = "sampledata"
# hazard_locks = ["AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock"]

# Online plans (as `diff --online`): constraints validated in a transaction of their own, and
# a lock_timeout on every part.
# online = false
# online_lock_timeout = "5s"

# Databases that `apply`, `rollback` and `status` can target with --env NAME.
# [environments.production]
# url = "postgresql://app:${DB_PASSWORD}@db.example.com/app"
"""


def new(config: Config, name: str, *, python: bool = False) -> MigrationPair:
    """Create an empty hand-written up/down pair (for data migrations), or with `python` a
    Python migration `NNNN_slug.py`, and update the sum."""
    slug = migfiles.slugify(name)
    with migfiles.writer_lock(config.root):
        return _new_python(config, slug, name) if python else _new(config, slug)


PYTHON_TEMPLATE = '''"""{description}"""

# {version}: a hand-written Python migration (schemactl {schemactl}). `conn` is a
# schemactl.pymigration.Connection: conn.execute(sql, params), conn.query(sql, params),
# conn.scalar(sql, params), conn.batches(sql, size=..., total=...) and conn.log(message);
# conn.raw is the psycopg2 connection. `environment` is the run's --env (None in scratch
# databases, where diff, check and verify replay this on empty or sample data).
#
# Settings, read without running the module (so: literals):
# reversible = False        # no down(); rollback past this migration is refused
# transactional = False     # no one transaction: each statement and batch commits on its own
# environments = ("dev",)   # run only there; recorded as skipped elsewhere


def up(conn, environment):
    pass


def down(conn, environment):
    pass


# Optional: stop the run when a check fails (raise, or return False). check_after runs in
# the migration's transaction, so a failed check rolls the migration back.
# def check_before(conn, environment): ...
# def check_after(conn, environment): ...
'''


def _new_python(config: Config, slug: str, name: str) -> MigrationPair:
    pairs = migfiles.list_migrations(config.generated)
    number = migfiles.next_version(pairs)
    version = f"{number:04d}_{slug}"
    path = config.generated / f"{version}.py"
    description = " ".join(name.split()).replace("\\", "\\\\").replace('"""', "'''")
    text = PYTHON_TEMPLATE.format(description=description, version=version, schemactl=__version__)
    migfiles.write_single(config.generated, path, text)
    return MigrationPair(number, slug, path, path)


def _new(config: Config, slug: str) -> MigrationPair:
    pairs = migfiles.list_migrations(config.generated)
    version = f"{migfiles.next_version(pairs):04d}_{slug}"
    texts = {}
    for direction in ("up", "down"):
        texts[direction] = (
            f"-- {version} ({direction})\n"
            f"-- Hand-written migration created by schemactl {__version__}.\n"
            "-- Directives: `-- schemactl:no-transaction` runs the file outside a transaction;\n"
            "-- a `-- schemactl:commit` line between statements commits there.\n\n"
        )
    up = config.generated / f"{version}.up.sql"
    down = config.generated / f"{version}.down.sql"
    migfiles.write_pair(config.generated, up, texts["up"], down, texts["down"])
    return MigrationPair(migfiles.next_version(pairs), slug, up, down)


def rehash(config: Config) -> Path:
    """Rewrite `schemactl.sum` from the migration files as they are now."""
    migfiles.write_sum(config.generated, migfiles.list_migrations(config.generated))
    return config.generated / migfiles.SUM_FILE


def init(directory: Path) -> list[Path]:
    """Create a starter `schemactl.toml` and the schemas/, generated/, models/ directories."""
    target = directory / "schemactl.toml"
    if target.exists():
        raise ConfigError(f"{target} already exists; not overwriting it")
    created: list[Path] = []
    directory.mkdir(parents=True, exist_ok=True)
    for sub in ("schemas", "generated", "models"):
        d = directory / sub
        if not d.exists():
            d.mkdir()
            created.append(d)
            if sub != "schemas":  # git keeps no empty directory; schemas/ gets the user's files
                (d / ".gitkeep").touch()
    target.write_text(STARTER if STARTER.endswith("\n") else STARTER + "\n", encoding="utf-8")
    created.insert(0, target)
    return created
