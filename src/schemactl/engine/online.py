"""Online plans (`diff --online`, `online = true`): the same change, written so that writers
wait as little as PostgreSQL allows (README, "Online plans").

- Indexes on tables that exist (and are not partitioned: PostgreSQL builds those only in a
  transaction) are built and dropped CONCURRENTLY, each in a part of its own that runs outside
  a transaction (`-- schemactl:commit no-transaction`). Reads and writes go on meanwhile. Such
  a build is written IF NOT EXISTS, and the runner drops the INVALID index an interrupted
  build leaves (concurrent_builds.py), so the next `apply` resumes the migration there.
- A changed index is built under a temporary name first, then the old one is dropped and the
  new one renamed: queries never go without an index.
- Constraints are added NOT VALID (migra already writes them so) and validated in a
  transaction of their own, after a commit point: VALIDATE CONSTRAINT holds only SHARE UPDATE
  EXCLUSIVE, so reads and writes go on while it scans.
- `SET NOT NULL` on an existing column goes through a CHECK (col IS NOT NULL) added NOT VALID
  and validated so; PostgreSQL then sets NOT NULL without scanning the table, and the check
  is dropped.
- Every transactional part starts with `SET LOCAL lock_timeout`, so a statement that would
  queue behind a long transaction (and make every later query queue behind it) gives up
  instead; `apply` then rolls the part back, and runs it again (`--retry-on-lock`) or stops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..grammar import sqltext
from ..grammar.positions import index_name
from ..grammar.records import Statement
from ..grammar.statements import parse
from ..project.sqlfiles import commit_point
from .catalog import ident, literal

COMMIT = (
    "-- Online: constraints are validated in a transaction of their own; reads and writes go "
    "on meanwhile.\n-- schemactl:commit"
)
OUTSIDE = "-- schemactl:commit no-transaction"


@dataclass(frozen=True)
class Existing:
    """What the database holds before the migration, quoted as migra writes names: its
    ordinary tables (not partitioned), and each index's table."""

    tables: frozenset[str] = frozenset()
    indexes: Mapping[str, str] = field(default_factory=dict)


def plan(up: str, lock_timeout: str, existing: Existing) -> str:
    """`up` as an online plan (see the module docstring)."""
    statements, _ = sqltext.split(up)
    timeout = f"SET LOCAL lock_timeout = {literal(lock_timeout)};"
    texts = [st.text.strip() + ";" for st in statements]
    parsed = [parse(st.text[st.lead :].strip() + ";") for st in statements]
    dropped = {p.quoted for p in parsed if p.is_("drop", "table")}

    def concurrent(p: Statement) -> bool:
        table = p.quoted_table if p.verb == "create" else existing.indexes.get(p.quoted or "")
        return p.kind == "index" and not p.concurrently and table in existing.tables - dropped

    built = {p.quoted for p in parsed if p.is_("create", "index") and concurrent(p)}
    changed = {p.quoted for p in parsed if p.is_("drop", "index") and concurrent(p)} & built

    blocks: list[list[str]] = [[timeout]]  # a list per part: its statements
    later: list[str] = []
    last: list[str] = []

    def outside(statement: str) -> None:
        blocks.append([f"{OUTSIDE}\n{statement}"])
        blocks.append([f"-- schemactl:commit\n{timeout}"])

    for st, text, p in zip(statements, texts, parsed, strict=True):
        if commit_point(st) is not None:  # a part of its own already (enum values): timed too
            blocks.append([st.text[: st.lead].strip() + "\n" + timeout])
            text = st.text[st.lead :].strip() + ";"
        if p.is_("drop", "index") and concurrent(p):
            if p.quoted not in changed:  # else: dropped once its replacement is built
                outside(f"DROP INDEX CONCURRENTLY IF EXISTS {p.quoted};")
        elif p.is_("create", "index") and concurrent(p) and p.name:
            options, name = index_name(text)
            if p.quoted in changed and name:
                temporary = ident(f"{p.name[1][:57]}_ccnew")
                temp_text = text[: name[0]] + temporary + text[name[1] :]
                outside(_concurrently(temp_text, options))
                outside(f"DROP INDEX CONCURRENTLY IF EXISTS {p.quoted};")
                schema = ident(p.name[0])
                blocks[-1].append(f"ALTER INDEX {schema}.{temporary} RENAME TO {ident(p.name[1])};")
            else:
                outside(_concurrently(text, options))
        elif p.action == "validate constraint":
            later.append(text)
        elif p.action == "set not null" and p.quoted_table and p.target:
            table, column = p.quoted_table, ident(p.target)
            name_ = p.table[1] if p.table else "t"
            check = ident(f"{name_}_{p.target}_online_not_null"[:63])
            check_sql = f"check ({column} IS NOT NULL) not valid"
            blocks[-1].append(f"alter table {table} add constraint {check} {check_sql};")
            later.append(f"alter table {table} validate constraint {check};")
            # After every validation, so that none scans under its ACCESS EXCLUSIVE lock: no
            # scan here, the validated check proves it.
            last += [text, f"alter table {table} drop constraint {check};"]
        else:
            blocks[-1].append(text)
    if later:
        blocks.append([f"{COMMIT}\n{timeout}", *later, *last])
    # A part that only sets the timeout (after the last build, say) does nothing: left out.
    kept = [b for b in blocks if len(b) > 1 or not b[0].endswith(timeout)]
    return "\n\n".join(s for b in kept for s in b) + "\n"


def _concurrently(text: str, options: int) -> str:
    return text[:options] + " CONCURRENTLY IF NOT EXISTS" + text[options:]
