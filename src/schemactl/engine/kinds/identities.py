"""Identity columns' sequence options (`sql/identities.sql`), which migra does not compare."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter

from ..kind import Phase, RowKind

_TYPE_MAX = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


@dataclass(frozen=True)
class Identity:
    """The sequence options of one identity column."""

    schema: str
    table: str  # quoted schema.table
    column: str  # quoted
    data_type: str
    start: int
    increment: int
    minvalue: int
    maxvalue: int
    cache: int
    cycle: bool

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
        sets = []
        for attr, clause in (
            ("increment", "increment by {}"),
            ("minvalue", "minvalue {}"),
            ("maxvalue", "maxvalue {}"),
            ("start", "start with {}"),
            ("cache", "cache {}"),
        ):
            if getattr(self, attr) != getattr(old, attr):
                sets.append("set " + clause.format(getattr(self, attr)))
        if self.cycle != old.cycle:
            sets.append("set cycle" if self.cycle else "set no cycle")
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
