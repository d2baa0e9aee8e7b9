"""The one error hierarchy. Every error the user can cause carries its own exit code.

The CLI catches `SchemactlError` at a single place and prints `error:` / `hint:` lines;
library callers get the same data as attributes.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Documented process exit codes (README, "Exit codes")."""

    OK = 0
    FINDINGS = 1  # `check` found drift, or a command has findings to report
    USAGE = 2  # bad command line or configuration
    DESTRUCTIVE = 3  # destructive change refused without --allow-destructive
    UNVERIFIED = 4  # a generated migration failed independent verification
    INTEGRITY = 5  # checksum / integrity-file / history mismatch
    LOCKED = 6  # lock wait timed out
    UNAVAILABLE = 7  # database server or PostgreSQL binaries unavailable
    SQL = 8  # a schema or migration file failed to execute
    HAZARD = (
        9  # a measured hazard that `hazard_locks` does not allow, refused without --allow-hazards
    )
    FLEET_SOME = 10  # a fleet run: some databases succeeded, others failed or were not run
    FLEET_NONE = 11  # a fleet run: no database succeeded
    PERMISSION = 12  # the database role lacks a privilege the command needs (README)
    INTERNAL = 70  # a bug in schemactl (EX_SOFTWARE): one line, a traceback with SCHEMACTL_DEBUG=1
    INTERRUPTED = 130  # Ctrl-C (SIGINT); SIGTERM gives 143


class SchemactlError(Exception):
    """Base class: a message for the user, an optional hint, detail lines, and an exit code."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(
        self, message: str, hint: str | None = None, detail: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail or []


class ConfigError(SchemactlError):
    """The configuration file or a setting is missing or invalid."""

    exit_code = ExitCode.USAGE


class UsageError(SchemactlError):
    """The command was called with arguments that cannot work."""

    exit_code = ExitCode.USAGE


class SQLFileError(SchemactlError):
    """A schema or migration file failed to load; names the file, line and column."""

    exit_code = ExitCode.SQL

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
        statement: str | None = None,
        sqlstate: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.path = path
        self.line = line
        self.column = column
        self.source_line = source_line
        self.statement = statement  # the failing statement, when known
        self.sqlstate = sqlstate  # the server's error code, when the server reported one


class ServerUnavailable(SchemactlError):
    """PostgreSQL binaries are missing, or a server could not be started or reached."""

    exit_code = ExitCode.UNAVAILABLE


class DestructiveChangeError(SchemactlError):
    """The migration would drop or rewrite data and --allow-destructive was not given."""

    exit_code = ExitCode.DESTRUCTIVE

    def __init__(self, message: str, hint: str | None, statements: list[str]) -> None:
        super().__init__(message, hint, statements)
        self.statements = statements


class HazardRefused(SchemactlError):
    """A measured lock hazard that the config's `hazard_locks` does not allow, without
    --allow-hazards."""

    exit_code = ExitCode.HAZARD


class UnverifiedMigration(SchemactlError):
    """A migration file is marked UNVERIFIED and was not explicitly allowed to run."""

    exit_code = ExitCode.UNVERIFIED


class ImportNotProved(SchemactlError):
    """Files `import` wrote that do not load to the live schema (nothing is kept)."""

    exit_code = ExitCode.UNVERIFIED


class NeedsHandWriting(SchemactlError):
    """A change no generated statement can make (a type PostgreSQL cannot convert): `diff`
    writes nothing and says what to write by hand."""

    exit_code = ExitCode.UNVERIFIED


class ModelsError(SchemactlError):
    """sqlacodegen produced a models module that does not import."""

    exit_code = ExitCode.UNVERIFIED


class IntegrityError(SchemactlError):
    """Migration files do not match the integrity file, or are numbered inconsistently."""

    exit_code = ExitCode.INTEGRITY


class PermissionDenied(SchemactlError):
    """The role connected as lacks a privilege the command needs (not the migrations' own
    statements: those fail with their file and line)."""

    exit_code = ExitCode.PERMISSION


class LockTimeout(SchemactlError):
    """Another schemactl held the migration lock for longer than we were willing to wait."""

    exit_code = ExitCode.LOCKED


class MigrationFailed(SchemactlError):
    """A migration failed on the target database and was rolled back (or stopped partway).

    `error` is the file-positioned SQL error; `completed` lists the steps that succeeded
    before it, so callers can report partial progress."""

    exit_code = ExitCode.SQL

    def __init__(
        self,
        message: str,
        hint: str | None,
        error: SQLFileError,
        completed: list[Any],  # runner.Step (errors imports nothing of schemactl)
    ) -> None:
        super().__init__(message, hint)
        self.error = error
        self.completed = completed
        self.current_version: int | None = None  # the version the database is at after the failure
        # What the run would have warned of had it finished (a pair verified on another major
        # than the database runs): most useful exactly when a migration fails.
        self.warnings: list[str] = []


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. Like KeyboardInterrupt it is a BaseException on purpose:
    no `except Exception` on the way up may swallow it, and every `finally` still runs, so
    transactions roll back and temporary servers stop. Exit code 128 + signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by signal {signum}")
        self.signum = signum
        self.exit_code = 128 + signum


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (libpq messages run over several lines)."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
