"""Sequences: migra creates them bare and compares them by name only; their options come from
the catalog (`sql/sequences.sql`)."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ..catalog import Named
from ..kind import RowKind
from ..statements import parse


@dataclass(frozen=True)
class Sequence(Named):
    """A sequence's options as PostgreSQL stores them."""

    data_type: str
    start: int
    increment: int
    minvalue: int
    maxvalue: int
    cache: int
    cycle: bool

    def options(self, since: Sequence | None = None) -> str:
        """The option clauses that differ from `since` (all of them when None)."""
        parts = []
        for attr, clause in (
            ("data_type", "as {}"),
            ("increment", "increment by {}"),
            ("minvalue", "minvalue {}"),
            ("maxvalue", "maxvalue {}"),
            ("start", "start with {}"),
            ("cache", "cache {}"),
        ):
            value = getattr(self, attr)
            if since is None or getattr(since, attr) != value:
                parts.append(clause.format(value))
        if since is None or since.cycle != self.cycle:
            parts.append("cycle" if self.cycle else "no cycle")
        return " ".join(parts)


def fix_sequences(
    statements: list[str], before: dict[str, Sequence], after: dict[str, Sequence]
) -> list[str]:
    """Give migra's bare `create sequence` statements their options, and alter sequences whose
    options changed (migra compares sequences by name only)."""
    out = []
    for statement in statements:
        st = parse(statement.strip())
        seq = after.get(st.quoted or "") if st.is_("create", "sequence") else None
        if seq is not None:
            statement = f"create sequence {seq.quoted} {seq.options()};"
        out.append(statement)
    for name, seq in after.items():
        old = before.get(name)
        if old is not None and old != seq:
            out.append(f"alter sequence {seq.quoted} {seq.options(old)};")
    return out


KIND = RowKind("sequences", Sequence, attrgetter("quoted"), rewrite=fix_sequences)
