"""The C rows: a C sender and a C receiver through ``dora run``, beside the bare C exchange.

Both sides follow one plan: 8 B messages paced 10 ms apart and 4 MB ones 50 ms apart (the
Python latency scenario's pacing) for the latency rows, and an unpaced 8 B burst after
three paced warm-ups for the rate row. The dora side is a real dataflow of the programs
in ``bench/c`` (the same generated YAML and harness as the Python rows); the bare side is
``bench/c/bare.c``, two processes over one Unix socket (see that file for how it passes
4 MB). Both write the Python receiver's JSON, so one measuring code reads them.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from c_build import CPrograms
from flows import RunSpec, pair
from peer import System
from runner import run_flow
from scenarios import BURST_WARMUP, FigureDef, Measured, receiver_problem
from stats import percentile

KB, MB = 1024, 1024 * 1024
SMALL, LARGE = 8, 4 * MB
PACE_SMALL_MS, PACE_LARGE_MS = 10.0, 50.0
BARE_ALLOWANCE_S = 20.0


@dataclass(frozen=True)
class CPlan:
    small: int  # measured 8 B latency messages
    large: int  # measured 4 MB latency messages
    warmup: int  # warm-up messages per latency size
    burst: int  # measured 8 B burst messages


FULL = CPlan(small=100, large=40, warmup=5, burst=5000)
QUICK = CPlan(small=20, large=8, warmup=2, burst=2000)


@dataclass(frozen=True)
class Lists:
    """One run's sending plan, as the BENCH_* lists the C programs read."""

    sizes: list[int]
    counts: list[int]
    warmups: list[int]
    intervals_ms: list[float]

    def env(self) -> dict[str, str]:
        return {
            "BENCH_SIZES": ",".join(map(str, self.sizes)),
            "BENCH_COUNTS": ",".join(map(str, self.counts)),
            "BENCH_WARMUPS": ",".join(map(str, self.warmups)),
            "BENCH_INTERVALS_MS": ",".join(map(str, self.intervals_ms)),
        }

    @property
    def total(self) -> int:
        return sum(self.counts) + sum(self.warmups)

    @property
    def expected_s(self) -> float:
        """Sending time alone (the burst counted at a pessimistic 20k msg/s)."""
        paced = sum(
            (c + w) * i / 1000
            for c, w, i in zip(self.counts, self.warmups, self.intervals_ms, strict=True)
        )
        pairs = zip(self.counts, self.intervals_ms, strict=True)
        return paced + sum(count / 20000 for count, gap in pairs if gap == 0)


def latency_lists(plan: CPlan) -> Lists:
    return Lists(
        [SMALL, LARGE], [plan.small, plan.large], [plan.warmup] * 2, [PACE_SMALL_MS, PACE_LARGE_MS]
    )


def burst_lists(plan: CPlan) -> Lists:
    return Lists([SMALL], [plan.burst], [BURST_WARMUP], [0.0])


def dora_spec(key: str, programs: CPrograms, lists: Lists) -> RunSpec:
    """A ``dora run`` of the C sender and receiver (queue room for every message, as in the
    Python scenarios: a stalled VM must not turn into drops by the default queue of 10)."""
    assert programs.sender is not None and programs.receiver is not None
    nodes = pair(
        lists.sizes,
        lists.counts,
        lists.warmups,
        lists.intervals_ms,
        queue_size=lists.total + 10,
        ack_timeout_s=max(3.0, 4 * lists.expected_s),
        sender_script=str(programs.sender),
        receiver_script=str(programs.receiver),
    )
    return RunSpec(key, nodes, lists.expected_s)


@dataclass
class Outcome:
    """One run of either system: the receiver's JSON, or why there is none."""

    result: dict | None
    error: str | None


def run_dora(system: System, spec: RunSpec, keep: bool) -> Outcome:
    run = run_flow(system, spec, keep=keep, allowance_s=BARE_ALLOWANCE_S)
    if run.error:
        tail = " / ".join(run.log_tail.strip().splitlines()[-3:])
        return Outcome(None, f"run failed: {run.error}" + (f" ({tail})" if tail else ""))
    return Outcome(run.results["receiver"], None)


def run_bare(bare: Path, lists: Lists, large: str = "shm") -> Outcome:
    """Run the bare pair once; ``large`` is how it passes big payloads (shm or socket)."""
    with tempfile.TemporaryDirectory(prefix="bare-") as tmp:
        path = Path(tmp) / "receiver.json"
        env = {**os.environ, **lists.env(), "BENCH_RESULT": str(path), "BARE_LARGE": large}
        try:
            proc = subprocess.run(
                [str(bare)],
                env=env,
                capture_output=True,
                text=True,
                timeout=lists.expected_s + BARE_ALLOWANCE_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            # subprocess.run killed the sender by PID; its forked receiver reads EOF and ends
            return Outcome(None, "run failed: the bare pair timed out")
        if proc.returncode != 0 or not path.exists():
            return Outcome(None, f"run failed: exit {proc.returncode}: {proc.stderr.strip()}")
        return Outcome(json.loads(path.read_text()), None)


# ---- figures --------------------------------------------------------------------------

FIGURES = [
    FigureDef("c_lat_p50_8", "C latency p50 8 B", "us", "lower"),
    FigureDef("c_lat_p90_8", "C latency p90 8 B", "us", "lower"),
    FigureDef("c_lat_p50_4MB", "C latency p50 4 MB", "us", "lower"),
    FigureDef("c_lat_p90_4MB", "C latency p90 4 MB", "us", "lower"),
    FigureDef(
        "c_lat_p50_4MB_socket", "C latency p50 4 MB (bare: plain socket writes)", "us", "lower"
    ),
    FigureDef("c_burst_msgs_8", "C burst 8 B msg/s", "msg/s", "higher"),
]
TARGET_RATIO = 1.2
TARGETS = {"c_lat_p50_8", "c_burst_msgs_8"}  # DESIGN.md: <= 1.2x a bare C socket exchange


def latency_figures(outcome: Outcome, lists: Lists, suffix: str = "") -> dict[str, Measured]:
    """p50/p90 per size (keys ``c_lat_pXX_8``, ``c_lat_pXX_4MB`` + ``suffix``)."""
    out: dict[str, Measured] = {}
    for size, count in zip(lists.sizes, lists.counts, strict=True):
        label = "8" if size == SMALL else "4MB"
        keys = [f"c_lat_p{p}_{label}{suffix}" for p in (50, 90)]
        problem = outcome.error or _problem(outcome.result, {size: count})
        if problem:
            out.update({k: Measured(None, problem) for k in keys})
            continue
        assert outcome.result is not None
        lat = outcome.result["sizes"][str(size)]["lat_ns"]
        for key, pct in zip(keys, (50, 90), strict=True):
            out[key] = Measured(percentile(lat, pct) / 1000.0)
    return out


def burst_figures(outcome: Outcome, lists: Lists) -> dict[str, Measured]:
    """Messages per second from the first timed send to the last receive."""
    (size,), (count,) = lists.sizes, lists.counts
    problem = outcome.error or _problem(outcome.result, {size: count})
    if problem:
        return {"c_burst_msgs_8": Measured(None, problem)}
    assert outcome.result is not None
    stats = outcome.result["sizes"][str(size)]
    span_s = (stats["last_recv_ns"] - stats["first_send_ns"]) / 1e9
    return {"c_burst_msgs_8": Measured(count / span_s)}


def _problem(result: dict | None, expected: dict[int, int]) -> str | None:
    if result is None:
        return "no result"
    problem = receiver_problem(result, expected)
    if problem is None and result.get("reordered"):
        problem = f"{result['reordered']} message(s) reordered"
    return problem
