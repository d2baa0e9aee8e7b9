"""Statement order from the dependencies PostgreSQL records (`pg_depend`), not from positions
in a list (docs/engine-notes.md, "Order from dependencies").

Every statement says, through its parsed record (`statements.parse`), what it creates, drops,
changes and names; both databases' catalogs say what each object needs. The edges:

- a statement that creates or changes an object runs after the statements creating what that
  object needs in the target database (a domain after the function in its CHECK, a table after
  its column types, a foreign key after the referenced unique index, and after every
  partition's index is attached to it);
- a statement that drops an object runs after the statements that drop or release what needed
  it in the source database (a function after the domain whose CHECK calls it), and after
  the statements dropping parts of it (a constraint before its table);
- a statement that creates a name runs after the statement that drops that name, including
  what a drop takes with it (a renamed table's primary key index is created once the old
  table, and the index that had its name, are gone).

Among statements no edge orders, the given order (migra's, with this package's corrections)
is kept: the sort always takes the earliest ready statement.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..grammar.statements import Key, Statement, parse
from .catalog import rows
from .kind import Diff, Kind

Whole = tuple[str, str, str]  # (family, schema, name): an object without its parts


@dataclass(frozen=True)
class Dependencies:
    """One database's dependencies between its objects."""

    needs: dict[Key, frozenset[Whole]] = field(default_factory=dict)
    goes_with: dict[Whole, frozenset[Whole]] = field(default_factory=dict)
    parts: dict[Whole, dict[str, frozenset[Whole]]] = field(default_factory=dict)

    def needed_by(self, key: Key, apart: frozenset[Key] = frozenset()) -> frozenset[Whole]:
        """What `key` needs, itself excluded. For a whole object: what it and its parts need,
        leaving out the parts in `apart` (created by statements of their own)."""
        if key[3] is not None or not apart:
            return self.needs.get(key, frozenset())
        found = set(self.needs.get((*key[:3], ""), ()))
        for part, wanted in self.parts.get(key[:3], {}).items():
            if (*key[:3], part) not in apart:
                found |= wanted
        return frozenset(found)


def read(conn: Any, keeps: Any) -> Dependencies:
    """Read `pg_depend` (sql/dependencies.sql) for the objects in the schemas `keeps` accepts,
    naming both sides from sql/dependency_objects.sql."""
    named = {(row[0], row[1]): row[2:] for row in rows(conn, "dependency_objects")}
    found = []
    for classid, objid, column, refclassid, refobjid, deptype in rows(conn, "dependencies"):
        dependent, referenced = named.get((classid, objid)), named.get((refclassid, refobjid))
        if dependent is None or referenced is None or dependent[1].startswith(_SYSTEM):
            continue
        family, schema, name, part = dependent
        if keeps(schema):
            found.append((family, schema, name, part or column, *referenced[:3], deptype))
    return from_rows(found)


_SYSTEM = ("pg_catalog", "information_schema", "pg_toast")


def from_rows(found: Iterable[tuple[Any, ...]]) -> Dependencies:
    """Dependencies from rows of sql/dependencies.sql: (family, schema, name, part, referenced
    family, schema, name, deptype)."""
    needs: dict[Key, set[Whole]] = defaultdict(set)
    with_: dict[Whole, set[Whole]] = defaultdict(set)
    for family, schema, name, part, r_family, r_schema, r_name, deptype in found:
        whole, ref = (family, schema, name), (r_family, r_schema, r_name)
        if whole == ref:
            continue
        if deptype == "n":
            needs[(family, schema, name, part)].add(ref)
            needs[(family, schema, name, None)].add(ref)
            if part is None:  # the object itself, apart from any of its parts
                needs[(family, schema, name, "")].add(ref)
        elif part is None:  # auto or internal: a whole object dropped with what it references
            # (an index with its table). A part (a foreign key's trigger on the table it
            # references) goes, but its own object stays.
            with_[ref].add(whole)
    parts: dict[Whole, dict[str, frozenset[Whole]]] = defaultdict(dict)
    for key, wanted in needs.items():
        if key[3]:
            parts[key[:3]][key[3]] = frozenset(wanted)
    return Dependencies(
        {k: frozenset(v) for k, v in needs.items()},
        {k: frozenset(_closure(k, with_)) for k in with_},
        dict(parts),
    )


def _closure(start: Whole, edges: dict[Whole, set[Whole]]) -> set[Whole]:
    seen: set[Whole] = set()
    todo = list(edges.get(start, ()))
    while todo:
        item = todo.pop()
        if item not in seen and item != start:
            seen.add(item)
            todo += edges.get(item, ())
    return seen


def order(statements: list[str], before: Dependencies, after: Dependencies) -> list[str]:
    """The statements, each after the ones it depends on (see the module docstring)."""
    parsed = [parse(s.strip()) for s in statements]
    edges = _edges(parsed, before, after)
    if not edges:
        return statements
    placed = _stable_topological(len(statements), edges)
    return _without_repeated_index_creates([statements[i] for i in placed])


def _edges(
    parsed: list[Statement], before: Dependencies, after: Dependencies
) -> dict[int, set[int]]:
    """Statement index -> the indices of the statements that must run before it."""
    creators: dict[Whole, list[int]] = defaultdict(list)
    created_parts = frozenset(k for st in parsed for k in st.creates if k[3] is not None)
    droppers: dict[Whole, list[int]] = defaultdict(list)  # explicit and implicit drops
    whole_droppers: dict[Whole, list[int]] = defaultdict(list)
    part_creators: dict[Key, list[int]] = defaultdict(list)
    completers: dict[Whole, list[int]] = defaultdict(list)  # partition indexes attached
    for i, st in enumerate(parsed):
        for key in st.completes:
            completers[key[:3]].append(i)
        for key in st.creates:
            if key[3] is None:
                creators[key[:3]].append(i)
            else:
                part_creators[key].append(i)
        for key in st.drops:
            if key[3] is None:
                whole_droppers[key[:3]].append(i)
                droppers[key[:3]].append(i)
                for gone in before.goes_with.get(key[:3], ()):
                    droppers[gone].append(i)
    needs: dict[int, set[int]] = defaultdict(set)

    def add(after_these: Iterable[int], i: int) -> None:
        needs[i].update(j for j in after_these if j != i)

    def before_these(i: int, these: Iterable[int]) -> None:
        for j in these:
            if j != i:
                needs[j].add(i)

    for i, st in enumerate(parsed):
        own = {key[:3] for key in st.creates if key[3] is None}
        wanted = {u[:3] for u in st.uses}
        for key in st.creates | st.changes:
            wanted |= after.needed_by(key, created_parts) - {key[:3]}
        for whole in wanted - own:
            add(creators.get(whole, ()), i)
            # (the attaches that complete an index need not wait on one another)
            if not any(c[:3] == whole for c in st.completes):
                add(completers.get(whole, ()), i)
        for used in st.uses:
            if used[3] is not None:
                add(part_creators.get(used, ()), i)
        for key in st.creates:
            if key[3] is None:
                add(droppers.get(key[:3], ()), i)
        for key in st.drops:
            if key[3] is None:  # before a drop that would take it along (a partition's table),
                # unless what that drop removes needs it (a serial's sequence: the table first)
                before_these(
                    i,
                    (
                        j
                        for j in droppers.get(key[:3], ())
                        if j not in whole_droppers[key[:3]]
                        and not any(key[:3] in before.needed_by(k) for k in parsed[j].drops)
                    ),
                )
        for key in st.drops | st.releases:
            for whole in before.needed_by(key) - {key[:3]}:
                # also before a drop that takes it along (a serial's sequence with its table,
                # while another table's default still calls it)
                before_these(i, droppers.get(whole, ()))
            if key[3] is not None:  # a part goes before its whole object
                before_these(i, whole_droppers.get(key[:3], ()))
    return {i: s for i, s in needs.items() if s}


def _stable_topological(count: int, needs: dict[int, set[int]]) -> list[int]:
    """0..count-1, each after what it needs, else in the given order.

    Not graphlib: its order among ready nodes is unspecified and it stops at a cycle. Here a
    cycle (overloaded functions share a key, so the catalog can yield one) places the earliest
    statement still waiting, and the rest keep their edges.
    """
    waiting = {i: set(s) for i, s in needs.items()}
    users: dict[int, list[int]] = defaultdict(list)
    for i, s in waiting.items():
        for j in s:
            users[j].append(i)
    ready = [i for i in range(count) if not waiting.get(i)]
    heapq.heapify(ready)
    pending = set(range(count))
    out: list[int] = []
    while pending:
        i = heapq.heappop(ready) if ready else min(pending)
        if i not in pending:
            continue
        pending.discard(i)
        out.append(i)
        for user in users.get(i, ()):
            left = waiting[user]
            left.discard(i)
            if not left and user in pending:
                heapq.heappush(ready, user)
    return out


def _without_repeated_index_creates(statements: list[str]) -> list[str]:
    """Drop a CREATE INDEX identical to one already run with no drop of it between.

    migra treats an index that moves to a renamed table under its old name as changed, and
    also creates it with the new table: once ordered, the second create would fail."""
    live: set[str] = set()
    out = []
    for text in statements:
        st = parse(text.strip())
        if st.kind == "index" and st.verb == "create":
            if text.strip() in live:
                continue
            live.add(text.strip())
        elif st.verb == "drop" and st.kind == "index":
            live = {t for t in live if parse(t).name != st.name}
        out.append(text)
    return out


class DependencyOrder(Kind):
    name = "dependencies"

    def read(self, conn: Any, keeps: Any) -> Dependencies:
        return read(conn, keeps)

    def finish(self, diff: Diff, statements: list[str]) -> list[str]:
        return order(statements, diff.source[self.name], diff.target[self.name])


KIND = DependencyOrder()
