"""Engine cases as data: `tests/engine_cases/<kind>/<case>/{before,after}.sql`, each run by one
round trip (before → after, both directions verified by pg_dump against the DDL). Adding a
case is adding a directory; the first line of `before.sql` says what it guards."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Project, roundtrip

CASES = Path(__file__).resolve().parent / "engine_cases"


def _cases() -> list[Path]:
    return sorted(p for p in CASES.glob("*/*") if (p / "before.sql").is_file())


def test_every_case_directory_is_complete() -> None:
    found = _cases()
    assert len(found) >= 17
    for case in found:
        assert (case / "after.sql").is_file(), f"{case.relative_to(CASES)} has no after.sql"


@pytest.mark.parametrize("case", _cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_engine_case_round_trips(project: Project, dev_url: str, case: Path) -> None:
    before = (case / "before.sql").read_text(encoding="utf-8")
    after = (case / "after.sql").read_text(encoding="utf-8")
    result = roundtrip(project, dev_url, before, after)
    assert result.up_sql and result.down_sql  # the case changes something, both ways
