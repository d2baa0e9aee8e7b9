"""Engine cases as data: `tests/engine_cases/<kind>/<case>/{before,after}.sql`, each run by one
round trip (before → after, both directions verified by pg_dump against the DDL). Adding a
case is adding a directory; the first line of `before.sql` says what it guards.

An optional `expect.toml` says more about the generated files than that they verify:

    requires = "icu"            # skipped where the suite's server lacks it
    [up]                        # and/or [down]
    contains = ["…"]            # each text somewhere in the file
    excludes = ["…"]            # … nowhere in it
    order = [["a", "b"]]        # a stands before b
    equals = "…"                # the whole file (its statements, header left out)
    ends_with = "…"
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from .conftest import Project, roundtrip

CASES = Path(__file__).resolve().parent / "engine_cases"
_CHECKS = {"contains", "excludes", "order", "equals", "ends_with"}


def _cases() -> list[Path]:
    return sorted(p for p in CASES.glob("*/*") if (p / "before.sql").is_file())


def _expectation(case: Path) -> dict[str, Any]:
    path = case / "expect.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def test_every_case_directory_is_complete() -> None:
    found = _cases()
    assert len(found) >= 27
    for case in found:
        assert (case / "after.sql").is_file(), f"{case.relative_to(CASES)} has no after.sql"
        assert (case / "before.sql").read_text(encoding="utf-8").startswith("-- ")
        expect = _expectation(case)
        assert set(expect) <= {"requires", "up", "down"}, case
        for side in ("up", "down"):
            assert set(expect.get(side, {})) <= _CHECKS, f"{case}: unknown check"


def _check(sql: str, side: str, checks: dict[str, Any]) -> None:
    for text in checks.get("contains", ()):
        assert text in sql, f"{side} lacks {text!r}"
    for text in checks.get("excludes", ()):
        assert text not in sql, f"{side} has {text!r}"
    for first, then in checks.get("order", ()):
        assert sql.index(first) < sql.index(then), f"{side}: {then!r} before {first!r}"
    if "equals" in checks:
        assert sql.strip() == checks["equals"].strip()
    if "ends_with" in checks:
        assert sql.strip().endswith(checks["ends_with"])


@pytest.mark.parametrize("case", _cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_engine_case_round_trips(
    project: Project, dev_url: str, case: Path, request: pytest.FixtureRequest
) -> None:
    expect = _expectation(case)
    if "requires" in expect:
        request.getfixturevalue(expect["requires"])  # a fixture that skips, e.g. `icu`
    before = (case / "before.sql").read_text(encoding="utf-8")
    after = (case / "after.sql").read_text(encoding="utf-8")
    result = roundtrip(project, dev_url, before, after)
    assert result.up_sql and result.down_sql  # the case changes something, both ways
    _check(result.up_sql, "up", expect.get("up", {}))
    _check(result.down_sql, "down", expect.get("down", {}))
