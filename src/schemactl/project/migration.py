"""One migration, read once: the up file's bytes give its checksum, its directives
(environments, no-transaction) and the statements that run, so what the ledger records is what
ran; the down file is read once, when a rollback needs it. A Python migration is one file,
whose settings are read from its syntax tree (pymigration.py)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SQLFileError, UsageError
from . import headers, pymigration, sqlfiles
from .migfiles import MigrationPair, directives, list_migrations, squashed_range
from .sqlfiles import SQLFile


@dataclass(frozen=True)
class Script:
    """One direction of a migration, as the scratch replay and the runner run it: SQL (the
    file, checked), or a Python migration (`sqlfile` then carries its text for messages)."""

    sqlfile: SQLFile
    transactional: bool
    python: pymigration.PythonSource | None = None
    direction: str = "up"

    def run_on(self, conn: Any, environment: str | None = None) -> None:
        """Run it on `conn` (a scratch database) as `apply` would, without bookkeeping."""
        if self.python is None:
            sqlfiles.execute_file(conn, self.sqlfile, self.transactional)
            return
        conn.autocommit = not self.transactional
        try:
            pymigration.run(conn, self.python, self.direction, environment)
            if self.transactional:
                conn.commit()
        finally:
            if not conn.autocommit:
                with contextlib.suppress(Exception):
                    conn.rollback()
            conn.autocommit = True


@dataclass(frozen=True)
class Migration:
    """A migration pair and everything read from its files."""

    pair: MigrationPair
    root: Path  # the project root, for the paths in messages
    raw: bytes  # the up file's bytes

    @classmethod
    def read(cls, pair: MigrationPair, root: Path) -> Migration:
        return cls(pair, root, pair.up.read_bytes())

    @property
    def version(self) -> int:
        return self.pair.version

    @property
    def name(self) -> str:
        return self.pair.id

    @functools.cached_property
    def _text(self) -> str:
        # Lenient: a file that is not UTF-8 still has a checksum and a status; running it
        # (`up`) is what reports the bad byte.
        return self.raw.decode("utf-8", errors="surrogateescape")

    @functools.cached_property
    def _directives(self) -> dict[str, str]:
        return directives(self._text.removeprefix("\ufeff"))

    @property
    def python(self) -> bool:
        return self.pair.python

    @property
    def phase(self) -> str | None:
        """ "expand" or "contract" for the pairs of an expand/contract plan (their up file's
        `-- schemactl:expand` / `-- schemactl:contract`), else None."""
        found = [p for p in ("expand", "contract") if p in self._directives]
        return found[0] if found and not self.python else None

    @functools.cached_property
    def squashes(self) -> tuple[int, int] | None:
        """The versions this pair replaces when it is a squash (`schemactl squash`), or None."""
        return squashed_range(self.pair)

    @functools.cached_property
    def source(self) -> pymigration.PythonSource:
        """A Python migration's settings, read without running it (SQLFileError if broken)."""
        return pymigration.read(self.pair.up, sqlfiles.rel_path(self.pair.up, self.root), self.raw)

    @functools.cached_property
    def checksum(self) -> str:
        """SHA-256 of the up file without its verification lines: `schemactl verify` rewrites
        those (e.g. after verifying on another major), and that must not make an applied file
        `changed`. A Python migration's: of all its bytes."""
        if self.python:
            return self.whole_file
        stripped = headers.strip(self._text).encode("utf-8", errors="surrogateescape")
        return hashlib.sha256(stripped).hexdigest()

    @functools.cached_property
    def whole_file(self) -> str:
        """SHA-256 of every byte: what ledgers recorded before verification lines were left out."""
        return hashlib.sha256(self.raw).hexdigest()

    def matches(self, recorded: str | None) -> bool:
        """Whether a checksum the ledger recorded is this file's."""
        return recorded is not None and recorded in (self.checksum, self.whole_file)

    @functools.cached_property
    def environments(self) -> tuple[str, ...] | None:
        """The environments named by `-- schemactl:environments`, or None (all of them)."""
        if self.python:
            try:
                return self.source.environments
            except SQLFileError:
                return None  # running it reports what is wrong
        envs = self._directives.get("environments")
        return tuple(e.strip() for e in envs.split(",") if e.strip()) if envs is not None else None

    def runs_in(self, environment: str | None) -> bool:
        if self.environments is None:
            return True
        if environment is None:
            raise UsageError(
                f"{self.name} runs only in {', '.join(self.environments)}, and this run names no "
                "environment",
                hint="say which environment the database is: --env NAME (or SCHEMACTL_ENV)",
            )
        return environment in self.environments

    @functools.cached_property
    def up(self) -> SQLFile:
        """The up file as it runs (checked: SQLFileError names what is wrong)."""
        if self.python:
            return SQLFile(self.pair.up, self.source.rel, self.source.text)
        return sqlfiles.sql_file(self.pair.up, self.root, self.raw)

    @property
    def transactional(self) -> bool:
        """Whether `up` runs in one transaction (unless `-- schemactl:no-transaction`, or
        `transactional = False` in a Python migration)."""
        if self.python:
            return self.source.transactional
        return "no-transaction" not in self._directives

    @property
    def reversible(self) -> bool:
        """False for a Python migration that says `reversible = False`."""
        if not self.python:
            return True
        try:
            return self.source.reversible
        except SQLFileError:
            return True  # running it reports what is wrong

    @functools.cached_property
    def down(self) -> SQLFile:
        """The down file as it runs, read on first use."""
        if self.python:
            return self.up
        return sqlfiles.read_sql_file(self.pair.down, self.root)

    @property
    def down_transactional(self) -> bool:
        if self.python:
            return self.source.transactional
        return "no-transaction" not in directives(self.down.text)

    @property
    def up_script(self) -> Script:
        """`up` as the scratch replay and the runner take it."""
        return Script(self.up, self.transactional, self.source if self.python else None)

    @property
    def down_script(self) -> Script:
        return Script(
            self.down, self.down_transactional, self.source if self.python else None, "down"
        )

    def describe(self) -> str:
        """What `apply --dry-run` shows: the SQL, or for Python the module and its docstring."""
        if not self.python:
            return self._text
        doc = self.source.docstring.strip()
        return f"# Python migration {self.source.rel}\n" + (f'"""{doc}"""\n' if doc else "")


def read_all(generated: Path, root: Path) -> dict[int, Migration]:
    """Every migration under `generated/`, by version. A gap is not refused here: the ledger
    says whether it is an applied migration whose file was deleted (`missing`)."""
    return {p.version: Migration.read(p, root) for p in list_migrations(generated, allow_gaps=True)}
