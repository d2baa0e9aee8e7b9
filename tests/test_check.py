"""`check`, the integrity file, `new` and `rehash`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from schemactl import api
from schemactl.errors import IntegrityError

from .conftest import Project


@pytest.fixture
def synced(project: Project, dev_url: str) -> Project:
    project.schema("tables/t.sql", "create table t (id int primary key, name text);")
    assert api.diff(project.config.with_overrides(dev_url), "base").verified
    return project


def test_in_sync_project_passes(synced: Project, dev_url: str) -> None:
    result = api.check(synced.config.with_overrides(dev_url))
    assert result.ok, result.findings
    assert result.notes  # says the models part is skipped


def test_pending_schema_change_is_a_finding(synced: Project, dev_url: str) -> None:
    synced.schema("tables/u.sql", "create table u (id int);")
    result = api.check(synced.config.with_overrides(dev_url))
    assert [f.kind for f in result.findings] == ["schema-drift"]
    assert 'create table "public"."u"' in result.pending_sql
    assert "TABLE public.u: missing" in result.findings[0].detail


def test_edited_migration_is_detected_and_rehash_accepts_it(synced: Project, dev_url: str) -> None:
    up = synced.root / "generated" / "0001_base.up.sql"
    up.write_text(up.read_text() + "\n-- reviewed\n")
    result = api.check(synced.config.with_overrides(dev_url))
    assert [(f.kind, f.message) for f in result.findings] == [
        ("integrity", "0001_base.up.sql was edited after it was generated")
    ]
    api.rehash(synced.config)
    assert api.check(synced.config.with_overrides(dev_url)).ok


def test_added_and_removed_files_are_detected(synced: Project, dev_url: str) -> None:
    gen = synced.root / "generated"
    (gen / "0002_copy.up.sql").write_text("select 1;\n")
    (gen / "0002_copy.down.sql").write_text("")
    messages = [f.message for f in api.check(synced.config.with_overrides(dev_url)).findings]
    assert "0002_copy.up.sql is not in schemactl.sum" in messages
    (gen / "0002_copy.up.sql").unlink()
    (gen / "0002_copy.down.sql").unlink()
    (gen / "0001_base.down.sql").unlink()
    with pytest.raises(IntegrityError, match="0001_base.up.sql has no matching .down.sql"):
        api.check(synced.config.with_overrides(dev_url))


def test_duplicate_version_after_merge_is_an_error(synced: Project) -> None:
    gen = synced.root / "generated"
    for d in ("up", "down"):
        shutil.copy(gen / f"0001_base.{d}.sql", gen / f"0001_other.{d}.sql")
    with pytest.raises(
        IntegrityError, match="two migrations share version 0001: 0001_base, 0001_other"
    ):
        api.check(synced.config)


def test_sum_chain_changes_with_every_file(synced: Project, dev_url: str) -> None:
    first = (synced.root / "generated" / "schemactl.sum").read_text().splitlines()[0]
    synced.schema("tables/u.sql", "create table u (id int);")
    api.diff(synced.config.with_overrides(dev_url), "u")
    lines = (synced.root / "generated" / "schemactl.sum").read_text().splitlines()
    assert lines[0] != first and lines[0].startswith("sum ")
    assert [ln.split()[0] for ln in lines[1:]] == [
        "0001_base.up.sql",
        "0001_base.down.sql",
        "0002_u.up.sql",
        "0002_u.down.sql",
    ]


def test_new_creates_a_hand_written_pair(synced: Project, dev_url: str) -> None:
    pair = api.new(synced.config, "backfill names")
    assert pair.up.name == "0002_backfill_names.up.sql"
    pair.up.write_text(pair.up.read_text() + "update t set name = 'x' where name is null;\n")
    api.rehash(synced.config)
    assert api.check(synced.config.with_overrides(dev_url)).ok


def test_what_is_unchanged_is_not_loaded_again(
    synced: Project, dev_url: str, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path))
    said: list[str] = []

    def check(**kw: object) -> api.CheckResult:
        said.clear()
        return api.check(
            synced.config.with_overrides(dev_url), models=False, progress=said.append, **kw
        )  # type: ignore[arg-type]

    assert check().ok and said[0] == "loading 1 schema file and replaying 1 migration"
    assert check().ok and said == [
        "schemas/ and the migrations are unchanged since an earlier run: nothing to load"
    ]
    # schemas/ edited (same schema, different bytes): loaded again, the history is not replayed.
    synced.schema("tables/t.sql", "-- reviewed\ncreate table t (id int primary key, name text);")
    assert (
        check().ok
        and said[0] == "loading 1 schema file (the migrations: unchanged since an earlier run)"
    )
    # A real change is found from the kept history, and replayed to say what would fix it.
    synced.schema("tables/u.sql", "create table u (id int);")
    result = check()
    assert 'create table "public"."u"' in result.pending_sql
    # Any change to a migration file is a different history: replayed, and its change seen.
    up = synced.root / "generated" / "0001_base.up.sql"
    up.write_text(up.read_text() + "create table u (id int);\n")
    result = check()
    assert said[0] == "replaying 1 migration (schemas/: unchanged since an earlier run)"
    assert [f.kind for f in result.findings] == ["integrity"]  # no drift: the edited history has u


def test_kept_models_text_still_finds_a_stale_models_file(
    synced: Project, dev_url: str, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path))
    api.generate_models(synced.config.with_overrides(dev_url))
    assert api.check(synced.config.with_overrides(dev_url)).ok
    said: list[str] = []
    assert api.check(synced.config.with_overrides(dev_url), progress=said.append).ok
    assert said == [
        "schemas/ and the migrations are unchanged since an earlier run: nothing to load"
    ]
    models = synced.config.models
    models.write_text(models.read_text() + "# edited by hand\n")
    result = api.check(synced.config.with_overrides(dev_url))
    assert [f.kind for f in result.findings] == ["models"]


def test_an_interrupt_while_writing_a_pair_waits_for_all_three_files(tmp_path, monkeypatch) -> None:
    import os
    import signal

    from schemactl.project import migfiles

    generated = tmp_path / "generated"
    generated.mkdir()
    real = migfiles.write_atomic

    def write_then_interrupt(path, text):  # type: ignore[no-untyped-def]
        real(path, text)
        if path.name.endswith(".up.sql"):
            os.kill(os.getpid(), signal.SIGINT)  # arrives between the up and the down file

    monkeypatch.setattr(migfiles, "write_atomic", write_then_interrupt)
    up, down = generated / "0001_a.up.sql", generated / "0001_a.down.sql"
    # A process started in the background of a non-interactive shell inherits SIGINT ignored,
    # and Python then raises nothing for it: give this test the interactive default.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            migfiles.write_pair(generated, up, "select 1;\n", down, "select 2;\n")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert up.exists() and down.exists()
    assert (
        migfiles.check_sum(generated, migfiles.list_migrations(generated)) == []
    )  # the sum knows both


def test_a_verified_diff_leaves_nothing_for_the_next_check_to_load(
    synced: Project, dev_url: str, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path))
    synced.schema("tables/u.sql", "create table u (id int);")
    assert api.diff(synced.config.with_overrides(dev_url), "add u").verified
    said: list[str] = []
    assert api.check(synced.config.with_overrides(dev_url), models=False, progress=said.append).ok
    assert said == [
        "schemas/ and the migrations are unchanged since an earlier run: nothing to load"
    ]
    # ... and what it kept is right: a fresh cache agrees.
    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path / "fresh"))
    assert api.check(synced.config.with_overrides(dev_url), models=False).ok


def test_kept_inspections_are_read_by_key_and_checked_by_verification(
    synced: Project, dev_url: str, tmp_path, monkeypatch
) -> None:
    from schemactl import engine

    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path))
    config = synced.config.with_overrides(dev_url)
    synced.schema("tables/u.sql", "create table u (id int);")
    first = api.diff(config, None, print_only=True)
    assert first.verified and "create table" in first.up_sql
    kept = sorted((tmp_path / "inspections").glob("*.pickle"))
    assert len(kept) == 2  # the replayed history's, and schemas/'s
    tables = {}
    for p in kept:
        with p.open("rb") as f:
            tables[p] = set(engine.read_inspection(f).upstream.tables)
    history, target = sorted(kept, key=lambda p: len(tables[p]))
    assert tables[target] - tables[history] == {'"public"."u"'}
    # What diff reads is the file under the key: schemas/' swapped for the history's, it sees
    # no change, and verification (pg_dump, no inspection) says that is wrong.
    target.write_bytes(history.read_bytes())
    forget = lambda: shutil.rmtree(tmp_path / "results")  # else the kept result answers  # noqa: E731
    forget()
    swapped = api.diff(config, None, print_only=True)
    assert swapped.status == "no-changes" and not swapped.verified and swapped.problems
    # A file others may write to is not read; nor is a damaged one: inspected again.
    target.chmod(0o666)
    assert api.diff(config, None, print_only=True).up_sql == first.up_sql
    target.write_bytes(b"not a pickle")
    target.chmod(0o600)
    forget()
    again = api.diff(config, None, print_only=True)
    assert again.up_sql == first.up_sql and again.verified


def test_a_kept_entry_in_use_outlives_newer_ones(tmp_path, monkeypatch) -> None:
    import time

    from schemactl.verification import snapcache

    monkeypatch.setenv("SCHEMACTL_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(snapcache, "KEEP", 3)
    for key in ("in-use", "old", "newer", "newest"):
        snapcache.keep_text("history", key, key)
        if key == "old":
            time.sleep(0.02)
            assert snapcache.load_text("history", "in-use") == "in-use"  # read: in use again
        time.sleep(0.02)
    assert snapcache.load_text("history", "in-use") == "in-use"
    assert snapcache.load_text("history", "old") is None  # the least recently used went


def test_a_project_just_made_is_in_sync(tmp_path: Path) -> None:
    from .conftest import run_cli

    assert run_cli("init", "fresh", cwd=tmp_path).returncode == 0
    fresh = tmp_path / "fresh"
    r = run_cli("check", cwd=fresh)
    assert r.returncode == 0 and "ok: migrations, schemas/ and schemactl.sum agree" in r.stderr
    r = run_cli("diff", "-m", "nothing", cwd=fresh)
    assert r.returncode == 0 and "no changes" in r.stderr, r.stderr
    # Against a history, an emptied schemas/ is a drop of everything: refused as destructive.
    (fresh / "schemas" / "t.sql").write_text("create table t (id int);\n")
    assert run_cli("diff", "-m", "t", cwd=fresh).returncode == 0
    (fresh / "schemas" / "t.sql").unlink()
    r = run_cli("diff", "-m", "empty", cwd=fresh)
    assert r.returncode == 3 and 'drops table "public"."t"' in r.stderr, r.stderr
