"""What a chain of Python nodes costs while it waits: CPU per second of the whole tree.

A chain of N nodes (a source, then relays) runs under ``dora run``; once every node is up
and a settling time has passed, the CPU time of each process of the tree is read twice,
``window`` seconds apart. The source sends nothing (``--rate 0``: the idle cost of a node,
its background threads alone) or 8 B at ``--rate`` Hz (then also CPU per node per message).
Nodes are the processes running a script of ``bench/nodes``; the rest of the tree is
``dora run`` itself (CLI, in-process daemon, helpers), which should stay near zero: data
goes from node to node, not through the daemon. CPU times come in clock ticks (10 ms a
process): measure for seconds, not fractions.

A diagnostic, not a scenario of ``run.py``:

    python bench/idle_chain.py [--nodes 100] [--rate 0] [--window 10] [--system ours|peer]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from flows import NODES_DIR, NodeSpec, RunSpec, write_flow
from peer import System, ours_system, peer_system
from runner import kill_tree
from scale import relay_chain

SETTLE_S = 2.0  # after the last node appeared: start-up work done before measuring
STOP_GRACE_S = 20.0


@dataclass(frozen=True)
class TreeCpu:
    """CPU seconds per second over the window: the nodes' sum, and the rest of the tree."""

    nodes: int
    node_cpu_per_s: float
    runtime_cpu_per_s: float
    window_s: float


def chain_nodes(length: int, rate: float) -> tuple[NodeSpec, ...]:
    source = NodeSpec(
        id="source", script="paced_source.py", env={"BENCH_RATE": str(rate)}, outputs=("data",)
    )
    return relay_chain(source, length - 1, queue_size=1000)


def _is_node(proc: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return any(arg.startswith(str(NODES_DIR)) for arg in proc.cmdline())
    return False


def _cpu(root: psutil.Process) -> dict[int, tuple[bool, float]]:
    """pid -> (is a node, CPU seconds so far) over ``root``'s tree."""
    out = {}
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            out[proc.pid] = (_is_node(proc), times.user + times.system)
    return out


def measure(
    system: System, length: int, rate: float, window_s: float, start_timeout_s: float = 120.0
) -> TreeCpu:
    """Run the chain and measure its tree's CPU over ``window_s`` once every node is up."""
    with tempfile.TemporaryDirectory(prefix="idle-chain-") as work:
        limit = int(start_timeout_s + SETTLE_S + window_s + STOP_GRACE_S)
        spec = RunSpec("idle_chain", chain_nodes(length, rate), float(limit))
        flow = write_flow(Path(work), spec)
        proc = subprocess.Popen(
            system.command("run", str(flow), "--stop-after", f"{limit}s"),
            cwd=work,
            env=system.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            root = psutil.Process(proc.pid)
            deadline = time.monotonic() + start_timeout_s
            while sum(is_node for is_node, _ in _cpu(root).values()) < length:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"the {length} nodes were not all up in time")
                time.sleep(0.2)
            time.sleep(SETTLE_S)
            before, start = _cpu(root), time.monotonic()
            time.sleep(window_s)
            after, window = _cpu(root), time.monotonic() - start
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)  # the session we started, by its id
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                kill_tree(proc.pid)
                proc.wait()
    both = [pid for pid in after if pid in before]
    nodes = sum(1 for pid in both if after[pid][0])
    node_cpu = sum(after[pid][1] - before[pid][1] for pid in both if after[pid][0])
    other = sum(after[pid][1] - before[pid][1] for pid in both if not after[pid][0])
    return TreeCpu(nodes, node_cpu / window, other / window, window)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0.0, help="source rate in Hz (0: idle)")
    parser.add_argument("--window", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--system", choices=("ours", "peer"), default="ours")
    args = parser.parse_args()
    system = ours_system() if args.system == "ours" else peer_system()
    cpu = measure(system, args.nodes, args.rate, args.window)
    per_node = cpu.node_cpu_per_s / max(cpu.nodes, 1)
    print(f"{args.system}: chain of {args.nodes} at {args.rate:g} Hz, {cpu.window_s:.1f} s")
    print(f"  nodes: {cpu.node_cpu_per_s * 1e3:.1f} ms/s, {per_node * 1e6:.0f} us/s per node")
    if args.rate > 0:
        print(f"  per node per message: {per_node / args.rate * 1e6:.0f} us")
    print(f"  dora run (CLI, daemon, helpers): {cpu.runtime_cpu_per_s * 1e3:.1f} ms/s")


if __name__ == "__main__":
    main()
