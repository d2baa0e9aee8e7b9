"""schemactl: hand-written PostgreSQL DDL as the single source of truth.

The Python API mirrors the CLI: `schemactl.diff(config, "name")`, `schemactl.check(config)`,
`schemactl.apply_migrations(config, url)`, ... with `schemactl.load_config()` to read
`schemactl.toml`. Heavy modules load on first use
so that `schemactl --help` stays instant.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "diff",
    "drift",
    "check",
    "generate_models",
    "new",
    "rehash",
    "init",
    "clean",
    "DiffResult",
    "CheckResult",
    "Finding",
    "ModelsResult",
    "DriftResult",
}
# Where each runner name lives (module, attribute).
_RUNNER = {
    "apply_migrations": "runner",
    "rollback_migrations": "runner",
    "RunResult": "runner",
    "Step": "runner",
    "get_migration_status": "status",
    "StatusResult": "status",
    "MigrationStatus": "status",
    "baseline": "bookkeeping",
    "repair": "bookkeeping",
    "BaselineResult": "bookkeeping",
    "verify_pairs": "reverify",
    "get_migration_history": "history",
    "HistoryResult": "history",
    "HistoryEntry": "history",
    "MigrationSummary": "history",
    "VerifyResult": "reverify",
    "PairResult": "reverify",
}
__all__ = sorted(_API | set(_RUNNER) | {"load_config", "Config", "SchemactlError", "__version__"})


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _RUNNER:
        import importlib

        return getattr(importlib.import_module(f".{_RUNNER[name]}", __name__), name)
    if name in ("load_config", "Config"):
        from . import config

        return getattr(config, name)
    if name == "SchemactlError":
        from .errors import SchemactlError

        return SchemactlError
    raise AttributeError(name)
