"""Migration files on disk: `NNNN_name.up.sql` / `.down.sql` pairs and the integrity file.

`schemactl.sum` holds one SHA-256 per file plus, on its first line, a hash chained over all
of them. Any added, edited or removed file changes that first line, so two branches that
each add a migration conflict in git instead of merging silently (the idea of atlas.sum).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import signal
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import IntegrityError, UsageError

SUM_FILE = "schemactl.sum"
FILE_NAME = re.compile(
    r"^(?P<version>\d{4,})_(?P<slug>[a-z0-9_]+)(?:\.(?P<direction>up|down)\.sql|\.py)$"
)
_DIRECTIVE = re.compile(r"^--\s*schemactl:(?P<key>[a-z-]+)(?:\s+(?P<value>.*?))?\s*$")
MAX_SLUG = 60


@dataclass(frozen=True)
class MigrationPair:
    """One migration: its version number, slug and the paths of both files (for a Python
    migration, `NNNN_slug.py`, both are that one file)."""

    version: int
    slug: str
    up: Path
    down: Path

    @property
    def python(self) -> bool:
        return self.up.suffix == ".py"

    @property
    def files(self) -> tuple[Path, ...]:
        """The migration's files, each once."""
        return (self.up,) if self.python else (self.up, self.down)

    @property
    def id(self) -> str:
        """The `NNNN_slug` stem shared by both files."""
        return self.up.stem if self.python else self.up.name[: -len(".up.sql")]


def slugify(name: str) -> str:
    """Turn a free-form migration name into a safe file-name part (ASCII, [a-z0-9_])."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:MAX_SLUG].strip("_")
    if not slug:
        raise UsageError(
            f"migration name {name!r} has no letters or digits to build a file name from",
            hint='use a short description such as -m "add sample table"',
        )
    return slug


def list_migrations(generated: Path, allow_gaps: bool = False) -> list[MigrationPair]:
    """Return the migrations in `generated/` in version order, checking numbering and pairs
    (`allow_gaps`: a missing version is for the caller to explain, e.g. from a ledger)."""
    if not generated.is_dir():
        return []
    found: dict[int, dict[str, Path]] = {}
    slugs: dict[int, set[str]] = {}
    for p in generated.iterdir():
        m = FILE_NAME.match(p.name)
        if not m:
            continue
        v = int(m.group("version"))
        found.setdefault(v, {})[m.group("direction") or "py"] = p
        slugs.setdefault(v, set()).add(m.group("slug"))
    pairs: list[MigrationPair] = []
    for v in sorted(found):
        if len(slugs[v]) > 1:
            names = ", ".join(sorted(f"{v:04d}_{s}" for s in slugs[v]))
            raise IntegrityError(
                f"two migrations share version {v:04d}: {names}",
                hint="this usually follows a git merge: `schemactl renumber` moves this branch's "
                "pair(s) "
                "after the other branch's, then `schemactl check --verify`",
            )
        files = found[v]
        if "py" in files:
            if len(files) > 1:
                sql = next(p.name for d, p in files.items() if d != "py")
                raise IntegrityError(
                    f"two migrations share version {v:04d}: {files['py'].name} and {sql}",
                    hint="a version is one SQL pair or one Python migration: renumber one",
                )
            pairs.append(MigrationPair(v, next(iter(slugs[v])), files["py"], files["py"]))
            continue
        for direction in ("up", "down"):
            if direction not in files:
                other = next(iter(files.values())).name
                raise IntegrityError(
                    f"{_rel(generated)}/{other} has no matching .{direction}.sql file",
                    hint=f"restore the .{direction}.sql file from version control"
                    + (
                        " (a one-way change keeps one without statements: `rollback` then refuses "
                        "to undo it)"
                        if direction == "down"
                        else ""
                    ),
                )
        pairs.append(MigrationPair(v, next(iter(slugs[v])), files["up"], files["down"]))
    # A squashed pair (`-- schemactl:squashes 0001-0042`) stands where its last version stood.
    first = pairs[0].version if pairs and squashed_range(pairs[0]) else 1
    for expected, pair in enumerate(pairs, start=first):
        if pair.version != expected and not allow_gaps:
            raise IntegrityError(
                f"migration numbering has a gap: expected {expected:04d}, found {pair.id}",
                hint=gap_hint(expected),
            )
    return pairs


_SQUASHES = re.compile(r"(?P<first>\d+)-(?P<last>\d+)")


def squashed_range(pair: MigrationPair) -> tuple[int, int] | None:
    """The versions a squashed pair replaces (`-- schemactl:squashes 0001-0042`, ending at its
    own version), or None."""
    if pair.python:
        return None
    with pair.up.open(encoding="utf-8", errors="replace") as f:
        head = "".join(line for _, line in zip(range(40), f, strict=False))
    m = _SQUASHES.fullmatch(directives(head.removeprefix("\ufeff")).get("squashes", ""))
    if m is None or int(m["last"]) != pair.version:
        return None
    return int(m["first"]), pair.version


def gap_hint(version: int) -> str:
    """What to do about a version that has no files."""
    return (
        f"restore {version:04d} from version control (e.g. `git log --diff-filter=D -- "
        f"'generated/{version:04d}_*'`); "
        "if it was never applied anywhere, renumber the files after it instead"
    )


def _rel(p: Path) -> str:
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def next_version(pairs: list[MigrationPair]) -> int:
    """Return the number the next migration gets."""
    return pairs[-1].version + 1 if pairs else 1


def directives(text: str) -> dict[str, str]:
    """Read `-- schemactl:key value` lines from a file's leading comment block."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        s = line.strip()
        if not s:
            continue
        if not s.startswith("--"):
            break
        m = _DIRECTIVE.match(s)
        if m:
            out[m.group("key")] = m.group("value") or ""
    return out


@contextlib.contextmanager
def writer_lock(root: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the project's migration-writing lock: an exclusive flock on the project directory
    itself (no lock file to commit or clean up; released by the OS if we die).

    Two `diff` runs in one project would otherwise both replay the same history and both write
    the next number. The second waits, then replays the first one's migration too.
    """
    fd = os.open(root, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait("waiting for another schemactl diff in this project to finish")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the body is done (a pending signal arrives after it)."""
    blocked = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def write_pair(generated: Path, up: Path, up_text: str, down: Path, down_text: str) -> None:
    """Write a migration pair and update the integrity file, as one step for the user: an
    interrupt never leaves an up file without its down file, or files the integrity file does
    not know."""
    with _uninterrupted():
        write_atomic(up, up_text)
        write_atomic(down, down_text)
        write_sum(generated, list_migrations(generated))


def replace_pairs(
    generated: Path, old: list[Path], up: Path, up_text: str, down: Path, down_text: str
) -> None:
    """Write a pair in place of the files `old` (a squash), and update the integrity file, as
    one step (`write_pair`)."""
    with _uninterrupted():
        for path in old:
            path.unlink()
        write_atomic(up, up_text)
        write_atomic(down, down_text)
        write_sum(generated, list_migrations(generated))


def write_single(generated: Path, path: Path, text: str) -> None:
    """Write a Python migration and update the integrity file, as one step (`write_pair`)."""
    with _uninterrupted():
        write_atomic(path, text)
        write_sum(generated, list_migrations(generated))


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never a mix."""
    write_atomic_with(path, lambda f: f.write(text.encode("utf-8")))


def write_atomic_with(path: Path, write: Callable[[BinaryIO], object], mode: int = 0o644) -> None:
    """`write_atomic` for content that `write` puts into the (binary) file, with `mode`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------- integrity ----


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compute_sum(pairs: list[MigrationPair]) -> str:
    """Return the text of `schemactl.sum` for these migrations."""
    lines: list[str] = []
    chain = hashlib.sha256(b"schemactl.sum v1").hexdigest()
    for pair in pairs:
        for path in pair.files:
            h = file_hash(path)
            chain = hashlib.sha256(f"{chain} {path.name} {h}".encode()).hexdigest()
            lines.append(f"{path.name} {h}")
    return "\n".join([f"sum {chain}", *lines]) + "\n"


def write_sum(generated: Path, pairs: list[MigrationPair]) -> None:
    """Rewrite `schemactl.sum` from the files on disk."""
    write_atomic(generated / SUM_FILE, compute_sum(pairs))


@dataclass(frozen=True)
class IntegrityFinding:
    """A migration file that disagrees with `schemactl.sum`."""

    kind: str  # "edited", "added", "removed", "sum-file"
    file: str
    message: str


def check_sum(generated: Path, pairs: list[MigrationPair]) -> list[IntegrityFinding]:
    """Compare the migration files with `schemactl.sum`; return each disagreement."""
    sum_path = generated / SUM_FILE
    if not sum_path.exists():
        if not pairs:
            return []
        return [IntegrityFinding("sum-file", SUM_FILE, f"{SUM_FILE} is missing")]
    recorded: dict[str, str] = {}
    first = ""
    for i, line in enumerate(sum_path.read_text(encoding="utf-8").splitlines()):
        parts = line.split()
        if i == 0:
            first = line.strip()
        elif len(parts) == 2:
            recorded[parts[0]] = parts[1]
    findings: list[IntegrityFinding] = []
    on_disk = {p.name: p for pair in pairs for p in pair.files}
    for name in sorted(set(on_disk) | set(recorded)):
        if name not in recorded:
            findings.append(IntegrityFinding("added", name, f"{name} is not in {SUM_FILE}"))
        elif name not in on_disk:
            findings.append(IntegrityFinding("removed", name, f"{name} is in {SUM_FILE} but gone"))
        elif file_hash(on_disk[name]) != recorded[name]:
            findings.append(
                IntegrityFinding("edited", name, f"{name} was edited after it was generated")
            )
    if not findings and first != compute_sum(pairs).splitlines()[0]:
        findings.append(IntegrityFinding("sum-file", SUM_FILE, f"{SUM_FILE} was edited by hand"))
    return findings


def parse_version(
    value: int | str, files: Mapping[int, object], flag: str, allow_zero: bool = False
) -> int:
    """The version number `value` names (3, "0003" or "0003_slug"), one of `files`' keys."""
    text = str(value).strip()
    digits = text.split("_", 1)[0]
    if not digits.isdigit():
        raise UsageError(
            f"{flag} {text!r} is not a migration version", hint="use the number, e.g. 3 or 0003"
        )
    v = int(digits)
    if not (v in files or (allow_zero and v == 0)):
        last = max(files) if files else 0
        raise UsageError(
            f"{flag} {text}: there is no migration {v:04d}",
            hint=f"versions run from 0001 to {last:04d}"
            if files
            else "generated/ holds no migrations yet",
        )
    return v
