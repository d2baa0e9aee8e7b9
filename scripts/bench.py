#!/usr/bin/env python3
"""Benchmark schemactl against the floor: psql loading the same DDL into a running server.

For each size N it generates a realistic schema (mixed column types, primary keys, unique
and plain indexes, foreign keys, checks, enums, views, plpgsql functions, triggers), then
measures in one run:

  floor   `psql -X -1 -f schema.sql` into an already running server (best of --repeat)
  diff    `schemactl diff -m init` on a project with no migrations yet (writes the first)
  check   `schemactl check --no-models` on the same project, now in sync
  apply   `schemactl apply` of M small migrations into an empty database, against psql
          running the same files in one session, each file in its own transaction

Every figure is printed in seconds and as a ratio to the floor measured in the same run,
with the peak RSS of the schemactl process. Usage:

  python scripts/bench.py              # N = 1000
  python scripts/bench.py --tables 100 --tables 1000 --migrations 200
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from schemactl import pgserver

# Runs schemactl in-process and reports its own peak RSS (KiB) on an inherited pipe at exit, so the
# figure is schemactl's, not the PostgreSQL server's it starts.
_WRAPPER = (
    "import atexit, os, resource, runpy, sys\n"
    "fd = int(os.environ['SCHEMACTL_BENCH_FD'])\n"
    "atexit.register(lambda: os.write(fd, str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss).encode()))\n"
    "sys.argv = ['schemactl'] + sys.argv[1:]\n"
    "runpy.run_module('schemactl', run_name='__main__')\n"
)


def generate_schema(n: int, seed: int = 1) -> str:
    """Return DDL for `n` tables with the mix of objects a real monolith has."""
    rnd = random.Random(seed)
    out = [
        "create type status as enum ('new', 'active', 'archived');",
        "create type priority as enum ('low', 'medium', 'high');",
        "create function touch() returns trigger language plpgsql as $$\n"
        "begin new.updated_at := now(); return new; end $$;",
    ]
    types = ["integer", "bigint", "text", "varchar(80)", "numeric(12,2)", "boolean", "date",
             "timestamptz", "jsonb", "uuid"]
    for i in range(n):
        cols = ["id bigint generated always as identity primary key",
                "code varchar(32) not null",
                "state status not null default 'new'",
                "updated_at timestamptz not null default now()"]
        for c in range(rnd.randint(3, 8)):
            cols.append(f"c{c} {rnd.choice(types)}")
        if i > 0:
            cols.append(f"parent_id bigint references t{rnd.randrange(i):05d}(id)")
        cols.append(f"constraint t{i:05d}_code_len check (length(code) > 0)")
        out.append(f"create table t{i:05d} (\n    " + ",\n    ".join(cols) + "\n);")
        out.append(f"create unique index t{i:05d}_code_uq on t{i:05d} (code);")
        out.append(f"create index t{i:05d}_updated_idx on t{i:05d} (updated_at);")
        if i % 10 == 9:
            out.append(f"create view v{i:05d} as select id, code, state from t{i:05d} where state <> 'archived';")
        if i % 20 == 19:
            out.append(
                f"create function f{i:05d}(p bigint) returns bigint language plpgsql stable as $$\n"
                f"begin return (select count(*) from t{i:05d} where id > p); end $$;"
            )
        if i % 25 == 24:
            out.append(f"create trigger t{i:05d}_touch before update on t{i:05d} for each row execute function touch();")
    return "\n\n".join(out) + "\n"


def run_schemactl(args: list[str], cwd: Path) -> tuple[float, int]:
    """Run schemactl; return (seconds, peak RSS in MiB)."""
    r, w = os.pipe()
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _WRAPPER, *args], cwd=cwd, pass_fds=(w,), capture_output=True,
                       text=True, env={**os.environ, "NO_COLOR": "1", "SCHEMACTL_BENCH_FD": str(w)},
                       stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    os.close(w)
    peak = os.read(r, 64).decode() or "0"
    os.close(r)
    if p.returncode != 0:
        sys.exit(f"bench: `schemactl {' '.join(args)}` failed ({p.returncode}):\n{p.stderr}")
    return elapsed, int(peak) // 1024


def floor(box: pgserver.EphemeralServer, sql_file: Path, repeat: int, single_transaction: bool = True) -> float:
    """Best time of psql loading the file (in one transaction) into the running server."""
    psql = shutil.which("psql") or box.binaries.tool("psql")  # type: ignore[union-attr]
    best = float("inf")
    for _ in range(repeat):
        db = box.create_database("floor")
        p = box.conn_params(db)
        start = time.perf_counter()
        subprocess.run([psql, "-X", "-q", *(["-1"] if single_transaction else []), "-v", "ON_ERROR_STOP=1", "-h", str(p["host"]), "-p", str(p["port"]),
                        "-U", "postgres", "-d", db, "-f", str(sql_file)], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
        box.drop_database(db)
    return best


def small_migrations(m: int) -> list[str]:
    """Return the up files of `m` small migrations, the kind a project accumulates."""
    out = []
    for i in range(m):
        if i % 4 == 0:
            out.append(f"create table m{i:04d} (id bigint generated always as identity primary key, "
                       f"name text not null, created_at timestamptz not null default now());\n"
                       f"create index m{i:04d}_name on m{i:04d} (name);\n")
        elif i % 4 == 1:
            out.append(f"alter table m{i - 1:04d} add column note text;\n"
                       f"insert into m{i - 1:04d} (name) values ('a'), ('b');\n")
        elif i % 4 == 2:
            out.append(f"alter table m{i - 2:04d} alter column note set default 'n/a';\n"
                       f"comment on column m{i - 2:04d}.note is 'free text';\n")
        else:
            out.append(f"create view m{i:04d}_v as select id, name from m{i - 3:04d};\n")
    return out


def bench_apply(box: pgserver.EphemeralServer, m: int, repeat: int) -> list[tuple[str, int, float, float, int]]:
    """Time `schemactl apply` of `m` migrations against psql running the same files."""
    with tempfile.TemporaryDirectory(prefix="schemactl-bench-") as tmp:
        proj = Path(tmp)
        (proj / "schemas").mkdir()
        (proj / "generated").mkdir()
        (proj / "schemactl.toml").write_text('schemas = "schemas"\ngenerated = "generated"\n')
        driver = []
        for i, text in enumerate(small_migrations(m), start=1):
            up = proj / "generated" / f"{i:04d}_step.up.sql"
            up.write_text(text)
            (proj / "generated" / f"{i:04d}_step.down.sql").write_text("")
            driver += ["begin;", f"\\i {up}", "commit;"]
        (proj / "driver.sql").write_text("\n".join(driver) + "\n")
        base = floor(box, proj / "driver.sql", repeat, single_transaction=False)
        best, peak = float("inf"), 0
        for _ in range(repeat):
            db = box.create_database("apply")
            p = box.conn_params(db)
            url = f"postgresql://postgres@/{db}?host={p['host']}&port={p['port']}"
            secs, peak = run_schemactl(["apply", "--db", url], proj)
            best = min(best, secs)
            box.drop_database(db)
    return [("floor: psql (files)", m, base, 1.0, 0), ("schemactl apply", m, best, best / base, peak)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", type=int, action="append", help="schema size (repeatable; default 1000)")
    ap.add_argument("--migrations", type=int, default=200, help="small migrations for the apply benchmark")
    ap.add_argument("--repeat", type=int, default=3, help="floor runs per size (best is kept)")
    a = ap.parse_args()
    sizes = a.tables or [1000]

    rows: list[tuple[str, int, float, float, int]] = []
    box = pgserver.EphemeralServer(pgserver.find_binaries())
    try:
        for n in sizes:
            with tempfile.TemporaryDirectory(prefix="schemactl-bench-") as tmp:
                proj = Path(tmp)
                (proj / "schemas").mkdir()
                (proj / "schemactl.toml").write_text('schemas = "schemas"\ngenerated = "generated"\n')
                sql = proj / "schemas" / "schema.sql"
                sql.write_text(generate_schema(n))
                base = floor(box, sql, a.repeat)
                rows.append(("floor: psql -1 -f", n, base, 1.0, 0))
                for label, args in (("schemactl diff", ["diff", "-m", "init"]),
                                    ("schemactl check", ["check", "--no-models"])):
                    secs, peak = run_schemactl(args, proj)
                    rows.append((label, n, secs, secs / base, peak))
        rows += bench_apply(box, a.migrations, a.repeat)
    finally:
        box.close()

    print(f"{'operation':<22} {'size':>7} {'seconds':>9} {'x floor':>8} {'peak MiB':>9}")
    for label, n, secs, ratio, peak in rows:
        print(f"{label:<22} {n:>7} {secs:>9.2f} {ratio:>8.2f} {peak if peak else '-':>9}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
