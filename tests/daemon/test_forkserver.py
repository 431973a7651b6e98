"""`dora run` forks eligible Python nodes from a warm interpreter (dora_daemon.forkserver).

Each probe node reports what it sees of itself (pid, process group, session, parent, cwd,
argv, environment, and what /proc shows of it to others) as one JSON line on stdout, so
the tests check from the outside that a forked node is indistinguishable from an exec'd
one where it matters, and that nodes the server cannot run as they asked bypass it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from dora_daemon.forkserver import eligible
from dora_daemon.forkserver_launch import ENV_FORK_SERVER, enabled, server_env
from dora_daemon.resolve import ResolvedNode, resolve_dataflow
from tests.daemon.helpers import descriptor
from tests.procs import run_dora

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

PROBE = """\
import json, os, sys
from dora import Node

def proc(name, pid="self"):
    with open(f"/proc/{pid}/{name}", "rb") as f:
        return f.read().decode(errors="replace")

node = Node()
print(json.dumps({
    "pid": os.getpid(),
    "pgid": os.getpgid(0),
    "sid": os.getsid(0),
    # exec'd nodes are children of `dora run` (whose pid the daemon passes on)
    "forked": os.getppid() != int(os.environ["DORA_RUN_PARENT_PID"]),
    "cwd": os.getcwd(),
    "argv": sys.argv,
    "path0": sys.path[0],
    "color": os.environ.get("PROBE_COLOR"),
    "cmdline": proc("cmdline").rstrip("\\0"),
    "environ": [kv.split("=", 1)[0] for kv in proc("environ").split("\\0") if "=" in kv],
    "proc_color": "PROBE_COLOR=" + os.environ.get("PROBE_COLOR", "") in proc("environ"),
}), flush=True)
"""

CRASH = """\
from dora import Node

Node()
raise RuntimeError("probe crashed on purpose")
"""


def write_flow(directory: Path, nodes: str) -> Path:
    (directory / "probe.py").write_text(PROBE)
    (directory / "crash.py").write_text(CRASH)
    flow = directory / "flow.yml"
    flow.write_text(f"nodes:\n{nodes}")
    return flow


def reports(output: str) -> dict[str, dict]:
    """The probes' JSON lines by node id (``... STDOUT <id>: {json}``)."""
    found = {}
    for line in output.splitlines():
        if " STDOUT " in line and ": {" in line:
            node_id, _, payload = line.split(" STDOUT ", 1)[1].partition(": ")
            found[node_id] = json.loads(payload)
    return found


def run(flow: Path, env: dict[str, str] | None = None) -> tuple[int, str, dict[str, dict]]:
    result = run_dora(["run", str(flow), "--stop-after", "30s"], cwd=flow.parent, env=env)
    output = result.stdout + result.stderr
    return result.returncode, output, reports(result.stdout)


def test_a_forked_node_has_its_own_group_environment_cwd_and_command_line(
    tmp_path: Path,
) -> None:
    flow = write_flow(
        tmp_path,
        """
  - id: forked
    path: probe.py
    args: one two
    env:
      PROBE_COLOR: blue
""",
    )
    code, output, seen = run(flow)
    assert code == 0, output
    probe = seen["forked"]
    assert probe["forked"] is True, probe
    # its own session and process group, as for an exec'd node (the stop ladder
    # signals the group)
    assert probe["pgid"] == probe["pid"] == probe["sid"]
    assert probe["cwd"] == str(tmp_path)
    assert probe["argv"] == [str(tmp_path / "probe.py"), "one", "two"]
    assert probe["path0"] == str(tmp_path)
    assert probe["color"] == "blue"
    # what others see in /proc is the node's, not the server's
    assert probe["cmdline"] == f"{sys.executable} -u {tmp_path / 'probe.py'} one two"
    assert probe["proc_color"] is True
    assert "DORA_NODE_CONFIG" in probe["environ"]
    assert "DORA_FORK_SERVER_ROOM" not in probe["environ"]


def test_nodes_that_would_not_run_like_the_server_bypass_it(tmp_path: Path) -> None:
    # a node naming an interpreter in `path:` (a venv's, here the one running the
    # tests) and a node with its own PYTHONPATH are exec'd by the daemon itself
    flow = write_flow(
        tmp_path,
        f"""
  - id: venv
    path: {sys.executable}
    args: probe.py
  - id: own-pythonpath
    path: probe.py
    env:
      PYTHONPATH: {tmp_path}
  - id: forked
    path: probe.py
""",
    )
    code, output, seen = run(flow)
    assert code == 0, output
    assert seen["forked"]["forked"] is True, seen
    for node_id in ("venv", "own-pythonpath"):
        probe = seen[node_id]
        assert probe["forked"] is False, probe
        assert probe["pgid"] == probe["pid"]


def test_dora_fork_server_0_turns_it_off(tmp_path: Path) -> None:
    flow = write_flow(tmp_path, "\n  - id: plain\n    path: probe.py\n")
    code, output, seen = run(flow, env={"DORA_FORK_SERVER": "0"})
    assert code == 0, output
    assert seen["plain"]["forked"] is False, seen
    assert "dora-fork-server" not in output


def test_a_forked_node_that_raises_fails_the_run_with_its_traceback(tmp_path: Path) -> None:
    flow = write_flow(
        tmp_path,
        """
  - id: crash
    path: crash.py
  - id: forked
    path: probe.py
""",
    )
    code, output, seen = run(flow)
    assert seen["forked"]["forked"] is True, seen
    assert code != 0
    assert "RuntimeError: probe crashed on purpose" in output
    assert "crash" in output


def test_dora_fork_server_values() -> None:
    assert enabled({})
    assert enabled({ENV_FORK_SERVER: "1"})
    for off in ("0", "false", "no", "off", " OFF "):
        assert not enabled({ENV_FORK_SERVER: off})


def _resolved(tmp_path: Path, node: dict, host_env: dict[str, str]) -> ResolvedNode:
    (tmp_path / "probe.py").write_text(PROBE)
    dataflow = resolve_dataflow(
        descriptor([{"id": "n", **node}]),
        tmp_path,
        dataflow_id="fork-server-test",
        daemon_address="\0dora-daemon-test",
        host_env=host_env,
        parent_pid=os.getpid(),
    )
    return dataflow.nodes["n"]


def test_eligibility_follows_argv_and_the_interpreter_environment(tmp_path: Path) -> None:
    host = {"PATH": "/usr/bin", "LANG": "C.UTF-8"}
    server = server_env(host)
    assert eligible(_resolved(tmp_path, {"path": "probe.py"}, host), server)
    # a user variable is the node's business; interpreter-level ones must match
    assert eligible(_resolved(tmp_path, {"path": "probe.py", "env": {"X": "1"}}, host), server)
    for env in ({"PYTHONPATH": "/elsewhere"}, {"LANG": "de_DE.UTF-8"}, {"ARROW_IO_THREADS": "1"}):
        node = _resolved(tmp_path, {"path": "probe.py", "env": env}, host)
        assert not eligible(node, server), env
    interpreter = _resolved(tmp_path, {"path": sys.executable, "args": "probe.py"}, host)
    assert not eligible(interpreter, server)
    # an environment larger than the room the server keeps for it
    huge = _resolved(tmp_path, {"path": "probe.py", "env": {"BIG": "x" * 40000}}, host)
    assert not eligible(huge, server)


SHADOW_PYARROW = """\
# Fails in the fork server only (the one process with DORA_FORK_SERVER_ROOM set); anywhere
# else it steps aside for the real pyarrow.
import os
import sys

if "DORA_FORK_SERVER_ROOM" in os.environ:
    raise ImportError("pyarrow refused in the fork server (test)")
sys.path.remove(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
del sys.modules["pyarrow"]
import pyarrow  # noqa: E402,F401 - the real one, which the import then returns
"""


def test_nodes_are_exec_d_when_the_server_cannot_preload(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    (shadow / "pyarrow").mkdir(parents=True)
    (shadow / "pyarrow" / "__init__.py").write_text(SHADOW_PYARROW)
    flow = write_flow(tmp_path, "\n  - id: plain\n    path: probe.py\n")
    code, output, seen = run(flow, env={"PYTHONPATH": str(shadow)})
    assert code == 0, output
    assert seen["plain"]["forked"] is False, seen
    assert "fork server failed" in output


def test_a_request_the_server_cannot_take_falls_back_to_exec(tmp_path: Path) -> None:
    # an environment larger than one socket message (net.core.wmem_default, ~208 KiB):
    # the node is exec'd by the daemon instead, with a warning
    limit = int(Path("/proc/sys/net/core/wmem_default").read_text())
    if limit > 1_000_000:
        pytest.skip("socket messages here take an environment larger than exec allows")
    chunk = 120_000  # below the kernel's limit for one environment string (128 KiB)
    big = {f"PROBE_BIG_{i}": "x" * chunk for i in range(limit // chunk + 1)}
    flow = write_flow(tmp_path, "\n  - id: plain\n    path: probe.py\n")
    code, output, seen = run(flow, env=big)
    assert code == 0, output
    assert seen["plain"]["forked"] is False, seen
    assert "started without the fork server" in output


FLAKY = PROBE.replace(
    "node = Node()\n",
    """node = Node()
if node.restart_count() == 0:
    # fail once the fork server has stopped forking (its command line says --reap);
    # no event tells a node that, so it polls (the test's timeout bounds it)
    import time
    while "--reap" not in proc("cmdline", os.getppid()):
        time.sleep(0.01)
    raise SystemExit(3)
""",
)


def test_a_restart_after_the_initial_spawns_is_exec_d(tmp_path: Path) -> None:
    # once every node had its first spawn the server stops forking (it shrinks to a
    # process that only reports exits): the restarted incarnation is exec'd and works
    flow = write_flow(
        tmp_path,
        """
  - id: flaky
    path: flaky.py
    restart_policy: on-failure
    max_restarts: 2
""",
    )
    (tmp_path / "flaky.py").write_text(FLAKY)
    code, output, seen = run(flow)
    assert code == 0, output
    assert seen["flaky"]["forked"] is False, seen


OPERATOR = """\
import json, os

from dora import DoraStatus


class Operator:
    def __init__(self):
        forked = os.getppid() != int(os.environ["DORA_RUN_PARENT_PID"])
        print(json.dumps({"operator_forked": forked}), flush=True)

    def on_event(self, event, send_output):
        return DoraStatus.STOP
"""


def test_an_operator_runtime_is_forked_too(tmp_path: Path) -> None:
    # `python -u -c "import dora; dora.start_runtime()"` runs in the server like a script
    (tmp_path / "op.py").write_text(OPERATOR)
    flow = write_flow(
        tmp_path,
        """
  - id: runtime
    operator:
      python: op.py
      inputs:
        tick: dora/timer/millis/50
""",
    )
    code, output, _ = run(flow)
    assert code == 0, output
    assert '"operator_forked": true' in output, output
