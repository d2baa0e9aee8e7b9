"""One migration, read once: the up file's bytes give its checksum, its directives
(environments, no-transaction) and the statements that run, so what the ledger records is what
ran; the down file is read once, when a rollback needs it."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from . import headers, sqlfiles
from .errors import UsageError
from .migfiles import MigrationPair, directives, list_migrations
from .sqlfiles import SQLFile


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

    @functools.cached_property
    def checksum(self) -> str:
        """SHA-256 of the up file without its verification lines: `schemactl verify` rewrites
        those (e.g. after verifying on another major), and that must not make an applied file
        `changed`."""
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
        return sqlfiles.sql_file(self.pair.up, self.root, self.raw)

    @property
    def transactional(self) -> bool:
        """Whether `up` runs in one transaction (unless `-- schemactl:no-transaction`)."""
        return "no-transaction" not in self._directives

    @functools.cached_property
    def down(self) -> SQLFile:
        """The down file as it runs, read on first use."""
        return sqlfiles.read_sql_file(self.pair.down, self.root)

    @property
    def down_transactional(self) -> bool:
        return "no-transaction" not in directives(self.down.text)

    @property
    def up_script(self) -> tuple[SQLFile, bool]:
        """(up, transactional), as the scratch replay takes it."""
        return self.up, self.transactional

    @property
    def down_script(self) -> tuple[SQLFile, bool]:
        return self.down, self.down_transactional


def read_all(generated: Path, root: Path) -> dict[int, Migration]:
    """Every migration under `generated/`, by version. A gap is not refused here: the ledger
    says whether it is an applied migration whose file was deleted (`missing`)."""
    return {p.version: Migration.read(p, root) for p in list_migrations(generated, allow_gaps=True)}
