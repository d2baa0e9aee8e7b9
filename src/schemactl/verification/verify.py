"""Independent comparison of two databases, by normalised `pg_dump --schema-only` output.

migra's inspection misses some differences (a sequence's data type, an ICU collation's
locale, comments, ...), so a migration is trusted only when pg_dump — a different reader of
the catalogs — agrees that the result matches. The dump is cut into its TOC entries
(`-- Name: x; Type: T; Schema: s`), each normalised, and compared as a multiset keyed by
object; only column order inside a table is ignored, since ALTER TABLE cannot reorder
columns and no query depends on it.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from ..engine.kinds import NOT_DIFFED
from ..project.config import SchemaFilter
from ..scratch.pgserver import Sandbox

_HEADER = re.compile(
    r"^-- (?:Data for )?Name: (?P<name>.*?); Type: (?P<type>.*?); Schema: (?P<schema>.*?);"
)
_WITH_SCHEMA = re.compile(r"\bWITH SCHEMA (\S+?);?$", re.MULTILINE)
# PostgreSQL 18 names NOT NULL constraints and pg_dump writes a name that is not the default
# (`CONSTRAINT t_old_not_null NOT NULL` after a column rename, a partition's parent's name after
# a detach). Before 18 there are no such names, so a history made on one major would drift on
# another: a NOT NULL's name is not part of the schema, here or in the engine.
_NOT_NULL_NAME = re.compile(r'\bCONSTRAINT (?:"(?:[^"]|"")+"|\S+) (NOT NULL\b)')


@dataclass(frozen=True)
class Difference:
    """One object that differs: what was expected, what was found (normalised lines)."""

    object: str  # e.g. "TABLE public.sample"
    expected: tuple[str, ...]
    actual: tuple[str, ...]

    def describe(self, limit: int = 12) -> list[str]:
        """Return a short unified-diff style description (`-` expected, `+` actual)."""
        kind = next((k for k in NOT_DIFFED if self.object.startswith(k + " ")), None)
        note = (
            [
                f"  schemactl does not diff {kind} objects: write this change into the migration "
                "by hand "
                "(up and down; the expected definition is below), then run `schemactl verify`"
            ]
            if kind
            else []
        )
        if not self.expected:
            return [f"{self.object}: unexpected", *note] + [
                f"  + {ln}" for ln in self.actual[:limit]
            ]
        if not self.actual:
            return [f"{self.object}: missing", *note] + [
                f"  - {ln}" for ln in self.expected[:limit]
            ]
        out = [f"{self.object}: differs", *note]
        for ln in difflib.ndiff(list(self.expected), list(self.actual)):
            if ln.startswith(("- ", "+ ")):
                out.append(f"  {ln}")
        return out[: limit + 1 + len(note)]


# pg_dump object types that neither migra nor schemactl's own layer diff (docs/engine-notes.md);
# longest first, so that "PUBLICATION TABLE" is not taken for "PUBLICATION".
@dataclass
class Snapshot:
    """A database's schema as normalised pg_dump entries, keyed by object."""

    entries: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)


def snapshot(box: Sandbox, dbname: str, schemas: SchemaFilter) -> Snapshot:
    """Dump a scratch database's schema and normalise it."""
    return parse_dump(box.pg_dump(dbname, schemas.excluded_for_dump), schemas)


def parse_dump(text: str, schemas: SchemaFilter) -> Snapshot:
    """Cut pg_dump output into normalised entries, leaving out filtered schemas."""
    entries: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    key: str | None = None
    keep = False
    obj_type = ""
    body: list[str] = []

    def flush() -> None:
        if key is not None and keep and body:
            entries[key].append(_normalise(obj_type, body))

    for raw in text.splitlines():
        m = _HEADER.match(raw)
        if m:
            flush()
            obj_type, schema, name = m.group("type"), m.group("schema"), m.group("name")
            key = f"{obj_type} {name}" if schema == "-" else f"{obj_type} {schema}.{name}"
            keep = schemas.keeps(
                name if obj_type == "SCHEMA" else (None if schema == "-" else schema)
            )
            body = []
            continue
        if key is None:
            continue  # the preamble: SET lines and the like
        line = raw.strip()
        # psql meta lines: pg_dump >= 15.14 wraps its output in \restrict / \unrestrict
        # with a random key, different on every run.
        # SET lines are session settings pg_dump emits when they change between entries,
        # so they land in whichever entry happens to come first: not part of any object.
        if not line or line.startswith(("--", "\\", "SET ", "SELECT pg_catalog.set_config")):
            continue
        body.append(line)
    flush()
    if schemas.include:  # extensions have no Schema in their header; their WITH SCHEMA tells
        for k in [k for k in entries if k.startswith("EXTENSION ")]:
            m = _WITH_SCHEMA.search("\n".join(entries[k][0]))
            if m and not schemas.keeps(m.group(1).strip('"')):
                del entries[k]
    return Snapshot({k: sorted(v) for k, v in entries.items()})


def _normalise(obj_type: str, body: list[str]) -> tuple[str, ...]:
    lines = [ln.rstrip(",") if ln.endswith(",") else ln for ln in body]
    if obj_type in ("TABLE", "FOREIGN TABLE"):
        lines = [_NOT_NULL_NAME.sub(r"\1", ln) for ln in lines]
        # Column order is the one thing ALTER TABLE cannot reproduce: sort the column list.
        try:
            start = next(i for i, ln in enumerate(lines) if ln.endswith("("))
            end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(")"))
        except StopIteration:
            return tuple(lines)
        lines[start + 1 : end] = sorted(lines[start + 1 : end])
    return tuple(lines)


def describe(prefix: str, diffs: list[Difference]) -> list[str]:
    """Every difference's description, each line behind `prefix` (e.g. "up: ")."""
    return [f"{prefix}{line}" for d in diffs for line in d.describe()]


def compare(expected: Snapshot, actual: Snapshot) -> list[Difference]:
    """Return the objects that differ between two snapshots, sorted by object."""
    out: list[Difference] = []
    for key in sorted(set(expected.entries) | set(actual.entries)):
        e = expected.entries.get(key, [])
        a = actual.entries.get(key, [])
        if e != a:
            out.append(
                Difference(
                    key,
                    tuple(ln for body in e for ln in body),
                    tuple(ln for body in a for ln in body),
                )
            )
    return out
