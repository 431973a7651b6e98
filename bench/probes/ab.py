"""Probe: the working tree against an older commit, alternating, with the benchmark's nodes.

This VM changes speed for seconds to minutes at a time, so two separate benchmark runs
cannot tell a 10 % change from the weather. This runs the same dataflow (the benchmark's
sender and receiver, ``bench/flows.py``) with the old node API and the new one in turns,
round after round, and reports medians and the per-round ratios: a change is real when
most rounds agree.

The old code comes from a temporary ``git worktree`` of ``--base``, put first on
``PYTHONPATH`` (the nodes inherit it from ``dora run``); the new code is the working tree.

Run from the repo root, e.g.::

    uv run python bench/probes/ab.py --base HEAD~1 --sizes 8,65536 --interval-ms 10
    uv run python bench/probes/ab.py --base HEAD~1 --sizes 8 --count 20000 --interval-ms 0

``--interval-ms 0`` sends a burst and compares messages/s instead of the p50 latency.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))  # the benchmark's modules, as bench/run.py has them

from flows import RunSpec, pair  # noqa: E402
from peer import System, ours_system  # noqa: E402
from runner import run_flow  # noqa: E402
from stats import percentile  # noqa: E402

# folders under packages/ (not distribution names: the CLI, dora-dataflow, lives in dora-cli/)
SOURCE_FOLDERS = ("dora-node-api", "dora-message", "dora-daemon", "dora-cli")
WARM_UP = 5


def one_run(system: System, sizes: list[int], count: int, interval_ms: float) -> dict:
    """Per size: p50 latency in µs (paced) or messages/s (burst)."""
    burst = interval_ms == 0
    nodes = pair(
        sizes,
        [count] * len(sizes),
        [WARM_UP] * len(sizes),
        [interval_ms] * len(sizes),
        queue_size=(count + WARM_UP) * len(sizes) if burst else None,
    )
    expected_s = (count + WARM_UP) * len(sizes) * interval_ms / 1000
    run = run_flow(system, RunSpec("ab", nodes, expected_s))
    if run.error is not None:
        raise SystemExit(f"{system.name}: {run.error}\n{run.log_tail}")
    out = {}
    for size, stats in run.results["receiver"]["sizes"].items():
        if burst:
            span = (stats["last_recv_ns"] - stats["first_send_ns"]) / 1e9
            out[size] = stats["received"] / span
        else:
            out[size] = percentile(stats["lat_ns"], 50) / 1e3
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the older commit (any git revision)")
    parser.add_argument("--sizes", default="8", help="comma list of payload sizes in bytes")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=150, help="measured messages per size")
    parser.add_argument("--interval-ms", type=float, default=10.0, help="0: a burst")
    args = parser.parse_args()
    sizes = [int(part) for part in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="dora-ab-base-") as tmp:
        worktree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(worktree), args.base],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            base_path = os.pathsep.join(
                str(worktree / "packages" / p / "src") for p in SOURCE_FOLDERS
            )
            new_code = ours_system()
            old_code = replace(new_code, name="base", env={**new_code.env, "PYTHONPATH": base_path})
            runs: dict[str, list[dict]] = {"base": [], "new": []}
            for _ in range(args.rounds):
                runs["base"].append(one_run(old_code, sizes, args.count, args.interval_ms))
                runs["new"].append(one_run(new_code, sizes, args.count, args.interval_ms))
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False
            )
    unit = "msg/s" if args.interval_ms == 0 else "us p50"
    for size in runs["base"][0]:
        base = [r[size] for r in runs["base"]]
        new = [r[size] for r in runs["new"]]
        # > 1 means the working tree is better (faster, or more messages/s)
        pairs = zip(base, new, strict=True)
        gains = [(n / b) if args.interval_ms == 0 else (b / n) for b, n in pairs]
        print(
            f"{size:>9} B: base {statistics.median(base):10.1f}  new "
            f"{statistics.median(new):10.1f} {unit}  gain median "
            f"{statistics.median(gains):.2f} (rounds: {' '.join(f'{g:.2f}' for g in gains)})"
        )


if __name__ == "__main__":
    main()
