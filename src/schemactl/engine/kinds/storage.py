"""Tables' and materialized views' storage parameters and FORCE ROW LEVEL SECURITY
(`sql/storage.sql`), which migra does not compare."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ..catalog import bare, created_names, dropped_names, literal
from ..kind import Phase, RowKind


@dataclass(frozen=True)
class Storage:
    """A table's or materialized view's storage parameters and FORCE ROW LEVEL SECURITY."""

    schema: str
    identity: str
    kind: str  # "table" or "materialized view"
    options: tuple[str, ...]  # "key=value"
    force_rls: bool
    partition_rls: bool = False  # ROW LEVEL SECURITY enabled on a partition

    def changes(self, old: Storage | None) -> list[str]:
        """ALTER statements that take `old` (None: a new or re-created object) to this."""
        before = dict(o.split("=", 1) for o in (old.options if old else ()))
        after = dict(o.split("=", 1) for o in self.options)
        out = []
        if list(before.items()) != list(after.items()):
            # PostgreSQL keeps options in the order they were set, and pg_dump shows that
            # order: to reproduce it exactly, clear what differs in place and set the rest
            # in the target's order.
            keep = 0
            for (k1, v1), (k2, v2) in zip(before.items(), after.items(), strict=False):
                if (k1, v1) != (k2, v2):
                    break
                keep += 1
            reset = [k for k in list(before)[keep:]]
            if reset:
                out.append(f"alter {self.kind} {self.identity} reset ({', '.join(reset)});")
            tail = list(after.items())[keep:]
            if tail:
                pairs = ", ".join(f"{k} = {literal(v)}" for k, v in tail)
                out.append(f"alter {self.kind} {self.identity} set ({pairs});")
        if self.partition_rls != (old.partition_rls if old else False):
            out.append(
                f"alter table {self.identity} {'enable' if self.partition_rls else 'disable'} row "
                "level security;"
            )
        if self.force_rls != (old.force_rls if old else False):
            out.append(
                f"alter table {self.identity} {'' if self.force_rls else 'no '}force row level "
                "security;"
            )
        return out


def storage_statements(
    statements: list[str], before: dict[str, Storage], after: dict[str, Storage]
) -> list[str]:
    """Statements (run last) that give tables and materialized views their storage settings."""
    recreated = created_names(statements)
    out = []
    for identity, new in sorted(after.items()):
        old = None if bare(identity) in recreated else before.get(identity)
        out += new.changes(old)
    for identity, old in sorted(before.items()):
        if identity not in after and bare(identity) not in recreated | dropped_names(statements):
            out += Storage(old.schema, identity, old.kind, (), False, False).changes(old)
    return out


KIND = RowKind(
    "storage",
    Storage,
    attrgetter("identity"),
    emit=lambda diff, before, after: diff.place(
        Phase.STORAGE, storage_statements(diff.statements, before, after)
    ),
)
