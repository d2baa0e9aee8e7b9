"""Statements parsed once, by PostgreSQL's own grammar (pglast, on libpg_query), into the
typed record of records.py: what a statement is (verb, kind, name, table, action) and
which objects it creates, drops or changes, so that the engine's passes, its dependency order
and the data trial read facts instead of matching text (README, "The stack": why pglast).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from . import positions
from .records import OBJECT_KINDS, Key, Name, Statement

__all__ = ["Key", "Name", "Statement", "parse"]

_DEFAULT_SCHEMA = "public"  # what unqualified names resolve to in a scratch database


@lru_cache(maxsize=65536)
def parse(text: str) -> Statement:
    """Parse one statement. Text the grammar does not accept (or several statements) gives
    verb "other", so a caller keeps it where it was and never guesses."""
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        parsed = parse_sql(text)
    except ParseError:
        return Statement(text, "other")
    if not parsed:
        return Statement(text, "note")
    if len(parsed) > 1:
        return Statement(text, "other")
    node = parsed[0].stmt
    reader = _READERS.get(type(node).__name__)
    return reader(text, node) if reader else Statement(text, "other")


def _name(parts: Any) -> Name:
    names = [p.sval for p in parts]
    return (names[-2], names[-1]) if len(names) >= 2 else (_DEFAULT_SCHEMA, names[-1])


def _range(rv: Any) -> Name:
    return (rv.schemaname or _DEFAULT_SCHEMA, rv.relname)


def _whole(family: str, name: Name) -> Key:
    return (family, name[0], name[1], None)


def _part(table: Name, part: str, family: str = "relation") -> Key:
    return (family, table[0], table[1], part)


def _enum(value: Any) -> str:
    return str(value.name).split("_", 1)[1]  # OBJECT_TABLE -> TABLE, AT_AddColumn -> AddColumn


def _create_table(text: str, node: Any) -> Statement:
    name = _range(node.relation)
    parents = tuple(_range(p) for p in node.inhRelations or ())
    action = "partition of" if node.partbound else "inherits" if parents else None
    elements, body = positions.elements(text, node.tableElts or ())
    return Statement(
        text,
        "create",
        "table",
        name,
        action=action,
        creates=frozenset({_whole("relation", name)}),
        uses=frozenset(_whole("relation", p) for p in parents),
        parents=parents,
        elements=elements,
        body=body,
    )


def _create_index(text: str, node: Any) -> Statement:
    table = _range(node.relation)
    name = (table[0], node.idxname) if node.idxname else None
    creates = frozenset({_whole("relation", name)}) if name else frozenset()
    uses = frozenset({_whole("relation", table)})
    return Statement(
        text,
        "create",
        "index",
        name,
        table,
        creates=creates,
        uses=uses,
        concurrently=bool(node.concurrent),
        if_exists=bool(node.if_not_exists),
    )


def _create_function(text: str, node: Any) -> Statement:
    name = _name(node.funcname)
    kind = "procedure" if node.is_procedure else "function"
    key = frozenset({_whole("function", name)})
    # OR REPLACE: the old body stops using what it called (dropped after this, not before)
    return Statement(
        text, "create", kind, name, creates=key, releases=key if node.replace else frozenset()
    )


def _define(text: str, node: Any) -> Statement:
    family, kind = OBJECT_KINDS.get(_enum(node.kind), (None, None))
    if family is None:
        return Statement(text, "create", _enum(node.kind).lower())
    name = _name(node.defnames)
    return Statement(text, "create", kind, name, creates=frozenset({_whole(family, name)}))


def _create_type(kind: str, attribute: str, ranged: bool = False) -> Any:
    def read(text: str, node: Any) -> Statement:
        value = getattr(node, attribute)
        name = _range(value) if ranged else _name(value)
        return Statement(text, "create", kind, name, creates=frozenset({_whole("type", name)}))

    return read


def _create_relation(kind: str, attribute: str) -> Any:
    def read(text: str, node: Any) -> Statement:
        name = _range(getattr(node, attribute))
        return Statement(text, "create", kind, name, creates=frozenset({_whole("relation", name)}))

    return read


def _create_matview(text: str, node: Any) -> Statement:
    name = _range(node.into.rel)
    kind = "materialized view" if _enum(node.objtype) == "MATVIEW" else "table"
    return Statement(text, "create", kind, name, creates=frozenset({_whole("relation", name)}))


def _create_part(kind: str, name_attr: str) -> Any:
    """CREATE TRIGGER / RULE / POLICY: a named part of a table or view."""

    def read(text: str, node: Any) -> Statement:
        table = _range(node.relation if kind != "policy" else node.table)
        part = getattr(node, name_attr)
        return Statement(
            text,
            "create",
            kind,
            (table[0], part),
            table,
            creates=frozenset({_part(table, part)}),
            uses=frozenset({_whole("relation", table)}),
        )

    return read


def _create_statistics(text: str, node: Any) -> Statement:
    name = _name(node.defnames) if node.defnames else None
    creates = frozenset({("statistics", *name, None)}) if name else frozenset()
    return Statement(text, "create", "statistics", name, creates=creates)


def _create_event_trigger(text: str, node: Any) -> Statement:
    name = ("", node.trigname)
    return Statement(
        text, "create", "event trigger", name, creates=frozenset({("event trigger", *name, None)})
    )


def _create_schema(text: str, node: Any) -> Statement:
    name = (node.schemaname, node.schemaname)
    return Statement(text, "create", "schema", name, creates=frozenset({("schema", *name, None)}))


def _create_extension(text: str, node: Any) -> Statement:
    name = ("", node.extname)
    return Statement(
        text, "create", "extension", name, creates=frozenset({("extension", *name, None)})
    )


def _drop(text: str, node: Any) -> Statement:
    family, kind = OBJECT_KINDS.get(_enum(node.removeType), (None, None))
    if family is None:
        return Statement(text, "drop", _enum(node.removeType).lower())
    keys: set[Key] = set()
    first: Name | None = None
    table: Name | None = None
    for obj in node.objects:
        parts = _object_parts(obj)
        if kind in ("trigger", "rule", "policy"):
            table = _name(parts[:-1])
            name: Name = (table[0], parts[-1].sval)
            keys.add(_part(table, parts[-1].sval))
        elif family in ("schema", "extension"):
            name = (parts[-1].sval, parts[-1].sval) if family == "schema" else ("", parts[-1].sval)
            keys.add((family, *name, None))
        else:
            name = _name(parts)
            keys.add(_whole(family, name))
        first = first or name
    return Statement(
        text,
        "drop",
        kind,
        first,
        table,
        drops=frozenset(keys),
        concurrently=bool(node.concurrent),
        if_exists=bool(node.missing_ok),
    )


def _object_parts(obj: Any) -> Any:
    kind = type(obj).__name__
    if kind == "ObjectWithArgs":
        return obj.objname
    if kind == "TypeName":
        return obj.names
    if kind == "String":
        return (obj,)
    return obj  # a list of String


# ALTER TABLE subcommands -> (label, whether the part it names is created, dropped, changed to
# a form that needs new objects, or releases what its old form used). Subcommands not listed
# change nothing another statement waits for (statistics, storage, row level security …).
_SUBCOMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "AddColumn": ("add column", ("creates",)),
    "DropColumn": ("drop column", ("drops",)),
    "AddConstraint": ("add constraint", ("creates",)),
    "DropConstraint": ("drop constraint", ("drops",)),
    "AlterColumnType": ("alter column type", ("changes", "releases")),
    "ColumnDefault": ("alter column default", ("changes", "releases")),
    "DropIdentity": ("drop identity", ("releases",)),
    "AddIdentity": ("add identity", ()),
    "AttachPartition": ("attach partition", ()),
    "DetachPartition": ("detach partition", ()),
    "ValidateConstraint": ("validate constraint", ()),
}


def _alter_table(text: str, node: Any) -> Statement:
    table = _range(node.relation)
    family, kind = OBJECT_KINDS.get(_enum(node.objtype), ("relation", "table"))
    sets: dict[str, set[Key]] = {"creates": set(), "drops": set(), "changes": set()}
    sets["releases"] = set()
    uses: set[Key] = {_whole(family, table)}
    action = target = partition = bound = None
    for i, cmd in enumerate(node.cmds):
        sub = _enum(cmd.subtype)
        label, joins = _SUBCOMMANDS.get(sub, (_words(sub), ()))
        definition = cmd.def_
        part = cmd.name
        if sub == "AddColumn":
            part = definition.colname
        elif sub == "AddConstraint":
            part = definition.conname
            if definition.pktable is not None:  # a foreign key needs the table it references
                uses.add(_whole("relation", _range(definition.pktable)))
            if definition.indexname:  # … USING INDEX needs the index
                uses.add(_whole("relation", (table[0], definition.indexname)))
            elif _enum(definition.contype) in ("PRIMARY", "UNIQUE", "EXCLUSION"):
                # … builds an index of the constraint's name, which a foreign key rests on
                sets["creates"].add(_whole("relation", (table[0], part)))
        elif sub in ("AttachPartition", "DetachPartition"):
            partition = _range(definition.name)
            uses.add(_whole("relation", partition))
            if definition.bound is not None:
                bound = positions.bound(text, definition.name.location)
        elif sub == "ReplicaIdentity" and definition.name:  # … USING INDEX needs the index
            uses.add(_whole("relation", (table[0], definition.name)))
        elif sub == "ValidateConstraint":  # needs the constraint, added NOT VALID before
            uses.add(_part(table, part, family))
        elif sub == "ColumnDefault":
            label = "set default" if definition is not None else "drop default"
            joins = joins if definition is not None else ("releases",)
        if i == 0:
            action, target = label, part
        for joined in joins if part else ():
            sets[joined].add(_part(table, part, family))
    completes = frozenset(
        {_whole(family, table)} if kind == "index" and action == "attach partition" else ()
    )
    return Statement(
        text,
        "alter",
        kind,
        table,
        table,
        action,
        target,
        frozenset(sets["creates"]),
        frozenset(sets["drops"]),
        frozenset(sets["changes"]),
        frozenset(sets["releases"]),
        frozenset(uses),
        partition=partition,
        bound=bound,
        completes=completes,
    )


def _words(camel: str) -> str:
    return "".join(" " + c.lower() if c.isupper() else c for c in camel).strip()


def _alter_domain(text: str, node: Any) -> Statement:
    name = _name(node.typeName)
    key = frozenset({_whole("type", name)})
    return Statement(text, "alter", "domain", name, changes=key, releases=key)


def _alter_enum(text: str, node: Any) -> Statement:
    # RENAME VALUE names the old label (ADD VALUE has none)
    return Statement(
        text, "alter", "type", _name(node.typeName), target=node.newVal, renamed_from=node.oldVal
    )


def _alter_sequence(text: str, node: Any) -> Statement:
    name = _range(node.sequence)
    uses = frozenset(
        _whole("relation", _name(option.arg[:-1]))
        for option in node.options or ()
        if option.defname == "owned_by" and len(option.arg) > 1
    )
    return Statement(text, "alter", "sequence", name, uses=uses)


def _rename(text: str, node: Any) -> Statement:
    """ALTER … RENAME TO: `target` is the new name (renamed columns and constraints: kind None)."""
    kind = OBJECT_KINDS.get(_enum(node.renameType), (None, None))[1]
    if node.relation is not None:
        name: Name | None = _range(node.relation)
    else:
        name = _name(_object_parts(node.object)) if node.object is not None else None
    return Statement(text, "rename", kind, name, target=node.newname, renamed_from=node.subname)


def _comment(text: str, node: Any) -> Statement:
    return Statement(text, "comment", OBJECT_KINDS.get(_enum(node.objtype), (None, None))[1])


def _grant(text: str, node: Any) -> Statement:
    return Statement(text, "grant" if node.is_grant else "revoke")


_READERS: dict[str, Any] = {
    "CreateStmt": _create_table,
    "IndexStmt": _create_index,
    "CreateFunctionStmt": _create_function,
    "DefineStmt": _define,
    "CompositeTypeStmt": _create_type("composite type", "typevar", ranged=True),
    "CreateEnumStmt": _create_type("enum", "typeName"),
    "CreateRangeStmt": _create_type("range", "typeName"),
    "CreateDomainStmt": _create_type("domain", "domainname"),
    "ViewStmt": _create_relation("view", "view"),
    "CreateSeqStmt": _create_relation("sequence", "sequence"),
    "CreateForeignTableStmt": lambda text, node: _create_table(text, node.base),
    "CreateTableAsStmt": _create_matview,
    "CreateTrigStmt": _create_part("trigger", "trigname"),
    "RuleStmt": _create_part("rule", "rulename"),
    "CreatePolicyStmt": _create_part("policy", "policy_name"),
    "CreateSchemaStmt": _create_schema,
    "CreateStatsStmt": _create_statistics,
    "CreateEventTrigStmt": _create_event_trigger,
    "CreateExtensionStmt": _create_extension,
    "DropStmt": _drop,
    "AlterTableStmt": _alter_table,
    "AlterDomainStmt": _alter_domain,
    "AlterEnumStmt": _alter_enum,
    "AlterSeqStmt": _alter_sequence,
    "RenameStmt": _rename,
    "CommentStmt": _comment,
    "GrantStmt": _grant,
    "VariableSetStmt": lambda text, node: Statement(text, "set"),
}
