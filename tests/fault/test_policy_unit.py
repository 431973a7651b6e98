"""Restart decisions, backoff and windows (sans-I/O), and the health-check sweep."""

from __future__ import annotations

import pytest

from dora_daemon.health import FaultCounters, silent_nodes
from dora_daemon.restart import RestartPolicy, RestartTracker
from dora_message.descriptor import Node


def tracker(**keys: object) -> RestartTracker:
    return RestartTracker(RestartPolicy(**keys), now=0.0)  # type: ignore[arg-type]


def test_policy_is_read_from_the_descriptor_node() -> None:
    node = Node(
        id="n",
        path="n.py",
        restart_policy="on-failure",
        max_restarts=3,
        restart_delay=1.0,
        max_restart_delay=10.0,
        restart_window=300.0,
    )
    assert RestartPolicy.of(node) == RestartPolicy("on-failure", 3, 1.0, 10.0, 300.0)
    assert RestartPolicy.of(Node(id="m", path="m.py")) == RestartPolicy()


@pytest.mark.parametrize(
    ("mode", "success", "restart"),
    [
        ("never", False, False),
        ("never", True, False),
        ("on-failure", False, True),
        ("on-failure", True, False),
        ("always", False, True),
        ("always", True, True),
    ],
)
def test_policy_modes(mode: str, success: bool, restart: bool) -> None:
    assert tracker(mode=mode).on_exit(success=success, now=1.0).restart is restart


def test_nothing_restarts_once_disabled_not_even_forced() -> None:
    t = tracker(mode="always")
    decision = t.on_exit(success=False, now=1.0, disabled="the dataflow is stopping", forced=True)
    assert not decision.restart and decision.reason == "the dataflow is stopping"
    assert t.restarts == 0


def test_forced_restart_ignores_policy_and_budget() -> None:
    t = tracker(mode="never", max_restarts=1, restart_delay=5.0)
    for _ in range(3):
        decision = t.on_exit(success=True, now=1.0, forced=True)
        assert decision.restart and decision.delay == 0.0
    assert t.restarts == 3 and t.window_count == 0


def test_max_restarts_and_doubling_backoff_capped() -> None:
    t = tracker(mode="on-failure", max_restarts=5, restart_delay=1.0, max_restart_delay=5.0)
    delays = [t.on_exit(success=False, now=float(i)).delay for i in range(5)]
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]
    final = t.on_exit(success=False, now=6.0)
    assert not final.restart and final.reason == "it reached max_restarts (5)"
    assert t.restarts == 5


def test_zero_max_restarts_is_unlimited_and_exponent_is_capped() -> None:
    t = tracker(mode="always", restart_delay=1.0)
    delays = [t.on_exit(success=True, now=0.0).delay for _ in range(40)]
    assert delays[16] == 2.0**16 and delays[39] == 2.0**16
    assert t.restarts == 40


def test_no_delay_without_restart_delay() -> None:
    assert tracker(mode="always").on_exit(success=True, now=0.0).delay == 0.0


def test_window_resets_count_and_backoff() -> None:
    t = tracker(mode="on-failure", max_restarts=2, restart_delay=1.0, restart_window=10.0)
    assert t.on_exit(success=False, now=1.0).delay == 1.0
    assert t.on_exit(success=False, now=2.0).delay == 2.0
    assert not t.on_exit(success=False, now=3.0).restart  # third in the window
    # the window opened at the first spawn (t=0); after 10 s it starts again
    again = t.on_exit(success=False, now=10.5)
    assert again.restart and again.delay == 1.0
    assert t.window_start == 10.5 and t.window_count == 1 and t.restarts == 3


def test_silent_nodes_only_counts_watched_nodes_past_their_timeout() -> None:
    activity = {"a": 0.0, "b": 9.5, "c": None}
    silent = silent_nodes(10.0, {"a": 5.0, "b": 1.0, "c": 1.0}, activity.get)
    assert silent == [("a", 10.0)]


def test_fault_counters_count_breaks_and_recoveries() -> None:
    counters = FaultCounters()
    assert counters.broken_inputs("n", ["x", "y"]) == ({"x", "y"}, set())
    assert counters.broken_inputs("n", ["y"]) == (set(), {"x"})
    assert counters.broken("n") == ["y"]
    counters.forget("n")
    assert counters.broken("n") == []
    assert (counters.input_timeouts, counters.circuit_breaker_recoveries) == (2, 1)
    assert "input_timeouts=2" in counters.summary()
