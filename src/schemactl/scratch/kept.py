"""A scratch cluster kept between runs, so that a history replayed once is not replayed again.

A run that may keep its cluster (`diff`, `check`, `verify`: `sandbox.sandbox`) starts it where
the last run left it, instead of copying the initialised one. Its databases named
`schemactl_h_<history key>` are the replayed histories of earlier runs (templates): the replay
of the same files is `CREATE DATABASE … TEMPLATE` of one (0.1 s at 1,000 tables) instead of
running every migration again. After the run its own databases are dropped, the server stops
with a checkpoint, and the directory goes back.

What makes it safe to trust:
- The cluster's key is a hash of the server build, initdb's arguments, schemactl's version
  and the project's roles (cluster-wide objects a fresh cluster would not have), and a
  template's name is the history's integrity key (`snapcache.history_key`: every migration's
  bytes, the roles, the server, schemactl's sources). A changed input is another name, never a
  stale entry read back.
- The directory lives next to the run's own scratch directories (memory filesystem where
  there is room), and is registered in the cache directory (`clusters/<key>.json`): with an
  empty cache directory nothing is found, so a cold run stays cold; `clean` removes both.
- Only a directory this user owns, private (0700), whose pointer and own key file agree and
  whose data the server user owns, is used. A run takes it by renaming it (atomic), so two
  concurrent runs never share one: the second runs cold. One that does not start is removed
  and the run goes on cold.
- What is kept is bounded (`SCHEMACTL_KEEP_MIB`, default 1024 MiB; 0 keeps nothing): the
  least recently used templates, then clusters, go first.
- Every template came from a replay, or from the replay plus a pair that verification proved
  equal (by pg_dump) to `schemas/`; a `diff` on it is verified again the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pwd
import shutil
import stat
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..project import envvars
from ..project.config import cache_root
from ..version import __version__
from .pgbinaries import PgBinaries, build_identity
from .pgcluster import scratch_location, unprivileged_user

log = logging.getLogger(__name__)

TEMPLATE_PREFIX = "schemactl_h_"
KEEP_CLUSTERS = 2  # per cache directory: a project's roles are part of the key
KEEP_TEMPLATES = 8  # per cluster: the history before and after each of the last diffs
DEFAULT_LIMIT_MIB = 1024
_KEY_FILE = "schemactl-kept.key"
_POINTER_FILE = "schemactl-kept.pointer"  # the cache directory's entry naming it
_OWNER_FILE = "schemactl.pid"  # the run using a scratch directory


def limit_bytes() -> int:
    """What kept clusters may take in all (SCHEMACTL_KEEP_MIB; default 1 GiB)."""
    raw = envvars.keep_mib()
    try:
        mib = int(raw) if raw is not None else DEFAULT_LIMIT_MIB
    except ValueError:
        mib = DEFAULT_LIMIT_MIB
    return max(mib, 0) << 20


def template_name(history_key: str) -> str:
    return TEMPLATE_PREFIX + history_key


@dataclass
class Spec:
    """What a kept cluster must match besides its server build: the project's roles."""

    roles: tuple[str, ...] = ()


@dataclass
class Claimed:
    """A kept cluster taken by this run: where it is now, and where it goes back."""

    key: str
    home: Path  # where it is kept between runs
    path: Path  # where this run has it (the run's scratch directory)
    pointer: Path  # its entry in the cache directory
    used: dict[str, float] = field(default_factory=dict)  # template -> last used


def cluster_key(binaries: PgBinaries, initdb_args: list[str], spec: Spec) -> str:
    parts = (build_identity(binaries.bindir), initdb_args, __version__, sorted(spec.roles))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def home_of(parent: str, key: str) -> Path:
    """The kept directory of `key` for this cache directory: two cache directories (two users'
    HOMEs, a test's own) never share one."""
    tag = hashlib.sha256(f"{cache_root().resolve()}|{key}".encode()).hexdigest()[:16]
    return Path(parent) / f"schemactl-kept-{tag}"


def _pointer(key: str) -> Path:
    return cache_root() / "clusters" / f"{key}.json"


def _read_pointer(path: Path) -> dict[str, Any] | None:
    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _state(home: Path, key: str, run_as: pwd.struct_passwd | None) -> str:
    """ "ours": a kept cluster of `key` made by this user: a private directory (not a link) of
    the user the server runs as (this one, or as root the unprivileged one, who owns all its
    data anyway), its data too, its key file saying `key`. "damaged": ours, but not that (to be
    replaced). "foreign": anything else, left alone."""
    owner = run_as.pw_uid if run_as is not None else os.geteuid()
    try:
        st = home.lstat()
    except OSError:
        return "foreign"
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != owner or st.st_mode & 0o077:
        return "foreign"
    try:
        data = (home / "data").lstat()
        if not stat.S_ISDIR(data.st_mode) or data.st_uid != owner or data.st_mode & 0o077:
            return "damaged"
        same = (home / _KEY_FILE).read_text(encoding="utf-8").strip() == key
    except OSError:
        return "damaged"
    return "ours" if same else "damaged"


def claim(parent: str, key: str, run_as: pwd.struct_passwd | None, major: int) -> Claimed | None:
    """Take the kept cluster of `key` for this run (renamed to a scratch directory of its own),
    or None: none kept, not ours, not matching, or taken by a concurrent run. (With no room
    to keep anything, EphemeralServer does not ask.)"""
    pointer = _pointer(key)
    found = _read_pointer(pointer)
    home = home_of(parent, key)
    state = _state(home, key, run_as)
    if state == "foreign":
        return None
    if state == "damaged" or found is None or found.get("home") != str(home):
        _doom(home)  # or ours with no entry: the cache was emptied
        return None
    try:
        if (home / "data" / "PG_VERSION").read_text().strip() != str(major):
            return None
    except OSError:
        return None
    path = Path(parent) / f"schemactl-pg-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(home, path)  # atomic: a concurrent run finds nothing and runs cold
    except OSError:
        return None
    used = found.get("templates")
    return Claimed(key, home, path, pointer, dict(used) if isinstance(used, dict) else {})


def adopt(path: Path, parent: str, key: str) -> Claimed:
    """A cold run's fresh scratch directory, to be kept under `key` at its end."""
    return Claimed(key, home_of(parent, key), path, _pointer(key))


def discard(claimed: Claimed) -> None:
    """Forget a kept cluster that could not be used (it did not start): removed, unpointed."""
    shutil.rmtree(claimed.path, ignore_errors=True)
    with contextlib.suppress(OSError):
        claimed.pointer.unlink()


def put_back(claimed: Claimed, size: int) -> bool:
    """Return a stopped cluster to its home and point the cache directory at it; False (and it
    is removed) when another run put one back first or it would not fit the limit."""
    if size > limit_bytes():
        return False
    entry = {
        "key": claimed.key,
        "home": str(claimed.home),
        "templates": claimed.used,
        "bytes": size,
        "version": __version__,
    }
    # The pointer first, then the directory: a home is never without one (`sweep`).
    try:
        (claimed.path / _KEY_FILE).write_text(claimed.key + "\n", encoding="utf-8")
        (claimed.path / _POINTER_FILE).write_text(str(claimed.pointer.absolute()), "utf-8")
        claimed.pointer.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = claimed.pointer.with_name(f".{claimed.pointer.name}.{os.getpid()}")
        tmp.write_text(json.dumps(entry), encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, claimed.pointer)
    except OSError:
        return False
    try:
        os.rename(claimed.path, claimed.home)  # fails if the home is taken again meanwhile
    except OSError:
        return False
    return True


def tidy_later(parent: str, key: str) -> threading.Thread:
    """Remove, on a thread beside the run, what `sweep` finds, the directories `claim` gave up,
    and the other clusters beyond KEEP_CLUSTERS or the limit: a kept cluster of 1,000 tables is
    ~100 MB and thousands of files, 0.3 s to remove, which the run need not wait for."""
    room = limit_bytes() - next(
        (int(e.get("bytes", 0) or 0) for _, e in kept_clusters() if e.get("key") == key), 0
    )

    def work() -> None:
        with contextlib.suppress(OSError):
            while _doomed:
                shutil.rmtree(_doomed.pop(), ignore_errors=True)
            _age_out(key, room)
            sweep(parent)

    worker = threading.Thread(target=work, name="schemactl-sweep")
    worker.start()  # not a daemon: an exit waits for it rather than leave half a directory
    return worker


_doomed: list[Path] = []  # given up by `claim`, removed by `tidy_later`


def _doom(home: Path) -> None:
    """Take `home` out of the way now (renamed, atomic), to be removed by `tidy_later`."""
    gone = home.with_name(f"schemactl-gone-{uuid.uuid4().hex[:8]}")  # `sweep` finds it too
    try:
        os.rename(home, gone)
    except OSError:
        return
    _doomed.append(gone)


def sweep(parent: str) -> list[Path]:
    """Remove what killed runs and emptied cache directories left in `parent`: scratch
    directories whose run is gone (`mark_owner`), kept ones no cache directory points at.
    Only this user's (or its server user's) are touched; the ones removed."""
    run_as = unprivileged_user()
    owners = {os.geteuid(), *([run_as.pw_uid] if run_as is not None else [])}
    removed = []
    for d in Path(parent).glob("schemactl-*-*"):
        with contextlib.suppress(OSError, ValueError):
            st = d.lstat()
            if not stat.S_ISDIR(st.st_mode) or st.st_uid not in owners:
                continue
            if d.name.startswith("schemactl-gone-"):
                pass  # given up by `claim`; its run ended before removing it
            elif d.name.startswith("schemactl-pg-") and (d / _OWNER_FILE).exists():
                pid = int((d / _OWNER_FILE).read_text())
                if _alive(pid):
                    continue
            elif d.name.startswith("schemactl-kept-"):
                pointer = Path((d / _POINTER_FILE).read_text(encoding="utf-8"))
                entry = _read_pointer(pointer)
                if entry is not None and entry.get("home") == str(d):
                    continue
            else:
                continue
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def mark_owner(base_dir: Path) -> None:
    """Say which process runs in a scratch directory (`sweep` removes it once that is gone)."""
    with contextlib.suppress(OSError):
        (base_dir / _OWNER_FILE).write_text(str(os.getpid()), encoding="utf-8")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def templates_to_drop(claimed: Claimed, sizes: dict[str, int], base: int) -> list[str]:
    """The templates to drop so that the cluster fits: beyond KEEP_TEMPLATES, then over the
    limit, least recently used first (`sizes`: each template's bytes; `base`: the rest)."""
    order = sorted(sizes, key=lambda name: claimed.used.get(name, 0.0), reverse=True)
    keep: list[str] = []
    total = base
    for name in order:
        if len(keep) < KEEP_TEMPLATES and total + sizes[name] <= limit_bytes():
            keep.append(name)
            total += sizes[name]
    claimed.used = {name: claimed.used.get(name, time.time()) for name in keep}
    return [name for name in sizes if name not in keep]


def kept_clusters() -> list[tuple[Path, dict[str, Any]]]:
    """Every kept cluster the cache directory points at: (pointer, entry), newest first."""
    found = []
    for pointer in (cache_root() / "clusters").glob("*.json"):
        if (entry := _read_pointer(pointer)) is not None:
            found.append((pointer, entry))
    found.sort(key=lambda pe: pe[0].stat().st_mtime if pe[0].exists() else 0, reverse=True)
    return found


def remove(pointer: Path, entry: dict[str, Any]) -> int:
    """Remove one kept cluster (a home this user owns, as the pointer says); its bytes."""
    home = Path(str(entry.get("home", "")))
    freed = int(entry.get("bytes", 0) or 0)
    with contextlib.suppress(OSError):
        run_as = unprivileged_user()
        owner = run_as.pw_uid if run_as is not None else os.geteuid()
        if home.name.startswith("schemactl-kept-") and home.lstat().st_uid == owner:
            shutil.rmtree(home, ignore_errors=True)
    with contextlib.suppress(OSError):
        pointer.unlink()
    return freed


def _age_out(key: str, room: int) -> None:
    """Other clusters beyond KEEP_CLUSTERS, or beyond the room left, oldest first."""
    others = [(p, e) for p, e in kept_clusters() if e.get("key") != key]
    for i, (pointer, entry) in enumerate(others):
        size = int(entry.get("bytes", 0) or 0)
        if i + 1 >= KEEP_CLUSTERS or size > room:
            remove(pointer, entry)
        else:
            room -= size


def tidy(cur: Any, claimed: Claimed, spec: Spec, spares: tuple[str, ...]) -> int | None:
    """Make a cluster ready to keep, on its admin cursor: this run's databases dropped, the
    templates that do not fit dropped, the spare databases made again. Its size, or None when
    it must not be kept: a role the project does not declare was made (by the DDL), which a
    fresh cluster would not have."""
    cur.execute(
        "SELECT (SELECT array_agg(rolname::text) FROM pg_roles WHERE rolname !~ '^pg_'),"
        " array_agg(datname::text), array_agg(pg_database_size(oid)) FROM pg_database"
    )
    roles, names, bytes_ = cur.fetchone()
    if set(roles) != {"postgres", *spec.roles}:
        return None
    sizes = dict(zip(names, bytes_, strict=True))
    templates = {n: s for n, s in sizes.items() if n.startswith(TEMPLATE_PREFIX)}
    own = {"template0", "template1", "postgres", *spares}
    missing = [n for n in spares if n not in sizes]
    base = sum(s for n, s in sizes.items() if n in own) + len(missing) * sizes["template0"]
    drop = [n for n in sizes if n not in templates and n not in own]
    drop += templates_to_drop(claimed, templates, base)
    for name in drop:
        cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    for name in missing:  # a run renames them away: made again, so the next one can too
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY FILE_COPY')
    return int(base + sum(s for n, s in templates.items() if n not in drop))


def clean_all() -> list[str]:
    """Remove every kept cluster this cache directory points at, and what killed runs left in
    the scratch location; what was removed, in words."""
    said = []
    for pointer, entry in kept_clusters():
        freed = remove(pointer, entry)
        said.append(f"{entry.get('home')} ({freed >> 20} MiB kept between runs)")
    said += [f"{d} (left by a run that was killed)" for d in sweep(scratch_location()[0])]
    return said
