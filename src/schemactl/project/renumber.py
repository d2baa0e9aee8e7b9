"""`schemactl renumber`: after a merge in which two branches each added migration 0015, move this
branch's new pairs after the other branch's.

Which pairs are "theirs" comes from git: the migration files in the tree of the commit being
merged (`MERGE_HEAD` while a merge is under way, or `--theirs REF`). Pairs can also be named.
A pair applied to the database given (`--db`/`--env`) is never moved: its number is recorded
there (the caller reads that database's ledger). The moved pairs get the next free numbers, in
their old order; the version in their header follows, and `schemactl.sum` is written again.
They now run after the other branch's migrations, so they need verifying in that order
(`schemactl check --verify`).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from . import migfiles
from .config import Config


@dataclass(frozen=True)
class Move:
    """One pair renumbered."""

    old: str  # NNNN_slug before
    new: str  # NNNN_slug after


def _scan(generated: Path) -> dict[str, set[str]]:
    """NNNN_slug -> the directions present, without the checks list_migrations makes."""
    found: dict[str, set[str]] = {}
    for p in generated.iterdir() if generated.is_dir() else []:
        if migfiles.FILE_NAME.match(p.name):
            found.setdefault(p.name.rsplit(".", 2)[0], set()).add(p.name)
    return found


def _git_names(config: Config, ref: str) -> set[str] | None:
    """The migration ids in `generated/` of commit `ref`, or None when git cannot say."""
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=config.root,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        rel = config.generated.resolve().relative_to(Path(top).resolve())
        out = subprocess.run(
            ["git", "ls-tree", "--name-only", f"{ref}:{rel.as_posix()}"],
            cwd=config.root,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    return {name.rsplit(".", 2)[0] for name in out.split() if migfiles.FILE_NAME.match(name)}


def renumber(
    config: Config,
    names: list[str] | None = None,
    *,
    theirs: str | None = None,
    applied: Callable[[], set[int]] = set,
) -> list[Move]:
    """Move this branch's new pairs (those named, or those git says the other branch lacks) after
    all the others; return what moved. Refuses pairs whose versions `applied` returns (the
    ledger of a database, `targets.status.applied_versions`: read only if a pair would move)."""
    found = _scan(config.generated)
    ids = sorted(found, key=lambda i: (int(i.split("_", 1)[0]), i))
    if names:
        moving = []
        for name in names:
            hits = [i for i in ids if i == name or i.split("_", 1)[1] == name]
            if len(hits) != 1:
                raise UsageError(
                    f"no single migration named {name!r} in {config.rel(config.generated)}/",
                    hint="name it as NNNN_slug, e.g. 0015_add_users",
                )
            moving.append(hits[0])
    else:
        moving = _ours(config, ids, theirs)
    if not moving:
        return []
    done = applied()
    if touched := [i for i in moving if int(i.split("_", 1)[0]) in done]:
        raise UsageError(
            f"{', '.join(touched)} {'is' if len(touched) == 1 else 'are'} applied to that "
            "database: "
            "renumbering would break its history",
            hint="renumber the other branch's pair instead (name it), or roll this one back there "
            "first",
        )
    kept = [i for i in ids if i not in moving]
    for expected, i in enumerate(kept, start=1):
        if int(i.split("_", 1)[0]) != expected:
            raise UsageError(
                f"after moving {', '.join(moving)}, {i} would still not follow "
                f"0001..{expected - 1:04d}",
                hint="name every pair to move after the others",
            )
    moves = [
        Move(old, f"{len(kept) + n:04d}_{old.split('_', 1)[1]}")
        for n, old in enumerate(sorted(moving, key=lambda i: (int(i.split("_", 1)[0]), i)), start=1)
    ]
    _apply(config, moves)
    return moves


def _ours(config: Config, ids: list[str], theirs: str | None) -> list[str]:
    """This branch's pairs from the first shared version on: those missing from the other side."""
    versions: dict[int, list[str]] = {}
    for i in ids:
        versions.setdefault(int(i.split("_", 1)[0]), []).append(i)
    clash = sorted(v for v, owners in versions.items() if len(owners) > 1)
    if not clash:
        return []
    ref = theirs or "MERGE_HEAD"
    other = _git_names(config, ref)
    if other is None:
        shared = ", ".join(versions[clash[0]])
        raise UsageError(
            f"{shared} share version {clash[0]:04d}, and git cannot say which is the other "
            f"branch's ({ref})",
            hint=f"name this branch's pair(s): schemactl renumber {versions[clash[0]][-1]}, or "
            "give --theirs BRANCH",
        )
    ours = [i for i in ids if int(i.split("_", 1)[0]) >= clash[0] and i not in other]
    if not ours:
        raise UsageError(
            f"every pair at {clash[0]:04d} is in {ref}: nothing of this branch's to move",
            hint="name the pair(s) to move",
        )
    return ours


def _apply(config: Config, moves: list[Move]) -> None:
    header = re.compile(r"^-- (\d{4,}_[a-z0-9_]+) \((up|down)\)$", re.MULTILINE)
    renamed = []
    for move in moves:
        for direction in ("up", "down"):
            old = config.generated / f"{move.old}.{direction}.sql"
            if not old.exists():
                continue
            text = old.read_text(encoding="utf-8")

            def renamed_header(m: re.Match[str], move: Move = move) -> str:
                return f"-- {move.new} ({m[2]})" if m[1] == move.old else m[0]

            text = header.sub(renamed_header, text, count=1)
            tmp = config.generated / f".renumber-{move.new}.{direction}.sql"
            migfiles.write_atomic(tmp, text)
            renamed.append((old, tmp, config.generated / f"{move.new}.{direction}.sql"))
    # All new texts are written before any name changes, so a failure leaves the old files whole.
    for old, tmp, new in renamed:
        old.unlink()
        tmp.replace(new)
    migfiles.write_sum(config.generated, migfiles.list_migrations(config.generated))
    _stage(config, [p for old, _, new in renamed for p in (old, new)])


def _stage(config: Config, paths: list[Path]) -> None:
    """Stage the moves as `git mv` would, where git tracks the files moved: the commit that
    resolves the merge then holds renames, not a deletion here and new files there."""
    git = ["git", "-C", str(config.root)]
    try:
        tracked = subprocess.run(
            [*git, "ls-files", "--", *map(str, paths)],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split()
        if tracked:
            sum_file = config.generated / migfiles.SUM_FILE
            subprocess.run(
                [*git, "add", "-A", "--", *map(str, paths), str(sum_file)],
                capture_output=True,
                check=True,
                timeout=30,
            )
    except (OSError, subprocess.SubprocessError):
        pass  # not a git work tree, or no git: the files are moved all the same
