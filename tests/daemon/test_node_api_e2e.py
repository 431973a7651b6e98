"""End to end: the daemon with real ``dora.Node`` processes (packages/dora-node-api)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psutil
import pytest

from dora_daemon import LocalDataflow, RunOptions
from tests.daemon.helpers import Collector, descriptor
from tests.procs import dataflow_leftovers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

SENDER = """
import pyarrow as pa
from dora import Node

node = Node()
sent = 0
for event in node:
    if event["type"] == "INPUT" and event["id"] == "tick":
        node.send_output("value", pa.array([sent]), {"n": sent})
        sent += 1
        if sent == 5:
            break
print("sender done", sent)
"""

RECEIVER = """
import os
from dora import Node

node = Node()
print("PID", os.getpid(), flush=True)
for event in node:
    if event["type"] == "INPUT" and event["id"] == "v":
        print("got", event["value"].to_pylist()[0], event["metadata"]["n"], flush=True)
    elif event["type"] == "INPUT" and event["id"] == "big":
        print("big", len(event["value"]), flush=True)
    elif event["type"] == "INPUT" and event["id"] == "logs":
        print("log-input", event["value"].to_pylist()[0], flush=True)
    elif event["type"] in ("INPUT_CLOSED", "STOP"):
        print(event["type"], event["id"], flush=True)
"""

DOUBLER = """
import pyarrow as pa
import pyarrow.compute as pc
from dora import DoraStatus


class Operator:
    def on_event(self, event, send_output):
        if event["type"] == "INPUT" and event["id"] == "in":
            send_output("doubled", pc.multiply(event["value"], 2), event["metadata"])
        return DoraStatus.CONTINUE
"""


def write_flow(tmp_path: Path) -> Path:
    (tmp_path / "sender.py").write_text(SENDER)
    (tmp_path / "receiver.py").write_text(RECEIVER)
    (tmp_path / "doubler.py").write_text(DOUBLER)
    return tmp_path


def test_sender_to_receiver_through_an_operator(tmp_path: Path) -> None:
    flow = write_flow(tmp_path)
    collector = Collector()
    nodes = [
        {
            "id": "sender",
            "path": "sender.py",
            "inputs": {"tick": "dora/timer/millis/20"},
            "outputs": ["value"],
        },
        {
            "id": "double",
            "operator": {
                "python": "doubler.py",
                "inputs": {"in": "sender/value"},
                "outputs": ["doubled"],
            },
        },
        {"id": "receiver", "path": "receiver.py", "inputs": {"v": "double/doubled"}},
    ]
    dataflow = LocalDataflow(descriptor(nodes), flow, RunOptions(grace=2), collector)
    result = asyncio.run(dataflow.run())
    assert result.ok, result
    got = collector.lines("receiver", "got ")
    assert got == [f"got {2 * n} {n}" for n in range(5)]
    # the sender's exit closes the operator's input, whose exit closes the receiver's
    assert "INPUT_CLOSED v" in collector.lines("receiver")
    pid = int(collector.lines("receiver", "PID ")[0].split()[1])
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not dataflow_leftovers(dataflow.dataflow_id)


def test_logs_reach_a_real_node_and_stop_ends_it(tmp_path: Path) -> None:
    flow = write_flow(tmp_path)
    collector = Collector()
    nodes = [
        {
            "id": "sender",
            "path": "sender.py",
            "inputs": {"tick": "dora/timer/millis/20"},
            "outputs": ["value"],
        },
        {"id": "receiver", "path": "receiver.py", "inputs": {"logs": "dora/logs"}},
    ]
    dataflow = LocalDataflow(descriptor(nodes), flow, RunOptions(grace=2), collector)

    async def scenario() -> object:
        run = asyncio.create_task(dataflow.run())
        await collector.wait_for(
            lambda: any("sender done" in line for line in collector.lines("receiver", "log-input"))
        )
        dataflow.stop()
        return await run

    result = asyncio.run(scenario())
    assert result.ok, result  # type: ignore[attr-defined]
    records = [
        json.loads(line.split(" ", 1)[1]) for line in collector.lines("receiver", "log-input")
    ]
    assert {r["node_id"] for r in records} == {"sender"}
    assert "STOP MANUAL" in collector.lines("receiver")
