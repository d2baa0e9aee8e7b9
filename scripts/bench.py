#!/usr/bin/env python3
"""Benchmark schemactl against the floor: psql loading the same DDL into a running server.

For each size N (default 100, 1,000 and 5,000 tables; `--quick`: 100 and 1,000) it generates a
realistic schema (mixed column types, primary keys, unique and plain indexes, foreign keys,
checks, enums, views, plpgsql functions, triggers) and a variant that edits 2% of the tables
(adds a column, drops an index, changes a default), then measures in one run:

  floor   `psql -X -1 -f variant.sql` into an already running server (best of --repeat)
  diff    `schemactl diff -m edit` on a project whose one migration holds the base schema and
          whose DDL is the variant (cold: empty schemactl cache; warm: cache filled by the same
          diff, nothing changed since; warm, DDL edited: the same history, another 2% edit, as
          when iterating); then the memory the scratch cluster kept between runs takes
  check   `schemactl check --no-models` on the same project once it is in sync: cold (empty
          cache), warm (nothing changed since: the kept snapshots answer), and warm with the
          DDL file touched (same schema, other bytes: the history is known, schemas/ is loaded)
  import  `schemactl import --db` of a database holding the variant schema, into an empty
          project (files written, proved, first pair), against `pg_dump --schema-only` of it
  --help / --version   start-up alone (best of 5)
  apply   `schemactl apply` of M small migrations into an empty database, against psql
          running the same files in one session, each file in its own transaction
  fleet   `schemactl apply --env fleet` of 20 small migrations to --fleet databases (40):
          --parallel 8 against one database at a time (--parallel 1), in the same run
  traffic a deploy under live traffic (scripts/traffic.py) on a table of --traffic rows
          (1,000,000): the change as a plain `diff` (the baseline) and as an expand/contract
          plan, in the same run; a table of transactions, failures, writes lost, the longest
          client transaction and the longest ACCESS EXCLUSIVE hold per side

Every figure: seconds, ratio to the same run's floor, peak RSS of schemactl; then each one's
growth exponent between the two largest sizes (1.0 = linear). Usage:

  python scripts/bench.py --quick   # or no option: N = 100, 1000, 5000; or --tables 2000
  python scripts/bench.py --quick --each-server  # on every server found, side by side
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from schemactl.scratch import pgserver

# Runs schemactl in-process and reports its own peak RSS (KiB) on an inherited pipe at exit, so the
# figure is schemactl's, not the PostgreSQL server's it starts.
_WRAPPER = (
    "import atexit, os, resource, runpy, sys\n"
    "fd = int(os.environ['SCHEMACTL_BENCH_FD'])\n"
    "atexit.register(lambda: os.write(fd, "
    "str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss).encode()))\n"
    "sys.argv = ['schemactl'] + sys.argv[1:]\n"
    "runpy.run_module('schemactl', run_name='__main__')\n"
)


def generate_schema(n: int, seed: int = 1, edited: frozenset[int] = frozenset()) -> str:
    """Return DDL for `n` tables with the mix of objects a real monolith has; the tables in
    `edited` get an extra column, lose their plain index and get another default."""
    rnd = random.Random(seed)
    out = [
        "create type status as enum ('new', 'active', 'archived');",
        "create type priority as enum ('low', 'medium', 'high');",
        "create function touch() returns trigger language plpgsql as $$\n"
        "begin new.updated_at := now(); return new; end $$;",
    ]
    types = [
        "integer",
        "bigint",
        "text",
        "varchar(80)",
        "numeric(12,2)",
        "boolean",
        "date",
        "timestamptz",
        "jsonb",
        "uuid",
    ]
    for i in range(n):
        default = "active" if i in edited else "new"
        cols = [
            "id bigint generated always as identity primary key",
            "code varchar(32) not null",
            f"state status not null default '{default}'",
            "updated_at timestamptz not null default now()",
        ]
        for c in range(rnd.randint(3, 8)):
            cols.append(f"c{c} {rnd.choice(types)}")
        if i > 0:
            cols.append(f"parent_id bigint references t{rnd.randrange(i):05d}(id)")
        if i in edited:
            cols.append("note text")
        cols.append(f"constraint t{i:05d}_code_len check (length(code) > 0)")
        out.append(f"create table t{i:05d} (\n    " + ",\n    ".join(cols) + "\n);")
        out.append(f"create unique index t{i:05d}_code_uq on t{i:05d} (code);")
        if i not in edited:
            out.append(f"create index t{i:05d}_updated_idx on t{i:05d} (updated_at);")
        if i % 10 == 9:
            out.append(
                f"create view v{i:05d} as select id, code, state from t{i:05d} where state <> "
                "'archived';"
            )
        if i % 20 == 19:
            out.append(
                f"create function f{i:05d}(p bigint) returns bigint language plpgsql stable as $$\n"
                f"begin return (select count(*) from t{i:05d} where id > p); end $$;"
            )
        if i % 25 == 24:
            out.append(
                f"create trigger t{i:05d}_touch before update on t{i:05d} for each row execute "
                "function touch();"
            )
    return "\n\n".join(out) + "\n"


def run_schemactl(args: list[str], cwd: Path, cache: Path | None = None) -> tuple[float, int]:
    """Run schemactl (with its cache in `cache`); return (seconds, peak RSS in MiB)."""
    r, w = os.pipe()
    env = {**os.environ, "NO_COLOR": "1", "SCHEMACTL_BENCH_FD": str(w)}
    if cache is not None:
        env["SCHEMACTL_CACHE_DIR"] = str(cache)
    start = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        cwd=cwd,
        pass_fds=(w,),
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - start
    os.close(w)
    peak = os.read(r, 64).decode() or "0"
    os.close(r)
    if p.returncode != 0:
        sys.exit(f"bench: `schemactl {' '.join(args)}` failed ({p.returncode}):\n{p.stderr}")
    return elapsed, int(peak) // 1024


def floor(
    box: pgserver.EphemeralServer, sql_file: Path, repeat: int, single_transaction: bool = True
) -> float:
    """Best time of psql loading the file (in one transaction) into the running server."""
    own = box.binaries.tool("psql") if box.binaries else ""  # the server's own client
    psql = own if os.path.exists(own) else shutil.which("psql") or "psql"
    best = float("inf")
    for _ in range(repeat):
        db = box.create_database("floor")
        p = box.conn_params(db)
        start = time.perf_counter()
        subprocess.run(
            [
                psql,
                "-X",
                "-q",
                *(["-1"] if single_transaction else []),
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(p["host"]),
                "-p",
                str(p["port"]),
                "-U",
                "postgres",
                "-d",
                db,
                "-f",
                str(sql_file),
            ],
            check=True,
            capture_output=True,
        )
        best = min(best, time.perf_counter() - start)
        box.drop_database(db)
    return best


def small_migrations(m: int) -> list[str]:
    """Return the up files of `m` small migrations, the kind a project accumulates."""
    out = []
    for i in range(m):
        if i % 4 == 0:
            out.append(
                f"create table m{i:04d} (id bigint generated always as identity primary key, "
                f"name text not null, created_at timestamptz not null default now());\n"
                f"create index m{i:04d}_name on m{i:04d} (name);\n"
            )
        elif i % 4 == 1:
            out.append(
                f"alter table m{i - 1:04d} add column note text;\n"
                f"insert into m{i - 1:04d} (name) values ('a'), ('b');\n"
            )
        elif i % 4 == 2:
            out.append(
                f"alter table m{i - 2:04d} alter column note set default 'n/a';\n"
                f"comment on column m{i - 2:04d}.note is 'free text';\n"
            )
        else:
            out.append(f"create view m{i:04d}_v as select id, name from m{i - 3:04d};\n")
    return out


def bench_apply(
    box: pgserver.EphemeralServer, m: int, repeat: int
) -> list[tuple[str, int, float, float, int]]:
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
    return [
        ("floor: psql (files)", m, base, 1.0, 0),
        ("schemactl apply", m, best, best / base, peak),
    ]


Row = tuple[str, int, float, float, int]


def bench_fleet(box: pgserver.EphemeralServer, dbs: int, m: int) -> list[Row]:
    """`apply --env fleet` of `m` small migrations to `dbs` databases: one at a time, the
    baseline, then --parallel 8."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="schemactl-bench-") as tmp:
        proj = Path(tmp)
        (proj / "schemas").mkdir()
        (proj / "generated").mkdir()
        for i, text in enumerate(small_migrations(m), start=1):
            (proj / "generated" / f"{i:04d}_step.up.sql").write_text(text)
            (proj / "generated" / f"{i:04d}_step.down.sql").write_text("")
        (proj / "schemactl.toml").write_text('[environments.fleet]\nurls_from = "fleet.txt"\n')
        for parallel in (1, 8):
            names = [box.create_database("fleet") for _ in range(dbs)]
            p = box.conn_params(names[0])
            urls = [f"postgresql://postgres@/{n}?host={p['host']}&port={p['port']}" for n in names]
            (proj / "fleet.txt").write_text("\n".join(urls) + "\n")
            args = ["apply", "--env", "fleet", "--parallel", str(parallel)]
            secs, peak = run_schemactl(args, proj)
            base = rows[0][2] if rows else secs
            rows.append(
                (f"fleet apply --parallel {parallel} ({m} migr.)", dbs, secs, secs / base, peak)
            )
            for n in names:
                box.drop_database(n)
    return rows


def startup(cwd: Path) -> list[Row]:
    """`schemactl --help` and `--version`, best of 5 (no floor: the target is absolute)."""
    rows = []
    for flag in ("--help", "--version"):
        best, peak = min(run_schemactl([flag], cwd) for _ in range(5))
        rows.append((f"schemactl {flag}", 0, best, math.nan, peak))
    return rows


def bench_size(box: pgserver.EphemeralServer, n: int, repeat: int, work: Path) -> list[Row]:
    """floor, diff (cold, warm) and check (cold, warm) for one schema size."""
    edited = frozenset(range(0, n, 50))  # 2% of the tables
    proj = work / f"n{n}"
    (proj / "schemas").mkdir(parents=True)
    (proj / "schemactl.toml").write_text('schemas = "schemas"\ngenerated = "generated"\n')
    sql = proj / "schemas" / "schema.sql"
    sql.write_text(generate_schema(n))
    run_schemactl(["diff", "-m", "base"], proj, work / "setup-cache")  # the history: one migration
    sql.write_text(generate_schema(n, edited=edited))
    base = floor(box, sql, repeat)
    rows: list[Row] = [("floor: psql -1 -f", n, base, 1.0, 0)]
    cache = work / f"cache-{n}"
    for label in ("cold", "warm", "warm, data check off", "warm, DDL edited"):
        if label == "cold":
            shutil.rmtree(cache, ignore_errors=True)
        trial = work / f"diff-{n}-{label.replace(', ', '-').replace(' ', '-')}"
        shutil.copytree(proj, trial)  # each diff starts from the same one-migration project
        if label.endswith("off"):  # what data-aware verification costs: the same diff without
            with (trial / "schemactl.toml").open("a") as f:
                f.write("data_check = false\n")
        if label.endswith("edited"):  # the history seen before, schemas/ not: another 2% edit
            other = frozenset(range(25, n, 50))
            (trial / "schemas" / "schema.sql").write_text(generate_schema(n, edited=other))
        secs, peak = run_schemactl(["diff", "-m", "edit"], trial, cache)
        rows.append((f"schemactl diff ({label})", n, secs, secs / base, peak))
    rows.append(("kept after the diffs (MiB, not s)", n, _kept_mib(cache), math.nan, 0))
    run_schemactl(["clean"], proj, cache)
    synced = work / f"diff-{n}-warm"
    shutil.rmtree(cache, ignore_errors=True)
    for label in ("cold", "warm", "warm, DDL touched"):
        if label == "warm, DDL touched":  # same schema, other bytes: schemas/ is loaded
            ddl = synced / "schemas" / "schema.sql"
            ddl.write_text(ddl.read_text() + "-- touched\n")
        secs, peak = run_schemactl(["check", "--no-models"], synced, cache)
        rows.append((f"schemactl check ({label})", n, secs, secs / base, peak))
    rows.append(("kept after the checks (MiB, not s)", n, _kept_mib(cache), math.nan, 0))
    run_schemactl(["clean"], synced, cache)  # the kept cluster lives in memory: freed
    return rows + bench_import(box, sql, repeat, work, n)


def _kept_mib(cache: Path) -> float:
    """What the scratch cluster kept between runs takes (its entries in the cache directory)."""
    entries = (cache / "clusters").glob("*.json")
    return sum(json.loads(p.read_text())["bytes"] for p in entries) / 2**20


def bench_import(
    box: pgserver.EphemeralServer, sql: Path, repeat: int, work: Path, n: int
) -> list[Row]:
    """`schemactl import` of a database holding the schema, against its floor: pg_dump
    --schema-only of the same database (the same server's own pg_dump, best of --repeat)."""
    db = box.create_database("import")
    p = box.conn_params(db)
    psql = box.binaries.tool("psql") if box.binaries else "psql"
    where = ["-h", str(p["host"]), "-p", str(p["port"]), "-U", "postgres", "-d", db]
    subprocess.run(
        [psql, "-X", "-q", "-1", "-f", str(sql), *where], check=True, capture_output=True
    )
    pg_dump = box.binaries.tool("pg_dump") if box.binaries else "pg_dump"
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([pg_dump, "--schema-only", *where], check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    proj = work / f"import-{n}"
    (proj / "schemas").mkdir(parents=True)
    (proj / "schemactl.toml").write_text('schemas = "schemas"\ngenerated = "generated"\n')
    url = f"postgresql://postgres@/{db}?host={p['host']}&port={p['port']}"
    secs, peak = run_schemactl(["import", "--db", url], proj, work / f"import-cache-{n}")
    box.drop_database(db)
    return [
        ("floor: pg_dump --schema-only", n, best, 1.0, 0),
        ("schemactl import", n, secs, secs / best, peak),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--tables",
        type=int,
        action="append",
        help="schema size (repeatable; default 100, 1000, 5000)",
    )
    ap.add_argument("--quick", action="store_true", help="only N = 100 and 1000")
    ap.add_argument(
        "--migrations", type=int, default=200, help="small migrations for the apply benchmark"
    )
    ap.add_argument("--repeat", type=int, default=3, help="floor runs per size (best is kept)")
    ap.add_argument("--fleet", type=int, default=40, help="databases of the fleet benchmark")
    ap.add_argument(
        "--traffic", type=int, default=1_000_000, help="rows of the traffic benchmark (0: none)"
    )
    ap.add_argument("--only-traffic", action="store_true", help="only the traffic benchmark")
    ap.add_argument(
        "--each-server",
        action="store_true",
        help="diff and check on every PostgreSQL found (system and bundled), each against its own "
        "floor",
    )
    a = ap.parse_args()
    sizes = a.tables or ([100, 1000] if a.quick else [100, 1000, 5000])
    if a.each_server:
        return each_server(sizes, a.repeat)

    # Bytecode as `pip install` makes it (else PYTHONDONTWRITEBYTECODE recompiles every run).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(pgserver.__file__).parent)])
    rows: list[Row] = []
    box = pgserver.EphemeralServer(pgserver.find_binaries())
    try:
        if not a.only_traffic:
            with tempfile.TemporaryDirectory(prefix="schemactl-bench-") as tmp:
                work = Path(tmp)
                rows += startup(work)
                for n in sizes:
                    rows += bench_size(box, n, a.repeat, work)
            rows += bench_apply(box, a.migrations, a.repeat)
            rows += bench_fleet(box, a.fleet, 20)
        traffic = bench_traffic(box, a.traffic) if a.traffic else []
    finally:
        box.close()
    if rows:
        _print(rows, sizes)
    for line in traffic:
        print(line)
    return 0


def bench_traffic(box: pgserver.EphemeralServer, n: int) -> list[str]:
    """The traffic scenario (scripts/traffic.py) at `n` rows, for each change alone and all
    together, plain then expand/contract: a Markdown table, a row per side of each."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import traffic

    lines = [
        "",
        f"deploy under traffic, {n:,} rows ({traffic.OLD_CLIENTS} old and "
        f"{traffic.NEW_CLIENTS} new clients):",
        "| change | plan | side | transactions | failed | writes lost | longest transaction | "
        "longest ACCESS EXCLUSIVE | deploy | parts retried |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for change in (*traffic.CHANGES, "all"):
        for mode in ("plain", "expand-contract"):
            found = traffic.scenario(box, n, mode, change=change)
            lost = len(found.lost)
            for name, side in (("old", found.old), ("new", found.new)):
                lines.append(
                    f"| {change} | {mode} | {name} | {side.transactions} | "
                    f"{len(side.failures)} | {lost} | {side.longest * 1000:.0f} ms | "
                    f"{found.exclusive_ms:.0f} ms | {found.deploy_s:.2f} s | "
                    f"{len(found.retries)} |"
                )
            print(lines[-2] + "\n" + lines[-1], file=sys.stderr, flush=True)
    return lines


def each_server(sizes: list[int], repeat: int) -> int:
    """diff and check on each server discovery finds, with SCHEMACTL_PG_BIN naming it, each
    against the floor of psql on a server of the same binaries; then the ratio between them."""
    from schemactl.scratch import pgbinaries

    servers = pgbinaries.discover()
    by_server: dict[str, list[Row]] = {}
    for b in servers:
        name = f"PostgreSQL {b.major} ({b.source})"
        os.environ["SCHEMACTL_PG_BIN"] = str(b.bindir)
        box = pgserver.EphemeralServer(b)
        try:
            with tempfile.TemporaryDirectory(prefix="schemactl-bench-") as tmp:
                by_server[name] = [r for n in sizes for r in bench_size(box, n, repeat, Path(tmp))]
        finally:
            box.close()
        print(f"\n{name}, {b.bindir}:")
        _print(by_server[name], [])
    if len(by_server) > 1:
        (first, base), *others = by_server.items()
        for other, rows in others:
            print(f"\n{other} / {first} (seconds; the same operation, size and machine, this run):")
            for (label, n, secs, _, _), (_, _, ref, _, _) in zip(rows, base, strict=True):
                print(f"  {label:<36} {n:>7} {secs / ref:>6.2f}")
    return 0


def _print(rows: list[Row], sizes: list[int]) -> None:
    print(f"{'operation':<36} {'size':>7} {'seconds':>9} {'x floor':>8} {'peak MiB':>9}")
    for label, n, secs, ratio, peak in rows:
        shown = "-" if math.isnan(ratio) else f"{ratio:.2f}"
        print(
            f"{label:<36} {n if n else '-':>7} {secs:>9.2f} {shown:>8} {peak if peak else '-':>9}"
        )
    if len(sizes) > 1:
        small, large = sorted(sizes)[-2:]
        print(f"\ngrowth from N={small} to N={large} (seconds ~ N^k; k = 1.0 is linear):")
        for label in dict.fromkeys(r[0] for r in rows if r[1] == large):
            t = {r[1]: r[2] for r in rows if r[0] == label}
            if min(t.get(small, 0), t[large]) <= 0:
                continue
            k = math.log(t[large] / t[small]) / math.log(large / small)
            print(f"  {label:<36} k = {k:.2f}")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
