#!/usr/bin/env python3
"""Live traffic through a deploy: an expand/contract plan against a plain `diff` of the same
change, with real concurrent clients on a server this script (or the test) owns.

The change (README "Zero-downtime changes"): a column renamed (`accounts.username` → `login`),
`integer` → `bigint` on a column in a unique index (`accounts.points`), a NOT NULL column with
a volatile DEFAULT (`seen_at … DEFAULT clock_timestamp()`: added plainly, it rewrites the table)
and one filled by a backfill expression (`handle`), a table renamed (`events` → `activities`).

Old-application clients run a fixed mix (INSERT / UPDATE / SELECT on both tables, the old
names) from before the deploy; new-application clients (the new names, values only bigint
holds) start once the expand pair (or the plain migration) is applied; the old ones stop, then
the contract pair runs while the new ones go on. Each client writes only rows it owns (those
it inserted, and a share of the initial rows), so the last value it committed is the one the
table must hold at the end. Measured: transactions and failures per side, writes lost, the
longest client transaction, and the longest ACCESS EXCLUSIVE lock any session held on either
table (pg_locks, polled every few milliseconds).

  python scripts/traffic.py --rows 1000000     # both modes, on a server of its own
"""

from __future__ import annotations

import argparse
import contextlib
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

V1 = """
CREATE TABLE accounts (
  id bigserial PRIMARY KEY,
  username text NOT NULL,
  points integer NOT NULL,
  CONSTRAINT accounts_points_key UNIQUE (points)
);
CREATE TABLE events (
  id bigserial PRIMARY KEY,
  account_id bigint NOT NULL,
  kind text NOT NULL
);
"""
# Each change on its own, or all of them (`all`): what `schemas/` says after it.
CHANGES = ("rename-column", "bigint", "volatile-default", "backfill", "rename-table")


@dataclass(frozen=True)
class Shape:
    """The names and columns an application uses: the old one's, or the new one's after
    `changes`."""

    changes: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return "login" if "rename-column" in self.changes else "username"

    @property
    def events(self) -> str:
        return "activities" if "rename-table" in self.changes else "events"

    @property
    def big(self) -> bool:
        return "bigint" in self.changes

    @property
    def handle(self) -> bool:
        return "backfill" in self.changes

    def ddl(self, plain: bool) -> str:
        """`schemas/` after the changes (`plain`: a NOT NULL column gets a DEFAULT, which a
        plain migration needs to add it to rows at all)."""
        renamed = self.name != "username"
        columns = [  # (definition, annotation)
            ("id bigserial PRIMARY KEY", ""),
            (f"{self.name} text NOT NULL", "@renamed from=username" if renamed else ""),
            (f"points {'bigint' if self.big else 'integer'} NOT NULL", ""),
        ]
        if "volatile-default" in self.changes:
            columns.append(("seen_at timestamptz NOT NULL DEFAULT clock_timestamp()", ""))
        if self.handle:
            default = " DEFAULT ''" if plain else ""
            columns.append((f"handle text NOT NULL{default}", f"@backfill lower({self.name})"))
        columns.append(("CONSTRAINT accounts_points_key UNIQUE (points)", ""))
        lines = [
            f"  {d}{',' if i < len(columns) - 1 else ''}" + (f" -- {a}" if a else "")
            for i, (d, a) in enumerate(columns)
        ]
        events = self.events + (" ( -- @renamed from=events" if self.events != "events" else " (")
        return (
            "CREATE TABLE accounts (\n" + "\n".join(lines) + "\n);\n"
            f"CREATE TABLE {events}\n  id bigserial PRIMARY KEY,\n"
            "  account_id bigint NOT NULL,\n  kind text NOT NULL\n);\n"
        )


OLD_CLIENTS, NEW_CLIENTS = 4, 4
_BIG = 3_000_000_000  # beyond integer: only the new application writes such points


@dataclass
class Side:
    """What one side's clients did."""

    transactions: int = 0
    failures: list[str] = field(default_factory=list)
    longest: float = 0.0  # seconds
    accounts: dict[int, tuple[str, int]] = field(default_factory=dict)  # id -> (name, points)
    events: dict[int, str] = field(default_factory=dict)  # id -> kind
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Outcome:
    """One scenario's figures."""

    mode: str
    rows: int
    old: Side
    new: Side
    lost: list[str]
    exclusive_ms: float  # the longest ACCESS EXCLUSIVE hold on either table
    deploy_s: float  # expand (or the plain migration) applying, seconds
    rolled_back: bool = False
    retries: list[str] = field(default_factory=list)  # parts run again after lock_timeout

    def line(self) -> str:
        def side(s: Side) -> str:
            return (
                f"{s.transactions} tx, {len(s.failures)} failed, longest {s.longest * 1000:.0f} ms"
            )

        return (
            f"{self.mode:<15} rows={self.rows:<8} old: {side(self.old)}; new: {side(self.new)}; "
            f"lost {len(self.lost)}; longest exclusive hold {self.exclusive_ms:.0f} ms; "
            f"deploy {self.deploy_s:.2f} s; {len(self.retries)} part(s) retried after lock_timeout"
        )


class _Client(threading.Thread):
    """One application session: autocommit statements, each a transaction, timed."""

    def __init__(
        self, url: str, side: Side, shape: Shape, k: int, owned: list[int], big: bool = True
    ) -> None:
        super().__init__(daemon=True)
        self.url, self.side, self.shape, self.k, self.owned = url, side, shape, k, owned
        self.new = bool(shape.changes)
        self.big = big and shape.big  # a rollback must narrow what the new side wrote: not then
        self.stop = threading.Event()
        self.rng = random.Random(k * 7919 + self.new)

    def run(self) -> None:
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                self._one(conn, n)
        finally:
            conn.close()

    def _one(self, conn: Any, n: int) -> None:
        name_col, table = self.shape.name, self.shape.events
        base = (_BIG if self.big else 1_000_000_000 * (1 + self.new)) + self.k * 10_000_000 + n
        step = n % 5
        t0 = time.monotonic()
        try:
            with conn.cursor() as cur:
                if step == 0:
                    name = f"{'n' if self.new else 'o'}{self.k}-{n}"
                    if self.shape.handle:  # the new application fills its NOT NULL column
                        sql = (
                            f"INSERT INTO accounts ({name_col}, points, handle) VALUES (%s, %s, %s)"
                        )
                        values: tuple[Any, ...] = (name, base, name.lower())
                    else:
                        sql = f"INSERT INTO accounts ({name_col}, points) VALUES (%s, %s)"
                        values = (name, base)
                    cur.execute(sql + " RETURNING id", values)
                    (new_id,) = cur.fetchone()
                    self._wrote(new_id, name, base)
                    self.owned.append(new_id)
                elif step == 1 and self.owned:
                    row = self.rng.choice(self.owned)
                    name = f"{'N' if self.new else 'O'}{self.k}-{n}"
                    cur.execute(
                        f"UPDATE accounts SET {name_col} = %s, points = %s WHERE id = %s",
                        (name, base, row),
                    )
                    if cur.rowcount == 1:
                        self._wrote(row, name, base)
                elif step == 2 and self.owned:
                    cur.execute(
                        f"SELECT id, {name_col}, points FROM accounts WHERE id = %s",
                        (self.rng.choice(self.owned),),
                    )
                    cur.fetchall()
                elif step == 3:
                    kind = f"{'new' if self.new else 'old'}-{self.k}-{n}"
                    cur.execute(
                        f"INSERT INTO {table} (account_id, kind) VALUES (%s, %s) RETURNING id",
                        (self.rng.choice(self.owned) if self.owned else 1, kind),
                    )
                    (event,) = cur.fetchone()
                    with self.side.lock:
                        self.side.events[event] = kind
                else:
                    cur.execute(f"SELECT count(*) FROM {table} WHERE account_id = %s", (n % 50,))
                    cur.fetchall()
            with self.side.lock:
                self.side.transactions += 1
        except psycopg2.Error as e:
            with self.side.lock:
                self.side.failures.append(str(e).splitlines()[0])
            time.sleep(0.01)  # a broken client retries at once in real life; not a tight loop
        finally:
            elapsed = time.monotonic() - t0
            with self.side.lock:
                self.side.longest = max(self.side.longest, elapsed)

    def _wrote(self, row: int, name: str, points: int) -> None:
        with self.side.lock:
            self.side.accounts[row] = (name, points)


_EXCLUSIVE = (
    "SELECT pid, relation::int, coalesce(virtualtransaction, '') FROM pg_locks "
    "WHERE granted AND mode = 'AccessExclusiveLock' AND relation = ANY(%s::oid[])"
)


class _Locks(threading.Thread):
    """Polls pg_locks for ACCESS EXCLUSIVE on the two tables; keeps the longest hold."""

    def __init__(self, url: str, tables: list[int]) -> None:
        super().__init__(daemon=True)
        self.url, self.tables = url, tables
        self.stop = threading.Event()
        self.longest = 0.0

    def run(self) -> None:
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        seen: dict[tuple[int, int, str], float] = {}
        try:
            with conn.cursor() as cur:
                while not self.stop.is_set():
                    cur.execute(_EXCLUSIVE, (self.tables,))
                    now = time.monotonic()
                    held = {tuple(r) for r in cur.fetchall()}
                    for key in held:
                        seen.setdefault(key, now)  # type: ignore[arg-type]
                    for key in [k for k in seen if k not in held]:
                        self.longest = max(self.longest, now - seen.pop(key))
                    time.sleep(0.002)
        finally:
            conn.close()


def _project(root: Path) -> Any:
    from schemactl.project.config import load_config

    (root / "schemas").mkdir(parents=True)
    (root / "schemactl.toml").write_text('schemas = "schemas"\ngenerated = "generated"\n')
    (root / "schemas" / "app.sql").write_text(V1)
    return load_config(root)


def scenario(
    server: Any, rows: int, mode: str, rollback: bool = False, change: str = "all"
) -> Outcome:
    """Run one scenario ("expand-contract" or "plain") of one change (one of CHANGES, or
    "all") on a new database of `server`."""
    new_shape = Shape(frozenset(CHANGES if change == "all" else (change,)))
    from schemactl import api
    from schemactl.targets.runner import apply_migrations

    work = Path(tempfile.mkdtemp(prefix="schemactl-traffic-"))
    db = server.create_database("traffic")
    p = server.conn_params(db)
    url = f"postgresql://postgres@/{db}?host={p['host']}&port={p['port']}"
    try:
        config = _project(work)
        dev = dict(dev_url=url.replace(f"/{db}?", "/postgres?"))
        config = config.with_overrides(**dev)
        api.diff(config, "init")
        apply_migrations(config, url)
        with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO accounts (username, points) SELECT 'u' || g, g "
                "FROM generate_series(1, %s) g",
                (rows,),
            )
            cur.execute(
                "INSERT INTO events (account_id, kind) SELECT g, 'seed' "
                "FROM generate_series(1, %s) g",
                (max(rows // 10, 1),),
            )
            cur.execute("ANALYZE")
            cur.execute("SELECT 'accounts'::regclass::oid::int, 'events'::regclass::oid::int")
            tables = list(cur.fetchone())
            conn.commit()
        (work / "schemas" / "app.sql").write_text(new_shape.ddl(plain=mode == "plain"))
        api.diff(
            config, "deploy", expand_contract=mode == "expand-contract", allow_destructive=True
        )
        old, new = Side(), Side()
        shares = _shares(rows, OLD_CLIENTS + NEW_CLIENTS)
        olds = [_Client(url, old, Shape(), k, shares[k]) for k in range(OLD_CLIENTS)]
        news = [
            _Client(url, new, new_shape, k, shares[OLD_CLIENTS + k], not rollback)
            for k in range(NEW_CLIENTS)
        ]
        locks = _Locks(url, tables)
        locks.start()
        for c in olds:
            c.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        retries = _cli(work, "apply", "--db", url)  # expand (it stops before contract), or all
        deploy = time.monotonic() - t0
        for c in news:
            c.start()
        time.sleep(0.5)
        if rollback:  # both sides wrote in the window; back to the old schema
            for c in news:
                c.stop.set()
                c.join()
            _cli(work, "rollback", "--db", url, "--steps", "1")
            time.sleep(0.3)
            for c in olds:
                c.stop.set()
                c.join()
        else:
            for c in olds:
                c.stop.set()
                c.join()
            if mode == "expand-contract":
                retries += _cli(work, "apply", "--db", url, "--contract")
            time.sleep(0.3)
            for c in news:
                c.stop.set()
                c.join()
        locks.stop.set()
        locks.join()
        final = Shape() if rollback else new_shape
        lost = _lost(url, [old, new], final.name, final.events)
        found = Outcome(mode, rows, old, new, lost, locks.longest * 1000, deploy, rollback)
        found.retries = retries
        return found
    finally:
        server.drop_database(db)
        shutil.rmtree(work, ignore_errors=True)


def _cli(work: Path, *args: str) -> list[str]:
    """Run the real `schemactl` in its own process, as a deploy does (and so that its
    psycopg2 settings, such as the wait callback that lets Ctrl-C cancel a query, are its
    own and not the clients')."""
    done = subprocess.run(
        [sys.executable, "-m", "schemactl", *args], cwd=work, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"schemactl {args[0]} failed: {done.stderr}")
    return [line for line in done.stderr.splitlines() if "ran the part again" in line]


def _shares(rows: int, clients: int) -> list[list[int]]:
    """The initial rows each client may update: every `clients`-th, up to 200 each."""
    return [list(range(k + 1, rows + 1, clients))[:200] for k in range(clients)]


def _lost(url: str, sides: list[Side], name: str, table: str) -> list[str]:
    """Every committed write the final tables do not hold."""
    lost = []
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT id, {name}, points FROM accounts")
        accounts = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
        cur.execute(f"SELECT id, kind FROM {table}")
        events = dict(cur.fetchall())
    for side in sides:
        for row, value in side.accounts.items():
            if accounts.get(row) != value:
                lost.append(f"accounts {row}: wrote {value}, holds {accounts.get(row)}")
        for event, kind in side.events.items():
            if events.get(event) != kind:
                lost.append(f"{table} {event}: wrote {kind!r}, holds {events.get(event)!r}")
    return lost


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    from schemactl.scratch import pgserver

    box = pgserver.EphemeralServer(pgserver.find_binaries())
    try:
        for mode in ("plain", "expand-contract"):
            print(scenario(box, args.rows, mode).line(), flush=True)
    finally:
        box.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
