"""Run one dataflow under one system and collect what it measured.

Measures the wall time, optional samples of the process tree (resident sets; the CPU of
``dora run`` itself), and reads the JSON files the nodes wrote. A run that times out is
killed process by process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import shm
from flows import NODES_DIR, RunSpec, result_path, write_flow
from peer import System

START_ALLOWANCE_S = 20.0  # start-up and shutdown on a loaded 2-core machine
SAMPLE_PERIOD_S = 0.05
CPU_SAMPLE_PERIOD_S = 0.01  # the CPU window of a burst is a few tens of ms for ours
LOG_TAIL_LINES = 15


@dataclass
class RunResult:
    """What one ``dora run`` produced. ``error`` is None when it ran to completion."""

    system: str
    key: str
    error: str | None
    wall_s: float
    launch_ns: int
    results: dict[str, dict] = field(default_factory=dict)
    # label -> [(seconds since launch, rss bytes)]; labels: "dora run", "node:<script>"
    rss: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    # (time.time_ns(), CPU seconds of `dora run` and its non-node helpers so far)
    cli_cpu: list[tuple[int, float]] = field(default_factory=list)
    log_tail: str = ""
    run_dir: str = ""  # only worth printing when the directory was kept
    shm_left: list[str] = field(default_factory=list)  # /dev/shm files left, now removed

    @property
    def ok(self) -> bool:
        return self.error is None


class _TreeSampler(threading.Thread):
    """Samples the process tree of one ``dora run`` every ``period`` seconds.

    Nodes are the processes running a script of ``bench/nodes`` and whatever they start;
    everything else in the tree is ``dora run`` itself (CLI, daemon, helpers). With
    ``rss`` it records resident sets (per node script and for ``dora run``), with ``cpu``
    the CPU seconds ``dora run`` has used so far, stamped with ``time.time_ns()`` so they
    line up with the timestamps the nodes report.
    """

    def __init__(self, pid: int, start: float, rss: bool, cpu: bool, period: float):
        super().__init__(daemon=True)
        self.pid, self.start_time, self.period = pid, start, period
        self.want_rss, self.want_cpu = rss, cpu
        self.samples: dict[str, list[tuple[float, int]]] = {}
        self.cpu_samples: list[tuple[int, float]] = []
        self.halt = threading.Event()
        self._last_cpu: dict[int, float] = {}  # pid -> CPU seconds at the last sample
        self._cpu_done: dict[int, float] = {}  # CPU of `dora run` processes that ended

    def run(self) -> None:
        while not self.halt.wait(self.period):
            try:
                root = psutil.Process(self.pid)
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            self._sample(tree)

    def _sample(self, tree: list[psutil.Process]) -> None:
        nodes_dir = str(NODES_DIR)
        now = time.monotonic() - self.start_time
        stamp = time.time_ns()
        cli_rss, cli_cpu, node_pids = 0, {}, set()
        for proc in tree:
            try:
                cmdline = proc.cmdline()
                parent = proc.ppid()
                rss = proc.memory_info().rss if self.want_rss else 0
                times = proc.cpu_times() if self.want_cpu else None
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            script = next((a for a in cmdline if a.startswith(nodes_dir)), None)
            if script is not None or parent in node_pids:
                # a node, or a process a node started: not part of `dora run` itself
                node_pids.add(proc.pid)
                if script is not None and self.want_rss:
                    label = "node:" + os.path.basename(script)
                    series = self.samples.setdefault(label, [])
                    # a wrapper (e.g. `uv run`) and its python may share a script arg
                    if series and series[-1][0] == now:
                        series[-1] = (now, max(series[-1][1], rss))
                    else:
                        series.append((now, rss))
            else:
                cli_rss += rss
                if times is not None:
                    cli_cpu[proc.pid] = times.user + times.system
        if self.want_rss and cli_rss:  # 0 once the CLI is gone (a zombie has no memory)
            self.samples.setdefault("dora run", []).append((now, cli_rss))
        if self.want_cpu and cli_cpu:
            # a helper that ended keeps counting with the CPU it had when last seen
            for pid in set(self._last_cpu) - set(cli_cpu):
                self._cpu_done[pid] = self._last_cpu[pid]
            self._last_cpu = cli_cpu
            total = sum(cli_cpu.values()) + sum(self._cpu_done.values())
            self.cpu_samples.append((stamp, total))


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants, by PID."""
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(procs, timeout=5)


def read_results(spec: RunSpec, run_dir: Path) -> tuple[dict[str, dict], str | None]:
    """The JSON results the run's nodes wrote, and an error naming one that wrote none."""
    results, error = {}, None
    for node in spec.nodes:
        if not node.writes_result:
            continue
        try:
            results[node.id] = json.loads(result_path(run_dir, node.id).read_text())
        except (OSError, ValueError):
            error = error or f"node {node.id!r} wrote no result"
    return results, error


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_flow(
    system: System,
    spec: RunSpec,
    workdir: Path | None = None,
    keep: bool = False,
    allowance_s: float = START_ALLOWANCE_S,
) -> RunResult:
    """Run ``spec`` with ``system``'s ``dora run`` and return the measurements.

    ``allowance_s`` is added to the run's expected duration twice: once for the
    ``--stop-after`` safety net, once more for the hard timeout that kills the tree.
    """
    run_dir = Path(tempfile.mkdtemp(prefix=f"{system.name}-{spec.key}-", dir=workdir))
    try:
        result = _run_in(system, spec, run_dir, allowance_s)
        result.run_dir = str(run_dir)
        return result
    finally:
        if not keep:
            _remove_tree(run_dir)


def _run_in(system: System, spec: RunSpec, run_dir: Path, allowance_s: float) -> RunResult:
    flow = write_flow(run_dir, spec)
    # --stop-after is only a safety net; a healthy run ends by itself long before it
    stop_after = int(spec.expected_s + allowance_s) + 1
    timeout = stop_after + allowance_s
    log_path = run_dir / "dora-run.log"
    cmd = system.command("run", str(flow), "--stop-after", f"{stop_after}s")
    with open(log_path, "wb") as log:
        shm_before = shm.snapshot()
        launch_ns, start = time.time_ns(), time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=run_dir,
            env=system.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        sampler = None
        if spec.sample_rss or spec.sample_cpu:
            period = CPU_SAMPLE_PERIOD_S if spec.sample_cpu else SAMPLE_PERIOD_S
            sampler = _TreeSampler(proc.pid, start, spec.sample_rss, spec.sample_cpu, period)
        if sampler:
            sampler.start()
        error = None
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait()
            code = None
            error = f"timed out after {timeout} s and was killed"
        wall = time.monotonic() - start
        if sampler:
            sampler.halt.set()
            sampler.join()
    if error is None and code != 0:
        error = f"`dora run` exited with code {code}"
    results, missing = read_results(spec, run_dir)
    error = error or missing
    return RunResult(
        shm_left=shm.remove_leftovers(shm_before),
        system=system.name,
        key=spec.key,
        error=error,
        wall_s=wall,
        launch_ns=launch_ns,
        results=results,
        rss=sampler.samples if sampler else {},
        cli_cpu=sampler.cpu_samples if sampler else [],
        log_tail=log_tail(log_path) if error else "",
    )


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
