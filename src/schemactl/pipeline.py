"""`diff` and `check` as their lists of steps (verification/steps.py), with which step overlaps
which said in one place: the `flow.run` lines, each naming what it waits for.

diff:  load schemas/ ∥ replay the history → (renames made in a copy) → inspect each side, or
       read it kept ∥ dump each side → engine, renames, online → judge → verify up ∥ verify
       down ∥ sample rows → write → keep.
check: the sides not kept load and are dumped (∥ the models generated) → compare → on drift,
       the engine says which SQL would fix it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from . import engine
from .engine import expand, renames
from .project import ddl, headers, migfiles
from .project.config import Config, SchemaFilter
from .project.migfiles import MigrationPair
from .project.sqlfiles import SQLFile
from .results import CheckResult, DiffResult, Finding
from .scratch import pgserver, sandbox
from .verification import data, phases, snapcache, steps, verify
from .verification.flow import Flow

Progress = steps.Progress


@dataclass
class Options:
    """What `diff` was asked to do beyond comparing."""

    slug: str  # the new pair's name ("": print only)
    allow_destructive: bool = False
    allow_hazards: bool = False
    print_only: bool = False


def diff(config: Config, options: Options, progress: Progress) -> DiffResult:
    """The next pair from schemas/: generated, judged, verified, tried on rows, written; or,
    when an earlier run verified one on exactly the same inputs, that one."""
    schemas = config.schema_filter
    files = ddl.discover(config.schemas, config.load_order, config.root)
    pairs = migfiles.list_migrations(config.generated)
    computed = snapcache.keys(config, schemas, pairs, files, False)
    reuse = "" if config.sample_data else snapcache.result_key(computed, config, options)
    if reuse and (hit := snapcache.load_result(reuse)) is not None:
        return _reused(config, files, computed, hit, progress)
    result = _diff(config, options, (pairs, files, computed), progress)
    if reuse and result.verified and not result.contract_version:
        texts = None
        if result.up_path is not None and result.down_path is not None:
            texts = (result.up_path.read_text("utf-8"), result.down_path.read_text("utf-8"))
        snapcache.keep_result(reuse, (result, texts))
    return result


def _reused(
    config: Config, files: list[SQLFile], computed: tuple[str, str, str], hit: Any,
    progress: Progress,
) -> DiffResult:  # fmt: skip
    """The result an earlier run verified on exactly these inputs (`snapcache.result_key`): its
    files written again, byte for byte, and what it kept for the new history kept again."""
    kept, texts = hit
    result: DiffResult = dataclasses.replace(kept, reused=True)
    progress("schemas/ and the migrations are as an earlier run verified them: its result stands")
    if texts is not None and result.version:
        result.up_path = config.generated / f"{result.version}.up.sql"
        result.down_path = config.generated / f"{result.version}.down.sql"
        migfiles.write_pair(config.generated, result.up_path, texts[0], result.down_path, texts[1])
        if (target := snapcache.load_snapshot("schemas", computed[1])) is not None:
            inspection = snapcache.inspection_key(computed[1])
            snapcache.keep_verified(config, config.schema_filter, files, target, inspection)
    return result


def _diff(
    config: Config,
    options: Options,
    inputs: tuple[list[MigrationPair], list[SQLFile], tuple[str, str, str]],
    progress: Progress,
) -> DiffResult:
    """`diff` on the scratch server (see `diff`)."""
    schemas = config.schema_filter
    pairs, files, computed = inputs
    with sandbox.sandbox(config) as box, Flow.open() as flow:
        engine.preload()  # imported while the databases load, not while the server starts
        history = computed[0] if pairs else ""  # no migration: nothing worth keeping
        replayed = box.template(history) is None  # else a copy of the replay a run kept
        flow.run("target_db", steps.load_schemas, box, files)
        flow.run("replay_db", steps.replay, box, config.root, pairs, history)
        progress(steps.loading(len(files), len(pairs), True, True, kept=not replayed))
        # While they load: renames declared, and what earlier runs kept for these same files.
        declared = renames.declared(files)
        kept = snapcache.known(config, schemas, pairs, files, False, computed)
        keys = (
            snapcache.inspection_key(kept.history_key),
            snapcache.inspection_key(kept.schemas_key),
        )
        if declared:  # migra compares a copy of the history with the declared renames made
            flow.run("renamed_db", box.copy_database, flow.of("replay_db"), "renamed")
            flow.run("renames", renames.make, box, flow.of("renamed_db"), declared)
            flow.run("was", steps.inspect, box, flow.of("renamed_db"), schemas, after=("renames",))
        else:  # a kept inspection of the history spares waiting for its replay
            flow.known("renames", [])
            flow.run("was", steps.inspection, box, schemas, keys[0], flow.later("replay_db"))
        flow.run("wanted", steps.inspection, box, schemas, keys[1], flow.later("target_db"))
        # Dumped as soon as filled (the history once copied: a template must stay idle).
        _snapshot(flow, "before", kept.before, box, "replay_db", schemas, after=("renames",))
        _snapshot(flow, "target", kept.target, box, "target_db", schemas)
        # Copies of the history, made once nothing reads it (a template must stay idle) and
        # before `up` is verified on it: the one kept for later runs, the sample rows' one.
        idle = ("was", "before")
        if replayed:
            flow.run("kept_db", box.keep_template, flow.of("replay_db"), history, True, after=idle)
        else:
            flow.known("kept_db", None)
        if config.data_check and not config.expand_contract:
            flow.run("data_db", box.copy_database, flow.of("replay_db"), "data", after=idle)

        wanted, was = flow.get("wanted", "was")  # the schemas' error first: likely just edited
        progress("comparing")  # with both inspections kept, while the databases still load
        raw = engine.both_directions(was, wanted, ddl.pinned_extensions(files))
        up, down = steps.changes(was, wanted, files, flow.get("renames"), config, raw)
        flow.get("target_db", "replay_db")
        before, target = flow.get("before", "target")
        kept.keep(before, target)
        warnings = ddl.data_warnings(files)
        if not up:
            problems = verify.describe("", verify.compare(target, before))
            flow.get("kept_db")
            return DiffResult(
                "no-changes", verified=not problems, problems=problems, warnings=warnings
            )
        judged = steps.judge(
            up, down, was, wanted, refuse=not (options.allow_destructive or options.print_only)
        )
        if config.expand_contract:
            flow.get("kept_db")  # the plan reads the history: its copy must be made first
            source = flow.get("renamed_db") if declared else flow.get("replay_db")
            plan = steps.expand_contract(
                box, source, raw, flow.get("renames"), (was, wanted), files, config
            )
            if plan is not None:
                result = _two_pairs(
                    config, options, (box, flow), plan, judged, (before, target), progress
                )
                result.warnings = warnings + result.warnings
                if result.status == "written" and result.verified:
                    snapcache.keep_verified(config, schemas, files, target, keys[1])
                return result

        progress("verifying, and trying the pair on sample rows")
        if config.data_check:
            if not flow.started("data_db"):  # expand_contract on, but this change needs no plan
                flow.run("data_db", box.copy_database, flow.of("replay_db"), "data")
            spare = box.template(history)  # the history kept: a copy of it, made if needed
            flow.run("rows", data.try_with_rows, box, flow.of("data_db"), up, down, config, spare)
        else:
            flow.known("data_db", "")
            flow.known("rows", data.DataReport())
        replay_db, target_db = flow.get("replay_db", "target_db")
        flow.run(
            "up", steps.verify_direction, box, replay_db, "up", up, target, schemas,
            after=("data_db", "kept_db"),
        )  # fmt: skip
        flow.run("down", steps.verify_direction, box, target_db, "down", down, before, schemas)
        problems_up, problems_down, report = flow.get("up", "down", "rows")
        problems = problems_up + problems_down
        result = _write(config, options, box, (up, down), judged, report, problems, warnings)
        if result.status == "written" and result.verified:  # replay_db is the new history's
            new_history = snapcache.keep_verified(config, schemas, files, target, keys[1])
            box.keep_template(replay_db, new_history, copy=False)
        return result


def _write(
    config: Config, options: Options, box: pgserver.Sandbox, pair: tuple[str, str],
    judged: steps.Judgement, report: data.DataReport, problems: list[str], warnings: list[str],
) -> DiffResult:  # fmt: skip
    """The result of a verified pair, and the pair written unless printing only (or refused
    for its measured hazards)."""
    up, down = pair
    major = box.server_version() // 10000
    measured = report.worth_saying(problems)
    renamed = [f"looks like a rename: {h}" for h in judged.renames]
    result = DiffResult(
        "printed", up, down, destructive=judged.destructive, verified=not problems,
        problems=problems, may_fail=judged.may_fail, warnings=warnings + report.notes + renamed,
        hazards=measured, sample_rows=report.rows,
    )  # fmt: skip
    if options.print_only:
        return result
    data.refuse(measured, config.hazard_locks, options.allow_destructive, options.allow_hazards)
    version = f"{migfiles.next_version(migfiles.list_migrations(config.generated)):04d}_"
    version += options.slug
    said = (judged.hazards, measured, report.rows)
    head = (
        headers.generated(version, "up", *said, judged.renames),
        headers.generated(version, "down", *said),
    )
    result.up_path, result.down_path = steps.write_pair(
        config, version, up, down, head, problems, major
    )
    result.status, result.version = "written", version
    return result


def _two_pairs(
    config: Config,
    options: Options,
    where: tuple[pgserver.Sandbox, Flow],
    plan: expand.Plan,
    judged: steps.Judgement,
    snapshots: tuple[verify.Snapshot, verify.Snapshot],
    progress: Progress,
) -> DiffResult:
    """`diff` of a change written as an expand/contract plan: both pairs verified (and the
    window between them checked), tried on sample rows, written as two versions."""
    box, flow = where
    progress("verifying both pairs of the expand/contract plan, and trying them on sample rows")
    if config.data_check:
        flow.run("data_db", box.copy_database, flow.of("replay_db"), "data")
        if plan.contract:  # its trial starts from the history with expand applied
            flow.run("data_db2", box.copy_database, flow.of("replay_db"), "data")
        else:
            flow.known("data_db2", "")
        args = (flow.of("data_db"), flow.of("data_db2"), plan, config)
        flow.run("rows", phases.try_plan, box, *args)
    else:
        flow.known("data_db", "")
        flow.known("data_db2", "")
        flow.known("rows", (data.DataReport(), data.DataReport()))
    replay_db, target_db = flow.get("replay_db", "target_db")
    flow.run(
        "both", phases.verify_plan, box, replay_db, target_db, plan, *snapshots,
        config.schema_filter, after=("data_db", "data_db2", "kept_db"),
    )  # fmt: skip
    found, (rows_e, rows_c) = flow.get("both", "rows")
    problems = found.problems_up + found.problems_down
    measured = rows_e.worth_saying(problems) + [
        dataclasses.replace(h, detail=f"contract: {h.detail}")
        for h in rows_c.worth_saying(problems)
    ]
    contract_up, contract_down = plan.contract or ("", "")
    result = DiffResult(
        "printed", plan.expand[0], plan.expand[1], destructive=judged.destructive,
        verified=not problems, problems=problems, may_fail=judged.may_fail,
        warnings=found.window + rows_e.notes + rows_c.notes, hazards=measured, plan=plan.notes,
        sample_rows=rows_e.rows, contract_up_sql=contract_up, contract_down_sql=contract_down,
    )  # fmt: skip
    if options.print_only:
        return result
    data.refuse(measured, config.hazard_locks, options.allow_destructive, options.allow_hazards)
    pairs = migfiles.list_migrations(config.generated)
    number = migfiles.next_version(pairs)
    major = box.server_version() // 10000
    dropping = [h for h in judged.hazards if plan.contract and h.loses_data]
    versions = [(f"{number:04d}_{options.slug}", plan.expand, rows_e, [
        h for h in judged.hazards if h not in dropping
    ])]  # fmt: skip
    if plan.contract:
        versions.append(
            (f"{number + 1:04d}_{options.slug}_contract", plan.contract, rows_c, dropping)
        )
    written = []
    for version, (up, down), report, hazards in versions:
        said = (hazards, report.hazards, report.rows)
        head = (headers.generated(version, "up", *said), headers.generated(version, "down", *said))
        written.append(steps.write_pair(config, version, up, down, head, problems, major))
    result.up_path, result.down_path = written[0]
    result.status, result.version = "written", versions[0][0]
    if plan.contract:
        result.contract_version = versions[1][0]
        result.contract_up_path, result.contract_down_path = written[1]
    return result


def _snapshot(
    flow: Flow, name: str, kept: verify.Snapshot | None, box: pgserver.Sandbox, db: str,
    schemas: SchemaFilter, after: tuple[str, ...] = (),
) -> None:  # fmt: skip
    """Step `name`: the pg_dump snapshot of step `db`'s database, or the one kept."""
    if kept is not None:
        flow.known(name, kept)
    else:
        flow.run(name, verify.snapshot, box, flow.of(db), schemas, after=after)


def check(
    config: Config, pairs: list[MigrationPair], want_models: bool, progress: Progress
) -> CheckResult:
    """What `check` finds by loading: schemas/ the migrations do not reproduce (with the SQL
    that would), a stale models file. What earlier runs kept is not loaded again."""
    schemas = config.schema_filter
    files = ddl.discover(config.schemas, config.load_order, config.root)
    kept = snapcache.known(config, schemas, pairs, files, want_models)
    findings: list[Finding] = []
    warnings = ddl.data_warnings(files)
    if kept.unchanged():
        progress("schemas/ and the migrations are unchanged since an earlier run: nothing to load")
        if want_models and config.models.read_text(encoding="utf-8") != kept.models:
            findings.append(stale_models(config))
        return CheckResult(findings, "", [], warnings, models_checked=want_models)
    pending = ""
    with sandbox.sandbox(config) as box, Flow.open() as flow:
        load = kept.target is None or (want_models and kept.models is None)
        replay = kept.before is None
        key = kept.history_key if pairs else ""  # no migration: nothing worth keeping
        copied = box.template(key) is not None  # a replay a run kept
        history = (box, config.root, pairs, key)
        _fill(flow, "target_db", load, steps.load_schemas, box, files)
        _fill(flow, "replay_db", replay, steps.replay, *history)
        progress(steps.loading(len(files), len(pairs), load, replay, kept=copied))
        # The models are generated while pg_dump runs (reflection is Python work, the dumps
        # are other processes).
        _snapshot(flow, "before", kept.before, box, "replay_db", schemas)
        _snapshot(flow, "target", kept.target, box, "target_db", schemas)
        flow.get("target_db", "replay_db")
        progress("comparing")
        if want_models:
            fresh = (
                kept.models
                if kept.models is not None
                else _models(config, box, flow.get("target_db"))
            )
            kept.keep_models(fresh)
            if config.models.read_text(encoding="utf-8") != fresh:
                findings.append(stale_models(config))
        before, target = flow.get("before", "target")
        kept.keep(before, target)
        if differences := verify.compare(target, before):
            # migra needs both databases to say which SQL would fix it.
            _fill(flow, "target_db", not flow.get("target_db"), steps.load_schemas, box, files)
            _fill(flow, "replay_db", not flow.get("replay_db"), steps.replay, *history)
            replay_db, target_db = flow.get("replay_db", "target_db")
            pending, _ = engine.both_directions(
                steps.inspect(box, replay_db, schemas),
                steps.inspect(box, target_db, schemas),
                ddl.pinned_extensions(files),
            )
            findings.append(
                Finding(
                    "schema-drift",
                    f"{config.rel(config.schemas)}/ has changes that no migration holds yet"
                    + ("" if pending else " (and migra cannot express them)"),
                    verify.describe("", differences),
                )
            )
        if not copied and flow.get("replay_db"):  # only read: kept as it is for later runs
            box.keep_template(flow.get("replay_db"), key, copy=False)
    return CheckResult(findings, pending, [], warnings, models_checked=want_models)


def _fill(flow: Flow, name: str, needed: bool, fn: Any, *args: Any) -> None:
    """Step `name` (a database filled by `fn`) when `needed`; else known as "" (not made)."""
    if needed:
        flow.run(name, fn, *args)
    elif not flow.started(name):
        flow.known(name, "")


def _models(config: Config, box: pgserver.Sandbox, db: str) -> str:
    from . import models as codegen

    return codegen.render(config, config.model_settings, box.sqlalchemy_url(db)).text


def stale_models(config: Config) -> Finding:
    """The finding of a models file that differs from a fresh generation."""
    return Finding(
        "models", f"{config.rel(config.models)} is out of date; run `schemactl generate-models`"
    )
