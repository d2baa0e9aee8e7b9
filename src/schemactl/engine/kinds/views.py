"""Views that migra drops and re-creates only because a table under them changed.

migra re-creates every view over a table it modifies, whatever the change: adding a column to
`sample` dropped and re-created `sample_summary`. On a live database that takes an exclusive
lock on the view, fails while another view or function depends on it, and needs its grants
and comments again. A view stays as it is when its definition is the same in both states,
no column it reads is dropped or changes type, and nothing else it depends on is dropped
(a view it reads that must be re-created takes it along).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...grammar.statements import parse
from ..catalog import bare
from ..kind import Diff, Kind


@dataclass(frozen=True)
class Read:
    """One column a view reads."""

    schema: str
    view: str
    table_schema: str
    table: str
    column: str


def keep_unchanged_views(
    statements: list[str], source: Any, target: Any, reads: dict[str, set[tuple[str, str]]]
) -> list[str]:
    """`statements` without the drop and create of the views that can stay (module docstring).
    `reads`: view (bare name) -> the (bare table, column) pairs it reads, in the source."""
    parsed = [parse(s.strip()) for s in statements]
    dropped = {st.quoted for st in parsed if st.is_("drop", "view") and st.quoted}
    created = {st.quoted for st in parsed if st.is_("create", "view") and st.quoted}
    candidates = {
        v
        for v in dropped & created
        if v in source.views
        and v in target.views
        and source.views[v].definition == target.views[v].definition
    }
    if not candidates:
        return statements
    changed = {
        (f"{st.table[0]}.{st.table[1]}".lower(), st.target)
        for st in parsed
        if st.action in ("alter column type", "drop column") and st.table and st.target
    }
    gone = {bare(st.quoted) for st in parsed if st.verb == "drop" and st.quoted}
    kept = set(candidates)
    while True:
        still_gone = gone - {bare(v) for v in kept}
        leaving = {
            v
            for v in kept
            if any(bare(d) in still_gone for d in source.views[v].dependent_on)
            or reads.get(bare(v), set()) & changed
        }
        if not leaving:
            break
        kept -= leaving
    return [
        s
        for s, st in zip(statements, parsed, strict=True)
        if not (st.kind == "view" and st.verb in ("drop", "create") and st.quoted in kept)
    ]


class Views(Kind):
    name = "views"

    def read(self, conn: Any, keeps: Any) -> dict[str, set[tuple[str, str]]]:
        from ..catalog import rows

        out: dict[str, set[tuple[str, str]]] = {}
        for r in (Read(*row) for row in rows(conn, "view_columns")):
            if keeps(r.schema):
                view = f"{r.schema}.{r.view}".lower()
                out.setdefault(view, set()).add((f"{r.table_schema}.{r.table}".lower(), r.column))
        return out

    def rewrite(self, diff: Diff) -> None:
        diff.statements = keep_unchanged_views(
            diff.statements, diff.source.upstream, diff.target.upstream, diff.source[self.name]
        )


KIND = Views()
