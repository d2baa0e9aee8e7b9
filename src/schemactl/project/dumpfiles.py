"""A database's `pg_dump --schema-only` cut into schemas/ files as a person would keep them: one
file per object in the component folders `diff` loads in order, each table's file holding its
sequences, defaults, constraints, indexes, policies, comments and grants, its triggers in
triggers/ (after the functions they call), and names qualified only outside `public`.

pg_dump writes every object under a header (`-- Name: …; Type: …; Schema: …`) in an order that
loads; entries keep that order inside each file. Nothing is dropped: a kind this module has no
folder for goes to `other/`, and the kinds schemactl does not diff say so in their file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..grammar.positions import without_schema

_HEADER = re.compile(
    r"^-- Name: (?P<name>.*?); Type: (?P<type>.*?); Schema: (?P<schema>.*?); Owner: .*$"
)
# The folder of each kind that owns a file; dependent kinds go to their owner's file.
_FOLDERS = {
    "EXTENSION": "extensions",
    "SCHEMA": "schemas",
    "TYPE": "types",
    "DOMAIN": "types",
    "COLLATION": "types",
    "SEQUENCE": "sequences",
    "TABLE": "tables",
    "FOREIGN TABLE": "tables",
    "FUNCTION": "functions",
    "PROCEDURE": "functions",
    "AGGREGATE": "functions",
    "VIEW": "views",
    "MATERIALIZED VIEW": "views",
}
# How COMMENT and ACL entries name their object's kind, longest first.
_KINDS_NAMED = sorted(
    {
        *_FOLDERS,
        "COLUMN",
        "CONSTRAINT",
        "TRIGGER",
        "POLICY",
        "RULE",
        "INDEX",
        "EVENT TRIGGER",
        "TEXT SEARCH CONFIGURATION",
        "TEXT SEARCH DICTIONARY",
        "FOREIGN DATA WRAPPER",
        "SERVER",
        "LARGE OBJECT",
        "PUBLICATION",
        "SUBSCRIPTION",
        "STATISTICS",
        "OPERATOR",
        "CAST",
    },
    key=len,
    reverse=True,
)
_LAST = {"TABLE ATTACH": 1, "INDEX ATTACH": 2}  # the order within a file, else the dump's
_ON_RELATION = {"DEFAULT", "CONSTRAINT", "FK CONSTRAINT", "POLICY", "RULE", "ROW SECURITY"}
_SKIPPED = ("SET ", "SELECT pg_catalog.set_config(", "\\restrict ", "--")
_TRAILING = ("--", "\\unrestrict ")
_RELATION_IN = {
    "INDEX": re.compile(r"^CREATE (?:UNIQUE )?INDEX .*? ON (?:ONLY )?(?P<rel>\S+) USING", re.S),
    "SEQUENCE": re.compile(r"^ALTER TABLE (?:ONLY )?(?P<rel>\S+) ALTER COLUMN", re.S),
    "STATISTICS": re.compile(r"^CREATE STATISTICS .*? FROM (?P<rel>\S+?);", re.S),
    "TRIGGER": re.compile(r" ON (?P<rel>\S+) (?:FOR|REFERENCING|NOT|FROM|DEFERRABLE|INITIALLY)"),
}
_OWNED_BY = re.compile(r"^ALTER SEQUENCE (?P<seq>\S+) OWNED BY (?P<rel>\S+)\.[^.]+;$", re.S)
_ATTACH_INDEX = re.compile(r"^ALTER INDEX \S+ ATTACH PARTITION (?P<index>\S+);$", re.S)


@dataclass
class Entry:
    """One object of the dump: its header's fields and its statements."""

    kind: str
    schema: str  # "-" for objects in no schema
    name: str
    text: str


@dataclass
class Layout:
    """schemas/ as files (path relative to schemas/ -> text), and what they mention."""

    files: dict[str, str] = field(default_factory=dict)
    roles: set[str] = field(default_factory=set)  # roles GRANTs and policies name
    not_diffed: list[str] = field(default_factory=list)  # files holding kinds not diffed


def entries(dump: str) -> list[Entry]:
    """The objects of a plain `pg_dump --schema-only` script, in its order."""
    out: list[Entry] = []
    current: Entry | None = None
    lines: list[str] = []
    for raw in dump.splitlines():
        m = _HEADER.match(raw)
        if m:
            if current is not None:
                current.text = _statements(lines)
                out.append(current)
            current, lines = Entry(m["type"], m["schema"], m["name"], ""), []
        elif current is not None:
            lines.append(raw)
    if current is not None:
        current.text = _statements(lines)
        out.append(current)
    return [e for e in out if e.text]


def _statements(lines: list[str]) -> str:
    """An entry's statements without what pg_dump writes around them: session settings before
    the first (`SET default_tablespace = ''`), psql's `\\restrict` lines, its closing comment.
    Only at the edges: a function body may hold a line that starts with SET."""
    start, end = 0, len(lines)
    while start < end and (not lines[start].strip() or lines[start].startswith(_SKIPPED)):
        start += 1
    while end > start and (not lines[end - 1].strip() or lines[end - 1].startswith(_TRAILING)):
        end -= 1
    return "\n".join(lines[start:end])


def layout(
    dump: str, not_diffed: Iterable[str] = (), keep: Callable[[str | None], bool] = lambda _: True
) -> Layout:
    """The files of schemas/ that load to the database `dump` describes, for the schemas
    `keep` keeps (the config's include / exclude lists)."""
    found = [
        e
        for e in entries(dump)
        if keep(e.name if e.kind == "SCHEMA" else None if e.schema == "-" else e.schema)
    ]
    owned = {}  # a sequence a table owns (serial) goes with the table
    index_on = {}
    for e in found:
        if e.kind == "SEQUENCE OWNED BY" and (m := _OWNED_BY.match(e.text)):
            owned[m["seq"]] = m["rel"]
        elif e.kind == "INDEX" and (m := _RELATION_IN["INDEX"].match(e.text)):
            index_on[f"{e.schema}.{e.name}"] = m["rel"]
        elif e.kind == "CONSTRAINT":  # a key's index has the key's name
            table, _, key = e.name.partition(" ")
            index_on[f"{e.schema}.{key}"] = f"{e.schema}.{table}"
    views = {f"{e.schema}.{e.name}" for e in found if _FOLDERS.get(e.kind) == "views"}
    result = Layout()
    parts: dict[str, list[tuple[int, str]]] = {}
    skip = set(not_diffed)
    for e in found:
        folder, schema, name = _owner(e, owned, index_on, views)
        file = f"{folder}/{name if schema in ('public', '-') else f'{schema}.{name}'}.sql"
        text = without_schema(e.text)
        if e.kind in skip:
            text = f"-- {e.kind}: schemactl does not diff this kind; keep it by hand.\n{text}"
            result.not_diffed.append(file)
        # A partition is attached after its own indexes and keys exist, which the attach then
        # adopts (else it makes its own, and the file's CREATE INDEX would find the name taken).
        parts.setdefault(file, []).append((_LAST.get(e.kind, 0), text))
        result.roles |= _roles(e)
    result.files = {
        f: "\n\n".join(t for _, t in sorted(p, key=lambda x: x[0])) + "\n"
        for f, p in sorted(parts.items())
    }
    return result


def _owner(
    e: Entry, owned: dict[str, str], index_on: dict[str, str], views: set[str]
) -> tuple[str, str, str]:
    """(folder, schema, name) of the file an entry goes to."""
    if e.kind == "SCHEMA":
        return "schemas", "-", e.name
    if e.kind == "SEQUENCE" and (m := _RELATION_IN["SEQUENCE"].match(e.text)):
        return _relation(m["rel"], views)  # an identity column's sequence
    if e.kind in ("SEQUENCE", "SEQUENCE OWNED BY") and f"{e.schema}.{e.name}" in owned:
        return _relation(owned[f"{e.schema}.{e.name}"], views)
    if e.kind in _FOLDERS:
        return _FOLDERS[e.kind], e.schema, e.name.split("(")[0]
    if e.kind in _ON_RELATION:
        return _relation(f"{e.schema}.{e.name.split(' ')[0]}", views)
    if e.kind == "TABLE ATTACH":
        return "tables", e.schema, e.name
    if e.kind == "INDEX ATTACH" and (m := _ATTACH_INDEX.match(e.text)):
        return _relation(index_on.get(m["index"], m["index"]), views)
    if e.kind in ("INDEX", "STATISTICS") and (m := _RELATION_IN[e.kind].match(e.text)):
        return _relation(m["rel"], views)
    if e.kind == "TRIGGER" and (m := _RELATION_IN["TRIGGER"].search(e.text)):
        return "triggers", *_relation(m["rel"], views)[1:]
    if e.kind in ("COMMENT", "ACL"):
        return _described(e, owned, views)
    return "other", "-", re.sub(r"\W+", "_", f"{e.kind} {e.name}".lower()).strip("_")


def _described(e: Entry, owned: dict[str, str], views: set[str]) -> tuple[str, str, str]:
    """The file of the object a COMMENT or ACL entry is about ("TABLE t", "COLUMN t.c", …)."""
    kind = next((k for k in _KINDS_NAMED if e.name.startswith(k + " ")), e.name.split(" ")[0])
    name = e.name[len(kind) + 1 :]
    if kind == "COLUMN":
        return _relation(f"{e.schema}.{name.rsplit('.', 1)[0]}", views)
    if kind in ("CONSTRAINT", "TRIGGER", "POLICY", "RULE"):
        folder, schema, table = _relation(f"{e.schema}.{name.split(' ON ')[-1]}", views)
        return ("triggers" if kind == "TRIGGER" else folder), schema, table
    if kind == "SEQUENCE" and f"{e.schema}.{name}" in owned:
        return _relation(owned[f"{e.schema}.{name}"], views)
    if kind == "SCHEMA":
        return "schemas", "-", name
    if kind not in _FOLDERS:
        return "other", "-", re.sub(r"\W+", "_", f"{kind} {name}".lower()).strip("_")
    return _FOLDERS[kind], e.schema, name.split("(")[0]


def _relation(qualified: str, views: set[str]) -> tuple[str, str, str]:
    schema, _, name = qualified.partition(".")
    return ("views" if qualified in views else "tables"), schema, name


_GRANTEES = re.compile(r"\bTO ((?:[\w\"$]+(?:, )?)+)(?: WITH GRANT OPTION)?;", re.I)
_POLICY_ROLES = re.compile(r"\bTO ((?:[\w\"$]+(?:, )?)+)\b", re.I)
_NOT_ROLES = {"public", "current_user", "session_user", "current_role"}


def _roles(e: Entry) -> set[str]:
    """Roles a GRANT or policy names (they must exist where the files load)."""
    if e.kind == "ACL":
        found = [m[1] for m in _GRANTEES.finditer(e.text)]
    elif e.kind == "POLICY":
        found = [m[1] for m in _POLICY_ROLES.finditer(e.text)]
    else:
        return set()
    names = {n.strip().strip('"') for group in found for n in group.split(",")}
    return {n for n in names if n and n.lower() not in _NOT_ROLES}
