"""Renames declared in the DDL with sqldef's annotation, `-- @renamed from=old_name` (or
`/* @renamed from=old_name */`), so that `diff` writes RENAME instead of a drop and an add
that lose the values (README, "Renames").

The annotation goes where sqldef's users put it: after a column's or a table constraint's
definition, on its line; after `CREATE TABLE name` (a table); in or after `CREATE INDEX`
(an index), after `CREATE TYPE name AS ENUM` (the type) or after one of its labels (a value).
It only counts while the old name exists in the replayed history and the new one does not,
so it can stay in the DDL after the migration that applied it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from ..project.sqlfiles import SQLFile
from .catalog import ident, literal

_ANNOTATION = re.compile(r'@renamed\s+from\s*=\s*(?P<name>"(?:[^"]|"")+"|[^\s*]+)')
_DEFAULT_SCHEMA = "public"


@dataclass(frozen=True)
class Rename:
    """One declared rename, named as the target state names things."""

    kind: str  # table, column, constraint, not null, index, sequence, type, value
    schema: str
    owner: str | None  # the table of a column or constraint, the type of an enum value
    old: str
    new: str
    where: str  # file:line of the annotation

    def up(self) -> str:
        return self._sql(self.old, self.new)

    def down(self) -> str:
        return self._sql(self.new, self.old)

    def _sql(self, old: str, new: str) -> str:
        quote = literal if self.kind == "value" else ident
        owner = f"{ident(self.schema)}.{ident(self.owner)}" if self.owner else ""
        if self.kind == "not null":  # named from 18 on only: renamed where it exists
            from .kinds.not_null import rename

            return rename(owner, old, new)
        return _SQL[self.kind].format(
            s=ident(self.schema), owner=owner, old=quote(old), new=quote(new)
        )


_SQL = {
    "table": "alter table {s}.{old} rename to {new};",
    "column": "alter table {owner} rename column {old} to {new};",
    "constraint": "alter table {owner} rename constraint {old} to {new};",
    "index": "alter index {s}.{old} rename to {new};",
    "sequence": "alter sequence {s}.{old} rename to {new};",
    "type": "alter type {s}.{old} rename to {new};",
    "value": "alter type {owner} rename value {old} to {new};",
}


def declared(files: list[SQLFile]) -> list[Rename]:
    """Every rename the files annotate, in file order."""
    return [r for r, _ in annotated(files, _ANNOTATION, "@renamed")]


def annotated(
    files: list[SQLFile], pattern: re.Pattern[str], word: str
) -> list[tuple[Rename, str]]:
    """Every annotation `pattern` finds (its group `name`) in the files' comments, with the
    object it is attached to (a Rename whose `new` names it) where it names one."""
    out: list[tuple[Rename, str]] = []
    for f in files:
        if word not in f.text:
            continue
        statements = f.statements
        for i, st in enumerate(statements):
            for at, value in _annotations(st.text, pattern):
                own, where = st, st.offset + at
                if at < st.lead and i > 0:
                    # In the comments before this statement: on the line where the one before
                    # ends (`…; -- @renamed from=x`), it is that one's; above this one, not.
                    own = statements[i - 1]
                    if "\n" in f.text[own.offset + len(own.text) : where]:
                        continue
                line = f"{f.rel}:{_line(f, where)}"
                if (found := _attach(own.text, where - own.offset, value, line)) is not None:
                    out.append((found, value))
        if statements:  # after the last statement, on its line
            last = statements[-1]
            end = last.offset + len(last.text)
            tail = f.text[end:].split("\n", 1)[0]
            for _, value in _annotations(tail.lstrip(";"), pattern):
                line = f"{f.rel}:{_line(f, end)}"
                if (found := _attach(last.text, len(last.text), value, line)) is not None:
                    out.append((found, value))
    return out


def _line(f: SQLFile, offset: int) -> int:
    return f.text.count("\n", 0, offset) + 1


def _annotations(text: str, pattern: re.Pattern[str]) -> list[tuple[int, str]]:
    from pglast.parser import scan

    with contextlib.suppress(Exception):
        return [
            (t.start, _name(m["name"]) if pattern is _ANNOTATION else m["name"].strip())
            for t in scan(text)
            if t.name in ("SQL_COMMENT", "C_COMMENT")
            and (m := pattern.search(text[t.start : t.end + 1]))
        ]
    return []


def _name(written: str) -> str:
    if written.startswith('"'):
        return written[1:-1].replace('""', '"')
    return written.lower()


def _attach(text: str, at: int, old: str, where: str) -> Rename | None:
    """The rename an annotation at offset `at` of a statement declares (None: nothing it can
    name)."""
    from pglast import parse_sql
    from pglast.parser import ParseError, scan

    try:
        (raw,) = parse_sql(text)
    except (ParseError, ValueError):
        return None
    node: Any = raw.stmt
    kind = type(node).__name__
    if kind == "CreateStmt":
        schema, table = node.relation.schemaname or _DEFAULT_SCHEMA, node.relation.relname
        elements = [e for e in node.tableElts or () if e.location < at]
        if not elements:
            return Rename("table", schema, None, old, table, where)
        last = elements[-1]
        if type(last).__name__ == "ColumnDef":
            return Rename("column", schema, table, old, last.colname, where)
        if getattr(last, "conname", None):
            return Rename("constraint", schema, table, old, last.conname, where)
        return None
    if kind == "IndexStmt" and node.idxname:
        schema = node.relation.schemaname or _DEFAULT_SCHEMA
        return Rename("index", schema, None, old, node.idxname, where)
    if kind == "AlterTableStmt" and len(node.cmds) == 1:
        definition = node.cmds[0].def_
        if getattr(definition, "conname", None):
            schema = node.relation.schemaname or _DEFAULT_SCHEMA
            table = node.relation.relname
            return Rename("constraint", schema, table, old, definition.conname, where)
        return None
    if kind == "CreateEnumStmt":
        names = [n.sval for n in node.typeName]
        schema, name = (names[-2], names[-1]) if len(names) > 1 else (_DEFAULT_SCHEMA, names[-1])
        labels = [t for t in scan(text) if t.name == "SCONST" and t.start < at]
        if not labels:
            return Rename("type", schema, None, old, name, where)
        value = node.vals[len(labels) - 1].sval
        return Rename("value", schema, name, old, value, where)
    return None


_EXISTS = {
    "table": "SELECT to_regclass(%(old)s) IS NOT NULL AND to_regclass(%(new)s) IS NULL",
    "index": "SELECT to_regclass(%(old)s) IS NOT NULL AND to_regclass(%(new)s) IS NULL",
    "type": "SELECT to_regtype(%(old)s) IS NOT NULL AND to_regtype(%(new)s) IS NULL",
    "column": (
        "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass(%(owner)s) "
        "AND attname = %(old_name)s AND NOT attisdropped) AND NOT EXISTS (SELECT FROM "
        "pg_attribute WHERE attrelid = to_regclass(%(owner)s) AND attname = %(new_name)s "
        "AND NOT attisdropped)"
    ),
    "constraint": (
        "SELECT EXISTS (SELECT FROM pg_constraint WHERE conrelid = to_regclass(%(owner)s) "
        "AND conname = %(old_name)s) AND NOT EXISTS (SELECT FROM pg_constraint WHERE "
        "conrelid = to_regclass(%(owner)s) AND conname = %(new_name)s)"
    ),
    "value": (
        "SELECT EXISTS (SELECT FROM pg_enum WHERE enumtypid = to_regtype(%(owner)s) "
        "AND enumlabel = %(old_name)s) AND NOT EXISTS (SELECT FROM pg_enum WHERE "
        "enumtypid = to_regtype(%(owner)s) AND enumlabel = %(new_name)s)"
    ),
}
_ORDER = ("type", "value", "table", "column", "constraint", "not null", "index", "sequence")


def applicable(conn: Any, renames: list[Rename]) -> list[Rename]:
    """The renames that apply to the database behind `conn` (the replayed history): the old
    name exists there and the new one does not; in the order they must run (types and tables
    first, so that columns and values are found under their new owner's name)."""
    out = []
    tables = {r.new: r.old for r in renames if r.kind in ("table", "type")}
    with conn.cursor() as cur:
        for r in sorted(renames, key=lambda r: _ORDER.index(r.kind)):
            owner = tables.get(r.owner or "", r.owner)
            params = {
                "old": f"{ident(r.schema)}.{ident(r.old)}",
                "new": f"{ident(r.schema)}.{ident(r.new)}",
                "owner": f"{ident(r.schema)}.{ident(owner or '')}",
                "old_name": r.old,
                "new_name": r.new,
            }
            cur.execute(_EXISTS[r.kind], params)
            if cur.fetchone()[0]:
                out.append(r)
    return out


def make(box: Any, db: str, renames: list[Rename]) -> list[Rename]:
    """Make, in `db` (a copy of the replayed history), the renames that apply to it: migra then
    compares it with schemas/ and sees no drop and add. Returns the renames made, with the
    names PostgreSQL chose after the old ones (next function)."""
    with contextlib.closing(box.connect(db)) as conn, conn.cursor() as cur:
        applied = applicable(conn, renames)
        for r in applied:
            cur.execute(r.up())
        implied = _implied(cur, applied)
        for r in implied:
            cur.execute(r.up())
    return applied + implied


# The names PostgreSQL gives a table's keys, checks, indexes and serial sequences: they start
# with the table's name (and the column's), and follow a rename the way CREATE TABLE would
# name them, so that migra does not drop and rebuild a primary key because its table moved.
_CHILDREN = """
SELECT CASE contype WHEN 'n' THEN 'not null' ELSE 'constraint' END, conname
FROM pg_constraint WHERE conrelid = to_regclass(%(table)s)
UNION ALL
SELECT 'index', c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = to_regclass(%(table)s)
  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
UNION ALL
SELECT 'sequence', s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
WHERE d.refobjid = to_regclass(%(table)s) AND d.classid = 'pg_class'::regclass
  AND s.relkind = 'S' AND d.deptype IN ('a', 'i')
"""


def _implied(cur: Any, applied: list[Rename]) -> list[Rename]:
    out = []
    for r in applied:
        if r.kind == "table":
            table, before, after = r.new, f"{r.old}_", f"{r.new}_"
        elif r.kind == "column" and r.owner:
            table, before, after = r.owner, f"{r.owner}_{r.old}_", f"{r.owner}_{r.new}_"
        else:
            continue
        cur.execute(_CHILDREN, {"table": f"{ident(r.schema)}.{ident(table)}"})
        for kind, name in cur.fetchall():
            if name.startswith(before) and len(after + name[len(before) :]) <= 63:
                owner = table if kind in ("constraint", "not null") else None
                new = after + name[len(before) :]
                out.append(Rename(kind, r.schema, owner, name, new, r.where))
    return out


def around(up: str, down: str, applied: list[Rename]) -> tuple[str, str]:
    """`up` with the renames first, `down` with their reverse last (newest first)."""
    if not applied:
        return up, down
    renames_up = "\n\n".join(r.up() for r in applied)
    renames_down = "\n\n".join(r.down() for r in reversed(applied))
    return (
        renames_up + "\n\n" + up if up else renames_up + "\n",
        down.rstrip("\n") + "\n\n" + renames_down + "\n" if down.strip() else renames_down + "\n",
    )


def looks_renamed(statements: list[str], was: Any, wanted: Any) -> list[str]:
    """The annotations that would make a drop and a create a rename: a table dropped and one
    created with the same columns of the same types, or a column dropped and one of the same
    type added to the same table (said with the destructive refusal, and in the header and
    JSON of a pair written with --allow-destructive)."""
    from ..grammar.statements import parse

    dropped: dict[Any, list[str]] = {}
    added: dict[Any, list[str]] = {}
    gone_tables, new_tables = [], []
    for st in map(parse, statements):
        if st.action == "drop column" and st.quoted_table and st.target:
            dropped.setdefault(st.quoted_table, []).append(st.target)
        elif st.action == "add column" and st.quoted_table and st.target:
            added.setdefault(st.quoted_table, []).append(st.target)
        elif st.is_("drop", "table") and st.quoted in was.tables:
            gone_tables.append(st.quoted)
        elif st.is_("create", "table") and st.quoted in wanted.tables:
            new_tables.append(st.quoted)
    out = [
        f"if {old} was renamed to {new}, write `-- @renamed from={was.tables[old].name}` after "
        f"`CREATE TABLE {wanted.tables[new].name}` in schemas/: RENAME keeps the rows"
        for old in gone_tables
        for new in new_tables
        if _shape(was.tables[old]) == _shape(wanted.tables[new])
    ]
    for table, columns in dropped.items():
        before, after = was.tables.get(table), wanted.tables.get(table)
        if before is None or after is None:
            continue
        for old in columns:
            kind = before.columns[old].dbtypestr if old in before.columns else None
            for new in added.get(table, []):
                if new in after.columns and after.columns[new].dbtypestr == kind:
                    out.append(
                        f'if {table}."{old}" was renamed to "{new}", write '
                        f"`-- @renamed from={old}` after {new}'s definition in schemas/: "
                        "RENAME keeps the values"
                    )
    return out


def _shape(table: Any) -> list[tuple[str, str]]:
    return [(name, c.dbtypestr) for name, c in table.columns.items()]
