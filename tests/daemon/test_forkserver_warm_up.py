"""The fork server warms the node API up before forking (``dora.warm_up``): a forked node
must still behave exactly as a cold one, and the warm-up must leave nothing behind in
the interpreter the nodes are forked from."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dora_daemon import forkserver_main
from dora_daemon.forkserver import ForkServer
from dora_daemon.forkserver_launch import Launched
from tests.procs import run_dora

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

# What a node could see of the interpreter it was forked from, before and after the
# warm-up, in a process that imported what the fork server preloads.
TRACES = """\
import gc, json, logging, os, signal, sys, threading
import pyarrow, pyarrow.compute, dora.node

def state():
    return {
        "fds": sorted(os.listdir("/proc/self/fd")),
        "tasks": len(os.listdir("/proc/self/task")),
        "threads": [t.name for t in threading.enumerate()],
        "environ": dict(os.environ),
        "cwd": os.getcwd(),
        "path": list(sys.path),
        "loggers": sorted(logging.Logger.manager.loggerDict),
        "handlers": [repr(h) for h in logging.getLogger().handlers],
        "signals": [repr(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM)],
        "shm_maps": sorted(l for l in open("/proc/self/maps") if "/dev/shm" in l),
        "modules": sorted(sys.modules),
    }

gc.collect()
before = state()
import dora.warm_up
dora.warm_up.warm_up()
after = state()
print(json.dumps({"before": before, "after": after, "cycles": gc.collect()}))
"""


def test_the_warm_up_leaves_no_fd_thread_environment_or_cycle_behind() -> None:
    done = subprocess.run(
        [sys.executable, "-c", TRACES], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(done.stdout)
    before, after = seen["before"], seen["after"]
    # its own module is the one thing a forked node finds more of
    assert sorted(set(after.pop("modules")) - set(before.pop("modules"))) == ["dora.warm_up"]
    assert after == before  # tasks: pyarrow's own allocator thread, the same before
    # nothing it made lives on through a reference cycle (the server freezes what exists)
    assert seen["cycles"] == 0


# The warm-up's checks are real ones, not asserts that ``python -O`` strips: a frame that
# decodes as something else, or a queue that loses the input, is a clear RuntimeError.
BROKEN = """\
import sys
import dora.warm_up as warm
from dora_message.data_protocol import Hello


class LosingScheduler(warm.Scheduler):
    def pop(self):
        return None


if sys.argv[1] == "frame":
    warm._decode_frame = lambda body: Hello("flow", "source", "0", "0" * 64)
else:
    warm.Scheduler = LosingScheduler
try:
    warm.warm_up()
except RuntimeError as err:
    print(err)
"""


@pytest.mark.parametrize(
    ("broken", "error"),
    [
        ("frame", "warm-up: a Data frame decoded as Hello"),
        ("queue", "warm-up: the input just queued popped as None"),
    ],
)
def test_the_warm_up_checks_what_it_decodes_even_under_python_O(broken: str, error: str) -> None:
    done = subprocess.run(
        [sys.executable, "-O", "-c", BROKEN, broken], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == error


SENDER = """\
import datetime
import pyarrow as pa
from dora import Node

node = Node()
payloads = [
    pa.array([1, 2, 3], type=pa.uint8()),
    pa.array([-5, 7], type=pa.int64()),
    pa.array([0.25, None, 1.5], type=pa.float32()),
    pa.array(["a", None, "ccc"]),
    pa.array([[1, 2], [], None, [3]]),
    pa.array([{"x": 1, "y": "b"}]),
    b"raw bytes",
]
when = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
for seq, payload in enumerate(payloads):
    node.send_output("data", payload, {"seq": seq, "when": when, "tags": ["p", "q"]})
"""

RELAY = """\
from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        node.send_output("data", event["value"], event["metadata"])
"""

RECEIVER = """\
import json, os
from dora import Node

node = Node()
seen = []
for event in node:
    if event["type"] == "INPUT":
        value, meta = event["value"], event["metadata"]
        seen.append({
            "type": str(value.type),
            "values": value.to_pylist(),
            "nulls": value.null_count,
            "metadata": {k: str(v) for k, v in meta.items() if k != "timestamp"},
        })
print(json.dumps({
    "forked": os.getppid() != int(os.environ["DORA_RUN_PARENT_PID"]),
    "inputs": seen,
}), flush=True)
"""

FLOW = """\
nodes:
  - id: sender
    path: sender.py
    outputs: [data]
  - id: relay
    path: relay.py
    inputs:
      data: sender/data
    outputs: [data]
  - id: receiver
    path: receiver.py
    inputs:
      data: relay/data
"""


def _received(tmp_path: Path, fork_server: str) -> dict:
    for name, text in (("sender.py", SENDER), ("relay.py", RELAY), ("receiver.py", RECEIVER)):
        (tmp_path / name).write_text(text)
    flow = tmp_path / "flow.yml"
    flow.write_text(FLOW)
    result = run_dora(
        ["run", str(flow), "--stop-after", "30s"],
        cwd=tmp_path,
        env={"DORA_FORK_SERVER": fork_server},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warm-up failed" not in output, output
    lines = [line for line in result.stdout.splitlines() if " STDOUT receiver: {" in line]
    assert len(lines) == 1, output
    return json.loads(lines[0].split(" STDOUT receiver: ", 1)[1])


def test_forked_nodes_send_and_receive_what_exec_d_ones_do(tmp_path: Path) -> None:
    forked = _received(tmp_path, "1")
    cold = _received(tmp_path, "0")
    assert forked.pop("forked") is True
    assert cold.pop("forked") is False
    assert forked == cold
    inputs = forked["inputs"]
    assert [i["type"] for i in inputs] == [
        "uint8",
        "int64",
        "float",
        "string",
        "list<item: int64>",
        "struct<x: int64, y: string>",
        "uint8",
    ]
    assert inputs[2]["values"] == [0.25, None, 1.5]
    assert inputs[4]["values"] == [[1, 2], [], None, [3]]
    assert inputs[6]["values"] == list(b"raw bytes")
    assert inputs[0]["metadata"] == {
        "seq": "0",
        "when": "2024-05-06 07:08:09+00:00",
        "tags": "['p', 'q']",
    }


def test_a_failing_warm_up_is_an_error_message_not_a_failed_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert forkserver_main._warm_up() is None
    monkeypatch.setattr(forkserver_main, "WARM_UP", "dora._no_such_warm_up")
    error = forkserver_main._warm_up()
    assert error is not None and error.startswith("ModuleNotFoundError: ")


# A stand-in for the server that reports a failed warm-up, then waits for the daemon.
READY_COLD = """\
import socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
sock.send(b'{"ready": true, "warm_up_error": "RuntimeError: warm-up broke (test)"}')
sock.recv(1)
"""


def test_the_daemon_warns_of_a_failed_warm_up_and_still_forks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    process = subprocess.Popen(
        [sys.executable, "-c", READY_COLD, str(theirs.fileno())], pass_fds=(theirs.fileno(),)
    )
    theirs.close()
    ours.setblocking(False)
    server = ForkServer(Launched(process, ours, dict(os.environ)))
    try:
        with caplog.at_level(logging.WARNING, logger="dora_daemon.forkserver"):
            assert asyncio.run(server.ready()) is True
    finally:
        server.close()
    assert "warm-up failed (RuntimeError: warm-up broke (test))" in caplog.text
