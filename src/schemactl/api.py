"""The Python API: one typed function per command, returning dataclasses.

The CLI (cli.py) only parses options, calls these and prints. Nothing here prints or exits;
errors are `SchemactlError` subclasses carrying their exit code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, ddl, engine, headers, migfiles, pgserver, scratch, snapcache, verify
from .config import STARTER, Config, ModelSettings, SchemaFilter
from .destructive import DestructiveStatement, find_destructive
from .errors import ConfigError, DestructiveChangeError, UsageError
from .migfiles import MigrationPair
from .migration import Migration
from .sqlfiles import SQLFile

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


# ------------------------------------------------------------------ results ----


@dataclass
class DiffResult:
    """What `diff` found and did."""

    status: str  # "written", "printed", "no-changes"
    up_sql: str = ""
    down_sql: str = ""
    version: str | None = None  # "0003_add_users" when written
    up_path: Path | None = None
    down_path: Path | None = None
    destructive: list[DestructiveStatement] = field(
        default_factory=list
    )  # lose data: need --allow-destructive
    verified: bool = True
    problems: list[str] = field(default_factory=list)  # why verification failed
    may_fail: list[DestructiveStatement] = field(
        default_factory=list
    )  # fail (and roll back) on some rows
    warnings: list[str] = field(default_factory=list)  # e.g. INSERTs under schemas/


@dataclass
class DriftResult:
    """What `diff --db` found: the SQL that brings the live database to `schemas/`."""

    sql: str  # empty: no drift
    destructive: list[DestructiveStatement] = field(
        default_factory=list
    )  # statements that lose data or may fail


@dataclass
class ModelsResult:
    """What `generate-models` wrote."""

    path: Path
    changed: bool  # False when the file already held exactly this text
    warnings: list[str]  # objects sqlacodegen could not represent
    schemas: list[str]


@dataclass
class Finding:
    """One reason `check` fails."""

    kind: str  # "schema-drift", "integrity", "models"
    message: str
    detail: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    """What `check` found: `ok` is True when there is nothing to report."""

    findings: list[Finding]
    pending_sql: str = ""
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. INSERTs under schemas/
    models_checked: bool = False

    @property
    def ok(self) -> bool:
        """True when migrations, integrity file and (if checked) models are all in sync."""
        return not self.findings


# ------------------------------------------------------------------ helpers ----


@contextlib.contextmanager
def _pool() -> Iterator[ThreadPoolExecutor]:
    # Database work and pg_dump release the GIL, so the two loads, and then the inspection and
    # dump of each database, overlap. On the way out (including Ctrl-C) queued work is
    # cancelled; running queries end when the sandbox closes around us.
    pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="schemactl")
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _results(*futures: Future[Any]) -> list[Any]:
    """Wait for all futures; re-raise the first error in the order given."""
    errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e
    return [f.result() for f in futures]


def _after(pool: ThreadPoolExecutor, first: Future[Any], fn: Any, *args: Any) -> Future[Any]:
    """Run `fn(*args)` once `first` has succeeded (its error, if any, is raised instead)."""
    return pool.submit(lambda: (first.result(), fn(*args))[1])


@dataclass
class _Scratch:
    """The two scratch databases of a comparison, being filled."""

    replay_db: str  # migrations replayed: the state the history produces ("" until replayed)
    target_db: str  # schemas/ loaded: the state wanted ("" until loaded)
    pairs: list[MigrationPair]
    root: Path
    replayed: Future[Any]
    loaded: Future[Any]
    schema_files: list[SQLFile] = field(default_factory=list)

    def wait(self) -> None:
        # The schemas' error is reported first: it is the file the user most likely just edited.
        _results(self.loaded, self.replayed)

    def migration_files(self) -> list[tuple[SQLFile, bool]]:
        """The up files, read and checked (only when they are replayed)."""
        return [Migration.read(p, self.root).up_script for p in self.pairs]

    def fill_target(self, box: pgserver.Sandbox, pool: ThreadPoolExecutor) -> None:
        self.target_db = box.create_database("target")
        self.loaded = pool.submit(scratch.load_schemas, box, self.target_db, self.schema_files)

    def fill_replay(self, box: pgserver.Sandbox, pool: ThreadPoolExecutor) -> None:
        migration_files = self.migration_files()  # read and checked while the schemas load
        self.replay_db = box.create_database("replay")
        self.replayed = pool.submit(scratch.replay, box, self.replay_db, migration_files)


def _start(
    config: Config,
    box: pgserver.Sandbox,
    pool: ThreadPoolExecutor,
    progress: Progress,
    replay: bool = True,
    load: bool = True,
    schema_files: list[SQLFile] | None = None,
) -> _Scratch:
    """Create the target and replay databases and start filling them, in parallel. Either can
    be left out when its snapshot is known; `fill_target` / `fill_replay` fill it later if
    needed."""
    pairs = migfiles.list_migrations(config.generated)
    if schema_files is None:
        schema_files = ddl.discover(config.schemas, config.load_order, config.root)
    sc = _Scratch("", "", pairs, config.root, _done(), _done(), schema_files)
    doing, known = [], []
    if load:
        sc.fill_target(box, pool)
        doing.append(f"loading {_n(len(schema_files), 'schema file')}")
    else:
        known.append("schemas/")
    if replay:
        sc.fill_replay(box, pool)
        doing.append(f"replaying {_n(len(pairs), 'migration')}")
    else:
        known.append("the migrations")
    said = " and ".join(doing) or "nothing to load"
    progress(said + (f" ({' and '.join(known)}: unchanged since an earlier run)" if known else ""))
    return sc


def _done() -> Future[Any]:
    f: Future[Any] = Future()
    f.set_result(None)
    return f


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _verify(
    box: pgserver.Sandbox,
    replay_db: str,
    target_db: str,
    up_text: str,
    down_text: str,
    before: verify.Snapshot,
    target: verify.Snapshot,
    schemas: SchemaFilter,
    pool: ThreadPoolExecutor,
) -> list[str]:
    """Apply up to the replay and down to the target database, compare both with pg_dump."""

    def one(db: str, label: str, text: str, want: verify.Snapshot) -> list[str]:
        error = scratch.run_migration(box, db, (SQLFile(Path(label), label, text), True))
        if error:
            if label == "down" and "has no update path" in error:
                # PostgreSQL cannot downgrade an extension: say so, rather than leave it to
                # rollback.
                return [
                    f"down cannot be performed: {error.split(': ', 1)[-1]} (PostgreSQL has no "
                    "downgrade path, so this change is one-way); write the down file by hand, e.g. "
                    "DROP EXTENSION and CREATE EXTENSION ... VERSION if nothing depends on it"
                ]
            return [f"{label} fails: {error}"]
        return verify.describe(
            f"{label}: ", verify.compare(want, verify.snapshot(box, db, schemas))
        )

    up, down = _results(
        pool.submit(one, replay_db, "up", up_text, target),
        pool.submit(one, target_db, "down", down_text, before),
    )
    problems: list[str] = up + down
    return problems


# ------------------------------------------------------------------ commands ----


def diff(
    config: Config,
    name: str | None,
    *,
    allow_destructive: bool = False,
    print_only: bool = False,
    dev_url: str | None = None,
    pg_version: int | None = None,
    progress: Progress = _quiet,
) -> DiffResult:
    """Generate, verify and write the next up/down migration pair from `schemas/`."""
    config = config.with_overrides(dev_url, pg_version)  # resolved once: below, config alone
    if name is None and not print_only:
        raise UsageError("a migration name is required", hint='pass -m "what changed"')
    slug = migfiles.slugify(name) if name is not None else ""
    schemas = config.schema_filter
    lock = contextlib.nullcontext() if print_only else migfiles.writer_lock(config.root, progress)
    with lock:
        return _diff(config, slug, schemas, allow_destructive, print_only, progress)


def _diff(
    config: Config,
    slug: str,
    schemas: SchemaFilter,
    allow_destructive: bool,
    print_only: bool,
    progress: Progress,
) -> DiffResult:
    with scratch.sandbox(config) as box, _pool() as pool:
        sc = _start(config, box, pool, progress)
        replay_db, target_db, pairs = sc.replay_db, sc.target_db, sc.pairs
        # Each database is dumped and inspected as soon as it is filled, while the other loads.
        snap_before = _after(pool, sc.replayed, verify.snapshot, box, replay_db, schemas)
        snap_target = _after(pool, sc.loaded, verify.snapshot, box, target_db, schemas)
        i_from = _after(pool, sc.replayed, engine.inspect, box.sqlalchemy_url(replay_db), schemas)
        i_target = _after(pool, sc.loaded, engine.inspect, box.sqlalchemy_url(target_db), schemas)
        sc.wait()
        progress("comparing")
        was, wanted = _results(i_from, i_target)
        up, down = engine.both_directions(was, wanted, ddl.pinned_extensions(sc.schema_files))
        before, target = _results(snap_before, snap_target)
        warnings = ddl.data_warnings(sc.schema_files)
        if not up:
            problems = verify.describe("", verify.compare(target, before))
            return DiffResult(
                "no-changes", verified=not problems, problems=problems, warnings=warnings
            )
        hazards = find_destructive(up, engine.type_changes(was, wanted, up))
        destructive = [h for h in hazards if h.loses_data]
        may_fail = [h for h in hazards if not h.loses_data]
        if destructive and not allow_destructive and not print_only:
            raise DestructiveChangeError(
                f"the migration would lose data ({len(destructive)} destructive statement"
                f"{'s' if len(destructive) > 1 else ''})",
                hint="review them, then run again with --allow-destructive",
                statements=[f"{d.reason}: {d.statement}" for d in destructive],
            )
        version = f"{migfiles.next_version(pairs):04d}_{slug}" if slug else "preview"
        progress("verifying")
        problems = _verify(box, replay_db, target_db, up, down, before, target, schemas, pool)
        major = box.server_version() // 10000
    result = DiffResult(
        "printed",
        up,
        down,
        destructive=destructive,
        verified=not problems,
        problems=problems,
        may_fail=may_fail,
        warnings=warnings,
    )
    if print_only:
        return result
    up_text, down_text = headers.with_verification(
        headers.generated(version, "up", hazards) + up,
        headers.generated(version, "down", hazards) + down,
        problems,
        headers.CLAIM_DIFF,
        major,
    )
    result.status, result.version = "written", version
    result.up_path = config.generated / f"{version}.up.sql"
    result.down_path = config.generated / f"{version}.down.sql"
    migfiles.write_pair(config.generated, result.up_path, up_text, result.down_path, down_text)
    if result.verified:
        # Verified means the new history replays to exactly the target's snapshot: keep it for
        # both, so the `check` that usually follows (pre-commit) has nothing to load.
        server = snapcache.server_identity(config)
        history = snapcache.history_key(
            config, server, schemas, migfiles.list_migrations(config.generated)
        )
        snapcache.keep_snapshot("history", history, target)
        snapcache.keep_snapshot(
            "schemas", snapcache.schemas_key(config, server, schemas, sc.schema_files), target
        )
    return result


def drift(
    config: Config,
    url: str,
    *,
    dev_url: str | None = None,
    pg_version: int | None = None,
    progress: Progress = _quiet,
    warn: Progress = _quiet,
) -> DriftResult:
    """Return the SQL that would bring the live database at `url` to the state of `schemas/`,
    with its statements that lose data or may fail (`warn` hears of a server version mismatch)."""
    from . import dburl

    config = config.with_overrides(dev_url, pg_version)  # resolved once: below, config alone

    params = dburl.conn_params(url)
    with contextlib.closing(
        dburl.connect(url, application_name="schemactl diff")
    ) as conn:  # clear errors first
        live_version = conn.server_version
    schemas = config.schema_filter
    files = ddl.discover(config.schemas, config.load_order, config.root)
    with scratch.sandbox(config) as box:
        if message := scratch.version_warning(live_version, box):
            warn(message)
        target_db = box.create_database("target")
        progress(f"loading {_n(len(files), 'schema file')}")
        scratch.load_schemas(box, target_db, files)
        progress("comparing with the live database")
        live = engine.inspect(dburl.sqlalchemy_url(params), schemas)
        target = engine.inspect(box.sqlalchemy_url(target_db), schemas)
        sql = engine.migration_sql(live, target, ddl.pinned_extensions(files))
        return DriftResult(sql, find_destructive(sql, engine.type_changes(live, target, sql)))


def _verify_changed(config: Config, progress: Progress) -> list[Finding]:
    from . import reverify

    result = reverify.verify_pairs(config, only_stale=True, progress=progress)
    findings = [
        Finding("unverified", f"{r.name} does not verify: {r.problems[0]}", r.problems[1:12])
        for r in result.pairs
        if not r.verified
    ]
    if written := [r.name for r in result.pairs if r.rewritten]:
        findings.append(
            Finding(
                "headers",
                f"verified again and rewrote the headers of {', '.join(written)} and schemactl.sum",
                ["hint: commit the rewritten files"],
            )
        )
    return findings


def check(
    config: Config,
    *,
    models: bool = True,
    verify_pairs: bool = False,
    dev_url: str | None = None,
    pg_version: int | None = None,
    progress: Progress = _quiet,
) -> CheckResult:
    """Check that migrations reproduce `schemas/`, match `schemactl.sum`, and (unless `models` is
    False) that the models file matches a fresh generation; with `verify_pairs`, first verify
    again the pairs changed since their last verification (rewriting their headers)."""
    config = config.with_overrides(dev_url, pg_version)  # resolved once: below, config alone
    findings: list[Finding] = []
    notes: list[str] = []
    if verify_pairs:
        findings += _verify_changed(config, progress)
    pairs = migfiles.list_migrations(config.generated)
    for f in migfiles.check_sum(config.generated, pairs):
        findings.append(
            Finding(
                "integrity",
                f.message,
                ["hint: if the change is deliberate, run `schemactl rehash`"],
            )
        )
    schemas = config.schema_filter
    schema_files = ddl.discover(config.schemas, config.load_order, config.root)
    want_models = models and config.models.exists()
    if models and not want_models:
        notes.append(
            f"{config.rel(config.models)} does not exist; models not checked "
            "(create it with `schemactl generate-models`)"
        )
    # Snapshots (and models) kept from earlier runs, keyed by everything they depend on
    # (snapcache.py, docs/performance.md): what is known is not loaded again.
    server = snapcache.server_identity(config)
    history_key = snapcache.history_key(config, server, schemas, pairs)
    schemas_key = snapcache.schemas_key(config, server, schemas, schema_files)
    models_key = snapcache.models_key(schemas_key, config.model_settings) if want_models else ""
    kept_before = snapcache.load_snapshot("history", history_key)
    kept_target = snapcache.load_snapshot("schemas", schemas_key)
    kept_models = snapcache.load_text("models", models_key) if want_models else None
    if (
        kept_before
        and kept_target
        and (kept_models is not None or not want_models)
        and not verify.compare(kept_target, kept_before)
    ):
        progress("schemas/ and the migrations are unchanged since an earlier run: nothing to load")
        if want_models and config.models.read_text(encoding="utf-8") != kept_models:
            findings.append(_stale_models(config))
        return CheckResult(
            findings, "", notes, ddl.data_warnings(schema_files), models_checked=want_models
        )
    pending = ""
    with scratch.sandbox(config) as box, _pool() as pool:
        load = kept_target is None or (want_models and kept_models is None)
        sc = _start(
            config,
            box,
            pool,
            progress,
            replay=kept_before is None,
            load=load,
            schema_files=schema_files,
        )
        # Each database is dumped as soon as it is filled; the models are generated while
        # pg_dump runs (reflection is Python work, the dumps are other processes).
        snapshots = (
            _after(
                pool,
                sc.replayed,
                lambda: kept_before or verify.snapshot(box, sc.replay_db, schemas),
            ),
            _after(
                pool, sc.loaded, lambda: kept_target or verify.snapshot(box, sc.target_db, schemas)
            ),
        )
        sc.wait()
        progress("comparing")
        if want_models:
            fresh = (
                kept_models
                if kept_models is not None
                else _render_models(config, box, sc.target_db)
            )
            snapcache.keep_text("models", models_key, fresh)
            if config.models.read_text(encoding="utf-8") != fresh:
                findings.append(_stale_models(config))
        before, target = _results(*snapshots)
        snapcache.keep_snapshot("history", history_key, before)
        snapcache.keep_snapshot("schemas", schemas_key, target)
        differences = verify.compare(target, before)
        if differences:
            # migra needs both databases to say which SQL would fix it.
            if not sc.target_db:
                sc.fill_target(box, pool)
            if not sc.replay_db:
                sc.fill_replay(box, pool)
            sc.wait()
            pending, _ = engine.both_directions(
                engine.inspect(box.sqlalchemy_url(sc.replay_db), schemas),
                engine.inspect(box.sqlalchemy_url(sc.target_db), schemas),
                ddl.pinned_extensions(schema_files),
            )
            findings.append(
                Finding(
                    "schema-drift",
                    f"{config.rel(config.schemas)}/ has changes that no migration holds yet"
                    + ("" if pending else " (and migra cannot express them)"),
                    verify.describe("", differences),
                )
            )
    return CheckResult(
        findings, pending, notes, ddl.data_warnings(schema_files), models_checked=want_models
    )


def _render_models(config: Config, box: pgserver.Sandbox, db: str) -> str:
    from . import models as codegen

    return codegen.render(config, config.model_settings, box.sqlalchemy_url(db)).text


def _stale_models(config: Config) -> Finding:
    return Finding(
        "models", f"{config.rel(config.models)} is out of date; run `schemactl generate-models`"
    )


def generate_models(
    config: Config,
    *,
    settings: ModelSettings | None = None,
    dev_url: str | None = None,
    pg_version: int | None = None,
    progress: Progress = _quiet,
) -> ModelsResult:
    """Load `schemas/` into a scratch database and write SQLAlchemy models for it (sqlacodegen)."""
    from . import models as codegen

    config = config.with_overrides(dev_url, pg_version)  # resolved once: below, config alone
    settings = settings or config.model_settings
    files = ddl.discover(config.schemas, config.load_order, config.root)
    with scratch.sandbox(config) as box:
        db = box.create_database("models")
        progress(f"loading {_n(len(files), 'schema file')}")
        scratch.load_schemas(box, db, files)
        progress("generating models")
        rendered = codegen.render(config, settings, box.sqlalchemy_url(db))
    path = config.models
    changed = not path.exists() or path.read_text(encoding="utf-8") != rendered.text
    if changed:
        migfiles.write_atomic(path, rendered.text)
    return ModelsResult(path, changed, rendered.warnings, rendered.schemas)


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
