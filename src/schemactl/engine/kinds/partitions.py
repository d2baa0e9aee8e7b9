"""Partitioned tables: what schemainspect lists that PostgreSQL makes by itself, what it misses,
and where migra's statements for partitions go wrong (docs/engine-notes.md, "partitioning")."""

from __future__ import annotations

import copy
import re
from typing import Any

from ...grammar.records import Name, quoted
from ...grammar.statements import parse
from ..catalog import ident, parents, rows
from ..kind import Diff, Kind, Phase


def drop_partition_clones(conn: Any, inspector: Any) -> None:
    """Take out of an inspection what PostgreSQL creates by itself for partitions
    (`sql/partition_clones.sql`); a partitioned table's key constraints create their index."""
    for kind, schema, relation, name in rows(conn, "partition_clones"):
        if kind == "clone":
            key = f"{ident(schema)}.{ident(relation)}.{ident(name)}"
            inspector.constraints.pop(key, None)
            inspector.triggers.pop(key, None)
        elif kind == "index":
            inspector.indexes.pop(f"{ident(schema)}.{ident(name)}", None)
        elif (
            c := inspector.constraints.get(f"{ident(schema)}.{ident(relation)}.{ident(name)}")
        ) and c.index:
            inspector.indexes.pop(c.index.quoted_full_name, None)
            c.index = None


def read_subpartition_keys(conn: Any, keeps: Any) -> dict[str, str]:
    """Partition keys (`RANGE (d)`) of partitioned partitions, by quoted name."""
    return {name: key for schema, name, key in rows(conn, "subpartition_keys") if keeps(schema)}


# Matched as text: this is schemainspect's wrong statement, which the grammar rejects.
_CREATE_SUBPARTITIONED = re.compile(
    r"^create table (?P<name>\S+) \(\n.*\n\) partition by (?P<bound>FOR VALUES .*|DEFAULT);$",
    re.I | re.S,
)


def fix_subpartitions(statements: list[str], i_target: Any, keys: dict[str, str]) -> list[str]:
    """Write a partition that is partitioned itself as `create table t partition of p <bound>
    partition by <key>` (schemainspect writes its bound where the key belongs)."""
    out = []
    for statement in statements:
        m = _CREATE_SUBPARTITIONED.match(statement.strip())
        key = keys.get(m.group("name")) if m else None
        if m and key:
            parent = i_target.tables[m.group("name")].parent_table
            name, bound = m.group("name"), m.group("bound")
            statement = f"create table {name} partition of {parent} {bound} partition by {key};"
        out.append(statement)
    return out


Attachment = tuple[Name, Name, Name]  # (partitioned index, partition index, its table)


def read_index_attachments(conn: Any, keeps: Any) -> set[Attachment]:
    """Partition indexes attached to a partitioned index (`sql/index_attachments.sql`)."""
    return {
        ((parent_schema, parent), (schema, child), (schema, table))
        for schema, parent_schema, parent, child, table in rows(conn, "index_attachments")
        if keeps(schema)
    }


def fix_index_attachments(
    statements: list[str],
    before: set[Attachment],
    after: set[Attachment],
    indexes: dict[str, Any],
) -> list[str]:
    """Attach partition indexes to their partitioned index, and leave out what PostgreSQL does
    by itself (docs/engine-notes.md, "partitioned indexes").

    An attached partition index cannot be dropped on its own: it goes with its partitioned
    index or with its table. And a partition created under an index that already exists gets
    its own index (of the same name, the one PostgreSQL chooses) as part of CREATE TABLE, so
    creating it again fails.
    """
    parsed = [parse(s) for s in statements]
    dropped_indexes = {s.name for s in parsed if s.is_("drop", "index")}
    dropped_tables = {s.name for s in parsed if s.is_("drop", "table")}
    new_partitions = {
        s.name for s in parsed if s.is_("create", "table") and s.action == "partition of"
    }
    new_indexes = {s.name for s in parsed if s.is_("create", "index")}
    gone = {
        child
        for parent, child, table in before
        if parent in dropped_indexes or table in dropped_tables
    }
    automatic = {
        child
        for parent, child, table in after - before
        if table in new_partitions and parent not in new_indexes
    }
    rerooted = _rerooted(before, after, dropped_indexes, dropped_tables, indexes)
    out = []
    for s in parsed:
        if s.is_("drop", "index") and s.name in rerooted:
            out += rerooted.pop(s.name)
        elif not (s.is_("drop", "index") and s.name in gone) and not (
            s.is_("create", "index") and s.name in automatic
        ):
            out.append(s.text)
    out += [
        f"alter index {quoted(parent)} attach partition {quoted(child)};"
        for parent, child, _ in sorted(after - before)
        if child not in automatic
    ]
    return out


def _rerooted(
    before: set[Attachment],
    after: set[Attachment],
    dropped_indexes: set[Any],
    dropped_tables: set[Any],
    indexes: dict[str, Any],
) -> dict[Any, list[str]]:
    """A partition index that leaves its partitioned index while both stay: PostgreSQL has no
    DETACH for indexes, and the attached one cannot be dropped alone. The partitioned index is
    dropped (taking its attached indexes along) and created again `ON ONLY`, and the indexes
    that stay are created again and attached (the statements, by the child's drop they
    replace)."""
    out: dict[Any, list[str]] = {}
    attached = {(a, b) for a, b, _ in after}
    for parent, child, table in sorted(before - after):
        if parent in dropped_indexes or table in dropped_tables or child not in dropped_indexes:
            continue
        wanted = indexes.get(quoted(parent))
        if wanted is None or " ON ONLY " not in wanted.create_statement:
            continue
        statements = [f"drop index {quoted(parent)};", wanted.create_statement]
        for p, c, _ in sorted(before):
            kept = indexes.get(quoted(c))
            if p == parent and c != child and kept is not None:
                statements.append(kept.create_statement)
                if (p, c) in attached:
                    statements.append(f"alter index {quoted(p)} attach partition {quoted(c)};")
        out[child] = statements
    return out


def add_partitioned_dependents(conn: Any, keeps: Any, selectables: dict[str, Any]) -> None:
    """Record the views over partitioned tables, which schemainspect's dependency query misses
    (docs/engine-notes.md): on each side of the edge, and in the table's transitive dependents,
    which migra reads to decide which views to drop and re-create."""
    edges = [
        (f"{ident(vs)}.{ident(v)}", f"{ident(ts)}.{ident(t)}")
        for vs, v, ts, t in rows(conn, "partitioned_dependents")
        if keeps(vs) and keeps(ts)
    ]
    for key_v, key_t in edges:
        if key_v not in selectables or key_t not in selectables:
            continue
        selectables[key_t].dependents = sorted({*selectables[key_t].dependents, key_v})
        selectables[key_v].dependent_on = sorted({*selectables[key_v].dependent_on, key_t})
    for key_t in {key_t for _, key_t in edges} & selectables.keys():
        seen: list[str] = []
        todo = list(selectables[key_t].dependents)
        while todo:
            k = todo.pop(0)
            if k not in seen and k in selectables:
                seen.append(k)
                todo += selectables[k].dependents
        selectables[key_t].dependents_all = seen


def _table_of(obj: Any) -> str:
    """The quoted `"schema"."table"` an index, constraint, trigger or policy belongs to."""
    return (
        getattr(obj, "quoted_full_table_name", None)
        or f"{ident(obj.schema)}.{ident(obj.table_name)}"
    )


def rebuilt_tables(i_from: Any, i_target: Any) -> tuple[Any, list[str], list[str]]:
    """Tables that turn partitioned or plain: let migra drop and create them whole.

    PostgreSQL cannot ALTER a table into or out of partitioning. migra drops and re-creates
    it, but as a *modified* table: everything on it (indexes, constraints, triggers,
    policies) compares unchanged and is never created again, views and foreign keys that
    depend on it block the drop, sequences it owns go with it, and new partitions are
    created before it. On a copy of the source inspection the old table is filed under
    another key (so it is "removed" and the new one "added", dependent views included),
    its own indexes, constraints, triggers and policies are left out (they go with the
    drop and come back as new), and foreign keys pointing at it are re-keyed so migra
    drops and re-creates them. Returns the copy and the statements that keep its owned
    sequences alive across the drop: (before everything, after the tables).
    """
    rebuilt = {
        k
        for k, t in i_target.tables.items()
        if k in i_from.tables and t.is_partitioned != i_from.tables[k].is_partitioned
    }
    if not rebuilt:
        return i_from, [], []
    clone = copy.copy(i_from)
    for prop in ("relations", "tables", "selectables"):
        setattr(
            clone,
            prop,
            {
                (f"{k} (rebuilt)" if k in rebuilt else k): v
                for k, v in getattr(i_from, prop).items()
            },
        )
    for prop in ("indexes", "constraints", "triggers", "rlspolicies"):
        setattr(
            clone,
            prop,
            {k: v for k, v in getattr(i_from, prop).items() if _table_of(v) not in rebuilt},
        )
    clone.constraints = {
        (
            f"{k} (rebuilt)" if getattr(c, "quoted_full_foreign_table_name", None) in rebuilt else k
        ): c
        for k, c in clone.constraints.items()
    }
    owned = [
        (k, seq)
        for k, seq in i_from.sequences.items()
        if seq.table_name and f"{ident(seq.schema)}.{ident(seq.table_name)}" in rebuilt
    ]
    release = [f"alter sequence {seq.quoted_full_name} owned by none;" for _, seq in owned]
    own = [
        i_target.sequences[k].alter_ownership_statement for k, _ in owned if k in i_target.sequences
    ]
    return clone, release, own


def fix_attach(statements: list[str], parents: dict[str, list[str]]) -> list[str]:
    """Repair ATTACH PARTITION (docs/engine-notes.md, "partitioning").

    schemainspect names the partition where the partitioned table belongs and vice versa,
    and migra attaches before the parent's column changes, which the partition must match.
    Attaches are written the right way round and moved to the end.
    """
    attaches, rest = [], []
    for statement in statements:
        s = parse(statement)
        if s.action != "attach partition" or s.partition is None:
            rest.append(statement)
            continue
        child, parent = quoted(s.table), quoted(s.partition)  # type: ignore[arg-type]
        if parent not in parents.get(child, []):
            child, parent = parent, child
        attaches.append(f"alter table {parent} attach partition {child} {s.bound};")
    return rest + attaches


def detach_before_drop(statements: list[str], i_from: Any) -> list[str]:
    """Detach a partition before dropping it while its partitioned table stays.

    A foreign key that points at a partitioned table has an internal copy on each partition,
    which makes a plain DROP TABLE of the partition fail ("other objects depend on it");
    DETACH PARTITION removes those copies first.
    """
    parsed = [parse(s) for s in statements]
    dropped = {s.quoted for s in parsed if s.is_("drop", "table")}
    out = []
    for s in parsed:
        table = i_from.tables.get(s.quoted) if s.is_("drop", "table") else None
        if (
            table is not None
            and table.is_partitioning_child_table
            and table.parent_table not in dropped
        ):
            out.append(f"alter table {table.parent_table} detach partition {s.quoted};")
        out.append(s.text)
    return out


class Partitions(Kind):
    name = "partitions"

    def read(self, conn: Any, keeps: Any) -> dict[str, Any]:
        return {
            "subpartition_keys": read_subpartition_keys(conn, keeps),
            "index_attachments": read_index_attachments(conn, keeps),
        }

    def adjust(self, conn: Any, keeps: Any, inspector: Any, data: Any) -> None:
        add_partitioned_dependents(conn, keeps, inspector.selectables)
        drop_partition_clones(conn, inspector)
        for relation in inspector.relations.values():
            # schemainspect's ATTACH PARTITION statement reads `partition_spec`, an attribute
            # it never sets (AttributeError when a table becomes a partition): `partition_def`.
            relation.partition_spec = relation.partition_def

    def prepare(self, diff: Diff) -> None:
        source, release, own = rebuilt_tables(diff.source.upstream, diff.target.upstream)
        diff.source = diff.source.replacing(source)
        diff.place(Phase.RELEASE, release)
        diff.place(Phase.OWN, own)

    def rewrite(self, diff: Diff) -> None:
        source, target = diff.source.upstream, diff.target.upstream
        statements = fix_attach(diff.statements, {**parents(target), **parents(source)})
        statements = fix_subpartitions(
            statements, target, diff.target[self.name]["subpartition_keys"]
        )
        statements = detach_before_drop(statements, source)
        diff.statements = fix_index_attachments(
            statements,
            diff.source[self.name]["index_attachments"],
            diff.target[self.name]["index_attachments"],
            target.indexes,
        )


KIND = Partitions()
