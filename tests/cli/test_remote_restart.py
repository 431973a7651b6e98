"""`dora node restart` of a node that runs on a second daemon: the producer on machine
`beta` is restarted through the coordinator while its consumer on machine `alpha` keeps
receiving over zenoh. Real coordinator, two daemons, nodes; loopback only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.cli.helpers import dora_coordinator, dora_daemon, env_for, started_uuid
from tests.coordinator.helpers import Proc, wait_until
from tests.procs import run_dora

pytestmark = pytest.mark.integration

PRODUCER = """\
import os

import pyarrow as pa
from dora import Node

node = Node()
print(f"producer: pid {os.getpid()}", flush=True)
count = 0
for event in node:
    if event["type"] == "INPUT":
        node.send_output("count", pa.array([count]))
        count += 1
"""

CONSUMER = """\
from dora import Node

previous = -1
after_reset = None
for event in Node():
    if event["type"] != "INPUT":
        continue
    value = event["value"].to_pylist()[0]
    if value < previous:
        print(f"consumer: reset after {previous}", flush=True)
        after_reset = 0
    if after_reset is not None:
        after_reset += 1
        if after_reset == 20:
            print("consumer: 20 values from the restarted producer", flush=True)
    elif value == 20:
        print("consumer: 20 values from the first producer", flush=True)
    previous = value
"""


def top(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Node id -> `dora top --once` row, for the nodes that have been sampled."""
    result = run_dora(["top", "--once"], env=env)
    assert result.returncode == 0, result.stderr
    return {row["node_id"]: row for row in json.loads(result.stdout) if row["metrics"]}


def log_of(directory: Path, node: str) -> str:
    return "".join(p.read_text() for p in (directory / "out").glob(f"*/log_{node}.jsonl"))


@pytest.mark.timeout(180)
def test_restarting_a_node_on_another_daemon(tmp_path: Path, procs: list[Proc]) -> None:
    port = dora_coordinator(procs)
    alpha, _ = dora_daemon(procs, port, "--machine-id", "alpha")
    beta, _ = dora_daemon(procs, port, "--machine-id", "beta")
    env = env_for(port)
    (tmp_path / "producer.py").write_text(PRODUCER)
    (tmp_path / "consumer.py").write_text(CONSUMER)
    flow = tmp_path / "flow.yml"
    flow.write_text(
        """nodes:
  - id: producer
    path: producer.py
    inputs:
      tick: dora/timer/millis/50
    outputs:
      - count
    _unstable_deploy:
      machine: beta
  - id: consumer
    path: consumer.py
    inputs:
      count: producer/count
    _unstable_deploy:
      machine: alpha
"""
    )
    uuid = started_uuid(
        run_dora(["start", str(flow), "--detach", "--name", "split"], env=env, cwd=tmp_path)
    )
    try:
        wait_until(
            lambda: "20 values from the first producer" in log_of(tmp_path, "consumer"),
            timeout=60,
            what="data crossing from beta to alpha",
        )
        rows = wait_until(lambda: len(rows := top(env)) == 2 and rows, timeout=60)
        assert rows["producer"]["daemon_id"]["machine_id"] == "beta"
        assert rows["consumer"]["daemon_id"]["machine_id"] == "alpha"
        old_pid = rows["producer"]["metrics"]["pid"]
        consumer_pid = rows["consumer"]["metrics"]["pid"]
        assert old_pid in {p.pid for p in beta.children()}
        assert consumer_pid in {p.pid for p in alpha.children()}
        old = psutil.Process(old_pid)

        restarted = run_dora(
            ["node", "restart", "producer", "-d", "split", "--grace", "2s"], env=env
        )
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        old.wait(timeout=30)  # the old process is gone

        def new_producer() -> int | None:
            row = top(env).get("producer")
            pid = row and row["metrics"]["pid"]
            return pid if pid and pid != old_pid and row["metrics"]["status"] == "running" else None

        new_pid = wait_until(new_producer, timeout=60, what="the producer's new PID")
        assert new_pid in {p.pid for p in beta.children()}  # restarted where it ran: beta
        assert top(env)["producer"]["metrics"]["restart_count"] == 1
        wait_until(
            lambda: f"producer: pid {new_pid}" in log_of(tmp_path, "producer"),
            timeout=30,
            what="the new producer's first line",
        )
        # the consumer, never restarted, receives from the new producer
        wait_until(
            lambda: "20 values from the restarted producer" in log_of(tmp_path, "consumer"),
            timeout=60,
            what="data from the restarted producer",
        )
        assert top(env)["consumer"]["metrics"]["pid"] == consumer_pid
        assert psutil.Process(consumer_pid).is_running()
        assert "consumer: reset after " in log_of(tmp_path, "consumer")
    finally:
        run_dora(["stop", uuid, "--force"], env=env)
