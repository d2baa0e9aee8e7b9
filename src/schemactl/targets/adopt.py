"""`schemactl import`: a live database's schema written as schemas/, one file per object
(project/dumpfiles.py), and proved before anything is kept: the files are loaded into a scratch
database and compared with the live one by the same normalised pg_dump verification uses.

The files are written to a directory beside schemas/ first and take its place only once proved,
so a failed import leaves the project as it was. The roles the files' GRANTs and policies name
join `roles` in the config, so that scratch servers can load them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..connect import dburl
from ..engine.kinds import NOT_DIFFED
from ..errors import ConfigError, ImportNotProved, IntegrityError, SQLFileError, UsageError
from ..project import ddl, dumpfiles, migfiles
from ..project.config import Config
from ..scratch import sandbox
from ..verification import steps, verify

Progress = Callable[[str], None]


@dataclass
class ImportResult:
    """What `import` wrote (paths relative to the project), and what it noticed."""

    files: list[str]
    roles_added: list[str] = field(default_factory=list)
    not_diffed: list[str] = field(default_factory=list)  # files of kinds schemactl does not diff
    warnings: list[str] = field(default_factory=list)
    pair: list[str] = field(default_factory=list)  # the first migration pair's files
    baseline: bool = False  # recorded as applied on the database

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def refuse_to_overwrite(config: Config, force: bool) -> None:
    """A project that holds DDL or migrations already is not imported into (unless `force`,
    which replaces schemas/; a history is never replaced)."""
    if migfiles.list_migrations(config.generated):
        raise UsageError(
            f"{config.rel(config.generated)}/ already holds migrations: import starts a history",
            hint="import into a new project (`schemactl init`), or compare with "
            "`schemactl diff --db`",
        )
    if not force and config.schemas.is_dir() and any(config.schemas.rglob("*.sql")):
        raise UsageError(
            f"{config.rel(config.schemas)}/ is not empty",
            hint="import into an empty schemas/, or pass --force to replace its files",
        )


def refuse_baseline(config: Config, database: str) -> None:
    """`--baseline` adopts a database schemactl has not managed: one whose ledger is empty."""
    from .status import applied_versions

    if applied_versions(database, config.tracking_schema, "import"):
        raise IntegrityError(
            "this database already has migrations recorded; --baseline adopts a database "
            "schemactl has not managed",
            hint="import without --baseline, or see `schemactl status`",
        )


def write_schemas(
    config: Config,
    database: str,
    *,
    force: bool = False,
    progress: Progress = lambda _: None,
    warn: Progress = lambda _: None,
) -> tuple[ImportResult, Config]:
    """Write the live schema of `database` as schemas/ and prove it; return what was written
    and the config with the roles the files need."""
    refuse_to_overwrite(config, force)
    schemas = config.schema_filter
    with contextlib.closing(dburl.connect(database, application_name="schemactl import")) as c:
        live_major = c.server_version // 10000
    progress(f"reading {dburl.mask(database)}")
    dump = steps.live_dump(config, database, live_major)
    files = dumpfiles.layout(dump, NOT_DIFFED, keep=schemas.keeps)
    added = sorted(files.roles - set(config.roles))
    wanted = dataclasses.replace(config, roles=(*config.roles, *added))
    config_text = _with_roles(config, added) if added else None  # refused before any write
    config.schemas.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".schemactl-import-", dir=config.schemas.parent))
    try:
        for rel, text in files.files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(text, encoding="utf-8")
        progress(f"proving {len(files.files)} files: loading them and comparing with pg_dump")
        try:
            differences = _prove(wanted, staging, dump, warn, live_major)
        except SQLFileError as e:  # named as the file will be, not as it is staged
            staged, final = config.rel(staging), config.rel(config.schemas)
            raise ImportNotProved(
                "an imported file does not load: " + e.message.replace(staged, final),
                hint="nothing was written; report it with the statement named",
                detail=[line.replace(staged, final) for line in e.detail],
            ) from None
        if differences:
            raise ImportNotProved(
                "the imported files do not load to the live schema: "
                + "; ".join(d[0] for d in differences[:3]),
                hint="nothing was written; report it with the objects named below",
                detail=[line for d in differences for line in d],
            )
        if config.schemas.exists():
            shutil.rmtree(config.schemas)
        staging.rename(config.schemas)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if config_text is not None and config.source is not None:
        config.source.write_text(config_text, encoding="utf-8")
    rel = config.rel(config.schemas)
    return (
        ImportResult(
            [f"{rel}/{f}" for f in files.files],
            added,
            [f"{rel}/{f}" for f in files.not_diffed],
        ),
        wanted,
    )


def _prove(config: Config, staging: Path, dump: str, warn: Progress, live: int) -> list[list[str]]:
    """Load the staged files into a scratch database; each object that differs from the live
    dump, described (empty: proved)."""
    schemas = config.schema_filter
    loaded = ddl.discover(staging, config.load_order, config.root)
    with sandbox.sandbox(config) as box:
        db = box.create_database("import")
        sandbox.load_schemas(box, db, loaded)
        found = verify.snapshot(box, db, schemas)
        if message := sandbox.version_warning(live * 10000, box):
            warn(message)
        expected = steps.live_snapshot(box, dump, live, schemas)
    return [d.describe() for d in verify.compare(expected, found)]


_ROLES_LINE = re.compile(r"^roles\s*=\s*\[[^\]\n]*\]\s*(#.*)?$", re.MULTILINE)


def _with_roles(config: Config, added: list[str]) -> str:
    """The config file's text with `added` in `roles` (a one-line array, or a new line)."""
    roles = ", ".join(f'"{r}"' for r in (*config.roles, *added))
    source = config.source
    if source is None:
        raise ConfigError(
            f"the database's GRANTs and policies name roles scratch servers need: "
            f"{', '.join(added)}",
            hint=f"create schemactl.toml with roles = [{roles}], then import again",
        )
    text = source.read_text(encoding="utf-8")
    if _ROLES_LINE.search(text):
        return _ROLES_LINE.sub(lambda _: f"roles = [{roles}]", text, count=1)
    if source.name == "pyproject.toml":
        return text.replace("[tool.schemactl]\n", f"[tool.schemactl]\nroles = [{roles}]\n", 1)
    first_table = re.search(r"^\[", text, re.MULTILINE)
    at = first_table.start() if first_table else len(text)
    return text[:at] + f"roles = [{roles}]\n" + text[at:]
