"""Results kept between runs, keyed by a hash of everything they depend on.

`check` compares two pg_dump snapshots: of the replayed migrations, and of `schemas/` loaded.
Each is a deterministic function of its inputs — the files' bytes, the roles, the schema
filter, the PostgreSQL server and binaries, and schemactl itself — so a snapshot computed once
is kept under a hash of those inputs and reused while they are unchanged. A changed byte in
any input is a different key: nothing is ever invalidated, old entries just age out. The
same goes for the models text generated from `schemas/`. Failures to read or write the cache
only cost speed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..project import migfiles
from ..project.config import Config, ModelSettings, SchemaFilter, cache_root
from ..project.sqlfiles import SQLFile
from ..scratch import pgbinaries, pgversion
from ..version import __version__
from . import verify

KEEP = 64  # entries per kind
KEEP_INSPECTIONS = 8  # 4 MB each for 1,000 tables


def server_identity(config: Config) -> str:
    """What identifies the scratch server's behaviour, without starting one: the binaries' build
    (`postgres --version` and size) for an ephemeral cluster, or the dev server's version
    (`dev_url` from the config or the command line: `Config.with_overrides`)."""
    if dev_url := config.resolved_dev_url():
        from ..connect import dburl

        with contextlib.closing(dburl.connect(dev_url, application_name="schemactl check")) as conn:
            return f"dev:{conn.server_version}"
    binaries = pgbinaries.find_binaries(pgversion.wanted(config, None))
    return f"{binaries.major}:{pgbinaries.build_identity(binaries.bindir)}"


def _key(*parts: Any, files: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256(repr((__version__, _sources(), *parts)).encode())
    for name, data in files:
        h.update(name.encode() + b"\0" + data + b"\0")
    return h.hexdigest()[:32]


def history_key(
    config: Config, server: str, schemas: SchemaFilter, pairs: list[migfiles.MigrationPair]
) -> str:
    return _key(
        "history",
        server,
        sorted(config.roles),
        schemas,
        files=[(p.up.name, p.up.read_bytes()) for p in pairs],
    )


def schemas_key(config: Config, server: str, schemas: SchemaFilter, files: list[SQLFile]) -> str:
    return _key(
        "schemas",
        server,
        sorted(config.roles),
        schemas,
        files=[(f.rel, f.text.encode()) for f in files],
    )


def models_key(schemas_key: str, settings: ModelSettings) -> str:
    from importlib.metadata import version

    return _key(
        "models", schemas_key, settings, version("sqlacodegen"), version("SQLAlchemy"), files=[]
    )


def _path(kind: str, key: str, suffix: str) -> Path:
    return cache_root() / kind / f"{key}{suffix}"


def load_text(kind: str, key: str, suffix: str = ".txt") -> str | None:
    path = _path(kind, key, suffix)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    _used(path)
    return text


def _used(path: Path) -> None:
    # Entries age out by modification time (`_age_out`): one read is one in use.
    with contextlib.suppress(OSError):
        os.utime(path)


def keep_text(kind: str, key: str, text: str, suffix: str = ".txt") -> None:
    path = _path(kind, key, suffix)
    with contextlib.suppress(OSError):
        migfiles.write_atomic(path, text)
        _age_out(path.parent, KEEP)


def load_snapshot(kind: str, key: str) -> verify.Snapshot | None:
    text = load_text(kind, key, ".json")
    try:
        entries = json.loads(text) if text is not None else None
    except ValueError:
        return None
    return (
        None
        if entries is None
        else verify.Snapshot({k: [tuple(b) for b in v] for k, v in entries.items()})
    )


def keep_snapshot(kind: str, key: str, snap: verify.Snapshot) -> None:
    keep_text(kind, key, json.dumps(snap.entries), ".json")


def inspection_key(database_key: str) -> str:
    """The key of the inspection of the database `database_key` (`history_key`,
    `schemas_key`) names: what reads it back are these versions of schemainspect and migra."""
    return _key("inspection", database_key, *_engine_versions(), files=[])


@functools.cache
def _engine_versions() -> tuple[str, str]:
    # Read once a process: each metadata lookup scans site-packages.
    from importlib.metadata import version

    return version("schemainspect"), version("migra")


@functools.cache
def _sources() -> str:
    """A digest of the code that decides what is kept (the engine's kinds, the parser they read
    statements with and their queries: an inspection's catalog data; verify.py: a snapshot's
    normal form), read once a process (~45 small files, ~1 ms): within one release, a change
    to any is a new key, not a stale entry read back."""
    package = Path(__file__).parent.parent
    h = hashlib.sha256()
    for path in sorted(
        [
            *package.glob("engine/**/*.py"),
            *package.glob("grammar/*.py"),
            *package.glob("sql/*.sql"),
            package / "verification" / "verify.py",
        ]
    ):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def result_key(computed: tuple[str, str, str], config: Config, options: Any) -> str:
    """The key of a `diff`'s verified result: both sides' keys (every input file, the server,
    schemactl), every setting that shapes the pair, and what the command asked (`options`)."""
    c = config
    shaping = (
        c.load_order, c.tracking_schema, c.data_check, c.sample_rows, c.hazard_locks, c.online,
        c.online_lock_timeout, c.expand_contract, c.expand_contract_lock_timeout,
    )  # fmt: skip
    return _key(
        "result", *computed[:2], shaping, options, *_engine_versions(), _package(), files=[]
    )


@functools.cache
def _package() -> str:
    """A digest of all of schemactl's code (≈ 130 files, a few ms, once a process): what a
    result holds (hazards, sample rows, headers, the pair itself) comes from most of it, so
    within one version, a checkout whose code changed never reads back an older result."""
    h = hashlib.sha256()
    package = Path(__file__).parent.parent
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.sql")]):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def load_result(key: str) -> Any:
    """The result kept under `key` (`keep_result`), or None; read as `load_inspection` is."""
    return _load_pickle("results", key, pickle.load)


def _load_pickle(kind: str, key: str, read: Callable[[BinaryIO], Any]) -> Any:
    """What `read` makes of the pickle kept under `key`, or None. A pickle runs code as it
    loads: only a file this user owns, in a directory nobody else may write to, is read."""
    path = _path(kind, key, ".pickle")
    try:
        if not (_private(path) and _private(path.parent)):
            return None
        with path.open("rb") as f:
            found = read(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    _used(path)
    return found


def keep_result(key: str, found: Any) -> None:
    path = _path("results", key, ".pickle")
    with contextlib.suppress(OSError, pickle.PicklingError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        migfiles.write_atomic_with(path, lambda f: pickle.dump(found, f), 0o600)
        _age_out(path.parent, KEEP)


def load_inspection(key: str) -> Any:
    """The inspection kept under `key` (engine/inspection.py, `write`), or None (`_load_pickle`)."""
    from ..engine import inspection

    return _load_pickle("inspections", key, inspection.read)


def keep_inspection(key: str, found: Any, source: Path | None = None) -> None:
    """Keep an inspection (engine.inspect's) under `key`; or the file `source`, one kept."""
    from ..engine import inspection

    def write(f: BinaryIO) -> None:
        if source is None:
            inspection.write(found, f)
            return
        with source.open("rb") as kept:
            shutil.copyfileobj(kept, f)

    path = _path("inspections", key, ".pickle")
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        migfiles.write_atomic_with(path, write, 0o600)  # read only if private: `_private`
        _age_out(path.parent, KEEP_INSPECTIONS)


def _private(path: Path) -> bool:
    st = path.stat()
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _age_out(directory: Path, keep: int) -> None:
    entries = sorted(
        (p for p in directory.iterdir() if not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    for stale in entries[:-keep]:
        stale.unlink(missing_ok=True)


@dataclass(frozen=True)
class Known:
    """What earlier runs left for one project state: the replayed history's and the schemas'
    snapshots and the models text, each None when not kept."""

    history_key: str
    schemas_key: str
    models_key: str  # "" when models are not wanted
    before: verify.Snapshot | None
    target: verify.Snapshot | None
    models: str | None

    def unchanged(self) -> bool:
        """Whether nothing needs loading: both snapshots kept (and models, if wanted), equal."""
        return (
            self.before is not None
            and self.target is not None
            and (self.models is not None or not self.models_key)
            and not verify.compare(self.target, self.before)
        )

    def keep(self, before: verify.Snapshot, target: verify.Snapshot) -> None:
        """Keep the snapshots computed this run (one read from the cache is there already)."""
        if self.before is None:
            keep_snapshot("history", self.history_key, before)
        if self.target is None:
            keep_snapshot("schemas", self.schemas_key, target)

    def keep_models(self, text: str) -> None:
        keep_text("models", self.models_key, text)


def known(
    config: Config,
    schemas: SchemaFilter,
    pairs: list[migfiles.MigrationPair],
    files: list[SQLFile],
    want_models: bool,
    computed: tuple[str, str, str] | None = None,
) -> Known:
    """Look up what earlier runs kept for these migrations, schema files and settings
    (`computed`: their `keys`, when the caller has them already)."""
    history, target, models = computed or keys(config, schemas, pairs, files, want_models)
    return Known(
        history,
        target,
        models,
        load_snapshot("history", history),
        load_snapshot("schemas", target),
        load_text("models", models) if want_models else None,
    )


def keys(
    config: Config,
    schemas: SchemaFilter,
    pairs: list[migfiles.MigrationPair],
    files: list[SQLFile],
    want_models: bool,
) -> tuple[str, str, str]:
    """The keys of the replayed history, of schemas/ loaded, and of its models ("": none)."""
    server = server_identity(config)
    history = history_key(config, server, schemas, pairs)
    target = schemas_key(config, server, schemas, files)
    return history, target, models_key(target, config.model_settings) if want_models else ""


def keep_verified(
    config: Config,
    schemas: SchemaFilter,
    files: list[SQLFile],
    target: verify.Snapshot,
    target_inspection: str = "",
) -> str:
    """After a verified `diff`: the new history replays to exactly the target's snapshot, so
    keep it for the history too (the diff kept it for schemas/: `Known.keep`), and the
    `check` that usually follows (pre-commit) has nothing to load. The target's inspection
    (kept under `target_inspection`) stands for the new history's too: the next `diff`
    inspects only schemas/. Should it differ from a fresh one where pg_dump does not look,
    that diff's verification, which never reads an inspection, fails. Returns the new
    history's key."""
    history, _, _ = keys(config, schemas, migfiles.list_migrations(config.generated), files, False)
    keep_snapshot("history", history, target)
    if target_inspection:
        source = _path("inspections", target_inspection, ".pickle")
        if source.exists():
            keep_inspection(inspection_key(history), None, source)
    return history
