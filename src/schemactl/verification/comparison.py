"""The two scratch databases of a comparison — migrations replayed, schemas/ loaded — filled in
parallel, and a migration pair verified on them in both directions.

Database work and pg_dump release the GIL, so the two loads, and then the inspection and dump
of each database, overlap on threads. On the way out (including Ctrl-C) queued work is
cancelled; running queries end when the sandbox closes around them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import engine
from ..project import ddl, migfiles
from ..project.config import Config, SchemaFilter
from ..project.migfiles import MigrationPair
from ..project.migration import Migration, Script
from ..project.sqlfiles import SQLFile
from ..scratch import pgserver, sandbox
from . import snapcache, verify

Progress = Callable[[str], None]


@contextlib.contextmanager
def pool() -> Iterator[ThreadPoolExecutor]:
    """Threads for one comparison (see the module docstring)."""
    pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="schemactl")
    try:
        yield pool
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def results(*futures: Future[Any]) -> list[Any]:
    """Wait for all futures; re-raise the first error in the order given."""
    errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e
    return [f.result() for f in futures]


def after(pool: ThreadPoolExecutor, first: Future[Any], fn: Any, *args: Any) -> Future[Any]:
    """Run `fn(*args)` once `first` has succeeded (its error, if any, is raised instead)."""
    return pool.submit(lambda: (first.result(), fn(*args))[1])


@dataclass
class Scratch:
    """The two scratch databases of a comparison, being filled."""

    replay_db: str  # migrations replayed: the state the history produces ("" until replayed)
    target_db: str  # schemas/ loaded: the state wanted ("" until loaded)
    pairs: list[MigrationPair]
    root: Path
    replayed: Future[Any]
    loaded: Future[Any]
    schema_files: list[SQLFile] = field(default_factory=list)

    def wait(self) -> None:
        # The schemas' error is reported first: it is the file the user most likely just edited.
        results(self.loaded, self.replayed)

    def migration_files(self) -> list[Script]:
        """The up files, read and checked (only when they are replayed)."""
        return [Migration.read(p, self.root).up_script for p in self.pairs]

    def fill_target(self, box: pgserver.Sandbox, pool: ThreadPoolExecutor) -> None:
        self.target_db = box.create_database("target")
        self.loaded = pool.submit(sandbox.load_schemas, box, self.target_db, self.schema_files)

    def fill_replay(self, box: pgserver.Sandbox, pool: ThreadPoolExecutor) -> None:
        migration_files = self.migration_files()  # read and checked while the schemas load
        self.replay_db = box.create_database("replay")
        self.replayed = pool.submit(sandbox.replay, box, self.replay_db, migration_files)


def start(
    config: Config,
    box: pgserver.Sandbox,
    pool: ThreadPoolExecutor,
    progress: Progress,
    replay: bool = True,
    load: bool = True,
    schema_files: list[SQLFile] | None = None,
) -> Scratch:
    """Create the target and replay databases and start filling them, in parallel. Either can
    be left out when its snapshot is known; `fill_target` / `fill_replay` fill it later if
    needed."""
    pairs = migfiles.list_migrations(config.generated)
    if schema_files is None:
        schema_files = ddl.discover(config.schemas, config.load_order, config.root)
    sc = Scratch("", "", pairs, config.root, done(), done(), schema_files)
    doing, known = [], []
    if load:
        sc.fill_target(box, pool)
        doing.append(f"loading {count_of(len(schema_files), 'schema file')}")
    else:
        known.append("schemas/")
    if replay:
        sc.fill_replay(box, pool)
        doing.append(f"replaying {count_of(len(pairs), 'migration')}")
    else:
        known.append("the migrations")
    said = " and ".join(doing) or "nothing to load"
    progress(said + (f" ({' and '.join(known)}: unchanged since an earlier run)" if known else ""))
    return sc


def done(value: Any = None) -> Future[Any]:
    """A future that has `value` already."""
    f: Future[Any] = Future()
    f.set_result(value)
    return f


def count_of(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass
class Sides:
    """Each side's pg_dump snapshot and inspection, being computed (or kept from an earlier run
    for the same files: snapcache.py): replay's snapshot, the target's, replay's inspection,
    the target's. With both inspections kept, migra runs while the databases still load."""

    futures: tuple[Future[Any], Future[Any], Future[Any], Future[Any]]
    target_key: str  # under which the target's inspection is kept

    @classmethod
    def of(
        cls,
        kept: snapcache.Known,
        pool: ThreadPoolExecutor,
        box: pgserver.Sandbox,
        sc: Scratch,
        renamed: Future[Any],  # (the database migra compares with, the renames made in it)
        schemas: SchemaFilter,
        declared: bool,  # renames declared: replay's inspection is of a renamed copy, not kept
    ) -> Sides:
        keys = (
            snapcache.inspection_key(kept.history_key),
            snapcache.inspection_key(kept.schemas_key),
        )

        # A kept inspection is read on a thread too: reading one imports schemainspect.
        def inspect_from() -> Any:
            kept_from = None if declared else snapcache.load_inspection(keys[0])
            if kept_from is not None:
                return kept_from
            db = renamed.result()[0]
            return inspected(box, db, schemas, "" if declared else keys[0])

        def inspect_target() -> Any:
            kept_target = snapcache.load_inspection(keys[1])
            if kept_target is not None:
                return kept_target
            sc.loaded.result()
            return inspected(box, sc.target_db, schemas, keys[1])

        return cls(
            (
                done(kept.before)
                if kept.before is not None
                else after(pool, renamed, verify.snapshot, box, sc.replay_db, schemas),
                done(kept.target)
                if kept.target is not None
                else after(pool, sc.loaded, verify.snapshot, box, sc.target_db, schemas),
                pool.submit(inspect_from),
                pool.submit(inspect_target),
            ),
            keys[1],
        )


def inspected(box: pgserver.Sandbox, db: str, schemas: SchemaFilter, key: str) -> Any:
    """`db` inspected (engine.inspect), and kept under `key` (snapcache.inspection_key) unless
    it is ""."""
    engine.ready()  # sqlalchemy_url imports SQLAlchemy (upstream.ready)
    inspection = engine.inspect(box.sqlalchemy_url(db), schemas)
    if key:
        with contextlib.suppress(Exception):  # a cache only ever costs speed
            snapcache.keep_inspection(key, inspection)
    return inspection


def verify_pair(
    box: pgserver.Sandbox,
    replay_db: str,
    target_db: str,
    up_text: str,
    down_text: str,
    before: verify.Snapshot,
    target: verify.Snapshot,
    schemas: SchemaFilter,
    pool: ThreadPoolExecutor,
    copied: Future[Any] | None = None,
) -> list[str]:
    """Apply up to the replay and down to the target database, compare both with pg_dump;
    up once `copied` (a copy of the replay database being made) is done."""

    def one(db: str, label: str, text: str, want: verify.Snapshot) -> list[str]:
        error = sandbox.run_migration(box, db, Script(SQLFile(Path(label), label, text), True))
        if error:
            if label == "down" and "has no update path" in error:
                # PostgreSQL cannot downgrade an extension: say so, rather than leave it to
                # rollback.
                return [
                    f"down cannot be performed: {error.split(': ', 1)[-1]} (PostgreSQL has no "
                    "downgrade path, so this change is one-way); write the down file by hand, e.g. "
                    "DROP EXTENSION and CREATE EXTENSION ... VERSION if nothing depends on it"
                ]
            return [f"{label} fails: {error}"]
        return verify.describe(
            f"{label}: ", verify.compare(want, verify.snapshot(box, db, schemas))
        )

    up, down = results(
        after(pool, copied or done(), one, replay_db, "up", up_text, target),
        pool.submit(one, target_db, "down", down_text, before),
    )
    problems: list[str] = up + down
    return problems
