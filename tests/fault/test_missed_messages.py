"""Messages sent to a restarting receiver are counted, not lost without a word (issue 13
item 2): per input in `dora node info` (JSON and table) and `dora top --once`, one
daemon warning per restart with its number, and delivered + missed == sent."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dora_daemon.missed import MissedMessages
from tests.coordinator.helpers import wait_until
from tests.fault.helpers import write_flow
from tests.fault.missed import check, coordinator_and_daemon, flow_text, run_and_count
from tests.procs import run_dora


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_a_restarting_receiver_misses_messages_with_a_count(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, flow_text("path: nodes/pacer.py"))
    with coordinator_and_daemon(tmp_path) as (daemon, env):
        outcome = run_and_count(flow, daemon, env)
    check(outcome)


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_dora_node_restart_counts_what_the_receiver_missed(tmp_path: Path) -> None:
    """`dora node restart` stops the receiver with a STOP (scope restart): it leaves the
    same way, refusing data and counting what it never read."""
    flow = write_flow(tmp_path, flow_text("path: nodes/pacer.py", fail_runs=0, ask_from=1))
    with coordinator_and_daemon(tmp_path) as (daemon, env):

        def restart_once_it_reads(uuid: str) -> None:
            log = flow.parent / "out" / uuid / "log_forgetful.jsonl"
            wait_until(lambda: log.exists() and "start run=0" in log.read_text(), what="run 0")
            restarted = run_dora(["node", "restart", "forgetful", "-d", uuid], env=env)
            assert restarted.returncode == 0, restarted.stderr
            assert "Node `forgetful` restart initiated" in restarted.stdout

        outcome = run_and_count(flow, daemon, env, restarts=1, act=restart_once_it_reads)
    check(outcome, restarts=1)


CONSUMERS = {("cam", "frames"): {"det": ["img", "img2"]}, ("imu", "x"): {"det": ["imu"]}}


def test_one_warning_per_outage_and_cumulative_totals(caplog: pytest.LogCaptureFixture) -> None:
    restarts = {"det": 1}
    missed = MissedMessages(lambda: CONSUMERS, lambda node: restarts.get(node, 0))
    with caplog.at_level(logging.INFO, logger="dora_daemon.missed"):
        missed.unread("det", {"img": 2, "imu": 0})  # left unread when it exited
        missed.dropped("cam", "frames", "det", 10, resumed=False)  # periodic report
        assert caplog.messages == []  # the outage is not over
        missed.dropped("cam", "frames", "det", 5, resumed=True)
        restarts["det"] = 2
        missed.dropped("imu", "x", "det", 3, resumed=True)
        missed.dropped("cam", "frames", "dora/watch", 7, resumed=True)  # not a node: ignored
        missed.dropped("imu", "x", "det", 4, resumed=False)  # sent after det ended for good
        missed.ended("det")
    assert caplog.messages == [
        "node `det` missed 17 messages on input `img` while restarting (restart 1)",
        "node `det` missed 15 messages on input `img2` while restarting (restart 1)",
        "node `det` missed 3 messages on input `imu` while restarting (restart 2)",
        "node `det` missed 4 messages on input `imu` while it was not running (restart 2)",
    ]
    assert [r.levelno for r in caplog.records] == [logging.WARNING] * 3 + [logging.INFO]
    assert missed.totals("det") == {"img": 17, "img2": 15, "imu": 7}
    assert missed.totals("cam") == {}


def test_a_restart_no_sender_noticed_keeps_its_own_number(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Restart 1 came and went while nobody sent to `det` (no outage ended it): what its
    first run left unread is logged with restart 1, not added to restart 2's count."""
    restarts = {"det": 0}
    missed = MissedMessages(lambda: CONSUMERS, lambda node: restarts.get(node, 0))
    with caplog.at_level(logging.INFO, logger="dora_daemon.missed"):
        missed.unread("det", {"img": 2})  # the first run exits ...
        restarts["det"] = 1  # ... and is restarted before anyone sends again
        missed.unread("det", {"img": 3})  # the second run exits
        missed.dropped("cam", "frames", "det", 4, resumed=False)  # sent while it was down
        restarts["det"] = 2
        missed.dropped("cam", "frames", "det", 1, resumed=True)
        missed.unread("det", {"imu": 6})  # the third run exits for good
        missed.ended("det")
    assert caplog.messages == [
        "node `det` missed 2 messages on input `img` while restarting (restart 1)",
        "node `det` missed 8 messages on input `img` while restarting (restart 2)",
        "node `det` missed 5 messages on input `img2` while restarting (restart 2)",
        "node `det` missed 6 messages on input `imu` while it was not running (restart 2)",
    ]
    assert missed.totals("det") == {"img": 10, "img2": 5, "imu": 6}
