"""Integration tests of LocalDataflow with real processes speaking the node protocol.

The nodes are tests/daemon/fake_node.py (dora_message only); every step they take is a
stdout line that reaches the test through ``on_log``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from dora_daemon import DataflowResult, LocalDataflow, RunOptions
from dora_message.common import LogMessage
from dora_message.descriptor import Descriptor
from tests.daemon.helpers import Collector, descriptor, fake, flow_dir
from tests.procs import dataflow_leftovers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(40)]


def start(
    tmp_path: Path, nodes: list[dict[str, Any]], collector: Collector, **options: Any
) -> LocalDataflow:
    return LocalDataflow(descriptor(nodes), flow_dir(tmp_path), RunOptions(**options), collector)


def by_node(result: DataflowResult) -> dict[str, Any]:
    return {r.node_id: r for r in result.node_results}


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_barrier_waits_for_every_node(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    collector = Collector()
    flow = start(
        tmp_path,
        [
            fake("early", "--exit-after-events 1"),
            fake("late", f"--gate {gate} --exit-after-events 1"),
        ],
        collector,
    )

    async def scenario() -> DataflowResult:
        run = asyncio.create_task(flow.run())
        await collector.wait_for(lambda: collector.lines("early", "SUBSCRIBE_SENT"))
        await collector.wait_for(lambda: collector.lines("late", "REGISTERED"))
        assert not collector.lines("early", "SUBSCRIBED")
        with open(gate, "w") as writer:  # lets `late` subscribe
            writer.write("go\n")
        await collector.wait_for(lambda: collector.lines("early", "SUBSCRIBED"))
        flow.stop()
        return await run

    result = asyncio.run(scenario())
    released = int(collector.lines("early", "SUBSCRIBED")[0].split()[1])
    late_sent = int(collector.lines("late", "SUBSCRIBE_SENT")[0].split()[1])
    assert released >= late_sent
    assert result.ok, result


def test_timers_tick_with_batched_inputs(tmp_path: Path) -> None:
    collector = Collector()
    inputs = {"a": "dora/timer/millis/50", "b": "dora/timer/hz/20", "slow": "dora/timer/secs/60"}
    flow = start(tmp_path, [fake("n", "--exit-after-ticks 5", inputs=inputs)], collector)
    result = asyncio.run(flow.run())
    ticks = collector.events("n", "Tick")
    assert len(ticks) == 5
    assert {"slow"} in [set(t["input_ids"]) for t in ticks]  # every timer ticks at once
    fast = [t for t in ticks if set(t["input_ids"]) == {"a", "b"}]
    assert len(fast) == 4
    # ticks follow a 50 ms grid: a late tick shortens the gap after it, but the grid
    # never runs fast, so three gaps span at least two whole periods
    gaps = [b["timestamp_ns"] - a["timestamp_ns"] for a, b in itertools.pairwise(fast)]
    assert all(gap > 0 for gap in gaps), gaps
    assert sum(gaps) >= 2 * 50_000_000, gaps
    assert result.ok
    log_file = tmp_path / "out" / flow.dataflow_id / "log_n.jsonl"
    assert "SUBSCRIBED" in log_file.read_text()


def test_stop_ends_a_node_that_ignores_stop_and_sigterm(tmp_path: Path) -> None:
    collector = Collector()
    grace = 1.0
    flow = start(
        tmp_path,
        [fake("stubborn", "--ignore-stop --ignore-sigterm --grandchild"), fake("polite", "")],
        collector,
        grace=grace,
    )

    async def scenario() -> tuple[DataflowResult, float]:
        run = asyncio.create_task(flow.run())
        await collector.wait_for(lambda: collector.lines("stubborn", "SUBSCRIBED"))
        stopped = time.monotonic()
        flow.stop()
        result = await run
        return result, time.monotonic() - stopped

    result, took = asyncio.run(scenario())
    assert took >= grace, took  # the ladder waited for the grace before SIGTERM
    assert collector.events("stubborn", "Stop") and collector.events("polite", "Stop")
    results = by_node(result)
    assert results["polite"].ok
    assert not results["stubborn"].ok
    assert "did not stop within the grace period" in results["stubborn"].cause
    assert not result.ok
    grandchild, parent = (
        int(x) for x in collector.lines("stubborn", "GRANDCHILD")[0].split()[1::2]
    )
    assert gone(grandchild) and gone(parent)


def test_sigterm_during_a_planned_stop_is_a_clean_stop(tmp_path: Path) -> None:
    collector = Collector()
    flow = start(tmp_path, [fake("n", "--ignore-stop")], collector, grace=0.3)

    async def scenario() -> DataflowResult:
        run = asyncio.create_task(flow.run())
        await collector.wait_for(lambda: collector.lines("n", "SUBSCRIBED"))
        flow.stop()
        return await run

    result = asyncio.run(scenario())
    (node,) = result.node_results
    assert node.ok and node.signal == 15, node


def test_force_stop_kills_at_once(tmp_path: Path) -> None:
    collector = Collector()
    flow = start(tmp_path, [fake("n", "--ignore-stop --ignore-sigterm")], collector, grace=30)

    async def scenario() -> DataflowResult:
        run = asyncio.create_task(flow.run())
        await collector.wait_for(lambda: collector.lines("n", "SUBSCRIBED"))
        flow.stop()
        await collector.wait_for(lambda: collector.events("n", "Stop"))
        flow.stop(force=True)
        return await run

    result = asyncio.run(scenario())
    (node,) = result.node_results
    assert not node.ok and node.signal == 9 and "forced stop" in (node.cause or "")


def test_nonzero_exit_names_the_node_and_its_stderr(tmp_path: Path) -> None:
    collector = Collector()
    flow = start(
        tmp_path,
        [
            fake(
                "bad",
                "--exit-after-ticks 1 --exit-code 3 --stderr 'ValueError: the sensor is gone'",
                inputs={"t": "dora/timer/millis/10"},
                outputs=["out"],
            ),
            fake("good", "--exit-after-events 2", inputs={"in": "bad/out"}),
        ],
        collector,
    )
    result = asyncio.run(flow.run())
    results = by_node(result)
    assert not result.ok
    # NodeFailed first (the failed node will not come back), then the input closes
    assert [e["type"] for e in collector.events("good")] == ["NodeFailed", "InputClosed"]
    assert collector.events("good", "NodeFailed")[0]["affected_input_ids"] == ["in"]
    assert results["bad"].exit_code == 3
    assert results["bad"].cause == "exited with exit code 3"
    assert results["bad"].stderr_tail[-1] == "ValueError: the sensor is gone"
    assert "bad: exited with exit code 3" in (result.error or "")
    # the receiver learned that its input closed
    assert collector.events("good", "InputClosed") == [
        {"type": "InputClosed", "input_ids": ["in"], "source_node": "bad"}
    ]
    assert results["good"].ok


def test_failure_before_subscribe_fails_the_dataflow(tmp_path: Path) -> None:
    collector = Collector()
    flow = start(
        tmp_path,
        [fake("waiter", ""), fake("broken", "--fail-before-subscribe 7")],
        collector,
    )
    result = asyncio.run(flow.run())
    results = by_node(result)
    assert not result.ok
    assert results["broken"].cause == "exited before initializing dora (exit code 7)"
    assert results["broken"].stderr_tail == ["fake node: something is badly wrong"]
    waiter_err = results["waiter"].stderr_tail[-1]
    assert (
        "subscribe failed: node broken exited before initializing dora (exit code 7)" in waiter_err
    )
    assert "something is badly wrong" in waiter_err
    assert (
        results["waiter"].cause
        == "cascading failure (exit code 4) after node broken failed to start"
    )


def test_spawn_failure_fails_the_dataflow(tmp_path: Path) -> None:
    collector = Collector()
    flow = start(
        tmp_path,
        [fake("waiter", ""), {"id": "ghost", "path": "no-such-binary-for-dora-tests"}],
        collector,
    )
    result = asyncio.run(flow.run())
    results = by_node(result)
    assert "failed to spawn node ghost" in results["ghost"].cause
    assert (
        "`no-such-binary-for-dora-tests` was not found on the node's PATH" in results["ghost"].cause
    )
    assert "failed to spawn node ghost" in results["waiter"].stderr_tail[-1]
    assert results["waiter"].cause == (
        "cascading failure (exit code 4) after node ghost failed to start"
    )
    assert not result.ok


def test_clean_exit_before_subscribe_closes_inputs_after_release(tmp_path: Path) -> None:
    collector = Collector()
    flow = start(
        tmp_path,
        [
            fake("quitter", "--exit-before-subscribe", outputs=["x"]),
            fake("reader", "--exit-after-events 1", inputs={"in": "quitter/x"}),
        ],
        collector,
    )
    result = asyncio.run(flow.run())
    assert result.ok, result
    assert collector.events("reader") == [
        {"type": "InputClosed", "input_ids": ["in"], "source_node": "quitter"}
    ]


def test_close_outputs_reaches_receivers_while_the_producer_runs(tmp_path: Path) -> None:
    collector = Collector()
    flow = start(
        tmp_path,
        [
            fake("producer", "--close x", outputs=["x", "y"]),
            fake("reader", "--exit-after-events 1", inputs={"a": "producer/x", "b": "producer/y"}),
        ],
        collector,
    )

    async def scenario() -> DataflowResult:
        run = asyncio.create_task(flow.run())
        await collector.wait_for(lambda: collector.events("reader", "InputClosed"))
        assert not collector.events("producer")  # still running, no Stop yet
        flow.stop()
        return await run

    result = asyncio.run(scenario())
    assert collector.events("reader", "InputClosed") == [
        {"type": "InputClosed", "input_ids": ["a"], "source_node": "producer"}
    ]
    assert result.ok


def test_protocol_version_mismatch_is_refused_with_both_versions(tmp_path: Path) -> None:
    collector = Collector()
    flow = start(tmp_path, [fake("old", "--version dora-py-0")], collector)
    result = asyncio.run(flow.run())
    (node,) = result.node_results
    assert not node.ok
    refusal = node.stderr_tail[-1]
    assert "dora-py-0" in refusal and "dora-py-2" in refusal and "`old`" in refusal


def test_logs_and_stdout_become_inputs(tmp_path: Path) -> None:
    collector = Collector()
    structured = json.dumps(
        {"level": "info", "timestamp": "2026-01-01T00:00:00Z", "message": "structured hello"}
    )
    talker = fake(
        "talker",
        ["--print", "plain hello", "--print", structured, "--node-log", "out of band"],
        send_stdout_as="raw",
        send_logs_as="records",
    )
    nodes = [
        talker,
        fake("all_logs", "", inputs={"logs": "dora/logs"}),
        fake("info_logs", "", inputs={"logs": "dora/logs/info/talker"}),
        fake("raw_reader", "", inputs={"raw": "talker/raw"}),
        fake("record_reader", "", inputs={"rec": "talker/records"}),
    ]
    flow = start(tmp_path, nodes, collector)

    def texts(node_id: str) -> list[str]:
        return [e["text"] for e in collector.events(node_id, "TextInput")]

    async def scenario() -> DataflowResult:
        run = asyncio.create_task(flow.run())
        await collector.wait_for(lambda: len(texts("record_reader")) >= 2)
        await collector.wait_for(lambda: "plain hello\n" in texts("raw_reader"))
        await collector.wait_for(
            lambda: (
                any("out of band" in t for t in texts("info_logs"))
                and any("plain hello" in t for t in texts("all_logs"))
            )
        )
        flow.stop()
        return await run

    result = asyncio.run(scenario())
    assert result.ok, result
    records = [json.loads(t) for t in texts("record_reader")]
    # stdout lines and out-of-band records travel on different channels: any order
    # dora-rs's log message layout: upper-case levels
    assert sorted((r["level"], r["message"]) for r in records) == [
        ("INFO", "structured hello"),
        ("WARN", "out of band"),
    ]
    info = [json.loads(t) for t in texts("info_logs")]
    assert {r["node_id"] for r in info} == {"talker"}
    assert "plain hello" not in [r["message"] for r in info]  # stdout level is below info
    all_nodes = {json.loads(t)["node_id"] for t in texts("all_logs")}
    assert "all_logs" not in all_nodes  # a node never receives its own logs
    assert "talker" in all_nodes
    displayed: list[LogMessage] = [r for r in collector.records if r.node_id == "talker"]
    assert any(r.message == "out of band" and r.level == "warn" for r in displayed)


def test_stop_after_and_leftover_group_members(tmp_path: Path) -> None:
    collector = Collector()
    dataflow_id = str(uuid.uuid4())
    stray = Path("/dev/shm") / f"dora-{dataflow_id}-stray"
    stray.write_bytes(b"x")
    try:
        flow = LocalDataflow(
            descriptor(
                [
                    fake("ticker", "", inputs={"t": "dora/timer/millis/20"}),
                    fake("leaver", "--grandchild --exit-before-subscribe"),
                ]
            ),
            flow_dir(tmp_path),
            RunOptions(stop_after=0.5),
            collector,
            dataflow_id=dataflow_id,
        )
        result = asyncio.run(flow.run())
        assert result.ok, result
        assert collector.events("ticker", "Stop")
        grandchild, parent = (
            int(x) for x in collector.lines("leaver", "GRANDCHILD")[0].split()[1::2]
        )
        assert gone(grandchild) and gone(parent)
        assert not dataflow_leftovers(dataflow_id)
    finally:
        stray.unlink(missing_ok=True)


def test_stop_before_run_stops_at_once(tmp_path: Path) -> None:
    collector = Collector()
    flow = start(tmp_path, [fake("n", "", inputs={"t": "dora/timer/secs/1"})], collector)
    flow.stop()
    result = asyncio.run(flow.run())
    assert result.ok
    assert collector.events("n") == [{"type": "Stop", "cause": "MANUAL", "scope": "dataflow"}]


def test_descriptor_errors_raise_before_spawning(tmp_path: Path) -> None:
    from dora_message.errors import DescriptorError

    desc: Descriptor = descriptor([{"id": "s", "path": "shell", "args": "true"}])
    flow = LocalDataflow(desc, flow_dir(tmp_path), RunOptions(), Collector())
    with pytest.raises(DescriptorError, match="allow-shell-nodes"):
        asyncio.run(flow.run())


def test_shell_node_runs_when_allowed(tmp_path: Path) -> None:
    collector = Collector()
    nodes = [{"id": "sh", "path": "shell", "args": "echo hello from $0; echo oops >&2; exit 0"}]
    flow = start(tmp_path, nodes, collector, allow_shell_nodes=True)
    result = asyncio.run(flow.run())
    assert result.ok, result
    streams = {(r.stream, r.message) for r in collector.records if r.node_id == "sh"}
    assert streams == {("stdout", "hello from sh"), ("stderr", "oops")}
