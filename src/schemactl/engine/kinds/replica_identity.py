"""REPLICA IDENTITY of tables (`sql/replica_identity.sql`), which migra does not compare:
set once the table and its identity index exist, set back to DEFAULT when the DDL drops it."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ..catalog import bare, created_names, dropped_names
from ..kind import Diff, Phase, RowKind


@dataclass(frozen=True)
class ReplicaIdentity:
    schema: str
    table: str  # quoted "schema"."table"
    identity: str  # nothing | full | using index "i"
    index: str | None  # schema.index, for `using index`

    def statement(self) -> str:
        return f"alter table {self.table} replica identity {self.identity};"


def _emit(
    diff: Diff, before: dict[str, ReplicaIdentity], after: dict[str, ReplicaIdentity]
) -> None:
    # A re-created table or identity index starts from DEFAULT again.
    created = created_names(diff.statements)
    out = [
        new.statement()
        for table, new in after.items()
        if before.get(table) != new
        or bare(table) in created
        or (new.index is not None and new.index.lower() in created)
    ]
    gone = dropped_names(diff.statements) | created
    out += [
        f"alter table {table} replica identity default;"
        for table in before
        if table not in after and bare(table) not in gone and table in diff.target.upstream.tables
    ]
    diff.place(Phase.STORAGE, out)


KIND = RowKind("replica_identity", ReplicaIdentity, attrgetter("table"), emit=_emit)
