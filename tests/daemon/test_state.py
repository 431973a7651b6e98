"""Unit tests of the sans-I/O parts: start barrier, exit classification, timer grid."""

from __future__ import annotations

import signal

from dora_daemon.barrier import StartBarrier
from dora_daemon.logs import TRUNCATED_MARKER
from dora_daemon.results import Kill, exited_before_init, node_result
from dora_daemon.spawn import LineSplitter
from dora_daemon.timers import next_deadline


def test_barrier_releases_only_when_every_node_subscribed() -> None:
    barrier = StartBarrier(["a", "b", "c"])
    assert not barrier.subscribed("a")
    assert not barrier.subscribed("b")
    assert not barrier.decided
    assert barrier.missing == {"c"}
    assert barrier.subscribed("c")
    assert barrier.released and barrier.error is None
    assert not barrier.subscribed("late")  # later subscribers change nothing


def test_clean_exit_before_subscribe_leaves_the_cohort() -> None:
    barrier = StartBarrier(["a", "b"])
    assert not barrier.subscribed("a")
    assert barrier.exited("b", clean=True, error="unused")
    assert barrier.released


def test_failed_exit_before_subscribe_latches_the_error() -> None:
    barrier = StartBarrier(["a", "b", "c"])
    barrier.subscribed("a")
    assert barrier.exited("b", clean=False, error="b broke")
    assert barrier.error == "b broke" and not barrier.released
    assert not barrier.exited("c", clean=False, error="c broke")  # first verdict stays
    assert not barrier.subscribed("c")
    assert barrier.error == "b broke"


def test_empty_cohort_is_released() -> None:
    assert StartBarrier([]).released


def test_exit_classification() -> None:
    ok = node_result("n", 0, stderr_tail=[], subscribed=True, stop_requested=False)
    assert ok.ok and ok.exit_code == 0
    for code in (-signal.SIGTERM, -signal.SIGINT, 143, 130):
        planned = node_result("n", code, stderr_tail=[], subscribed=True, stop_requested=True)
        assert planned.ok, code
        unplanned = node_result("n", code, stderr_tail=[], subscribed=True, stop_requested=False)
        assert not unplanned.ok, code
    failed = node_result("n", 3, stderr_tail=["boom"], subscribed=True, stop_requested=False)
    assert not failed.ok and failed.cause == "exited with exit code 3"
    assert failed.stderr_tail == ["boom"]
    killed = node_result(
        "n", -9, stderr_tail=[], subscribed=True, stop_requested=True, kill=Kill.GRACE
    )
    assert not killed.ok and killed.signal == 9
    assert "did not stop within the grace period" in (killed.cause or "")
    early = node_result("n", 2, stderr_tail=[], subscribed=False, stop_requested=False)
    assert early.cause == "exited before initializing dora (exit code 2)"
    cascade = node_result(
        "n", 4, stderr_tail=[], subscribed=True, stop_requested=False, cascade_from="x"
    )
    assert cascade.cause == "cascading failure (exit code 4) after node x failed to start"


def test_exited_before_init_message_quotes_the_stderr_tail() -> None:
    text = exited_before_init("cam", -11, [f"line {i}" for i in range(30)])
    assert text.startswith("node cam exited before initializing dora (signal 11 (SIGSEGV)):")
    assert "line 29" in text and "line 9\n" not in text


def test_timer_grid_skips_missed_ticks() -> None:
    assert next_deadline(10.0, 10.05, 0.1) == 10.1
    # woke up 0.35 late: the three missed ticks are skipped, the grid is kept
    assert abs(next_deadline(10.0, 10.45, 0.1) - 10.5) < 1e-9


def test_line_splitter_cuts_long_lines_and_keeps_order() -> None:
    splitter = LineSplitter(max_bytes=10)
    assert splitter.feed(b"one\r\ntw") == ["one"]
    assert splitter.feed(b"o\n") == ["two"]
    # a 25-byte line arriving in pieces: cut once at 10 bytes, the rest skipped
    assert splitter.feed(b"abcdefghijkl") == ["abcdefghij" + TRUNCATED_MARKER]
    assert splitter.feed(b"mnopqrstuvwxy") == []
    assert splitter.feed(b"z\nnext\n") == ["next"]
    assert splitter.feed(b"\xff bad\nlast") == ["\ufffd bad"]
    assert splitter.finish() == ["last"]
    assert splitter.finish() == []
