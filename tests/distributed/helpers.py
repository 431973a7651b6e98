"""Helpers for dataflows split over several daemons: processes, flows, the `dora` CLI.

Every process runs as ``python -m <module>``, optionally inside a network namespace
(``ip netns exec NS``, which execs, so the PID is the Python process's own); all of
them are killed by PID at the end of each test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.coordinator.helpers import Proc, wait_until

NODES = Path(__file__).parent / "nodes"


class Cluster:
    """A coordinator and daemons reachable at ``addr:port``; tracks every process."""

    def __init__(self, port: int = 0, addr: str = "127.0.0.1") -> None:
        self.port = port  # 0: the coordinator picks one, read back once it listens
        self.addr = addr
        self.procs: list[Proc] = []

    def coordinator(self, prefix: Sequence[str] = ()) -> Proc:
        """Start the coordinator; returns once it listens."""
        args = ["--port", str(self.port), "--interface", self.addr]
        proc = Proc("dora_coordinator", args, prefix=prefix)
        self.procs.append(proc)
        line = proc.wait_ready("dora-coordinator listening on")
        self.port = proc.port = int(line.rsplit(":", 1)[1])
        return proc

    def daemon(self, machine: str, prefix: Sequence[str] = (), *extra: str) -> Proc:
        """Start a daemon with ``--machine-id machine``; returns once registered."""
        args = ["--coordinator-addr", self.addr, "--coordinator-port", str(self.port)]
        proc = Proc("dora_daemon", [*args, "--machine-id", machine, *extra], prefix=prefix)
        self.procs.append(proc)
        proc.wait_ready("registered with the coordinator as")
        return proc

    def dora(
        self, args: Sequence[str], prefix: Sequence[str] = (), timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a ``dora`` command against this cluster from a fresh process."""
        env = {
            **os.environ,
            "NO_COLOR": "1",
            "DORA_COORDINATOR_ADDR": self.addr,
            "DORA_COORDINATOR_PORT": str(self.port),
        }
        return subprocess.run(
            [*prefix, sys.executable, "-m", "dora_cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def listing(self, prefix: Sequence[str] = ()) -> dict[str, dict[str, object]]:
        """``dora list --format json`` by UUID."""
        result = self.dora(["list", "--format", "json"], prefix)
        assert result.returncode == 0, result.stderr
        rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        return {str(row["uuid"]): row for row in rows}

    def wait_ended(self, uuid: str, prefix: Sequence[str] = (), timeout: float = 90.0) -> str:
        """Poll ``dora list`` until the dataflow ended; its final status."""

        def ended() -> str | None:
            status = str(self.listing(prefix).get(uuid, {}).get("status", ""))
            return status if status in ("Succeeded", "Failed") else None

        return wait_until(ended, timeout=timeout, what=f"dataflow {uuid} to end")

    def kill_all(self) -> None:
        """SIGKILL every process started here (and their node processes), by PID."""
        for proc in reversed(self.procs):
            proc.kill()


def started_uuid(result: subprocess.CompletedProcess[str]) -> str:
    """The UUID printed by ``dora start --detach``."""
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "dataflow started:" in line)
    return line.split(":", 1)[1].strip()


def deploy(machine: str) -> str:
    return f"    _unstable_deploy:\n      machine: {machine}\n"


def numbered_flow(
    directory: Path,
    source: str,
    sink: str,
    relay: str | None = None,
    small: int = 2000,
    big: int = 20,
    sink_path: str = "checking_sink.py",
    sink_env: dict[str, str] | None = None,
) -> Path:
    """source -> [relay ->] sink, each pinned to a machine; queues hold every message."""
    directory.mkdir(parents=True, exist_ok=True)
    for script in NODES.glob("*.py"):
        shutil.copy(script, directory / script.name)
    env = f'    env:\n      SMALL: "{small}"\n      BIG: "{big}"\n'
    extra = "".join(f'      {k}: "{v}"\n' for k, v in (sink_env or {}).items())
    upstream = "relay" if relay else "source"
    inputs = (
        "    inputs:\n"
        f"      small: {{source: {upstream}/small, queue_size: {small + 10}}}\n"
        f"      big: {{source: {upstream}/big, queue_size: {big + 10}}}\n"
        f"      mixed: {{source: {upstream}/mixed, queue_size: 100}}\n"
    )
    outputs = "    outputs: [small, big, mixed]\n"
    text = "nodes:\n"
    text += f"  - id: source\n    path: numbered_source.py\n{outputs}{env}"
    text += deploy(source)
    if relay:
        text += f"  - id: relay\n    path: relay.py\n{outputs}"
        text += inputs.replace("relay/", "source/") + deploy(relay)
    text += f"  - id: sink\n    path: {sink_path}\n{inputs}{env}{extra}" + deploy(sink)
    path = directory / "numbers.yml"
    path.write_text(text)
    return path


def endless_flow(directory: Path, ticker: str, listener: str) -> Path:
    """ticker (timer-driven, never ends) -> listener, on two machines."""
    directory.mkdir(parents=True, exist_ok=True)
    flows = Path(__file__).parent.parent / "cli" / "flows"
    for script in ("ticker.py", "listener.py"):
        shutil.copy(flows / script, directory / script)
    path = directory / "endless.yml"
    path.write_text(
        "nodes:\n"
        "  - id: ticker\n    path: ticker.py\n"
        "    inputs:\n      tick: dora/timer/millis/20\n    outputs: [count]\n"
        + deploy(ticker)
        + "  - id: listener\n    path: listener.py\n"
        "    inputs:\n      count: ticker/count\n" + deploy(listener)
    )
    return path


def listening_tcp_ports(pid: int) -> list[int]:
    """TCP ports in LISTEN state on sockets process ``pid`` holds (IPv4 and IPv6)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    inodes = set()
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: TCP_LISTEN
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return sorted(ports)


def shm_files_held(pids: Sequence[int]) -> list[str]:
    """``/dev/shm`` files that processes ``pids`` or their descendants map or hold open.

    zenoh's shared-memory transport would put its segments there (the daemons turn it
    off); asking the processes themselves keeps other programs' files out of it.
    """
    import psutil

    found = set()
    for pid in pids:
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for process in tree:
            proc = Path(f"/proc/{process.pid}")
            try:
                maps = (proc / "maps").read_text()
                links = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
            except OSError:
                continue  # gone meanwhile
            found.update(w for line in maps.splitlines() for w in line.split()[5:6])
            found.update(links)
    return sorted(f for f in found if f.startswith("/dev/shm/"))
