"""Collations: migra reads every ICU locale as 'None', so it writes them wrong and sees no
change; definitions come from the catalog (`sql/collations.sql`). New tables keep their
columns' COLLATE clauses (schemainspect leaves them out of CREATE TABLE)."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ...grammar.statements import parse
from ..catalog import Named, literal
from ..kind import RowKind


@dataclass(frozen=True)
class Collation(Named):
    """A collation's definition as PostgreSQL stores it."""

    provider: str  # i = icu, c = libc, d = default
    lc_collate: str | None
    lc_ctype: str | None
    icu_locale: str | None
    deterministic: bool

    @property
    def create_statement(self) -> str:
        """A CREATE COLLATION that reproduces this one."""
        if self.provider == "i":
            options = f"provider = icu, locale = {literal(self.icu_locale or '')}"
        else:
            options = (
                f"provider = libc, lc_collate = {literal(self.lc_collate or '')}, "
                f"lc_ctype = {literal(self.lc_ctype or '')}"
            )
        if not self.deterministic:
            options += ", deterministic = false"
        return f"create collation if not exists {self.quoted} ({options});"


def fix_collations(
    statements: list[str], before: dict[str, Collation], after: dict[str, Collation]
) -> list[str]:
    """Rewrite migra's CREATE COLLATION statements from the catalog (ICU locales included), and
    re-create collations whose definition changed (migra reads every ICU locale as 'None', so
    it sees no change). Columns using a re-created collation make the DROP fail: `diff`'s
    verification then reports it."""
    changed = [c for name, c in sorted(after.items()) if name in before and before[name] != c]
    out = [s for c in changed for s in (f"drop collation {c.quoted};", c.create_statement)]
    for statement in statements:
        st = parse(statement.strip())
        collation = after.get(st.quoted or "") if st.is_("create", "collation") else None
        out.append(collation.create_statement if collation is not None else statement)
    return out


_COLLATED: dict[type, type] = {}


def _collated_column_class(base: type) -> type:
    """A subclass of schemainspect's column class whose definition keeps its COLLATE clause.

    schemainspect adds the collation to `ADD COLUMN` but leaves it out of the column list of
    `CREATE TABLE`, so new tables lose their columns' collations (docs/engine-notes.md). The
    class is named in this module (`Collated` + the base's name, found by `__getattr__`), so
    that a kept inspection can be read back (engine/inspection.py, `write`).
    """
    if base.__name__.startswith("Collated"):
        return base
    if base not in _COLLATED:

        class CollatedColumn(base):  # type: ignore[misc]
            @property
            def creation_clause(self) -> str:
                plain: str = super().creation_clause
                head = f"{self.quoted_name} {self.dbtypestr}"
                collation: str = self.collation_subclause
                return head + collation + plain[len(head) :]

            @property
            def add_column_clause(self) -> str:
                return f"add column {self.creation_clause}"

        CollatedColumn.__name__ = CollatedColumn.__qualname__ = f"Collated{base.__name__}"
        _COLLATED[base] = CollatedColumn
    return _COLLATED[base]


def __getattr__(name: str) -> type:
    # Unpickling a kept inspection looks the column class up here (schemainspect's only one).
    if name == "CollatedColumnInfo":
        from .. import upstream

        upstream.load()
        from schemainspect.inspected import ColumnInfo

        return _collated_column_class(ColumnInfo)
    raise AttributeError(name)


def _keep_column_collations(inspector: Any, data: Any) -> None:
    for relation in inspector.relations.values():
        for column in relation.columns.values():
            column.__class__ = _collated_column_class(type(column))


KIND = RowKind(
    "collations",
    Collation,
    attrgetter("quoted"),
    adjust=_keep_column_collations,
    rewrite=fix_collations,
)
