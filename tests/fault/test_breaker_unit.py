"""The scheduler's input_timeout circuit breaker with a fake clock (sans-I/O)."""

from __future__ import annotations

from typing import Any

from dora._scheduler import Scheduler


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make(timeout: float = 1.0, size: int = 10) -> tuple[Scheduler, Clock]:
    clock = Clock()
    inputs = {"a": (size, "drop_oldest"), "b": (size, "drop_oldest")}
    return Scheduler(inputs, {"a": timeout}, clock), clock


def drain(s: Scheduler) -> list[Any]:
    out = []
    while (entry := s.pop()) is not None:
        if isinstance(entry, tuple):
            out.append((entry[0], entry[1]))
        else:
            out.append((entry["type"], entry.get("id")))
    return out


def test_unarmed_until_the_first_message() -> None:
    s, clock = make()
    clock.now = 100.0
    assert s.expire() == []
    s.push_input("a", 1)
    clock.now = 100.9
    assert s.expire() == []
    clock.now = 101.0
    assert s.expire() == ["a"]
    assert s.broken_inputs() == ["a"]


def test_fires_once_behind_data_and_recovers_after_the_new_data() -> None:
    s, clock = make()
    s.push_input("a", 1)
    clock.now = 5.0
    assert s.expire() == ["a"]
    clock.now = 50.0
    assert s.expire() == []  # once per silence, however long
    assert drain(s) == [("a", 1), ("INPUT_CLOSED", "a")]
    assert s.is_open("a")  # still open: the next message reopens nothing, it just comes
    s.push_input("a", 2)
    assert s.broken_inputs() == []
    assert drain(s) == [("a", 2), ("INPUT_RECOVERED", "a")]
    clock.now = 50.5
    assert s.expire() == []
    clock.now = 51.0
    assert s.expire() == ["a"]  # re-armed by the recovery message


def test_a_broken_input_does_not_count_as_closed() -> None:
    s, clock = make()
    s.push_input("a", 1)
    s.close_input("b")
    clock.now = 2.0
    s.expire()
    assert drain(s) == [("a", 1), ("INPUT_CLOSED", "b"), ("INPUT_CLOSED", "a")]
    assert not s.stopped and not s.ended  # no ALL_INPUTS_CLOSED while `a` may recover


def test_closing_a_broken_input_for_good_adds_no_second_input_closed() -> None:
    s, clock = make()
    s.push_input("a", 1)
    s.close_input("b")
    clock.now = 2.0
    s.expire()
    assert drain(s)[-1] == ("INPUT_CLOSED", "a")
    s.close_input("a")  # the producer finished for good
    assert drain(s) == [("STOP", "ALL_INPUTS_CLOSED")]


def test_closing_before_the_break_was_returned_reports_it_once() -> None:
    s, clock = make()
    s.push_input("a", 1)
    clock.now = 2.0
    s.expire()
    s.close_input("a")
    assert drain(s) == [("a", 1), ("INPUT_CLOSED", "a")]
    assert s.open_inputs() == ["b"]


def test_markers_survive_evictions_and_flushes() -> None:
    s, clock = make(size=1)
    s.push_input("a", 1)
    clock.now = 2.0
    s.expire()
    s.push_input("a", 2)  # recovers; the queue of one evicts message 1 (a counted drop)
    s.push_input("a", 3, flush=True)  # flush discards message 2 but never a marker
    assert drain(s) == [("INPUT_CLOSED", "a"), ("INPUT_RECOVERED", "a"), ("a", 3)]
    assert s.drop_counts()["a"] == 1


def test_no_break_after_stop() -> None:
    s, clock = make()
    s.push_input("a", 1)
    s.push_event({"type": "STOP", "id": "MANUAL"})
    assert s.pop()["type"] == "STOP"
    clock.now = 5.0
    assert s.expire() == []
    assert s.next_deadline() == 1.0
