"""The Python API: every command's library entry point, each one typed function returning a
dataclass with its JSON form (`to_json()`).

`diff` and `check` are defined here (their steps are listed in pipeline.py); the other
commands live beside the code they drive, in their wings, and are named here (loaded on first
use, so that `import schemactl.api` does not load the runner, nor `apply` the engine). The
CLI (cli/) only parses options, calls these and prints. Nothing here prints or exits; errors
are `SchemactlError` subclasses carrying their exit code.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import pipeline
from .errors import UsageError
from .project import migfiles
from .project.config import Config
from .results import CheckResult, DiffResult, Finding
from .results import ModelsResult as ModelsResult

Progress = Callable[[str], None]

if TYPE_CHECKING:  # `X as X`: named here for type checkers, loaded by __getattr__
    from .models import generate_models as generate_models
    from .project.scaffold import init as init
    from .project.scaffold import new as new
    from .project.scaffold import rehash as rehash
    from .scratch.doctor import DoctorReport as DoctorReport
    from .scratch.doctor import doctor as doctor
    from .scratch.sandbox import clean as clean
    from .targets.adopt import ImportResult as ImportResult
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
    from .targets.push import PushResult as PushResult
    from .targets.push import push as push
    from .targets.runner import RunSettings as RunSettings
    from .targets.runner import apply_migrations as apply_migrations
    from .targets.runner import rollback_migrations as rollback_migrations
    from .targets.status import MigrationStatus as MigrationStatus
    from .targets.status import StatusResult as StatusResult
    from .targets.status import get_migration_status as get_migration_status
    from .verification.reverify import PairResult as PairResult
    from .verification.reverify import VerifyResult as VerifyResult
    from .verification.reverify import verify_pairs as verify_pairs
    from .verification.squash import SquashResult as SquashResult
    from .verification.squash import squash as squash

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
    "targets.adopt": ("ImportResult",),
    "targets.push": ("push", "PushResult"),
    "verification.squash": ("squash", "SquashResult"),
}
ELSEWHERE = {name: module for module, names in _BY_MODULE.items() for name in names}
DEFINED_HERE = ("diff", "check", "import_schema")
RESULTS = ("DiffResult", "CheckResult", "Finding", "ModelsResult")


def __getattr__(name: str) -> Any:
    if name in ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(f".{ELSEWHERE[name]}", __package__), name)
    raise AttributeError(name)


def _quiet(_: str) -> None:
    pass


def diff(
    config: Config,
    name: str | None,
    *,
    allow_destructive: bool = False,
    allow_hazards: bool = False,
    online: bool | None = None,
    expand_contract: bool | None = None,
    print_only: bool = False,
    progress: Progress = _quiet,
) -> DiffResult:
    """Generate, verify and write the next up/down migration pair from `schemas/`, tried on
    sample rows too (data loss refuses like a destructive change; hazards beyond
    `hazard_locks` refuse without `allow_hazards`). `online` (default: the config's) writes an
    online plan; `expand_contract` (default: the config's) writes a change that would break
    running clients as an expand pair and a contract pair."""
    if name is None and not print_only:
        raise UsageError("a migration name is required", hint='pass -m "what changed"')
    slug = migfiles.slugify(name) if name is not None else ""
    if online is not None:
        config = dataclasses.replace(config, online=online)
    if expand_contract is not None:
        config = dataclasses.replace(config, expand_contract=expand_contract)
    lock = contextlib.nullcontext() if print_only else migfiles.writer_lock(config.root, progress)
    with lock:
        options = pipeline.Options(slug, allow_destructive, allow_hazards, print_only)
        return pipeline.diff(config, options, progress)


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
    want_models = models and config.models.exists()
    if models and not want_models:
        notes.append(
            f"{config.rel(config.models)} does not exist; models not checked "
            "(create it with `schemactl generate-models`)"
        )
    # Snapshots (and models) kept from earlier runs, keyed by everything they depend on
    # (snapcache.py, docs/performance.md): what is known is not loaded again.
    result = pipeline.check(config, pairs, want_models, progress)
    result.findings[:0], result.notes = findings, notes
    return result


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


def import_schema(
    config: Config,
    database: str,
    *,
    force: bool = False,
    baseline: bool = False,
    progress: Progress = _quiet,
    warn: Progress = _quiet,
) -> ImportResult:
    """Write the live schema of `database` as schemas/ (one file per object, proved by loading
    it and comparing with pg_dump; `force` replaces a non-empty schemas/), then the first pair
    `0001_import` as `diff` writes it; with `baseline`, record it as applied there."""
    from .targets import adopt

    if baseline:  # refused before anything is written, as `baseline` would refuse after
        adopt.refuse_baseline(config, database)
    with migfiles.writer_lock(config.root, progress):
        result, config = adopt.write_schemas(
            config, database, force=force, progress=progress, warn=warn
        )
        options = pipeline.Options("import", allow_hazards=True)  # it never runs there
        pair = pipeline.diff(config, options, progress)
    result.pair = [config.rel(p) for p in (pair.up_path, pair.down_path) if p is not None]
    result.warnings += pair.warnings
    if not pair.verified:
        result.warnings.append(f"{result.pair[0]} does not verify: {'; '.join(pair.problems[:3])}")
    if baseline and not pair.verified:
        result.warnings.append("not recorded as applied (--baseline): the first pair must verify")
    if baseline and pair.verified:
        from .targets.bookkeeping import baseline as record

        record(config, database, 1, warn=warn)
        result.baseline = True
    return result
