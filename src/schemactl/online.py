"""Online plans (`diff --online`, `online = true`): the same change, written so that writers
wait as little as PostgreSQL allows (README, "Online plans").

- Constraints are added NOT VALID (migra already writes them so) and validated in a
  transaction of their own, after a commit point: VALIDATE CONSTRAINT holds only SHARE UPDATE
  EXCLUSIVE, so reads and writes go on while it scans.
- `SET NOT NULL` on an existing column goes through a CHECK (col IS NOT NULL) added NOT VALID
  and validated so; PostgreSQL then sets NOT NULL without scanning the table, and the check
  is dropped.
- Every part starts with `SET LOCAL lock_timeout`, so a statement that would queue behind a
  long transaction (and make every later query queue behind it) gives up instead; `apply`
  then fails, rolls the part back, and can be run again.

Index builds (CREATE INDEX CONCURRENTLY) need parts that run outside a transaction; they are
not written yet (issue 16 stays open for them).
"""

from __future__ import annotations

from . import sqltext
from .engine.catalog import ident, literal
from .engine.statements import parse
from .sqlfiles import commit_point

COMMIT = (
    "-- Online: constraints are validated in a transaction of their own; reads and writes go "
    "on meanwhile.\n-- schemactl:commit"
)


def plan(up: str, lock_timeout: str) -> str:
    """`up` as an online plan (see the module docstring)."""
    statements, _ = sqltext.split(up)
    first: list[str] = []
    later: list[str] = []
    last: list[str] = []
    timeout = f"SET LOCAL lock_timeout = {literal(lock_timeout)};"
    for st in statements:
        text = st.text.strip() + ";"
        if commit_point(st) is not None:  # a part of its own already (enum values): timed too
            first.append(st.text[: st.lead].strip() + "\n" + timeout)
            text = st.text[st.lead :].strip() + ";"
        parsed = parse(text)
        if parsed.action == "validate constraint":
            later.append(text)
        elif parsed.action == "set not null" and parsed.quoted_table and parsed.target:
            table, column = parsed.quoted_table, ident(parsed.target)
            name = parsed.table[1] if parsed.table else "t"
            check = ident(f"{name}_{parsed.target}_online_not_null"[:63])
            check_sql = f"check ({column} IS NOT NULL) not valid"
            first.append(f"alter table {table} add constraint {check} {check_sql};")
            later.append(f"alter table {table} validate constraint {check};")
            # After every validation, so that none scans under its ACCESS EXCLUSIVE lock: no
            # scan here, the validated check proves it.
            last += [text, f"alter table {table} drop constraint {check};"]
        else:
            first.append(text)
    parts = [timeout, *first]
    if later:
        parts += [f"{COMMIT}\n{timeout}", *later, *last]
    return "\n\n".join(parts) + "\n"
