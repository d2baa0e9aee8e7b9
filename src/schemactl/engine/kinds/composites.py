"""Composite types: altered in place where ALTER TYPE can, instead of migra's drop and create
(docs/engine-notes.md, "composite types")."""

from __future__ import annotations

import copy
from typing import Any

from ..catalog import ident
from ..kind import Diff, Kind, Phase


def _composite_alterations(i_from: Any, i_target: Any) -> tuple[Any, list[str]]:
    """ALTER composite types instead of dropping and creating them (docs/engine-notes.md).

    migra drops and creates a changed composite type, which fails once a column, function or
    view uses it. Attributes can be dropped and added in place (added ones go last), so when
    the kept attributes keep their order and type and new ones come last, that is what is
    written, and the type is made equal on a copy of the source inspection so migra skips it.
    Anything else is left to migra, and verification reports it.
    """
    statements: list[str] = []
    patched = {}
    for key, new in i_target.types.items():
        old = i_from.types.get(key)
        if old is None or old.columns == new.columns:
            continue
        kept = [(k, v) for k, v in old.columns.items() if k in new.columns]
        if list(new.columns.items())[: len(kept)] != kept:
            statements.append(
                f"-- note: composite type {key} is dropped and created again, because ALTER TYPE "
                "cannot "
                "reorder or retype its attributes;\n-- this fails while a column, function or view "
                "uses it "
                "(then write the change by hand)."
            )
            continue
        statements += [
            f"alter type {key} drop attribute {ident(k)};"
            for k in old.columns
            if k not in new.columns
        ]
        statements += [
            f"alter type {key} add attribute {ident(k)} {v};"
            for k, v in list(new.columns.items())[len(kept) :]
        ]
        patched[key] = new
    if not patched:
        return i_from, statements
    clone = copy.copy(i_from)
    clone.types = {**i_from.types, **patched}
    # migra diffs composite types as selectables (relations of kind "c").
    clone.selectables = {
        **i_from.selectables,
        **{k: i_target.selectables[k] for k in patched if k in i_target.selectables},
    }
    return clone, statements


class Composites(Kind):
    name = "composites"

    def prepare(self, diff: Diff) -> None:
        source, statements = _composite_alterations(diff.source.upstream, diff.target.upstream)
        diff.source = diff.source.replacing(source)
        diff.place(Phase.BEFORE, statements)


KIND = Composites()
