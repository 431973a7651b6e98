"""Proportional set size (PSS): memory with every shared page split among its users.

Summed over a set of processes, PSS counts each shared library once, which is what "memory
per process" of a 100-node dataflow has to mean: RSS would count libpython and libarrow a
hundred times. Read from ``/proc/PID/smaps_rollup`` (Linux 4.14+).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

QUICK_LOOKS = 5


def pss_bytes(pid: int) -> int | None:
    """The PSS of one process, or None if it is gone or cannot be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


@dataclass(frozen=True)
class TreeSample:
    """One look at a process tree: its node processes and the rest, by PSS."""

    time_ns: int  # time.time_ns(), comparable with what the nodes report
    nodes: int  # processes running a script from the nodes directory
    node_pss: int  # their PSS, summed
    other_pss: int  # everything else in the tree (CLI, daemon, helpers)


def sample_tree(root: psutil.Process, nodes_dir: str) -> TreeSample | None:
    """PSS of ``root``'s tree, split into node processes and the rest (None: root gone)."""
    stamp = time.time_ns()
    try:
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    nodes = node_pss = other_pss = 0
    for proc in tree:
        try:
            is_node = any(arg.startswith(nodes_dir) for arg in proc.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        pss = pss_bytes(proc.pid)
        if pss is None:
            continue
        if is_node:
            nodes += 1
            node_pss += pss
        else:
            other_pss += pss
    return TreeSample(stamp, nodes, node_pss, other_pss)


class ChildTreeSampler(threading.Thread):
    """Samples, every ``period`` s, the tree of the child of this process whose working
    directory lies under ``workdir`` (the one ``run_flow`` starts there)."""

    def __init__(self, workdir: Path, nodes_dir: Path, period: float) -> None:
        super().__init__(daemon=True)
        self.workdir, self.nodes_dir, self.period = str(workdir), str(nodes_dir), period
        self.samples: list[TreeSample] = []
        self.halt = threading.Event()

    def run(self) -> None:
        root = None
        # a few quick looks first: a small dataflow of forked nodes may be over in a second
        while not self.halt.wait(self.period if len(self.samples) >= QUICK_LOOKS else 0.1):
            root = root or self._find_root()
            if root is None:
                continue
            sample = sample_tree(root, self.nodes_dir)
            if sample is not None:
                self.samples.append(sample)

    def _find_root(self) -> psutil.Process | None:
        for child in psutil.Process().children():
            with contextlib.suppress(psutil.Error):
                if child.cwd().startswith(self.workdir):
                    return child
        return None

    def stop(self) -> list[TreeSample]:
        self.halt.set()
        self.join()
        return self.samples
