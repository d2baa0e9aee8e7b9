"""Backfills: the UPDATE after a `-- schemactl:commit backfill` line (expand/contract plans write
them, README "Zero-downtime changes"), run in batches that each commit on their own.

The statement is a plain `UPDATE table SET … WHERE predicate`, where the predicate picks the
rows still to fill (`"c" IS NULL`, a copy that differs from its source). So a batch never
changes a row twice and a run stopped partway continues where it stopped: a re-run finds the
rows already filled no longer match. Batches go by ranges of the table's pages (`ctid`, a
TID range scan from PostgreSQL 14 on), not by a key: every table has pages, not every table
has a key, and a range of pages is read without sorting what is left. A row that a client's
UPDATE moves behind the range already done is found by the next pass; passes go on until one
changes nothing. Each batch holds its row locks only until it commits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..connect import interrupts

BATCH_ROWS = 1000  # rows a batch aims at (as pgroll's default batch)
Progress = Callable[[str, int, int | None], None]

# Pages, and rows per page, of the table now: what a pass walks and how many pages a batch takes.
_SIZE = """
SELECT (pg_relation_size(c.oid) / current_setting('block_size')::int)::bigint,
       CASE WHEN c.relpages > 0 AND c.reltuples > 0 THEN c.reltuples / c.relpages ELSE 100 END
FROM pg_class c WHERE c.oid = to_regclass(%s)
"""


@dataclass(frozen=True)
class Backfill:
    """One backfill statement, read: its table (as written) and its text cut at its WHERE."""

    table: str
    columns: tuple[str, ...]  # the columns it sets
    head: str  # `UPDATE table SET …` up to (not including) WHERE
    where: str  # the predicate: the rows still to fill

    def batch(self, first: int, last: int) -> str:
        """The statement limited to the rows on pages [first, last)."""
        return (
            f"{self.head} WHERE ({self.where}) "
            f"AND ctid >= '({first},0)'::tid AND ctid < '({last},0)'::tid"
        )

    @property
    def remaining(self) -> str:
        """A query counting the rows still to fill (the progress bar's end)."""
        return f"SELECT count(*) FROM {self.table} WHERE ({self.where})"


def read(text: str) -> Backfill:
    """The backfill `text` holds (ValueError if it is not one UPDATE … WHERE … of one table,
    without FROM, WITH or RETURNING)."""
    from pglast import parse_sql
    from pglast.parser import ParseError, scan

    body = text.strip().rstrip(";").rstrip()
    try:
        (raw,) = parse_sql(body)
    except (ParseError, ValueError) as e:
        raise ValueError(f"a backfill must be one UPDATE statement ({e})") from None
    node: Any = raw.stmt
    if type(node).__name__ != "UpdateStmt" or node.whereClause is None:
        raise ValueError("a backfill must be an UPDATE with a WHERE that picks the rows to fill")
    if node.fromClause or node.withClause or node.returningClause:
        raise ValueError("a backfill UPDATE takes no FROM, WITH or RETURNING")
    depth, at = 0, -1
    for token in scan(body):
        word = body[token.start : token.end + 1]
        if word == "(":
            depth += 1
        elif word == ")":
            depth -= 1
        elif depth == 0 and word.upper() == "WHERE":
            at = token.start
    rel = node.relation
    table = ".".join(_quote(n) for n in (rel.schemaname, rel.relname) if n)
    columns = tuple(t.name for t in node.targetList)
    return Backfill(table, columns, body[:at].rstrip(), body[at + len("WHERE") :].strip())


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run(conn: Any, text: str, progress: Progress, label: str = "") -> int:
    """Run the backfill `text` on `conn` in batches, each its own transaction; return the rows
    it changed. `conn` is left in autocommit."""
    fill = read(text)
    label = label or f"backfill {fill.table} ({', '.join(fill.columns)})"
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(fill.remaining)
        total = int(cur.fetchone()[0])
    done = 0
    progress(label, 0, total)
    while True:  # passes: until one finds nothing (a row moved behind a pass is caught by the next)
        changed = _pass(conn, fill, functools.partial(_report, progress, label, done, total))
        done += changed
        if changed == 0:
            progress(label, done, done)
            return done


def _report(progress: Progress, label: str, done: int, total: int, more: int) -> None:
    progress(label, done + more, max(total, done + more))


def _pass(conn: Any, fill: Backfill, report: Callable[[int], None]) -> int:
    with conn.cursor() as cur:
        cur.execute(_SIZE, (fill.table,))
        pages, per_page = cur.fetchone()
    step = max(1, int(BATCH_ROWS / max(float(per_page), 1.0)))
    changed = 0
    conn.autocommit = False
    try:
        for first in range(0, int(pages) + 1, step):
            interrupts.checkpoint()  # between batches: what committed stays, and is not redone
            with conn.cursor() as cur:
                cur.execute(fill.batch(first, first + step))
                changed += max(cur.rowcount, 0)
            conn.commit()
            report(changed)
    finally:
        if not conn.autocommit:
            conn.rollback()
        conn.autocommit = True
    return changed
