"""The record a parsed statement becomes (statements.py reads it from pglast's
nodes): what the statement is, and the keys of the objects it creates, drops, changes, releases
or uses.

Objects are `Key`s: (family, schema, name, part). Families are the namespaces PostgreSQL
keeps names in: "relation" (tables, views, indexes, sequences), "type" (domains, enums,
composites), "function" (functions, procedures, aggregates: overloads share a key), "schema",
"collation", "extension". `part` names a column, constraint, trigger, rule or policy of a
relation or type, or is None for the whole object.
"""

from __future__ import annotations

from dataclasses import dataclass

Key = tuple[str, str, str, str | None]
Name = tuple[str, str]


@dataclass(frozen=True)
class Statement:
    """One SQL statement and what it does to which objects."""

    text: str
    verb: str  # create, alter, rename, drop, comment, grant, revoke, set, note (a comment), other
    kind: str | None = None  # table, index, function, domain, … (what the verb acts on)
    name: Name | None = None  # (schema, name) of that object
    table: Name | None = None  # the relation an index, trigger, rule, policy or ALTER is on
    action: str | None = None  # for ALTER TABLE: the first subcommand, e.g. "drop constraint"
    target: str | None = None  # the column or constraint that subcommand names
    creates: frozenset[Key] = frozenset()
    drops: frozenset[Key] = frozenset()
    changes: frozenset[Key] = frozenset()  # altered in place: needs what its new form uses
    releases: frozenset[Key] = frozenset()  # altered in place: stops using what its old form used
    uses: frozenset[Key] = frozenset()  # objects named in the text that must exist
    # CREATE TABLE: what it inherits from or is a partition of (action "inherits" or
    # "partition of"), its column and constraint definitions as written, (column name or None,
    # text), and where they stand (the text between the parentheses); ATTACH / DETACH
    # PARTITION: the partition, and the text of its bound (FOR VALUES … or DEFAULT).
    parents: tuple[Name, ...] = ()
    elements: tuple[tuple[str | None, str], ...] = ()
    body: tuple[int, int] | None = None
    partition: Name | None = None
    bound: str | None = None
    # CREATE / DROP INDEX: CONCURRENTLY, and IF NOT EXISTS / IF EXISTS (what makes a build
    # outside a transaction safe to run again: execution.py resumes such parts)
    concurrently: bool = False
    if_exists: bool = False
    # RENAME of a column or constraint, or an enum value's: the old name (`target`: the new)
    renamed_from: str | None = None
    # ALTER INDEX … ATTACH PARTITION: a partitioned index is valid (a foreign key can rest on
    # it) only once every partition's index is attached
    completes: frozenset[Key] = frozenset()

    @property
    def quoted(self) -> str | None:
        """The object's name as migra and the catalog queries write it: `"schema"."name"`."""
        return None if self.name is None else quoted(self.name)

    @property
    def quoted_table(self) -> str | None:
        """`table`, quoted the same way."""
        return None if self.table is None else quoted(self.table)

    @property
    def quoted_target(self) -> str | None:
        """`target` (a column or constraint), quoted."""
        return None if self.target is None else ident(self.target)

    def is_(self, verb: str, *kinds: str) -> bool:
        """Whether this is `verb` on one of `kinds` (any kind when none is given)."""
        return self.verb == verb and (not kinds or self.kind in kinds)


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quoted(name: Name) -> str:
    return f"{ident(name[0])}.{ident(name[1])}"


# pglast's ObjectType names (OBJECT_…) -> (family, kind) for DROP and COMMENT.
OBJECT_KINDS = {
    "TABLE": ("relation", "table"),
    "VIEW": ("relation", "view"),
    "MATVIEW": ("relation", "materialized view"),
    "INDEX": ("relation", "index"),
    "SEQUENCE": ("relation", "sequence"),
    "FOREIGN_TABLE": ("relation", "foreign table"),
    "FUNCTION": ("function", "function"),
    "PROCEDURE": ("function", "procedure"),
    "ROUTINE": ("function", "function"),
    "AGGREGATE": ("function", "aggregate"),
    "TYPE": ("type", "type"),
    "DOMAIN": ("type", "domain"),
    "SCHEMA": ("schema", "schema"),
    "COLLATION": ("collation", "collation"),
    "EXTENSION": ("extension", "extension"),
    "TRIGGER": ("relation", "trigger"),
    "RULE": ("relation", "rule"),
    "POLICY": ("relation", "policy"),
    "PUBLICATION": ("publication", "publication"),
    "STATISTIC_EXT": ("statistics", "statistics"),
    "EVENT_TRIGGER": ("event trigger", "event trigger"),
}
