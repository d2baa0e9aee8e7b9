"""Sequences: migra creates them bare and compares them by name only; their options come from
the catalog (`sql/sequences.sql`)."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ...grammar.statements import parse
from ..catalog import Named
from ..kind import Diff, Phase, RowKind


@dataclass(frozen=True)
class SequenceOptions:
    """A sequence's options as PostgreSQL stores them (of a sequence, or an identity column's)."""

    data_type: str
    start: int
    increment: int
    minvalue: int
    maxvalue: int
    cache: int
    cycle: bool

    def clauses(self, since: SequenceOptions | None = None) -> list[str]:
        """The option clauses that differ from `since` (all of them when None), without AS."""
        parts = [
            clause.format(getattr(self, attr))
            for attr, clause in _CLAUSES
            if since is None or getattr(since, attr) != getattr(self, attr)
        ]
        if since is None or since.cycle != self.cycle:
            parts.append("cycle" if self.cycle else "no cycle")
        return parts


_CLAUSES = (
    ("increment", "increment by {}"),
    ("minvalue", "minvalue {}"),
    ("maxvalue", "maxvalue {}"),
    ("start", "start with {}"),
    ("cache", "cache {}"),
)


@dataclass(frozen=True)
class Sequence(SequenceOptions, Named):
    """A sequence: its name and options."""

    def options(self, since: Sequence | None = None) -> str:
        """The option clauses that differ from `since` (all of them when None)."""
        kind = (
            [f"as {self.data_type}"] if since is None or since.data_type != self.data_type else []
        )
        return " ".join(kind + self.clauses(since))


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


def release_kept_sequences(diff: Diff, before: object, after: object) -> None:
    """Release a sequence that stays while the table or column owning it goes: a drop takes
    the sequences its table or column owns along, so a table renamed by hand (dropped, and
    created under a new name whose default still calls the old sequence) failed with
    `relation "a_id_seq" does not exist`. migra gives it its new owner after the creates."""
    source, target = diff.source.upstream, diff.target.upstream
    release = []
    for key, seq in source.sequences.items():
        if not (seq.table_name and seq.column_name) or key not in target.sequences:
            continue
        table = target.tables.get(seq.quoted_full_table_name)
        if table is None or seq.column_name not in table.columns:
            release.append(f"alter sequence {seq.quoted_full_name} owned by none;")
    diff.place(Phase.RELEASE, release)


KIND = RowKind(
    "sequences",
    Sequence,
    attrgetter("quoted"),
    rewrite=fix_sequences,
    emit=release_kept_sequences,
)
