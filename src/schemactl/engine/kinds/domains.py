"""Domains: schemainspect reads none (and lists domains over enums as enums); definitions
come from the catalog (`sql/domains.sql`), and the statements are placed among migra's."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from ...grammar.statements import parse
from ..kind import Diff, RowKind


@dataclass(frozen=True)
class Domain:
    """A domain's definition."""

    schema: str
    identity: str
    base_type: str
    collation: str | None
    default: str | None
    not_null: bool
    checks: tuple[str, ...]  # "name CHECK (...)", sorted by name

    @property
    def create_statement(self) -> str:
        parts = [f"create domain {self.identity} as {self.base_type}"]
        if self.collation:
            parts.append(f"collate {self.collation}")
        if self.default is not None:
            parts.append(f"default {self.default}")
        if self.not_null:
            parts.append("not null")
        parts += [f"constraint {c}" for c in self.checks]
        return " ".join(parts) + ";"

    def alter_statements(self, old: Domain) -> list[str] | None:
        """ALTER DOMAIN statements from `old` to this, or None if it must be re-created."""
        if (old.base_type, old.collation) != (self.base_type, self.collation):
            return None
        out = []
        name = self.identity
        if old.default != self.default:
            out.append(
                f"alter domain {name} "
                + (f"set default {self.default};" if self.default else "drop default;")
            )
        if old.not_null != self.not_null:
            out.append(f"alter domain {name} {'set' if self.not_null else 'drop'} not null;")
        for check in sorted(set(old.checks) - set(self.checks)):
            out.append(f"alter domain {name} drop constraint {check.split(' ', 1)[0]};")
        for check in sorted(set(self.checks) - set(old.checks)):
            out.append(f"alter domain {name} add constraint {check};")
        return out


def domain_statements(
    before: dict[str, Domain], after: dict[str, Domain]
) -> tuple[list[str], list[str], list[str]]:
    """Return (create, alter, drop) statements for domains. Creates go before the first table
    is created (tables use domains); drops after the last table is dropped."""
    create, alter, drop = [], [], []
    for name, new in sorted(after.items()):
        old = before.get(name)
        if old is None:
            create.append(new.create_statement)
            continue
        changes = new.alter_statements(old)
        if changes is None:  # a new base type: only drop and create can do it
            drop.append(f"drop domain {name};")
            create.append(new.create_statement)
        else:
            alter += changes
    drop += [f"drop domain {name};" for name in sorted(set(before) - set(after))]
    return create, alter, drop


def with_domains(
    statements: list[str], create: list[str], alter: list[str], drop: list[str]
) -> list[str]:
    """Place domain statements among migra's (docs/engine-notes.md, "domains").

    Creates and alters go right after the last schema/extension/type/collation creation (a
    domain may be over an enum or in a new schema, and tables and functions may use it).
    Drops go after the last statement that can still use the domain (table, column, view,
    function changes) and before types, schemas and extensions are dropped.
    """

    parsed = [parse(s.strip()) for s in statements]
    users = [
        i
        for i, st in enumerate(parsed)
        if st.is_("alter", "table")
        or st.is_("drop", "table", "view", "materialized view", "function", "procedure")
    ]
    after_users = max(users, default=-1) + 1
    bases = ("type", "schema", "extension", "collation")
    drops = [i for i, st in enumerate(parsed) if st.is_("drop", *bases)]
    at_drop = next((i for i in drops if i >= after_users), len(statements))
    out = statements[:at_drop] + drop + statements[at_drop:]
    creates = ("schema", "extension", "enum", "composite type", "range", "type", "collation")
    at_create = max((i for i, st in enumerate(parsed) if st.is_("create", *creates)), default=-1)
    at_create += 1
    if at_create > at_drop:
        at_create += len(drop)
    return out[:at_create] + create + alter + out[at_create:]


def _not_enums(inspector: Any, data: dict[str, Domain]) -> None:
    # schemainspect's enum query picks up domains over enums (same type category): they are
    # domains, created here, not enums.
    domains = {(d.schema, d.identity.rsplit(".", 1)[-1].strip('"')) for d in data.values()}
    inspector.enums = {
        k: e for k, e in inspector.enums.items() if (e.schema, e.name) not in domains
    }


def _emit(diff: Diff, before: dict[str, Domain], after: dict[str, Domain]) -> None:
    # Among migra's statements, after the other kinds read them (docs/engine-notes.md).
    diff.statements = with_domains(diff.statements, *domain_statements(before, after))


KIND = RowKind(
    "domains", Domain, attrgetter("identity"), covers=("DOMAIN",), adjust=_not_enums, emit=_emit
)
