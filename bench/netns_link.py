"""Two "machines" on one host: Linux network namespaces joined by a veth pair.

:func:`veth_pair` creates namespaces ``dbench-a-<tag>`` and ``dbench-b-<tag>`` with
10.233.0.1/24 and 10.233.0.2/24 on the two ends of a veth pair (addresses that exist only
inside those namespaces) and removes them on exit, whatever happened. :class:`Service` is a
long-running process (a coordinator, a daemon) started inside one, watched line by line and
killed by PID with everything it started. The distributed tests
(``tests/distributed/test_netns.py``) use the same pair.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from runner import kill_tree

ADDR_A, ADDR_B = "10.233.0.1", "10.233.0.2"
IP_TIMEOUT_S = 10.0


class NetnsError(RuntimeError):
    """The namespaces or a service in them could not be set up (the message says why)."""


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT_S)


@dataclass(frozen=True)
class VethPair:
    ns_a: str
    ns_b: str
    veth_a: str
    veth_b: str

    def exec_in(self, namespace: str) -> list[str]:
        return ["ip", "netns", "exec", namespace]

    def rx_bytes(self) -> int:
        """Bytes received so far on the b end of the pair (what crossed from a)."""
        shown = ip("-n", self.ns_b, "-j", "-s", "link", "show", self.veth_b)
        _check(shown, "read the veth counters")
        return int(json.loads(shown.stdout)[0]["stats64"]["rx"]["bytes"])


@contextlib.contextmanager
def veth_pair(tag: str | None = None) -> Iterator[VethPair]:
    """Create the two namespaces and the veth pair; raise NetnsError if the host cannot."""
    if shutil.which("ip") is None:
        raise NetnsError("the `ip` command (iproute2) is not installed")
    tag = tag or str(os.getpid() % 100_000)
    pair = VethPair(f"dbench-a-{tag}", f"dbench-b-{tag}", f"dba{tag}", f"dbb{tag}")
    created: list[str] = []
    try:
        for namespace in (pair.ns_a, pair.ns_b):
            _check(ip("netns", "add", namespace), "create a network namespace")
            created.append(namespace)
        link = ip(
            "link", "add", pair.veth_a, "netns", pair.ns_a, "type", "veth",
            "peer", "name", pair.veth_b, "netns", pair.ns_b,
        )  # fmt: skip
        _check(link, "create a veth pair")
        for namespace, device, address in (
            (pair.ns_a, pair.veth_a, ADDR_A),
            (pair.ns_b, pair.veth_b, ADDR_B),
        ):
            _check(ip("-n", namespace, "addr", "add", f"{address}/24", "dev", device), "address")
            _check(ip("-n", namespace, "link", "set", device, "up"), "bring the veth up")
            _check(ip("-n", namespace, "link", "set", "lo", "up"), "bring lo up")
        yield pair
    finally:
        for namespace in created:  # deleting a namespace deletes its veth end, and the pair
            ip("netns", "del", namespace)


def _check(done: subprocess.CompletedProcess[str], what: str) -> None:
    if done.returncode != 0:
        raise NetnsError(f"cannot {what}: {done.stderr.strip() or done.returncode}")


class Service:
    """A long-running process whose output is collected line by line."""

    def __init__(self, cmd: Sequence[str], env: dict[str, str], cwd: str, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            list(cmd),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, marker: str, timeout_s: float) -> str:
        """The first output line containing ``marker``; NetnsError if it never comes."""
        for line in self.lines:
            if marker in line:
                return line
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                tail = " | ".join(self.lines[-5:])
                raise NetnsError(f"{self.name} exited before `{marker}`: {tail}")
            self.lines.append(line)
            if marker in line:
                return line
        raise NetnsError(f"{self.name}: no `{marker}` within {timeout_s:.0f} s")

    def kill(self) -> None:
        """SIGKILL the process and everything it started, by PID."""
        kill_tree(self.proc.pid)
        self.proc.wait()
