"""The Python API: every command's library entry point, each one typed function returning a
dataclass with its JSON form (`to_json()`).

The schema commands are defined here; the database commands live beside the runner, ledger
and history code they use, and are named here (loaded on first use, so that `import
schemactl.api` does not load the runner, nor `apply` the engine). The CLI (cli/) only parses
options, calls these and prints. Nothing here prints or exits; errors are `SchemactlError`
subclasses carrying their exit code.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import engine
from .engine import online, renames
from .engine.destructive import find_destructive, refuse_unconvertible
from .errors import DestructiveChangeError, UsageError
from .grammar import sqltext
from .project import ddl, headers, migfiles
from .project.config import Config, SchemaFilter
from .results import CheckResult, DiffResult, Finding
from .results import ModelsResult as ModelsResult
from .scratch import pgserver, sandbox
from .verification import comparison, data, snapcache, verify

Progress = Callable[[str], None]

if TYPE_CHECKING:  # `X as X`: named here for type checkers, loaded by __getattr__
    from .models import generate_models as generate_models
    from .project.scaffold import init as init
    from .project.scaffold import new as new
    from .project.scaffold import rehash as rehash
    from .scratch.doctor import DoctorReport as DoctorReport
    from .scratch.doctor import doctor as doctor
    from .scratch.sandbox import clean as clean
    from .targets.bookkeeping import BaselineResult as BaselineResult
    from .targets.bookkeeping import baseline as baseline
    from .targets.bookkeeping import repair as repair
    from .targets.execution import RunResult as RunResult
    from .targets.execution import Step as Step
    from .targets.history import HistoryEntry as HistoryEntry
    from .targets.history import HistoryResult as HistoryResult
    from .targets.history import MigrationSummary as MigrationSummary
    from .targets.history import get_migration_history as get_migration_history
    from .targets.livediff import DriftResult as DriftResult
    from .targets.livediff import drift as drift
    from .targets.livediff import drift_many as drift_many
    from .targets.runner import RunSettings as RunSettings
    from .targets.runner import apply_migrations as apply_migrations
    from .targets.runner import rollback_migrations as rollback_migrations
    from .targets.status import MigrationStatus as MigrationStatus
    from .targets.status import StatusResult as StatusResult
    from .targets.status import get_migration_status as get_migration_status
    from .verification.reverify import PairResult as PairResult
    from .verification.reverify import VerifyResult as VerifyResult
    from .verification.reverify import verify_pairs as verify_pairs

# The entry points (and their result types) defined beside what they drive: module -> names.
_BY_MODULE = {
    "targets.runner": ("apply_migrations", "rollback_migrations", "RunSettings"),
    "targets.execution": ("Step", "RunResult"),
    "targets.status": ("get_migration_status", "StatusResult", "MigrationStatus"),
    "targets.bookkeeping": ("baseline", "repair", "BaselineResult"),
    "verification.reverify": ("verify_pairs", "VerifyResult", "PairResult"),
    "targets.history": (
        "get_migration_history",
        "HistoryResult",
        "HistoryEntry",
        "MigrationSummary",
    ),
    "scratch.doctor": ("doctor", "DoctorReport"),
    "models": ("generate_models",),
    "project.scaffold": ("new", "rehash", "init"),
    "scratch.sandbox": ("clean",),
    "targets.livediff": ("drift", "drift_many", "DriftResult"),
}
ELSEWHERE = {name: module for module, names in _BY_MODULE.items() for name in names}
DEFINED_HERE = ("diff", "check")
RESULTS = ("DiffResult", "CheckResult", "Finding", "ModelsResult")


def __getattr__(name: str) -> Any:
    if name in ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(f".{ELSEWHERE[name]}", __package__), name)
    raise AttributeError(name)


def _quiet(_: str) -> None:
    pass


# ------------------------------------------------------------------ results ----


# ------------------------------------------------------------------ commands ----


def diff(
    config: Config,
    name: str | None,
    *,
    allow_destructive: bool = False,
    allow_hazards: bool = False,
    online: bool | None = None,
    print_only: bool = False,
    progress: Progress = _quiet,
) -> DiffResult:
    """Generate, verify and write the next up/down migration pair from `schemas/`, tried on
    sample rows too (data loss refuses like a destructive change; hazards beyond
    `hazard_locks` refuse without `allow_hazards`). `online` (default: the config's) writes an
    online plan."""
    if name is None and not print_only:
        raise UsageError("a migration name is required", hint='pass -m "what changed"')
    slug = migfiles.slugify(name) if name is not None else ""
    schemas = config.schema_filter
    if online is not None:
        config = dataclasses.replace(config, online=online)
    lock = contextlib.nullcontext() if print_only else migfiles.writer_lock(config.root, progress)
    with lock:
        return _diff(config, slug, schemas, allow_destructive, allow_hazards, print_only, progress)


def _diff(
    config: Config,
    slug: str,
    schemas: SchemaFilter,
    allow_destructive: bool,
    allow_hazards: bool,
    print_only: bool,
    progress: Progress,
) -> DiffResult:
    with sandbox.sandbox(config) as box, comparison.pool() as pool:
        # Imported while the databases load (not while the server starts: both want the GIL).
        engine.preload()
        sc = comparison.start(config, box, pool, progress)
        replay_db, target_db, pairs = sc.replay_db, sc.target_db, sc.pairs
        # Each database is dumped and inspected as soon as it is filled, while the other loads.
        # With renames declared, migra compares a copy of the history that has them made.
        declared = renames.declared(sc.schema_files)
        renamed = (
            comparison.after(pool, sc.replayed, renames.renamed_copy, box, replay_db, declared)
            if declared
            else comparison.after(pool, sc.replayed, lambda: (replay_db, []))
        )
        # What earlier runs kept for these exact files is not computed again (snapcache.py).
        kept = snapcache.known(config, schemas, pairs, sc.schema_files, False)
        sides = comparison.Sides.of(kept, pool, box, sc, renamed, schemas, bool(declared))
        snap_before, snap_target, i_from, i_target = sides.futures
        # The schemas' error first, as `sc.wait` does: the file most likely just edited.
        wanted, was = comparison.results(i_target, i_from)
        progress("comparing")
        up, down = engine.both_directions(was, wanted, ddl.pinned_extensions(sc.schema_files))
        sc.wait()
        applied = renamed.result()[1]
        up, down = renames.around(up, down, applied)
        if up and config.online:  # both ways: a rollback runs on the same live traffic
            up, down = (
                online.plan(sql, config.online_lock_timeout, online.Existing(*found))
                for sql, found in (
                    (up, engine.tables_and_indexes(was)),
                    (down, engine.tables_and_indexes(wanted)),
                )
            )
        before, target = comparison.results(snap_before, snap_target)
        kept.keep(before, target)
        warnings = ddl.data_warnings(sc.schema_files)
        if not up:
            problems = verify.describe("", verify.compare(target, before))
            return DiffResult(
                "no-changes", verified=not problems, problems=problems, warnings=warnings
            )
        up_changes = engine.type_changes(was, wanted, up)
        refuse_unconvertible({"up": up_changes, "down": engine.type_changes(wanted, was, down)})
        hazards = find_destructive(up, up_changes)
        destructive = [h for h in hazards if h.loses_data]
        may_fail = [h for h in hazards if not h.loses_data]
        renamed_hint = (
            renames.looks_renamed(
                [st.text for st in sqltext.split(up)[0]], was.upstream, wanted.upstream
            )
            if destructive
            else []
        )
        if destructive and not allow_destructive and not print_only:
            raise DestructiveChangeError(
                f"the migration would lose data ({len(destructive)} destructive statement"
                f"{'s' if len(destructive) > 1 else ''})",
                hint="review them, then run again with --allow-destructive"
                + "".join(f"; or, {h}" for h in renamed_hint),
                statements=[f"{d.reason}: {d.statement}" for d in destructive],
            )
        version = f"{migfiles.next_version(pairs):04d}_{slug}" if slug else "preview"
        progress("verifying, and trying the pair on sample rows")
        # The copy is made before verification applies up to the replayed history (which waits
        # for it); down is verified meanwhile.
        copy = (
            pool.submit(box.copy_database, replay_db, "data")
            if config.data_check
            else comparison.done("")
        )
        with_rows = (
            comparison.after(
                pool,
                copy,
                lambda: data.try_with_rows(box, copy.result(), up, down, config),
            )
            if config.data_check
            else comparison.done(data.DataReport())
        )
        problems = comparison.verify_pair(
            box, replay_db, target_db, up, down, before, target, schemas, pool, copy
        )
        report = with_rows.result()
        major = box.server_version() // 10000
    measured = report.worth_saying(problems)
    if not print_only:
        data.refuse(measured, config.hazard_locks, allow_destructive, allow_hazards)
    result = DiffResult(
        "printed",
        up,
        down,
        destructive=destructive,
        verified=not problems,
        problems=problems,
        may_fail=may_fail,
        warnings=warnings + report.notes + [f"looks like a rename: {h}" for h in renamed_hint],
        hazards=measured,
        sample_rows=report.rows,
    )
    if print_only:
        return result
    up_text, down_text = headers.with_verification(
        headers.generated(version, "up", hazards, measured, report.rows, renamed_hint) + up,
        headers.generated(version, "down", hazards, measured, report.rows) + down,
        problems,
        headers.CLAIM_DIFF,
        major,
    )
    result.status, result.version = "written", version
    result.up_path = config.generated / f"{version}.up.sql"
    result.down_path = config.generated / f"{version}.down.sql"
    migfiles.write_pair(config.generated, result.up_path, up_text, result.down_path, down_text)
    if result.verified:
        snapcache.keep_verified(config, schemas, sc.schema_files, target, sides.target_key)
    return result


def check(
    config: Config,
    *,
    models: bool = True,
    verify_pairs: bool = False,
    progress: Progress = _quiet,
) -> CheckResult:
    """Check that migrations reproduce `schemas/`, match `schemactl.sum`, and (unless `models` is
    False) that the models file matches a fresh generation; with `verify_pairs`, first verify
    again the pairs changed since their last verification (rewriting their headers)."""
    findings: list[Finding] = []
    notes: list[str] = []
    if verify_pairs:
        findings += _stale_findings(config, progress)
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
    kept = snapcache.known(config, schemas, pairs, schema_files, want_models)
    if kept.unchanged():
        progress("schemas/ and the migrations are unchanged since an earlier run: nothing to load")
        if want_models and config.models.read_text(encoding="utf-8") != kept.models:
            findings.append(_stale_models(config))
        return CheckResult(
            findings, "", notes, ddl.data_warnings(schema_files), models_checked=want_models
        )
    kept_before, kept_target, kept_models = kept.before, kept.target, kept.models
    pending = ""
    with sandbox.sandbox(config) as box, comparison.pool() as pool:
        load = kept_target is None or (want_models and kept_models is None)
        sc = comparison.start(
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
            comparison.after(
                pool,
                sc.replayed,
                lambda: kept_before or verify.snapshot(box, sc.replay_db, schemas),
            ),
            comparison.after(
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
            kept.keep_models(fresh)
            if config.models.read_text(encoding="utf-8") != fresh:
                findings.append(_stale_models(config))
        before, target = comparison.results(*snapshots)
        kept.keep(before, target)
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


def _stale_findings(config: Config, progress: Callable[[str], None]) -> list[Finding]:
    """`check --verify`: verify again the pairs changed since their last verification, and
    report those that fail and the headers rewritten."""
    from .verification.reverify import verify_pairs

    result = verify_pairs(config, only_stale=True, progress=progress)
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
