"""Privileges and default privileges, which migra diffs only partly (`sql/privileges.sql`,
`sql/default_privileges.sql`): revokes run first, while every object of the old state exists;
grants run last, once every object of the new state does."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..catalog import bare, created_names, dropped_names, ident, rows
from ..kind import Diff, Kind, Phase


@dataclass(frozen=True)
class Grant:
    """One privilege on one object for one grantee (the owner: only a grant option)."""

    kind: str  # TABLE, SEQUENCE, FUNCTION, PROCEDURE, SCHEMA
    schema: str
    identity: str
    grantee: str  # quoted role name or PUBLIC
    privilege: str
    grantable: bool
    # Only PostgreSQL's built-in default (e.g. EXECUTE to PUBLIC on a function): an object
    # created by the migration has it already.
    is_default: bool = field(default=False, compare=False)
    # The owner's own grant option (GRANT … TO the owner WITH GRANT OPTION): its privilege is
    # implicit, so taking it back takes back the option only.
    to_owner: bool = field(default=False, compare=False)

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
        option = "grant option for " if self.to_owner else ""
        return f"revoke {option}{self._what} from {self.grantee};"


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


class Privileges(Kind):
    name = "privileges"

    def read(self, conn: Any, keeps: Any) -> tuple[set[Grant], DefaultPrivileges]:
        return read_grants(conn, keeps), read_default_privileges(conn, keeps)

    def emit(self, diff: Diff) -> None:
        (grants_before, defaults_before), (grants_after, defaults_after) = (
            diff.source[self.name],
            diff.target[self.name],
        )
        revokes, grants = grant_statements(diff.statements, grants_before, grants_after)
        default_revokes, default_grants = default_privilege_statements(
            defaults_before, defaults_after
        )
        diff.place(Phase.REVOKES, default_revokes + revokes)
        diff.place(Phase.GRANTS, grants + default_grants)


KIND = Privileges()
