"""`schemactl verify`: verify migration pairs again, after a hand edit or for a hand-written pair.

For each chosen pair N, on a scratch database holding the history replayed up to N-1:

* up must run;
* down, run after it, must return the database to exactly its state before up (pg_dump);
* for the newest pair, up must also reach `schemas/`, as `diff` checks.

Then the pair's header says verified (naming the pair's hash) or UNVERIFIED with the remaining
differences, and `schemactl.sum` is written again. One database walks the whole history, so
verifying every pair costs one replay plus two dumps and one extra run per pair.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..project import ddl, headers, migfiles
from ..project.config import Config, SchemaFilter
from ..project.migfiles import parse_version
from ..project.migration import Migration
from ..scratch import pgserver, sandbox
from . import data, steps, verify
from .data.findings import Hazard

Progress = Callable[[str], None]

CLAIM_NEWEST = "up reaches schemas/, down returns to the previous state"
CLAIM_OLDER = "up runs, down returns to the state before it"


@dataclass
class PairResult:
    """One pair verified again."""

    version: int
    name: str  # NNNN_slug
    verified: bool
    problems: list[str] = field(default_factory=list)
    rewritten: bool = False  # its header changed (and so did schemactl.sum)
    hazards: list[Hazard] = field(default_factory=list)  # measured on sample rows (data/)
    sample_rows: int = 0
    python: bool = False  # a Python migration: verified, never marked (it is code)


@dataclass
class VerifyResult:
    """What `verify` checked and wrote."""

    pairs: list[PairResult]
    # Said once when the pairs' headers name another major than the one that verified them
    # here: those headers are kept, since a pair verified again on another major is no change.
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every pair verified."""
        return all(p.verified for p in self.pairs)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "notes": self.notes,
            "pairs": [
                {
                    "version": r.name,
                    "verified": r.verified,
                    "problems": r.problems,
                    "rewritten": r.rewritten,
                    "kind": "python" if r.python else "sql",
                    "hazards": [h.to_json() for h in r.hazards],
                    "sample_rows": r.sample_rows,
                }
                for r in self.pairs
            ],
        }


def stale(pair: migfiles.MigrationPair) -> bool:
    """Whether a pair was changed (or never verified) since its header last said it verified.
    A Python migration carries no header: it is verified whenever asked."""
    if pair.python:
        return True
    return not headers.is_current(
        pair.up.read_text(encoding="utf-8"), pair.down.read_text(encoding="utf-8")
    )


def chosen(
    pairs: list[migfiles.MigrationPair], versions: list[str]
) -> list[migfiles.MigrationPair]:
    """The pairs named by `versions` (numbers or NNNN_slug), all of them when none is named."""
    if not versions:
        return pairs
    by_version = {p.version: p for p in pairs}
    return sorted(
        {by_version[parse_version(text, by_version, "verify")] for text in versions},
        key=lambda p: p.version,
    )


def verify_pairs(
    config: Config,
    versions: list[str] | None = None,
    *,
    only_stale: bool = False,
    progress: Progress = lambda _: None,
) -> VerifyResult:
    """Verify the named pairs again (all, or with `only_stale` those changed since their last
    verification), rewrite their headers and `schemactl.sum`."""
    pairs = migfiles.list_migrations(config.generated)
    todo = chosen(pairs, versions or [])
    if only_stale:
        todo = [p for p in todo if stale(p)]
    if not todo:
        return VerifyResult([])
    schemas = config.schema_filter
    newest = pairs[-1]
    with sandbox.sandbox(config) as box:
        target = None
        if newest in todo:
            progress("loading schemas/")
            files = ddl.discover(config.schemas, config.load_order, config.root)
            target = verify.snapshot(box, steps.load_schemas(box, files), schemas)
        progress(f"verifying {len(todo)} pair(s)")
        results = _walk(config, box, schemas, pairs, todo, target)
        major = box.server_version() // 10000
    # A major the team chose (pg_version, --pg-version) is what the headers are to name; a major
    # that is only what this machine has is no reason to rewrite a pair verified elsewhere.
    pinned = config.pg_version is not None and config.dev_url is None
    named: set[int] = set()
    for r, pair in zip(results, todo, strict=True):
        claim = CLAIM_NEWEST if pair is newest else CLAIM_OLDER
        r.rewritten = _rewrite(pair, r, claim, major, keep_major=not pinned)
        if not pair.python and r.verified and not r.rewritten:
            named.add(headers.read(pair.up.read_text(encoding="utf-8")).major or major)
    # Verifying a pair is also the deliberate act `rehash` records: the sum takes the files as they
    # are.
    migfiles.write_sum(config.generated, migfiles.list_migrations(config.generated))
    return VerifyResult(results, _other_majors(named - {major}, major))


def _other_majors(named: set[int], major: int) -> list[str]:
    if not named:
        return []
    majors = " and ".join(str(m) for m in sorted(named))
    oldest = min(named)
    return [
        f"this machine verifies on PostgreSQL {major}, the headers name PostgreSQL {majors}: "
        "they verified here too and are left as they are; to verify on the same major as the "
        f"team, pin it: pg_version = {oldest} in schemactl.toml (or --pg-version {oldest})"
    ]


def _walk(
    config: Config,
    box: pgserver.Sandbox,
    schemas: SchemaFilter,
    pairs: list[migfiles.MigrationPair],
    todo: list[migfiles.MigrationPair],
    target: verify.Snapshot | None,
) -> list[PairResult]:
    """Replay the history once, verifying each chosen pair on the way."""
    results: list[PairResult] = []
    db = box.create_database("verify")
    wanted = {p.version for p in todo}
    broken: str | None = None  # an earlier pair's up failed: the rest cannot be checked
    for pair in pairs[: todo[-1].version]:
        migration = Migration.read(pair, config.root)
        up = migration.up_script
        if pair.version not in wanted:
            if (error := sandbox.run_migration(box, db, up)) and broken is None:
                broken = f"the history fails before it: {error}"
            continue
        result = PairResult(pair.version, pair.id, False, python=pair.python)
        results.append(result)
        if broken:
            result.problems = [broken]
            continue
        before = verify.snapshot(box, db, schemas)
        # Tried on rows, on a copy of the history as it stands (SQL: measured statement by
        # statement; a Python migration's statements are its code's, not the file's).
        if config.data_check and not migration.python:
            down_text = migration.down_script.sqlfile.text
            report = data.try_with_rows(
                box, box.copy_database(db, "data"), up.sqlfile.text, down_text, config
            )
            result.hazards, result.sample_rows = report.hazards, report.rows
        if error := sandbox.run_migration(box, db, up):
            result.problems = [f"up fails: {error}"]
            broken = f"the history fails before it: {error}"
            continue
        after = verify.snapshot(box, db, schemas)
        if target is not None and pair is pairs[-1]:
            result.problems += verify.describe("up: ", verify.compare(target, after))
        if not migration.reversible:  # nothing to undo it with: up is what is verified
            result.verified = not result.problems
            continue
        result.problems += steps.verify_run(box, db, "down", migration.down_script, before, schemas)
        result.verified = not result.problems
        if result.verified:
            error = sandbox.run_migration(
                box, db, up
            )  # back to the state after it, for the next pair
        else:
            # The down left the database somewhere else: start again from a clean replay.
            box.drop_database(db)
            db = box.create_database("verify")
            error = next(
                (
                    e
                    for p in pairs[: pair.version]
                    if (
                        e := sandbox.run_migration(
                            box, db, Migration.read(p, config.root).up_script
                        )
                    )
                ),
                None,
            )
        if error:
            broken = f"the history fails before it: {error}"
    return results


def _rewrite(
    pair: migfiles.MigrationPair, result: PairResult, claim: str, major: int, keep_major: bool
) -> bool:
    """Give the pair the verification lines of `result`; return whether a file changed (a
    Python migration's never: its result is reported, its code left as written). With
    `keep_major`, a pair verified before and unchanged since keeps the major its header names."""
    if pair.python:
        return False
    old_up, old_down = (p.read_text(encoding="utf-8") for p in (pair.up, pair.down))
    if result.verified and headers.is_current(old_up, old_down):
        if keep_major or headers.read(old_up).major == major:
            return False
    up, down = headers.with_verification(old_up, old_down, result.problems, claim, major)
    changed = False
    for path, old, new in ((pair.up, old_up, up), (pair.down, old_down, down)):
        if new != old:
            migfiles.write_atomic(Path(path), new)
            changed = True
    return changed
