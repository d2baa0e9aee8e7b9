"""What the data trial finds: hazards, each one thing a statement does to stored rows or to the
traffic on them (hazards.py measures them, rows.py finds the values lost), with their JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...project.config import LOCK_MODES

BLOCKS_WRITES = frozenset(LOCK_MODES[4:])
KINDS = ("lock", "rewrite", "index-build", "validation-scan", "fails-with-data", "data-loss")


@dataclass(frozen=True)
class Hazard:
    """One thing a statement does to stored rows or to the traffic on them."""

    kind: str  # one of KINDS
    statement: str  # the statement, on one line
    relation: str | None = None  # schema.table it concerns
    lock: str | None = None  # the strongest lock mode it held there (PostgreSQL's name)
    rewrite: bool = False  # whether it rewrote the table
    detail: str = ""  # one line for people
    direction: str = "up"
    fix: str = ""  # fails-with-data: how to write the change so that it runs on such rows
    # How long the statement ran on the sample rows, holding its lock: said in the output,
    # never in a file (files stay byte-stable between runs).
    held_ms: int | None = None

    @property
    def loses_data(self) -> bool:
        return self.kind == "data-loss"

    @property
    def reason(self) -> str:
        return self.detail

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "direction": self.direction,
            "statement": self.statement,
            "relation": self.relation,
            "lock": self.lock,
            "rewrite": self.rewrite,
            "detail": self.detail,
            "fix": self.fix or None,
            "held_ms": self.held_ms,
        }
