"""A partition's own NOT NULL and default on a column (`CREATE TABLE m1 PARTITION OF m (v NOT
NULL, d DEFAULT 'x') …`), which migra never compares: schemainspect takes a partition's
columns for its partitioned table's (docs/engine-notes.md)."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ..catalog import ident
from ..kind import Diff, Phase, RowKind


@dataclass(frozen=True)
class Override:
    """A partition column whose NOT NULL or default is not its partitioned table's."""

    schema: str
    table: str  # quoted
    column: str
    not_null: bool
    default: str | None
    parent_not_null: bool
    parent_default: str | None

    @property
    def key(self) -> tuple[str, str]:
        return self.table, self.column


def set_overrides(
    diff: Diff, before: dict[tuple[str, str], Override], after: dict[tuple[str, str], Override]
) -> None:
    """Give each partition column the NOT NULL and default of the target, after migra's
    statements, where it would otherwise differ: a partition created by the migration takes
    its partitioned table's, and so does one whose partitioned table's column is altered (the
    ALTER reaches its partitions); an override kept otherwise stays as it was."""
    target = diff.target.upstream
    out: list[str] = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if new is None:  # the override is gone: the partitioned table's, if still a partition
            table = target.tables.get(key[0])
            parent = target.tables.get(table.parent_table) if table and table.parent_table else None
            inherited = parent.columns.get(key[1]) if parent is not None else None
            if inherited is None or old is None:
                continue
            now = (inherited.not_null, inherited.default)
            new = Override(old.schema, key[0], key[1], *now, *now)
        # What the column holds after migra's statements: the override as it was, unless the
        # partitioned table's own changed (that reaches the partition) or there was none.
        kept = old is not None and (old.parent_not_null, old.parent_default) == (
            new.parent_not_null,
            new.parent_default,
        )
        not_null, default = (
            (old.not_null, old.default)
            if old and kept
            else (new.parent_not_null, new.parent_default)
        )
        column = f"alter table {key[0]} alter column {ident(key[1])}"
        if new.not_null != not_null:
            out.append(f"{column} {'set' if new.not_null else 'drop'} not null;")
        if new.default != default:
            out.append(
                f"{column} set default {new.default};" if new.default else f"{column} drop default;"
            )
    diff.place(Phase.IDENTITIES, out)


KIND = RowKind("partition_columns", Override, attrgetter("key"), emit=set_overrides)
