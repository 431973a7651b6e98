"""A running dataflow to attack: ``sender`` counts up at 100 Hz into ``receiver`` (a
Python node, a C node or an operator-runtime node, restarted on failure after 2 s),
under ``dora run``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil

import dora_node_api_c
from dora_daemon.resolve import node_address
from tests.procs import DoraProcess, abstract_sockets

NODES = Path(__file__).parent / "nodes"
RESTART_DELAY = 2.0

FLOW = """
nodes:
  - id: sender
    path: nodes/sender.py
    inputs:
      tick: dora/timer/millis/10
    outputs: [out]
  - id: receiver
{receiver}
    restart_policy: on-failure
    restart_delay: {delay}
"""

CUSTOM = """    path: {path}
    inputs:
      in: sender/out"""

OPERATOR = """    operators:
      - id: op
        python: nodes/op_receiver.py
        inputs:
          in: sender/out"""


def build_c_receiver(directory: Path) -> Path:
    """Compile ``nodes/c_receiver.c`` against the C node library."""
    target = directory / "c_receiver"
    command = [
        shutil.which("gcc") or "cc",
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Werror",
        *dora_node_api_c.cflags(),
        "-o",
        str(target),
        str(NODES / "c_receiver.c"),
        *dora_node_api_c.libs("node"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return target


class Flow:
    """The dataflow, its processes and the addresses an attacker would find."""

    def __init__(self, directory: Path, kind: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(NODES, directory / "nodes", dirs_exist_ok=True)
        if kind == "operator":
            receiver = OPERATOR
        else:
            path = "nodes/receiver.py" if kind == "python" else build_c_receiver(directory)
            receiver = CUSTOM.format(path=path)
        path = directory / "flow.yml"
        path.write_text(FLOW.format(receiver=receiver, delay=RESTART_DELAY))
        self.directory = directory
        self.dora = DoraProcess(["run", str(path)], cwd=directory)
        self.last_n = 0
        try:
            start = self.dora.wait_for_line("receiver: start pid=")
            self.receiver_pid = int(re.search(r"pid=(\d+)", start).group(1))  # type: ignore[union-attr]
            self.wait_for_numbers()
            self.dataflow_id = self._dataflow_id()
            self.receiver_address = node_address(self.dataflow_id, "receiver")
            self.daemon_address = self._daemon_address()
        except BaseException:
            # the fixture never gets this object to close: end the run here
            self.dora.kill_tree()
            raise

    # ---- what an attacker finds ------------------------------------------------------

    def _dataflow_id(self) -> str:
        # an attacker reads it in the socket names of /proc/net/unix; the test takes it
        # from the node's environment to be sure of the dataflow among others running here
        node = psutil.Process(self.receiver_pid)
        config = json.loads(node.environ()["DORA_NODE_CONFIG"])
        return str(config["dataflow_id"])

    def _daemon_address(self) -> str:
        names = abstract_sockets(f"@dora-daemon-{self.dataflow_id}-")
        assert names, "no daemon socket in /proc/net/unix"
        return "\0" + names[0][1:]

    def config_of(self, pid: int) -> dict[str, object]:
        """A node's DORA_NODE_CONFIG, as its own user (or root) can read it."""
        return json.loads(psutil.Process(pid).environ()["DORA_NODE_CONFIG"])  # type: ignore[no-any-return]

    def sender_pid(self) -> int:
        line = next(x for x in self.dora.lines if "sender: start pid=" in x)
        return int(re.search(r"pid=(\d+)", line).group(1))  # type: ignore[union-attr]

    # ---- what the test watches -------------------------------------------------------

    def wait_for_numbers(self, count: int = 5, timeout: float = 30.0) -> int:
        """Wait until ``count`` more real numbers arrived; the last one."""
        start = self.last_n
        deadline = time.monotonic() + timeout
        while self.last_n < start + count:
            remaining = max(deadline - time.monotonic(), 0.01)
            line = self.dora.wait_for_line("receiver: got n=", remaining)
            self.last_n = max(self.last_n, int(line.rsplit("n=", 1)[1]))
        return self.last_n

    def trouble(self) -> list[str]:
        """Output lines showing that an attack got through (forged data, a stop, a crash)."""
        bad = ("FORGED", "receiver: EVENT", "receiver: end", "Bus error", "SIGBUS", "Traceback")
        return [line for line in self.dora.lines if any(b in line for b in bad)]

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.receiver_pid}/fd"))

    def kill_receiver(self) -> None:
        os.kill(self.receiver_pid, signal.SIGKILL)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError, OSError):
            self.dora.proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.dora.wait(timeout=20)
        self.dora.kill_tree()
