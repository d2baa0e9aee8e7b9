"""The project's own files, outside any database: a starter project (`init`), an empty
hand-written pair (`new`), the integrity file rewritten (`rehash`), and the scratch databases
earlier runs left on a dev server (`clean`)."""

from __future__ import annotations

from pathlib import Path

from . import __version__, migfiles, pgserver
from .config import STARTER, Config
from .errors import ConfigError
from .migfiles import MigrationPair


def new(config: Config, name: str) -> MigrationPair:
    """Create an empty hand-written up/down pair (for data migrations) and update the sum."""
    slug = migfiles.slugify(name)
    with migfiles.writer_lock(config.root):
        return _new(config, slug)


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


def clean(dev_url: str) -> list[str]:
    """Drop scratch databases that earlier runs left on a dev server; return their names."""
    server = pgserver.DevServer(dev_url, None)  # dropping databases needs no local binaries
    names = server.leftovers()
    for name in names:
        server.drop_database(name)
    return names
