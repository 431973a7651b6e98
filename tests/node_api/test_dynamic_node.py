"""Dynamic nodes (``path: dynamic``): a process started by hand from a shell joins a
running dataflow under ``dora run`` and ``dora start``, exchanges messages both ways,
leaves, and joins again (issue 14 item 2)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.coordinator.bounds import start_coordinator_any_port
from tests.coordinator.helpers import Proc, wait_until
from tests.procs import DoraProcess, run_dora

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent / "dynamic"
JOIN_PORT = re.compile(r"dynamic nodes join on 127\.0\.0\.1:(\d+)")


def _flow(tmp_path: Path) -> Path:
    for name in ("flow.yml", "talker.py", "joiner.py"):
        shutil.copy(HERE / name, tmp_path / name)
    return tmp_path / "flow.yml"


def _join(tmp_path: Path, port: int, name: str, tag: str) -> subprocess.CompletedProcess[str]:
    """``joiner.py`` run from a separate shell, as a user would from a terminal."""
    command = f'exec "{sys.executable}" joiner.py {name} {tag}'
    env = {**os.environ, "DORA_DAEMON_LOCAL_LISTEN_PORT": str(port)}
    env.pop("DORA_NODE_CONFIG", None)
    return subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )


def _joined_twice(tmp_path: Path, port: int, read_more: Callable[[], str]) -> tuple[str, str]:
    """Join, leave, join again; each time the talker must see this run's replies."""
    outputs = []
    for tag in ("first", "second"):
        joined = _join(tmp_path, port, "dyn", tag)
        assert joined.returncode == 0, joined.stdout + joined.stderr
        assert "joiner: joined as dyn" in joined.stdout
        got = re.findall(r"joiner: got (\d+)", joined.stdout)
        assert len(got) == 3, joined.stdout
        assert "joiner: leaving after 3" in joined.stdout
        # ...and what it sent reached the static node
        for value in got:
            wanted = f"talker: reply {tag}-{value}"
            wait_until(lambda w=wanted: w in read_more(), 30, wanted)
        outputs.append(joined.stdout)
    return outputs[0], outputs[1]


@pytest.mark.timeout(60)
def test_joining_with_no_dataflow_running_names_what_it_looked_for(tmp_path: Path) -> None:
    (tmp_path / "joiner.py").write_text((HERE / "joiner.py").read_text())
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _join(tmp_path, port, "ghost", "x")
    assert result.returncode != 0
    assert "cannot join as dynamic node `ghost`" in result.stderr, result.stderr
    assert f"127.0.0.1:{port}" in result.stderr
    assert "path: dynamic" in result.stderr


@pytest.mark.timeout(120)
def test_dynamic_node_joins_a_dora_run_dataflow_twice(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    dora = DoraProcess(["run", str(flow)], env={"DORA_DAEMON_LOCAL_LISTEN_PORT": "0"})
    try:
        notice = dora.wait_for_line("waits for dynamic node(s) `dyn`")
        port = int(JOIN_PORT.search(notice).group(1))  # type: ignore[union-attr]

        def read_more() -> str:
            with contextlib.suppress(TimeoutError):
                dora.wait_for_line("talker: reply", timeout=0.5)
            return dora.output

        first, second = _joined_twice(tmp_path, port, read_more)
        # while it was away its receiver's input stayed open, as in dora-rs
        assert "talker: INPUT_CLOSED" not in dora.output, dora.output
        # the same dataflow both times
        assert first.split("dataflow=")[1].split()[0] == second.split("dataflow=")[1].split()[0]

        unknown = _join(tmp_path, port, "nosuch", "x")
        assert unknown.returncode != 0
        assert "no running dataflow here has a dynamic node `nosuch`" in unknown.stderr
        assert "(dynamic nodes here: `dyn`)" in unknown.stderr
    finally:
        dora.kill_tree()


@pytest.mark.timeout(150)
def test_dynamic_node_joins_a_dora_start_dataflow_twice(tmp_path: Path) -> None:
    flow = _flow(tmp_path)
    coordinator, coord_port = start_coordinator_any_port()
    procs = [coordinator]
    try:
        daemon = Proc(
            "dora_daemon",
            ["--coordinator-port", str(coord_port), "--local-listen-port", "0"],
        )
        procs.append(daemon)
        daemon.wait_for_line("registered with the coordinator as")
        env = {"DORA_COORDINATOR_PORT": str(coord_port)}
        started = run_dora(["start", str(flow), "--detach", "--name", "dynflow"], env=env)
        assert started.returncode == 0, started.stdout + started.stderr
        notice = daemon.wait_for_line("waits for dynamic node(s) `dyn`")
        port = int(JOIN_PORT.search(notice).group(1))  # type: ignore[union-attr]

        def node_row() -> dict[str, object] | None:
            result = run_dora(["node", "list", "-d", "dynflow", "-f", "json"], env=env)
            if result.returncode != 0:
                return None
            rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
            return next((r for r in rows if r.get("node") == "dyn"), None)

        waiting = wait_until(
            lambda: (r := node_row()) is not None and r["status"] != "Pending" and r,
            30,
            "the daemon's word on the dynamic node",
        )
        assert waiting["status"] == "Waiting", waiting  # not joined yet, and it says so

        def read_more() -> str:
            logs = run_dora(["logs", "dynflow", "talker"], env=env)
            return logs.stdout

        _joined_twice(tmp_path, port, read_more)

        # while connected it shows as running, with the pid of the process that joined
        release = tmp_path / "release"
        holder = subprocess.Popen(
            ["/bin/sh", "-c", f'exec "{sys.executable}" joiner.py dyn held {release}'],
            cwd=tmp_path,
            env={**os.environ, "DORA_DAEMON_LOCAL_LISTEN_PORT": str(port)},
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            assert holder.stdout is not None
            for line in holder.stdout:
                if "joiner: holding" in line:
                    break
            running = wait_until(
                lambda: (r := node_row()) is not None and r["status"] == "Running" and r,
                30,
                "the dynamic node shown as running",
            )
            assert str(running["pid"]) == str(holder.pid), running
            release.touch()
            assert holder.wait(timeout=30) == 0
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait(timeout=10)
        left = wait_until(
            lambda: (r := node_row()) is not None and r["status"] == "Left" and r,
            30,
            "the dynamic node shown as left",
        )
        assert left["node"] == "dyn"
        stopped = run_dora(["stop", "--name", "dynflow"], env=env)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    finally:
        for proc in procs:
            proc.kill()
