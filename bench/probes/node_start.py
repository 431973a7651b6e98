"""Probe: what a Python node does at start that a bare interpreter with pyarrow does not.

Runs ``nodes/start_probe.py`` as the only node of a dataflow (ours, and the peer with
``--systems ours,peer``) and as a plain process that stops after ``import pyarrow`` (the
floor), ``--reps`` times each, alternating. Prints the median time of each start-up step,
the modules ``from dora import Node`` adds (by top-level package), and memory by kind of
mapping: private (USS, what every further node adds) and proportional (PSS) kB, after
three small messages were sent (``--at-start``: right after ``Node()``). ``dora run`` forks
Python nodes from a warm interpreter; ``--exec`` turns that off for ours.

Run from the repo root: ``.venv/bin/python bench/probes/node_start.py [--reps 5]
[--systems ours,peer]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmark's modules
from bare import PYTHON
from flows import NODES_DIR, NodeSpec, RunSpec
from peer import ours_system, peer_system
from runner import run_flow
from stats import median

SCRIPT = NODES_DIR / "start_probe.py"
STEPS = ("import_pyarrow_s", "import_dora_s", "node_init_s", "script_s")


def bare_run() -> dict:
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "bare.json"
        env = {"BENCH_BARE": "1", "BENCH_RESULT": str(out)}
        subprocess.run([str(PYTHON), str(SCRIPT)], env=env, check=True, timeout=60)
        return json.loads(out.read_text())


def node_run(system) -> dict:
    probe = NodeSpec("probe", "start_probe.py", outputs=("data",), writes_result=True)
    spec = RunSpec("start", (probe,), 0.0)
    run = run_flow(system, spec, allowance_s=30.0)
    if run.error:
        raise SystemExit(f"error: {system.name}: {run.error}\n{run.log_tail}")
    return run.results["probe"]


def summary(name: str, runs: list[dict]) -> None:
    steps = [
        f"{step[:-2]} {median([r[step] for r in runs]) * 1000:.0f} ms"
        for step in STEPS
        if step in runs[0]
    ]
    print(f"{name:5s}: {', '.join(steps)}; {runs[0]['modules']} modules")


def memory_table(columns: dict[str, list[dict]]) -> None:
    kinds: set[str] = set()
    for runs in columns.values():
        for run in runs:
            kinds |= set(run["memory_kb"])

    def value(runs: list[dict], kind: str, index: int) -> float:
        return median([run["memory_kb"].get(kind, [0, 0])[index] for run in runs])

    names = list(columns)
    head = "".join(f"{n + ' USS':>12s}{n + ' PSS':>12s}" for n in names)
    print(f"\n{'kB by mapping':34s}{head}")
    first = columns[names[-1]]
    for kind in sorted(kinds, key=lambda k: -value(first, k, 0)):
        cells = "".join(
            f"{value(r, kind, 0):12.0f}{value(r, kind, 1):12.0f}" for r in columns.values()
        )
        if cells.strip(" 0"):
            print(f"{kind[:33]:34s}{cells}")
    totals = "".join(
        f"{sum(value(r, k, 0) for k in kinds):12.0f}{sum(value(r, k, 1) for k in kinds):12.0f}"
        for r in columns.values()
    )
    print(f"{'total':34s}{totals}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--systems", default="ours")
    parser.add_argument("--at-start", action="store_true", help="memory right after Node()")
    parser.add_argument(
        "--exec", action="store_true", help="ours execs each node (DORA_FORK_SERVER=0)"
    )
    args = parser.parse_args()
    systems = [ours_system() if s == "ours" else peer_system() for s in args.systems.split(",")]
    if args.exec:  # ours without its fork server: every node a fresh interpreter
        systems = [
            replace(s, env={**s.env, "DORA_FORK_SERVER": "0"}) if s.name == "ours" else s
            for s in systems
        ]
    columns: dict[str, list[dict]] = {"bare": [], **{s.name: [] for s in systems}}
    for _ in range(args.reps):
        columns["bare"].append(bare_run())
        for system in systems:
            columns[system.name].append(node_run(system))
    for name, runs in columns.items():
        summary(name, runs)
    for system in systems:
        added = Counter(m.split(".")[0] for m in columns[system.name][0].get("modules_added", []))
        listed = ", ".join(f"{pkg} ({n})" if n > 1 else pkg for pkg, n in sorted(added.items()))
        print(
            f"\n{system.name}: `from dora import Node` adds {sum(added.values())} modules: {listed}"
        )
    if args.at_start:
        for runs in columns.values():
            for run in runs:
                run["memory_kb"] = run.get("memory_at_start_kb", run["memory_kb"])
    memory_table(columns)


if __name__ == "__main__":
    main()
