"""schemactl: hand-written PostgreSQL DDL as the single source of truth.

The Python API mirrors the CLI: `schemactl.diff(config, "name")`, `schemactl.check(config)`,
`schemactl.apply_migrations(config, url)`, ... with `schemactl.load_config()` to read
`schemactl.toml`. Heavy modules load on first use so that `schemactl --help` stays instant.

The package stands in wings, each a sub-package whose `__init__` says what it holds and which
wings below it it may import (README, "Development"; `scripts/layout.py` checks it). Beneath them
all: Floor: errors, version. Above them, the roof: `api`, `pipeline`, `results`, `models`,
`pymigration` (an import path kept for migrations) and `cli`.
"""

from __future__ import annotations

from typing import Any

from .version import __version__ as __version__

# Every command's entry point and result type is named in `api` (api.DEFINED_HERE,
# api.RESULTS, api.ELSEWHERE); each loads on first use so that `schemactl --help` stays instant.
_API = {
    "diff", "drift", "drift_many", "check", "generate_models", "new", "rehash", "init", "clean",
    "DiffResult", "CheckResult", "Finding", "ModelsResult", "DriftResult",
    "apply_migrations", "rollback_migrations", "RunSettings", "RunResult", "Step",
    "get_migration_status", "StatusResult", "MigrationStatus",
    "baseline", "repair", "BaselineResult",
    "verify_pairs", "VerifyResult", "PairResult",
    "get_migration_history", "HistoryResult", "HistoryEntry", "MigrationSummary",
    "doctor", "DoctorReport",
    "import_schema", "ImportResult", "push", "PushResult", "squash", "SquashResult",
}  # fmt: skip
__all__ = sorted(_API | {"load_config", "Config", "SchemactlError", "__version__"})


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in ("load_config", "Config"):
        from .project import config

        return getattr(config, name)
    if name == "SchemactlError":
        from .errors import SchemactlError

        return SchemactlError
    raise AttributeError(name)
