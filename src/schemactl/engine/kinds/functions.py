"""Functions whose signature CREATE OR REPLACE cannot change (docs/engine-notes.md)."""

from __future__ import annotations

from typing import Any

from ..catalog import not_replaceable
from ..kind import Diff, Kind


def _signature_changes(i_from: Any, i_target: Any) -> Any:
    """Make migra drop and create functions that CREATE OR REPLACE cannot change.

    PostgreSQL refuses to replace a function whose result type, OUT parameters or parameter
    names change, or that loses a parameter default; migra writes CREATE OR REPLACE for all
    of them. Such functions answer "not replaceable", so migra drops them (and the views
    that use them) and creates them again.
    """

    def changed(new: Any, old: Any) -> bool:
        names = [i.name for i in new.inputs] != [i.name for i in old.inputs]
        lost_default = any(
            o.default and not n.default for o, n in zip(old.inputs, new.inputs, strict=False)
        )
        return (
            (new.returntype, new.result_string) != (old.returntype, old.result_string)
            or names
            or lost_default
        )

    keys = {
        k
        for k, f in i_target.functions.items()
        if k in i_from.functions and changed(f, i_from.functions[k])
    }
    return not_replaceable(i_target, keys) if keys else i_target


_SESSION = "set check_function_bodies = off;"
_LOCAL = "set local check_function_bodies = off;"


class Functions(Kind):
    name = "functions"

    def adjust(self, conn: Any, keeps: Any, inspector: Any, data: Any) -> None:
        # A SQL-standard body (BEGIN ATOMIC, RETURN) lives in prosqlbody, and prosrc, which
        # schemainspect reads as the definition and migra compares, is empty: a new body was
        # no change. The whole definition stands in for it.
        for f in inspector.functions.values():
            if not (f.definition or "").strip():
                f.definition = f.full_definition

    def rewrite(self, diff: Diff) -> None:
        # migra's `set check_function_bodies = off` stayed set for the rest of the session:
        # every later migration of an `apply` ran unchecked. LOCAL scopes it to the file's
        # transaction.
        diff.statements = [_LOCAL if s.strip() == _SESSION else s for s in diff.statements]

    def prepare(self, diff: Diff) -> None:
        diff.target = diff.target.replacing(
            _signature_changes(diff.source.upstream, diff.target.upstream)
        )


KIND = Functions()
