"""What each command needs of the database role it connects as, and the GRANT that gives a
privilege the server said is missing (README, "Least privileges").

A deploy role with few rights is the normal case, not a bug: the server's "permission denied
for schema schemactl" becomes one `error:` line naming the role, the object and the command,
a `hint:` with the statement that fixes it, and exit 12.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import PermissionDenied

# Commands that only read the ledger (the rest write it).
READS = frozenset({"status", "history", "renumber"})

_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")
_DENIED = re.compile(r"permission denied for (?P<kind>\w+(?: \w+)?) (?P<name>.+)$")
_OWNER = re.compile(r"must be owner of (?P<kind>\w+(?: \w+)?) (?P<name>.+)$")


def denied(error: Any, command: str, conn: Any, schema: str) -> PermissionDenied:
    """The error for a server's insufficient_privilege (SQLSTATE 42501) met by `command`
    outside the migrations' own statements (those report their file and line)."""
    message = error.diag.message_primary or str(error).strip().splitlines()[0]
    role = conn.info.user
    hint = grant_for(message, command, role, conn.info.dbname, schema)
    return PermissionDenied(
        f"{command}: role {role!r} lacks a privilege: {message}",
        hint=f"as the owner of the object (or a superuser), run: {hint}; the least privileges "
        "each command needs are in the README, 'Least privileges'",
    )


def grant_for(message: str, command: str, role: str, dbname: str, schema: str) -> str:
    """The statement that gives `role` what `message` (the server's) says it lacks."""
    who = _name(role)
    if m := _OWNER.match(message):
        return f"ALTER {m['kind'].upper()} {m['name']} OWNER TO {who} (or GRANT its owner TO {who})"
    m = _DENIED.match(message)
    kind, name = (m["kind"], m["name"]) if m else ("", "")
    if kind == "database":
        return (
            f"CREATE SCHEMA {_name(schema)} AUTHORIZATION {who}, or GRANT CREATE ON DATABASE "
            f"{_name(dbname)} TO {who}"
        )
    if kind == "schema":
        return f"GRANT USAGE ON SCHEMA {_name(name)} TO {who}"
    if kind in ("table", "sequence"):
        rights = "SELECT" if command in READS else "SELECT, INSERT, UPDATE, DELETE"
        return f"GRANT {rights} ON ALL TABLES IN SCHEMA {_name(schema)} TO {who}"
    return f"GRANT the privilege named above TO {who}"


def connect_hint(dbname: str | None, role: str | None) -> str:
    """The hint for a connection refused for lack of CONNECT."""
    return (
        f"as the database's owner, run: GRANT CONNECT ON DATABASE {_name(dbname or 'DB')} TO "
        f"{_name(role or 'ROLE')}"
    )


def _name(name: str) -> str:
    """`name` as a person would type it in a GRANT: quoted only where it must be."""
    return name if _PLAIN.fullmatch(name) else '"' + name.replace('"', '""') + '"'
