"""Index keys' operator classes and collations, which schemainspect reads but migra never
compares: `CREATE INDEX t_name ON t (name text_pattern_ops)` in place of `(name)` was no
change at all (`docs/engine-notes.md`, "Index operator classes")."""

from __future__ import annotations

from typing import Any

from ..kind import Kind


class Indexes(Kind):
    name = "indexes"

    def adjust(self, conn: Any, keeps: Any, inspector: Any, data: Any) -> None:
        # `algorithm` is among the attributes migra compares and is used for nothing else: it
        # carries the whole definition, where operator classes and collations are written.
        for index in inspector.indexes.values():
            index.algorithm = f"{index.algorithm} {index.definition}"


KIND = Indexes()
