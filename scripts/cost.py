#!/usr/bin/env python3
"""Projected against measured: what `schemactl plan` says each kind of hazard will take on a
table of N rows, against what applying it then takes (README, "What a migration will cost
there"). Each case is its own migration, applied and rolled back in turn:

  rewrite        ALTER COLUMN … TYPE bigint (the heap copied, the primary key built again)
  index          CREATE INDEX
  index_online   CREATE INDEX CONCURRENTLY
  check          ADD CONSTRAINT … CHECK (scanned under ACCESS EXCLUSIVE)
  check_online   ADD … NOT VALID, then VALIDATE CONSTRAINT in a transaction of its own

  python scripts/cost.py --rows 1000000 --rows 4000000          # a target in memory, as scratch
  python scripts/cost.py --rows 1000000 --durable                 # fsync, full pages, WAL, on disk
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TABLE = "CREATE TABLE big (id bigint PRIMARY KEY, n integer NOT NULL, label text, at timestamptz);"
# name, up, down, the hazard whose projection is compared
CASES = [
    ("rewrite", "ALTER TABLE big ALTER COLUMN n TYPE bigint;",
     "ALTER TABLE big ALTER COLUMN n TYPE integer;", "rewrite"),
    ("index", "CREATE INDEX big_n ON big (n);", "DROP INDEX big_n;", "index-build"),
    ("index_online", "-- schemactl:no-transaction\nCREATE INDEX CONCURRENTLY big_n ON big (n);",
     "DROP INDEX big_n;", "index-build"),
    ("check", "ALTER TABLE big ADD CONSTRAINT big_n_pos CHECK (n > 0);",
     "ALTER TABLE big DROP CONSTRAINT big_n_pos;", "validation-scan"),
    ("check_online",
     "SET LOCAL lock_timeout = '5s';\n"
     "ALTER TABLE big ADD CONSTRAINT big_n_pos CHECK (n > 0) NOT VALID;\n"
     "-- schemactl:commit\nALTER TABLE big VALIDATE CONSTRAINT big_n_pos;",
     "ALTER TABLE big DROP CONSTRAINT big_n_pos;", "validation-scan"),
]  # fmt: skip
# What a durable production server runs with (the scratch servers run without).
DURABLE = {
    "fsync": "on",
    "full_page_writes": "on",
    "synchronous_commit": "on",
    "wal_level": "replica",
}


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `schemactl` in project `root`."""
    return subprocess.run(
        [sys.executable, "-m", "schemactl", *args], cwd=root, capture_output=True, text=True
    )


def project(root: Path) -> Path:
    """A project whose first migration makes `big`."""
    (root / "generated").mkdir(parents=True)
    (root / "schemas").mkdir()
    (root / "schemactl.toml").write_text('schemas = "schemas"\ngenerated = "generated"\n')
    (root / "generated" / "0001_big.up.sql").write_text(TABLE + "\n")
    (root / "generated" / "0001_big.down.sql").write_text("DROP TABLE big;\n")
    _ok(cli(root, "rehash"))
    return root


def filled(server: Any, root: Path, rows: int) -> str:
    """A new database of `server` with `big` applied and `rows` rows in it, vacuumed."""
    db = server.create_database("cost")
    p = server.conn_params(db)
    url = f"postgresql://postgres@/{db}?host={p['host']}&port={p['port']}"
    _ok(cli(root, "apply", "--db", url))
    with contextlib.closing(server.connect(db)) as conn, conn.cursor() as cur:
        cur.execute(
            f"INSERT INTO big SELECT g, g, md5(g::text), now() FROM generate_series(1, {rows}) g"
        )
        cur.execute("VACUUM ANALYZE big")  # as a production table stands
        cur.execute("CHECKPOINT")
    return url


def one(root: Path, url: str, case: tuple[str, str, str, str]) -> tuple[dict[str, Any], float]:
    """`case` planned, then applied and rolled back: the statement `plan` projected (JSON), and
    the seconds applying the migration took."""
    name, up, down, kind = case
    (root / "generated" / f"0002_{name}.up.sql").write_text(up + "\n")
    (root / "generated" / f"0002_{name}.down.sql").write_text(down + "\n")
    _ok(cli(root, "rehash"))
    try:
        doc = json.loads(_ok(cli(root, "plan", "--db", url, "--format", "json")).stdout)
        (migration,) = doc["migrations"]
        statement = next(s for s in migration["statements"] if s["kind"] == kind)
        applied = json.loads(_ok(cli(root, "apply", "--db", url, "--format", "json")).stdout)
        measured = applied["steps"][0]["duration_ms"] / 1000
        _ok(cli(root, "rollback", "--db", url, "--steps", "1"))
    finally:
        for p in (root / "generated").glob("0002_*"):
            p.unlink()
        _ok(cli(root, "rehash"))
    return statement, measured


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if done.returncode != 0:
        raise RuntimeError(f"schemactl {done.args[3:]} failed: {done.stderr}")
    return done


def table(server: Any, sizes: list[int], label: str) -> list[str]:
    """Every case at every size on `server`: a Markdown table."""
    lines = [
        f"| target ({label}) | rows | case | projected | measured | measured / projected |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="schemactl-cost-") as tmp:
            root = project(Path(tmp) / "p")
            url = filled(server, root, rows)
            for case in CASES:
                statement, measured = one(root, url, case)
                projected = statement["projected_seconds"]
                lines.append(
                    f"| {label} | {rows:,} | {case[0]} | {projected:.2f} s | {measured:.2f} s | "
                    f"{measured / projected:.2f} |"
                )
                print(lines[-1], file=sys.stderr, flush=True)
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, action="append", help="table size (repeatable)")
    ap.add_argument("--durable", action="store_true", help="the target syncs to disk")
    args = ap.parse_args()
    from schemactl.scratch import calibrate, pgbinaries, pgcluster, pgserver

    options = DURABLE if args.durable else None
    parent = calibrate.disk_parent(pgcluster.unprivileged_user()) if args.durable else None
    server = pgserver.EphemeralServer(pgbinaries.find_binaries(), options, parent)
    try:
        label = "durable, on disk" if args.durable else "in memory"
        for line in table(server, args.rows or [1_000_000, 4_000_000], label):
            print(line)
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
