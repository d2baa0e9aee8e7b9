"""Comments and privileges, which migra does not diff (or only partly): read with our own
queries (`sql/comments.sql`, `sql/privileges.sql`) and turned into COMMENT / GRANT / REVOKE.
Removals run first, while every object of the old state exists; additions run last, once
every object of the new state exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalog import bare, created_names, dropped_names, ident, literal, rows


@dataclass(frozen=True)
class Comment:
    """A COMMENT ON some object."""

    type: str  # as pg_identify_object names it: "table", "table column", "function", ...
    schema: str | None  # None: database-wide (event triggers)
    identity: str  # as COMMENT ON accepts it, e.g. public.t.id or c on public.t
    text: str
    owner: str  # the relation, function, type or schema it belongs to

    @property
    def target(self) -> str:
        """`TABLE public.t`, `CONSTRAINT c ON DOMAIN public.d`, ... for COMMENT ON."""
        kind = self.type
        if kind.endswith(" column"):
            return f"COLUMN {self.identity}"
        if kind == "domain constraint":
            name, _, domain = self.identity.partition(" on ")
            return f"CONSTRAINT {name} ON DOMAIN {domain}"
        if kind == "table constraint":
            return f"CONSTRAINT {self.identity}"
        if kind == "composite type":
            return f"TYPE {self.identity}"
        if kind == "statistics object":
            return f"STATISTICS {self.identity}"
        return f"{kind.upper()} {self.identity}"

    def statement(self, text: str | None) -> str:
        """COMMENT ON this object IS `text` (NULL removes it)."""
        return f"comment on {self.target} is {'null' if text is None else literal(text)};"


def read_comments(conn: Any, keeps: Any) -> dict[tuple[str, str], Comment]:
    """Return the comments on objects in the schemas `keeps(schema)` accepts."""
    found = (Comment(*row) for row in rows(conn, "comments"))
    return {(c.type, c.identity): c for c in found if keeps(c.schema)}


def comment_statements(
    statements: list[str],
    before: dict[tuple[str, str], Comment],
    after: dict[tuple[str, str], Comment],
) -> tuple[list[str], list[str]]:
    """Return (first, last): comments to remove before anything else runs (every object of
    the old state still exists then), and comments to set after everything else (every
    object of the new state exists then), including those on objects the migration
    re-creates (a new object starts without a comment)."""
    recreated, dropped = created_names(statements), dropped_names(statements)
    # Objects the migration drops take their comments with them.
    first = [
        c.statement(None)
        for key, c in before.items()
        if key not in after and bare(c.owner) not in dropped
    ]
    last = [
        c.statement(c.text)
        for key, c in after.items()
        if key not in before or before[key].text != c.text or bare(c.owner) in recreated
    ]
    return first, last


@dataclass(frozen=True)
class Grant:
    """One privilege on one object for one grantee (not the owner)."""

    kind: str  # TABLE, SEQUENCE, FUNCTION, PROCEDURE, SCHEMA
    schema: str
    identity: str
    grantee: str  # quoted role name or PUBLIC
    privilege: str
    grantable: bool
    # Only PostgreSQL's built-in default (e.g. EXECUTE to PUBLIC on a function): an object
    # created by the migration has it already.
    is_default: bool = field(default=False, compare=False)

    @property
    def owner(self) -> str:
        """The object the privilege is on, as `bare` writes it (the table, for a column)."""
        return bare(self.identity.split("|", 1)[0])

    @property
    def _what(self) -> str:
        """`select on TABLE public.t`, or `select (id) on TABLE public.t` for a column."""
        if self.kind == "COLUMN":
            table, column = self.identity.split("|", 1)
            return f"{self.privilege.lower()} ({column}) on TABLE {table}"
        return f"{self.privilege.lower()} on {self.kind} {self.identity}"

    def grant(self) -> str:
        option = " with grant option" if self.grantable else ""
        return f"grant {self._what} to {self.grantee}{option};"

    def revoke(self) -> str:
        return f"revoke {self._what} from {self.grantee};"


def read_grants(conn: Any, keeps: Any) -> set[Grant]:
    """Return the non-owner privileges on objects in the schemas `keeps(schema)` accepts."""
    return {g for g in (Grant(*row) for row in rows(conn, "privileges")) if keeps(g.schema)}


def grant_statements(
    statements: list[str], before: set[Grant], after: set[Grant]
) -> tuple[list[str], list[str]]:
    """Return (first, last): revokes while every old object still exists, grants once every
    new object exists, including grants on objects the migration re-creates."""
    recreated, dropped = created_names(statements), dropped_names(statements)
    gone = before - after
    first = [g.revoke() for g in sorted(gone, key=_grant_key) if g.owner not in dropped]
    last = [
        g.grant()
        for g in sorted(after, key=_grant_key)
        if (g not in before or g.owner in recreated) and not (g.is_default and g.owner in recreated)
    ]
    return first, last


def _grant_key(g: Grant) -> tuple[str, str, str, str]:
    return (g.kind, g.identity, g.grantee, g.privilege)


_OBJECT_TYPES = {"r": "tables", "S": "sequences", "f": "functions", "T": "types", "n": "schemas"}
# (role, schema or None, object type) -> {"actual"|"default": {(grantee, privilege, grantable)}}
DefaultPrivileges = dict[tuple[str, str | None, str], dict[str, set[tuple[str, str, bool]]]]


def read_default_privileges(conn: Any, keeps: Any) -> DefaultPrivileges:
    """Return ALTER DEFAULT PRIVILEGES entries (global ones, and those of kept schemas)."""
    out: DefaultPrivileges = {}
    for role, schema, objtype, kind, grantee, privilege, grantable in rows(
        conn, "default_privileges"
    ):
        if schema is not None and not keeps(schema):
            continue
        entry = out.setdefault((role, schema, objtype), {"actual": set(), "default": set()})
        entry[kind].add((grantee, privilege, grantable))
    return out


def default_privilege_statements(
    before: DefaultPrivileges, after: DefaultPrivileges
) -> tuple[list[str], list[str]]:
    """Return (revokes, grants) of ALTER DEFAULT PRIVILEGES that take `before` to `after`."""
    revokes, grants = [], []
    for key in sorted(set(before) | set(after), key=lambda k: (k[0], k[1] or "", k[2])):
        role, schema, objtype = key
        old = before[key]["actual"] if key in before else after[key]["default"]
        new = after[key]["actual"] if key in after else before[key]["default"]
        prefix = f"alter default privileges for role {role}" + (
            f" in schema {ident(schema)}" if schema else ""
        )
        what = _OBJECT_TYPES.get(objtype, objtype)
        for grantee, privilege, _ in sorted(old - new):
            revokes.append(f"{prefix} revoke {privilege.lower()} on {what} from {grantee};")
        for grantee, privilege, grantable in sorted(new - old):
            option = " with grant option" if grantable else ""
            grants.append(f"{prefix} grant {privilege.lower()} on {what} to {grantee}{option};")
    return revokes, grants
