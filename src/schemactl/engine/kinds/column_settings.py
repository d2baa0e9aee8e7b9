"""Per-column statistics targets, storage modes, options and compression
(`sql/column_settings.sql`), which migra does not compare."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ..catalog import bare, created_names, ident
from ..kind import Diff, Phase, RowKind

_STORAGE = {"p": "plain", "e": "external", "x": "extended", "m": "main"}


@dataclass(frozen=True)
class ColumnSettings:
    """A column's statistics target, storage mode, options and compression, where set."""

    schema: str
    table: str  # quoted
    kind: str  # "table" or "materialized view"
    column: str
    statistics: int | None
    storage: str | None
    default_storage: str
    options: tuple[str, ...]  # "key=value"
    compression: str | None

    def changes(self, old: ColumnSettings | None) -> list[str]:
        """ALTER statements that take `old` (None: nothing set) to these settings."""
        only = "only " if self.kind == "table" else ""
        head = f"alter {self.kind} {only}{self.table} alter column {ident(self.column)}"
        out = []
        if self.statistics != (old.statistics if old else None):
            out.append(
                f"{head} set statistics {-1 if self.statistics is None else self.statistics};"
            )
        if self.storage != (old.storage if old else None):
            out.append(f"{head} set storage {_STORAGE[self.storage or self.default_storage]};")
        before = dict(o.split("=", 1) for o in (old.options if old else ()))
        after = dict(o.split("=", 1) for o in self.options)
        if gone := [k for k in before if k not in after]:
            out.append(f"{head} reset ({', '.join(gone)});")
        if changed := {k: v for k, v in after.items() if before.get(k) != v}:
            out.append(f"{head} set ({', '.join(f'{k} = {v}' for k, v in changed.items())});")
        if self.compression != (old.compression if old else None):
            method = {"p": "pglz", "l": "lz4"}.get(self.compression or "", "default")
            out.append(f"{head} set compression {method};")
        return out


def column_settings_statements(
    statements: list[str],
    before: dict[tuple[str, str], ColumnSettings],
    after: dict[tuple[str, str], ColumnSettings],
    i_target: Any,
) -> list[str]:
    """Statements (run last) that set or reset per-column settings; a re-created table or
    materialized view starts from nothing."""
    recreated = created_names(statements)
    out = []
    for key, new in after.items():
        out += new.changes(None if bare(new.table) in recreated else before.get(key))
    for (table, column), old in before.items():
        target = i_target.relations.get(table)
        if (
            (table, column) in after
            or target is None
            or ident(column) not in {c.quoted_name for c in target.columns.values()}
        ):
            continue
        if bare(table) in recreated:
            continue
        cleared = ColumnSettings(
            old.schema, table, old.kind, column, None, None, old.default_storage, (), None
        )
        out += cleared.changes(old)
    return out


def _emit(diff: Diff, before: Any, after: Any) -> None:
    target = diff.target.upstream
    diff.place(Phase.STORAGE, column_settings_statements(diff.statements, before, after, target))


KIND = RowKind("column_settings", ColumnSettings, attrgetter("table", "column"), emit=_emit)
