"""The dataflow operations as a part of their own: state, hub and recording links, no sockets.

The coordinator hands :class:`DataflowOperations` only what it uses, so a start, the
start barrier across daemons and a stop run here against links that record what they
were sent (the daemons' side of a real run is covered by tests/distributed).
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from dora_coordinator.background import Background
from dora_coordinator.logs import LogHub
from dora_coordinator.operations import DataflowOperations
from dora_coordinator.state import CoordinatorState, Status
from dora_coordinator.store import MemoryStore
from dora_coordinator.tracing import SpanRecorder
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_daemon as to_daemon
from dora_message import daemon_to_coordinator as from_daemon
from dora_message.common import DataflowResult
from dora_message.descriptor import Descriptor

pytestmark = pytest.mark.timeout(30)


class RecordingLink:
    """A daemon that accepts every command and remembers what it was sent."""

    def __init__(self, daemon_id: str) -> None:
        self.daemon_id = daemon_id
        self.commands: list[to_daemon.DaemonCommand] = []
        self.events: list[to_daemon.CoordinatorEvent] = []
        self.sent = asyncio.Event()

    async def command(
        self, command: to_daemon.DaemonCommand, timeout: float = 30.0
    ) -> from_daemon.CommandResult:
        self.commands.append(command)
        self.sent.set()
        return from_daemon.Done()

    async def send_event(self, event: to_daemon.CoordinatorEvent) -> None:
        self.events.append(event)
        self.sent.set()

    async def heartbeat(self) -> None:
        pass

    async def close(self, reason: str) -> None:
        pass


def two_machine_flow() -> Descriptor:
    source: dict[str, Any] = {"id": "a", "path": "a.py", "outputs": ["out"]}
    sink: dict[str, Any] = {"id": "b", "path": "b.py", "inputs": {"x": "a/out"}}
    source["_unstable_deploy"] = {"machine": "m1"}
    sink["_unstable_deploy"] = {"machine": "m2"}
    return msgspec.convert({"nodes": [source, sink]}, Descriptor)


async def sent(link: RecordingLink) -> None:
    """Wait for the next thing sent to ``link`` (background sends run on the loop)."""
    await link.sent.wait()
    link.sent.clear()


def test_a_start_spans_daemons_releases_the_barrier_and_stops() -> None:
    async def scenario() -> None:
        state = CoordinatorState(MemoryStore())
        state.register_daemon("i1", "m1", {}, 0.0, ["tcp/127.0.0.1:7001"])
        state.register_daemon("i2", "m2", {}, 0.0, ["tcp/127.0.0.1:7002"])
        links = {"m1": RecordingLink("m1"), "m2": RecordingLink("m2")}
        ended: list[str] = []
        ops = DataflowOperations(
            state, LogHub(), links, Background(), SpanRecorder(), on_finished=ended.append
        )
        descriptor = two_machine_flow()
        uuid = ops.start(req.StartDataflow(descriptor=descriptor, name="app")).uuid
        spawned = await ops.wait_spawned(uuid)
        assert spawned.status == Status.RUNNING
        for daemon_id, node in (("m1", "a"), ("m2", "b")):
            (spawn,) = links[daemon_id].commands
            assert isinstance(spawn, to_daemon.SpawnDataflow)
            assert spawn.descriptor is descriptor  # typed end to end: nothing converted
            assert spawn.nodes == [node]
            assert spawn.placement == {"m1": ["a"], "m2": ["b"]}
            assert spawn.peer_endpoints == {
                "m1": ["tcp/127.0.0.1:7001"],
                "m2": ["tcp/127.0.0.1:7002"],
            }

        ops.nodes_ready("m1", uuid, None)
        assert links["m1"].events == []  # m2 is not ready yet
        ops.nodes_ready("m2", uuid, None)
        await asyncio.gather(sent(links["m1"]), sent(links["m2"]))
        released = to_daemon.BarrierReleased(dataflow_id=uuid, error=None)
        assert links["m1"].events == links["m2"].events == [released]

        stopping = asyncio.create_task(ops.stop("app", grace=None, force=False))
        await asyncio.gather(sent(links["m1"]), sent(links["m2"]))
        stop = to_daemon.StopDataflow(dataflow_id=uuid)
        assert links["m1"].commands[-1] == links["m2"].commands[-1] == stop
        for daemon_id in ("m1", "m2"):
            finished = from_daemon.DataflowFinished(
                dataflow_id=uuid, result=DataflowResult(dataflow_id=uuid)
            )
            if state.daemon_finished(daemon_id, finished, 10.0):
                ops.dataflow_ended(uuid)
        stopped = await stopping
        assert (stopped.uuid, stopped.status) == (uuid, Status.SUCCEEDED)
        assert ended == [uuid]

    asyncio.run(scenario())


def test_a_restart_sends_the_descriptor_of_the_recovered_record() -> None:
    async def scenario() -> None:
        store = MemoryStore()
        first = CoordinatorState(store)
        first.register_daemon("i1", "m1", {}, 0.0)
        first.register_daemon("i2", "m2", {}, 0.0)
        old = first.plan_start(two_machine_flow(), name="app", working_dir="/w", uv=False, now=1.0)
        # a new coordinator: the record comes from the store, the daemons are back
        state = CoordinatorState(store)
        state.recover(2.0)
        state.register_daemon("i1", "m1", {}, 3.0)
        state.register_daemon("i2", "m2", {}, 3.0)
        finished = from_daemon.DataflowFinished(
            dataflow_id=old.uuid, result=DataflowResult(dataflow_id=old.uuid)
        )
        for daemon_id in ("m1", "m2"):
            state.daemon_finished(daemon_id, finished, 4.0)
        links = {"m1": RecordingLink("m1"), "m2": RecordingLink("m2")}
        ops = DataflowOperations(
            state, LogHub(), links, Background(), SpanRecorder(), on_finished=lambda _: None
        )
        restarted = await ops.restart(old.uuid, grace=None, force=False)
        (spawn,) = links["m1"].commands
        assert isinstance(spawn, to_daemon.SpawnDataflow)
        assert spawn.dataflow_id == restarted.new_uuid != old.uuid
        assert spawn.descriptor == two_machine_flow()

    asyncio.run(scenario())
