"""The node tells its daemon how many messages wait in its input queues."""

from __future__ import annotations

import queue

import pytest

from dora._scheduler import Scheduler
from dora._watch import Watch


def test_pending_counts_queued_messages_not_markers() -> None:
    sched = Scheduler({"a": (10, "drop_oldest"), "b": (2, "drop_oldest")})
    assert sched.pending() == 0
    for i in range(3):
        sched.push_input("a", i)
        sched.push_input("b", i)  # b keeps 2
    sched.close_input("a")  # a marker, not a message
    assert sched.pending() == 5
    sched.pop()
    assert sched.pending() == 4


@pytest.mark.timeout(10)
def test_watch_reports_the_queue_length_when_it_changes() -> None:
    lengths = iter([0, 3, 3, 7, 0])
    reports: queue.SimpleQueue[int] = queue.SimpleQueue()
    current = {"value": 0}

    def pending() -> int:
        current["value"] = next(lengths, current["value"])
        return current["value"]

    watch = Watch(
        beat_period=None,
        responsive=lambda: True,
        beat=lambda: None,
        check_period=None,
        expire=lambda: ([], []),
        wake=lambda: None,
        report_broken=lambda _broken: None,
        pending=pending,
        report_pending=reports.put,
        report_period=0.01,
    )
    watch.start("test-watch")
    try:
        seen = [reports.get(timeout=5) for _ in range(3)]
    finally:
        watch.stop()
    assert seen == [3, 7, 0]  # 0 at first is what the daemon assumes: not sent; 3 once
