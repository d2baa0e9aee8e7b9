"""Materialized views: the indexes of one migra drops and creates are created again."""

from __future__ import annotations

from typing import Any

from ...grammar.statements import parse
from ..kind import Diff, Kind


def reindex_recreated_matviews(statements: list[str], i_target: Any) -> list[str]:
    """Create again the indexes of a materialized view that migra drops and creates.

    Dropping the view drops its indexes, but migra compares them as unchanged and leaves
    them out; each is created right after its view.
    """
    seen: dict[str, set[str]] = {"create": set(), "drop": set()}
    for s in statements:
        st = parse(s.strip())
        if st.kind == "materialized view" and st.verb in seen and st.quoted:
            seen[st.verb].add(st.quoted)
    recreated = seen["create"] & seen["drop"]
    if not recreated:
        return statements
    out = []
    for s in statements:
        out.append(s)
        st = parse(s.strip())
        if st.is_("create", "materialized view") and st.quoted in recreated:
            out += [
                i.create_statement
                for i in i_target.indexes.values()
                if i.quoted_full_table_name == st.quoted and i.create_statement not in statements
            ]
    return out


class MaterializedViews(Kind):
    name = "matviews"

    def rewrite(self, diff: Diff) -> None:
        diff.statements = reindex_recreated_matviews(diff.statements, diff.target.upstream)


KIND = MaterializedViews()
