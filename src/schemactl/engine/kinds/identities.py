"""Identity columns' sequence options (`sql/identities.sql`), which migra does not compare."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ..kind import Phase, RowKind
from .sequences import SequenceOptions

_TYPE_MAX = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


@dataclass(frozen=True)
class _Column:
    schema: str
    table: str  # quoted schema.table
    column: str  # quoted


@dataclass(frozen=True)
class Identity(SequenceOptions, _Column):
    """The sequence options of one identity column."""

    def fresh(self) -> Identity:
        """The options PostgreSQL gives a new identity column of this type."""
        up = self.increment > 0
        top = _TYPE_MAX.get(self.data_type, 9223372036854775807)
        return Identity(
            self.schema,
            self.table,
            self.column,
            self.data_type,
            1 if up else -1,
            1,
            1 if up else -top - 1,
            top if up else -1,
            1,
            False,
        )

    def alter(self, old: Identity, restart: bool) -> str | None:
        """ALTER TABLE ... ALTER COLUMN ... SET ... from `old`, or None when nothing differs."""
        sets = ["set " + clause for clause in self.clauses(old)]
        if not sets:
            return None
        if restart and self.start != old.start:
            sets.append("restart")  # a new column: its first value is START
        return f"alter table {self.table} alter column {self.column} {' '.join(sets)};"


def identity_statements(
    before: dict[tuple[str, str], Identity], after: dict[tuple[str, str], Identity]
) -> list[str]:
    """Statements (run after the columns exist) that give identity columns their options."""
    out = []
    for key, new in sorted(after.items()):
        old = before.get(key)
        statement = new.alter(old or new.fresh(), restart=old is None)
        if statement:
            out.append(statement)
    return out


KIND = RowKind(
    "identities",
    Identity,
    attrgetter("table", "column"),
    emit=lambda diff, before, after: diff.place(
        Phase.IDENTITIES, identity_statements(before, after)
    ),
)
