"""What the schema commands defined in `api` return (`diff`, `check`, `generate-models`), each
with its JSON form: the keys `--format json` prints (README "JSON output"). The other commands'
results stand beside what they drive (`targets.execution.RunResult`,
`targets.livediff.DriftResult`, `verification.reverify.VerifyResult`, ...)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # records the results hold, never build: `apply` need not import them
    from .engine.destructive import DestructiveStatement
    from .verification.data.findings import Hazard


def _rel(path: Path | None, root: Path) -> str | None:
    if path is None:
        return None
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


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
    hazards: list[Hazard] = field(default_factory=list)  # measured on sample rows (data/)
    sample_rows: int = 0  # the rows the pair was tried on
    # An expand/contract plan: the contract pair (the pair above is the expand pair).
    contract_version: str | None = None
    contract_up_path: Path | None = None
    contract_down_path: Path | None = None
    contract_up_sql: str = ""
    contract_down_sql: str = ""
    plan: list[str] = field(default_factory=list)  # how each change waits for old clients
    reused: bool = False  # verified by an earlier run on the same inputs (snapcache.py)

    def to_json(self, root: Path) -> dict[str, Any]:
        """`root`: the project root, which the file paths are relative to."""
        contract = {
            "contract": {
                "version": self.contract_version,
                "up_file": _rel(self.contract_up_path, root),
                "down_file": _rel(self.contract_down_path, root),
                "up_sql": self.contract_up_sql,
                "down_sql": self.contract_down_sql,
            },
        }
        return {
            **(contract if self.contract_up_sql else {}),
            "status": self.status,
            "version": self.version,
            "up_file": _rel(self.up_path, root),
            "down_file": _rel(self.down_path, root),
            "verified": self.verified,
            "reused": self.reused,
            "problems": self.problems,
            "destructive": [d.to_json() for d in self.destructive],
            "may_fail": [d.to_json() for d in self.may_fail],
            "hazards": [h.to_json() for h in self.hazards],
            "sample_rows": self.sample_rows,
            "up_sql": self.up_sql,
            "down_sql": self.down_sql,
            "warnings": self.warnings,
            "plan": self.plan,
        }


@dataclass
class ModelsResult:
    """What `generate-models` wrote."""

    path: Path
    changed: bool  # False when the file already held exactly this text
    warnings: list[str]  # objects sqlacodegen could not represent
    schemas: list[str]

    def to_json(self, root: Path) -> dict[str, Any]:
        return {"file": _rel(self.path, root), "changed": self.changed, "warnings": self.warnings}


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

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "findings": [
                {"kind": f.kind, "message": f.message, "detail": f.detail} for f in self.findings
            ],
            "pending_sql": self.pending_sql,
            "notes": self.notes,
            "warnings": self.warnings,
        }
