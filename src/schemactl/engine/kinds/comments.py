"""Comments, which migra does not diff (`sql/comments.sql`): removals run first, while every
object of the old state exists; additions run last, once every object of the new state does."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ..catalog import bare, created_names, dropped_names, literal
from ..kind import Diff, Phase, RowKind


@dataclass(frozen=True)
class Comment:
    """A COMMENT ON some object."""

    type: str  # as pg_identify_object names it: "table", "table column", "function", ...
    schema: str | None  # None: database-wide (event triggers)
    identity: str  # as COMMENT ON accepts it, e.g. public.t.id or c on public.t
    text: str
    owner: str  # the relation, function, type or schema it belongs to

    @property
    def target(self) -> str:
        """`TABLE public.t`, `CONSTRAINT c ON DOMAIN public.d`, ... for COMMENT ON."""
        kind = self.type
        if kind.endswith(" column"):
            return f"COLUMN {self.identity}"
        if kind == "domain constraint":
            name, _, domain = self.identity.partition(" on ")
            return f"CONSTRAINT {name} ON DOMAIN {domain}"
        if kind == "table constraint":
            return f"CONSTRAINT {self.identity}"
        if kind == "composite type":
            return f"TYPE {self.identity}"
        if kind == "statistics object":
            return f"STATISTICS {self.identity}"
        return f"{kind.upper()} {self.identity}"

    def statement(self, text: str | None) -> str:
        """COMMENT ON this object IS `text` (NULL removes it)."""
        return f"comment on {self.target} is {'null' if text is None else literal(text)};"


def comment_statements(
    statements: list[str],
    before: dict[tuple[str, str], Comment],
    after: dict[tuple[str, str], Comment],
) -> tuple[list[str], list[str]]:
    """Return (first, last): comments to remove before anything else runs (every object of
    the old state still exists then), and comments to set after everything else (every
    object of the new state exists then), including those on objects the migration
    re-creates (a new object starts without a comment)."""
    recreated, dropped = created_names(statements), dropped_names(statements)
    # Objects the migration drops take their comments with them.
    first = [
        c.statement(None)
        for key, c in before.items()
        if key not in after and bare(c.owner) not in dropped
    ]
    last = [
        c.statement(c.text)
        for key, c in after.items()
        if key not in before or before[key].text != c.text or bare(c.owner) in recreated
    ]
    return first, last


def _emit(diff: Diff, before: Any, after: Any) -> None:
    # Whole objects are placed before this kind runs: their drops and creates count too.
    seen = diff.phase(Phase.DROPS) + diff.statements + diff.phase(Phase.CREATES)
    first, last = comment_statements(seen, before, after)
    diff.place(Phase.COMMENTS_CLEARED, first)
    diff.place(Phase.COMMENTS, last)


KIND = RowKind("comments", Comment, attrgetter("type", "identity"), emit=_emit)
