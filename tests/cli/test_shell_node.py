"""`path: shell` nodes: refused without `--allow-shell-nodes`, run with it (`dora run` and
`dora daemon`), their shell output logged and their data reaching a consumer."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import dora_coordinator, dora_daemon, env_for
from tests.coordinator.helpers import Proc
from tests.procs import run_dora

pytestmark = pytest.mark.integration

SENDER = """\
import pyarrow as pa
from dora import Node

node = Node()
sent = 0
for event in node:
    if event["type"] == "INPUT":
        node.send_output("value", pa.array([sent * 7]))
        sent += 1
        if sent == 3:
            break
"""

RECEIVER = """\
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print(f"receiver: got {event['value'].to_pylist()}", flush=True)
print("receiver: inputs closed", flush=True)
"""


def write_flow(directory: Path, deploy: str = "") -> Path:
    """A shell node that echoes, then execs a Python sender; a Python receiver."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sender.py").write_text(SENDER)
    (directory / "receiver.py").write_text(RECEIVER)
    command = f'echo "shell: $((6 * 7)) from $0"; exec {shlex.quote(sys.executable)} sender.py'
    flow = directory / "flow.yml"
    flow.write_text(
        f"""nodes:
  - id: sh
    path: shell
    args: {shlex.quote(command)}
    inputs:
      tick: dora/timer/millis/50
    outputs:
      - value
{deploy}
  - id: receiver
    path: receiver.py
    inputs:
      value: sh/value
{deploy}
"""
    )
    return flow


def logs(flow: Path, node: str) -> str:
    return "".join(path.read_text() for path in (flow.parent / "out").glob(f"*/log_{node}.jsonl"))


def assert_ran(flow: Path) -> None:
    assert re.search(r"shell: 42 from \S*sh", logs(flow, "sh")), logs(flow, "sh")
    received = logs(flow, "receiver")
    for value in (0, 7, 14):
        assert f"receiver: got [{value}]" in received, received
    assert "receiver: inputs closed" in received


@pytest.mark.timeout(120)
def test_dora_run_refuses_a_shell_node_without_the_flag_and_runs_it_with(tmp_path: Path) -> None:
    flow = write_flow(tmp_path / "flow")
    refused = run_dora(["run", str(flow)], cwd=flow.parent, env={"DORA_ALLOW_SHELL_NODES": ""})
    assert refused.returncode != 0
    assert "node `sh` is a shell node (`path: shell`)" in refused.stderr
    assert "--allow-shell-nodes" in refused.stderr
    assert logs(flow, "sh") == "" and logs(flow, "receiver") == ""  # nothing was started

    ran = run_dora(["run", str(flow), "--allow-shell-nodes"], cwd=flow.parent)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "shell: 42" in ran.stdout  # shown live, with the node's name
    assert_ran(flow)


@pytest.mark.timeout(120)
def test_only_a_daemon_started_with_the_flag_runs_shell_nodes(
    tmp_path: Path, procs: list[Proc]
) -> None:
    no_flag = {"DORA_ALLOW_SHELL_NODES": ""}
    port = dora_coordinator(procs)
    env = {**env_for(port), **no_flag}
    assert dora_daemon(procs, port, "--machine-id", "plain", env=no_flag)[1] == "plain"
    shelly = dora_daemon(procs, port, "--machine-id", "shelly", "--allow-shell-nodes")
    assert shelly[1] == "shelly"

    plain = write_flow(tmp_path / "plain", "    _unstable_deploy:\n      machine: plain")
    refused = run_dora(["start", str(plain), "--attach"], cwd=plain.parent, env=env)
    assert refused.returncode != 0
    assert "node `sh` is a shell node" in refused.stdout + refused.stderr
    assert logs(plain, "receiver") == ""

    allowed = write_flow(tmp_path / "allowed", "    _unstable_deploy:\n      machine: shelly")
    ran = run_dora(["start", str(allowed), "--attach"], cwd=allowed.parent, env=env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert_ran(allowed)
