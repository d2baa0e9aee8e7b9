"""The step graph `diff` and `check` run on (verification/flow.py): plain Python, no server."""

from __future__ import annotations

import threading

import pytest

from schemactl.verification.flow import Flow


def test_a_step_starts_once_what_it_needs_is_done_and_gets_its_results() -> None:
    gate = threading.Event()
    order: list[str] = []

    def slow() -> int:
        gate.wait(5)
        order.append("slow")
        return 2

    def use(x: int, y: int) -> int:
        order.append("use")
        return x * y

    with Flow.open() as flow:
        flow.run("slow", slow)
        flow.known("three", 3)
        flow.run("product", use, flow.of("slow"), flow.of("three"))
        flow.run("free", order.append, "free")  # needs nothing: runs while `slow` waits
        flow.get("free")
        assert order == ["free"]
        gate.set()
        assert flow.get("product") == 6
    assert order == ["free", "slow", "use"]


def test_a_failed_need_fails_the_steps_after_it_without_running_them() -> None:
    ran: list[str] = []

    def broken() -> str:
        raise ValueError("schemas/a.sql:1: syntax error")

    with Flow.open() as flow:
        flow.run("db", broken)
        flow.run("dump", ran.append, flow.of("db"))
        flow.run("ordered", ran.append, "x", after=("db",))
        with pytest.raises(ValueError, match="syntax error"):
            flow.get("dump")
        with pytest.raises(ValueError, match="syntax error"):
            flow.get("ordered")
    assert ran == []


def test_get_raises_the_first_named_error_whichever_failed_first() -> None:
    gate = threading.Event()

    def schemas_fail() -> None:
        gate.wait(5)
        raise ValueError("schemas")

    def history_fails() -> None:
        gate.set()
        raise RuntimeError("history")

    with Flow.open() as flow:
        flow.run("target_db", schemas_fail)
        flow.run("replay_db", history_fails)
        with pytest.raises(ValueError, match="schemas"):
            flow.get("target_db", "replay_db")


def test_later_waits_for_a_step_only_when_called() -> None:
    gate = threading.Event()
    with Flow.open() as flow:
        flow.run("replay_db", gate.wait, 5)
        flow.run("kept", lambda db: "kept inspection", flow.later("replay_db"))
        flow.run("fresh", lambda db: f"inspected after {db()}", flow.later("replay_db"))
        assert flow.get("kept") == "kept inspection"  # while replay_db still runs
        gate.set()
        assert flow.get("fresh") == "inspected after True"


def test_a_need_must_be_listed_before_the_step_that_needs_it() -> None:
    with Flow.open() as flow, pytest.raises(KeyError):
        flow.run("dump", print, flow.of("not yet listed"))
