"""The scratch cluster kept between runs (scratch/kept.py): a history replayed once is copied, not
replayed, by later runs; and a kept directory is never used when anything it depends on changed,
when it is damaged, or when it is not ours."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemactl import api
from schemactl.scratch import kept

from .conftest import Project

BASE = "create table item (id int primary key, name text not null);\n"


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache directory and a scratch location of this test's own (the server user must reach
    the latter: pytest's tmp_path is private)."""
    scratch = Path(tempfile.mkdtemp(prefix="kept-test-", dir="/tmp"))
    scratch.chmod(0o755)
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SCHEMACTL_TMPDIR", str(scratch))
    monkeypatch.delenv("SCHEMACTL_KEEP_MIB", raising=False)
    try:
        yield scratch
    finally:
        api.clean(None)
        for d in scratch.iterdir():  # anything left is a failure of the test above, not ours
            import shutil

            shutil.rmtree(d, ignore_errors=True)
        scratch.rmdir()


def _diff(project: Project, name: str) -> tuple[api.DiffResult, str]:
    said: list[str] = []
    result = api.diff(project.config, name, progress=said.append)
    return result, next(line for line in said if "migration" in line and "load" in line)


def _based(tmp_path: Path) -> Project:
    """A project whose one migration, written by a first `diff`, holds BASE."""
    project = Project(tmp_path / "p")
    project.schema("s.sql", BASE)
    api.diff(project.config, "base")
    return project


def _edit(project: Project, extra: str) -> None:
    project.schema("s.sql", BASE.replace("not null", f"not null, {extra}"))


def _homes(scratch: Path) -> list[Path]:
    return sorted(scratch.glob("schemactl-kept-*"))


def test_a_history_replayed_once_is_copied_by_the_next_runs(tmp_path: Path, place: Path) -> None:
    project = Project(tmp_path / "p")
    project.schema("s.sql", BASE)
    result, said = _diff(project, "base")
    assert result.verified and "replaying 0 migrations" in said
    assert len(_homes(place)) == 1  # kept, registered in the cache directory
    assert list(place.glob("schemactl-pg-*")) == []  # nothing else left behind

    _edit(project, "note text")
    result, said = _diff(project, "note")
    assert result.verified and result.status == "written"
    assert "copying the replay of 1 migration kept by an earlier run" in said

    # The history now holds the pair just written: its replay was kept by that diff.
    _edit(project, "note text, price numeric")
    result, said = _diff(project, "price")
    assert result.verified and "copying the replay of 2 migrations" in said
    assert "copying the replay of 3 migrations" in _diff(project, "none")[1]

    # A changed history (a hand edit of a migration) is another key: replayed again.
    up = project.root / "generated" / "0002_note.up.sql"
    up.write_text(up.read_text() + "\ncomment on table item is 'edited by hand';\n")
    api.rehash(project.config)
    assert "replaying 3 migrations" in _diff(project, "none")[1]

    report = api.doctor(project.config)
    assert [k.path for k in report.kept] == [str(p) for p in _homes(place)]
    assert report.kept[0].histories >= 3 and report.kept[0].bytes > 0
    assert any("kept between runs" in line for line in api.clean(None))
    assert _homes(place) == [] and api.doctor(project.config).kept == []


def test_check_copies_a_kept_replay(tmp_path: Path, place: Path) -> None:
    project = _based(tmp_path)
    (Path(os.environ["SCHEMACTL_CACHE_DIR"]) / "history").mkdir(exist_ok=True)
    for snapshot in (Path(os.environ["SCHEMACTL_CACHE_DIR"]) / "history").iterdir():
        snapshot.unlink()  # the history's snapshot forgotten: check must load the history
    said: list[str] = []
    result = api.check(project.config, models=False, progress=said.append)
    assert result.findings == []
    assert any("copying the replay of 1 migration" in line for line in said), said


@pytest.mark.parametrize("change", ["server build", "schemactl version", "roles"])
def test_a_kept_cluster_is_not_used_when_what_it_depends_on_changed(
    tmp_path: Path, place: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    project = _based(tmp_path)
    (home,) = _homes(place)
    if change == "server build":
        monkeypatch.setattr(kept, "build_identity", lambda bindir: "another build")
    elif change == "schemactl version":
        monkeypatch.setattr(kept, "__version__", "99.0")
    else:
        project.write_config("roles = ['reader']\n")
    _edit(project, "note text")
    result, said = _diff(project, "note")
    assert result.verified and "replaying 1 migration" in said
    assert home.exists()  # the other key's cluster is left as it is (kept for its own runs)
    assert len(_homes(place)) == 2


@pytest.mark.parametrize("damage", ["control file", "key file", "pointer"])
def test_a_damaged_kept_cluster_is_ignored(tmp_path: Path, place: Path, damage: str) -> None:
    project = _based(tmp_path)
    (home,) = _homes(place)
    if damage == "control file":  # the server refuses to start on it
        (home / "data" / "global" / "pg_control").write_bytes(b"\0" * 8192)
    elif damage == "key file":
        (home / "schemactl-kept.key").write_text("something else\n")
    else:
        (pointer,) = (Path(os.environ["SCHEMACTL_CACHE_DIR"]) / "clusters").glob("*.json")
        pointer.write_text("{not json")
    _edit(project, "note text")
    result, said = _diff(project, "note")
    assert result.verified and result.status == "written"
    assert "replaying 1 migration" in said
    # Replaced by this run's own, which the next run uses.
    _edit(project, "note text, price numeric")
    assert "copying the replay of 2 migrations" in _diff(project, "price")[1]
    assert len(_homes(place)) == 1


def test_a_kept_cluster_not_ours_is_ignored_and_left_alone(tmp_path: Path, place: Path) -> None:
    project = _based(tmp_path)
    (home,) = _homes(place)
    if os.geteuid() == 0:  # another user's (the server runs as postgres or nobody, not root)
        os.chown(home, 12345, 12345)
    else:  # not private: anyone could have changed it
        home.chmod(0o755)
    before = sorted(p.name for p in home.iterdir())
    _edit(project, "note text")
    result, said = _diff(project, "note")
    assert result.verified and "replaying 1 migration" in said
    assert sorted(p.name for p in home.iterdir()) == before  # not used, not removed


def test_an_empty_cache_directory_is_a_cold_run_and_orphans_are_swept(
    tmp_path: Path, place: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _based(tmp_path)
    (home,) = _homes(place)
    first = (home / "schemactl-kept.key").stat().st_ino
    import shutil

    shutil.rmtree(os.environ["SCHEMACTL_CACHE_DIR"])
    _edit(project, "note text")
    result, said = _diff(project, "note")
    assert result.verified and "replaying 1 migration" in said
    # The cluster no cache directory pointed at any more is gone; this run's is kept instead.
    (now,) = _homes(place)
    assert (now / "schemactl-kept.key").stat().st_ino != first
    # A scratch directory whose run was killed is removed too (by the next run, or clean).
    (dead := place / "schemactl-pg-killed").mkdir()
    (dead / "schemactl.pid").write_text("999999999")
    assert str(dead) in " ".join(api.clean(None))
    assert not dead.exists()


def test_nothing_is_kept_with_no_room(
    tmp_path: Path, place: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project(tmp_path / "p")
    project.schema("s.sql", BASE)
    monkeypatch.setenv("SCHEMACTL_KEEP_MIB", "0")
    assert api.diff(project.config, "base").verified
    assert _homes(place) == [] and list(place.iterdir()) == []
    monkeypatch.setenv("SCHEMACTL_KEEP_MIB", "1")  # a cluster is ~40 MiB: does not fit
    _edit(project, "note text")
    assert api.diff(project.config, "note").verified
    assert _homes(place) == [] and list(place.iterdir()) == []
    entries = Path(os.environ["SCHEMACTL_CACHE_DIR"]) / "clusters"
    assert not entries.exists() or [json.loads(p.read_text()) for p in entries.iterdir()] == []


def test_the_same_diff_again_reuses_its_verified_result(
    tmp_path: Path, place: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _based(tmp_path)
    _edit(project, "note text")
    first = api.diff(project.config, "note")
    assert first.verified and not first.reused
    assert first.up_path is not None and first.down_path is not None
    texts = first.up_path.read_text(), first.down_path.read_text()
    # As after `git checkout generated/`: the pair gone, the same DDL diffed again.
    first.up_path.unlink()
    first.down_path.unlink()
    api.rehash(project.config)
    said: list[str] = []
    again = api.diff(project.config, "note", progress=said.append)
    assert again.reused and again.verified and again.status == "written"
    assert said == ["schemas/ and the migrations are as an earlier run verified them: its result "
                    "stands"]  # fmt: skip
    assert (again.up_path.read_text(), again.down_path.read_text()) == texts  # type: ignore[union-attr]
    assert api.check(project.config, models=False).findings == []
    assert again.hazards == first.hazards and again.up_sql == first.up_sql

    # Anything that shapes the pair is another key: a setting, another name, --print.
    for path in (again.up_path, again.down_path):
        path.unlink()  # type: ignore[union-attr]
    api.rehash(project.config)
    assert not api.diff(project.config, "other").reused
    for path in project.root.glob("generated/0002_other.*"):
        path.unlink()
    api.rehash(project.config)
    project.write_config("online = true\n")
    assert not api.diff(project.config, None, print_only=True).reused
    assert api.diff(project.config, None, print_only=True).reused
    # schemactl's own code changed (a checkout, the same version): not read back either.
    from schemactl.verification import snapcache

    monkeypatch.setattr(snapcache, "_package", lambda: "other code")
    assert not api.diff(project.config, None, print_only=True).reused


def test_a_trial_that_fails_on_rows_is_tried_again_from_the_kept_history(
    tmp_path: Path, place: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A second table the pair does not reach; a NOT NULL column without a default fails on the
    # sample rows, so the trial is run again with every table filled, on a copy of the kept
    # history made only then.
    project = Project(tmp_path / "p")
    project.schema("s.sql", BASE + "create table other (id int primary key);\n")
    api.diff(project.config, "base")
    project.schema("s.sql", BASE.replace("not null", "not null, code int not null")
                   + "create table other (id int primary key);\n")  # fmt: skip
    from schemactl.scratch import pgserver

    copies: list[tuple[str, str]] = []
    copy = pgserver.Sandbox.copy_database

    def recorded(self: pgserver.Sandbox, template: str, label: str) -> str:
        copies.append((template[: len(kept.TEMPLATE_PREFIX)], label))
        return copy(self, template, label)

    monkeypatch.setattr(pgserver.Sandbox, "copy_database", recorded)
    said: list[str] = []
    result = api.diff(project.config, "code", allow_hazards=True, progress=said.append)
    assert "copying the replay of 1 migration kept by an earlier run" in " ".join(said)
    # The replay and the second trial's copy from the kept history; the first trial's from
    # the replay; no copy made in advance.
    assert sorted(copies) == sorted(
        [(kept.TEMPLATE_PREFIX, "replay"), (kept.TEMPLATE_PREFIX, "data"), ("schemactl_re", "data")]
    ), copies
    assert result.verified
    failed = [h for h in result.hazards if h.kind == "fails-with-data"]
    assert failed and failed[0].relation == "public.item", result.hazards
    assert result.sample_rows > 0
