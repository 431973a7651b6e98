"""The daemon service's metrics sample: what it measures, and what it leaves alone.

It samples the node processes it spawned, found through the dataflows' node statuses, and
never lists every process on the machine (``psutil``'s ``children`` reads each one's
``/proc/<pid>/stat``): with nothing hosted a sample reads nothing at all.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import psutil
import pytest

from dora_daemon.service import DaemonService
from dora_message import coordinator_to_daemon as cmd
from dora_message import daemon_to_coordinator as ev
from tests.daemon.helpers import Collector, descriptor, fake, flow_dir
from tests.procs import dataflow_leftovers

pytestmark = [pytest.mark.integration, pytest.mark.timeout(40)]


@pytest.fixture
def no_process_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing processes fails the test."""

    def scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sample listed processes")

    monkeypatch.setattr(psutil.Process, "children", scan)
    monkeypatch.setattr(psutil, "process_iter", scan)
    monkeypatch.setattr(psutil, "pids", scan)


def test_an_idle_daemon_samples_nothing(no_process_scan: None) -> None:
    service = DaemonService(emit=lambda event: None, emit_log=lambda record: None)
    assert service.sample() == []


def test_sample_measures_the_spawned_node_and_forgets_it_once_ended(
    tmp_path: Path, no_process_scan: None
) -> None:
    asyncio.run(_sample_a_running_node(tmp_path))


async def _sample_a_running_node(tmp_path: Path) -> None:
    dataflow_id = str(uuid.uuid4())
    logs = Collector()
    service = DaemonService(emit=lambda event: None, emit_log=logs)
    spawn = cmd.SpawnDataflow(
        dataflow_id=dataflow_id,
        descriptor=descriptor([fake("n")]),
        nodes=["n"],
        working_dir=str(flow_dir(tmp_path)),
    )
    await service.handle(spawn)
    hosted = service.hosted[dataflow_id]
    try:
        await logs.wait_for(lambda: logs.lines("n", "SUBSCRIBED"))
        pid = hosted.dataflow.node_statuses()["n"].pid
        assert pid is not None
        node = psutil.Process(pid)
        assert node.ppid() == psutil.Process().pid  # the daemon's own child

        first, second = service.sample(), service.sample()
        for sample in (first, second):
            [metrics] = sample
            assert isinstance(metrics, ev.NodeMetrics)
            assert metrics.dataflow_id == dataflow_id
            metric = metrics.metrics["n"]
            assert metric.pid == pid
            assert metric.status == "Running"
            assert abs(metric.memory_mb - node.memory_info().rss / 2**20) < 8
    finally:
        service.stop(dataflow_id, grace=None, force=False)
        assert hosted.task is not None
        await hosted.task
    assert service.sample() == []
    assert not service._samples  # the ended node's process handle is let go
    assert not dataflow_leftovers(dataflow_id)
