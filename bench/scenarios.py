"""The benchmark scenarios: which dataflows to run and which figures they yield.

Each scenario lists its runs (``RunSpec``) and turns one repetition's run results for one
system into figures. A figure whose data is incomplete (a failed run, a corrupt payload, a
missing message) carries an ``invalid`` reason instead of a number, so a broken system can
never show a fast-looking figure.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from flows import RunSpec, pair
from runner import RunResult
from stats import percentile

KB, MB = 1024, 1024 * 1024
PACE_SMALL_MS, PACE_LARGE_MS = 10.0, 50.0  # 100 Hz up to 64 KB, 20 Hz above
NODE_RSS_WARMUP_S = 1.0  # RSS samples from a node's first second are start-up, not steady
FAILED_PREFIX = "run failed: "
BURST_WARMUP = 3  # paced messages before a burst, so first-message set-up is not timed


@dataclass(frozen=True)
class FigureDef:
    """One row of the report."""

    key: str
    label: str
    unit: str  # "us", "ms", "msg/s", "GB/s", "%", "count", "MB"
    better: str  # "lower" or "higher"
    aggregate: str = "median"  # "median"; "worst" for correctness rows


@dataclass(frozen=True)
class Measured:
    value: float | None
    invalid: str | None = None


def size_label(size: int) -> str:
    if size >= MB and size % MB == 0:
        return f"{size // MB} MB"
    if size >= KB and size % KB == 0:
        return f"{size // KB} KB"
    return f"{size} B"


def pace_ms(size: int) -> float:
    return PACE_SMALL_MS if size <= 64 * KB else PACE_LARGE_MS


def receiver_problem(result: dict, expected: dict[int, int]) -> str | None:
    """Why a receiver's data cannot be trusted (corrupt, missing, duplicated), or None."""
    if result["corrupt"]:
        return f"{result['corrupt']} corrupt payload(s), e.g. {result['errors'][0]}"
    for size, count in expected.items():
        got = result["sizes"].get(str(size), {}).get("received", 0)
        if got < count:
            return f"{count - got} of {count} messages of {size_label(size)} missing"
    if result["duplicates"]:
        return f"{result['duplicates']} duplicated message(s)"
    return None


def failure(run: RunResult) -> str:
    """The reason text for a run that did not complete (the report shows it as FAILED)."""
    return f"{FAILED_PREFIX}{run.error}"


def run_problem(run: RunResult, expected: dict[str, dict[int, int]]) -> str | None:
    """The first reason a run's data is unusable: its error, else a receiver's problem."""
    if run.error:
        return failure(run)
    for node_id, counts in expected.items():
        problem = receiver_problem(run.results[node_id], counts)
        if problem:
            return f"{node_id}: {problem}"
    return None


def _all_invalid(figures: list[FigureDef], reason: str) -> dict[str, Measured]:
    return {fig.key: Measured(None, reason) for fig in figures}


class Scenario:
    name = ""
    title = ""

    def runs(self) -> list[RunSpec]:
        raise NotImplementedError

    def figures(self) -> list[FigureDef]:
        raise NotImplementedError

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        raise NotImplementedError


class Latency(Scenario):
    """One-way latency p50/p90/p99 per payload size, paced, after warm-up messages."""

    name, title = "latency", "one-way latency, paced"

    def __init__(self, sizes: list[int], small_count: int, large_count: int, warmup: int):
        self.sizes, self.warmup = sizes, warmup
        self.counts = [small_count if s <= 64 * KB else large_count for s in sizes]

    def runs(self) -> list[RunSpec]:
        intervals = [pace_ms(s) for s in self.sizes]
        warmups = [self.warmup] * len(self.sizes)
        # queue room for every message: a stall of the VM makes the sender catch up with
        # a few back-to-back messages, and the default queue (10) would drop by policy
        room = sum(self.counts) + sum(warmups)
        nodes = pair(self.sizes, self.counts, warmups, intervals, queue_size=room)
        expected = sum(
            (c + self.warmup) * i / 1000 for c, i in zip(self.counts, intervals, strict=True)
        )
        return [RunSpec("latency", nodes, expected_s=expected)]

    def figures(self) -> list[FigureDef]:
        rows = [
            FigureDef(f"lat_p{p}_{s}", f"latency p{p} {size_label(s)}", "us", "lower")
            for s in self.sizes
            for p in (50, 90, 99)
        ]
        return [
            *rows,
            FigureDef("lat_reordered", "latency run reordered", "count", "lower", "worst"),
        ]

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        run = runs["latency"]
        if run.error:
            return _all_invalid(self.figures(), failure(run))
        result = run.results["receiver"]
        if result["corrupt"] or result["duplicates"]:
            return _all_invalid(self.figures(), receiver_problem(result, {}) or "")
        out = {"lat_reordered": Measured(float(result["reordered"]))}
        for size, count in zip(self.sizes, self.counts, strict=True):
            problem = receiver_problem(result, {size: count})
            lat = result["sizes"].get(str(size), {}).get("lat_ns", [])
            if problem and lat:
                # not a figure, only a hint in the notes of what the delivered ones did
                problem += f" (p50 of the {len(lat)} delivered: {percentile(lat, 50) / 1e3:.0f} us)"
            for p in (50, 90, 99):
                key = f"lat_p{p}_{size}"
                out[key] = (
                    Measured(None, problem) if problem else Measured(percentile(lat, p) / 1000.0)
                )
        return out


class Burst(Scenario):
    """Unpaced burst: N messages as fast as possible into a queue with room for all."""

    name, title = "burst", "burst throughput, unpaced"

    def __init__(self, counts: dict[int, int]):
        self.counts = counts  # size -> N

    def runs(self) -> list[RunSpec]:
        specs = []
        for size, n in self.counts.items():
            # rough: 20k msg/s or 0.5 GB/s, whichever is slower, sets the safety net
            expected = max(n / 20000, n * size / 0.5e9)
            nodes = pair(
                [size],
                [n],
                [BURST_WARMUP],
                [0],
                queue_size=n + BURST_WARMUP + 10,
                ack_timeout_s=max(3.0, 4 * expected),
            )
            specs.append(RunSpec(f"burst_{size}", nodes, expected))
        return specs

    def figures(self) -> list[FigureDef]:
        figs = []
        for size in self.counts:
            label = f"burst {size_label(size)}"
            figs += [
                FigureDef(f"burst_msgs_{size}", f"{label} msg/s", "msg/s", "higher"),
                FigureDef(f"burst_gbps_{size}", f"{label} GB/s", "GB/s", "higher"),
                FigureDef(f"burst_delivered_{size}", f"{label} delivered", "%", "higher", "worst"),
                FigureDef(
                    f"burst_reordered_{size}", f"{label} reordered", "count", "lower", "worst"
                ),
            ]
        return figs

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        out: dict[str, Measured] = {}
        for size, n in self.counts.items():
            run = runs[f"burst_{size}"]
            keys = [f"burst_{k}_{size}" for k in ("msgs", "gbps", "delivered", "reordered")]
            if run.error:
                out.update({k: Measured(None, failure(run)) for k in keys})
                continue
            result = run.results["receiver"]
            stats = result["sizes"].get(str(size), {})
            # over every message sent, the paced warm-ups included
            delivered = 100.0 * result["unique"] / (n + BURST_WARMUP)
            out[keys[2]] = Measured(delivered, None)
            out[keys[3]] = Measured(float(result["reordered"]), None)
            problem = receiver_problem(result, {size: n})
            if problem:
                out[keys[0]] = out[keys[1]] = Measured(None, problem)
                if result["corrupt"]:
                    out[keys[2]] = out[keys[3]] = Measured(None, problem)
                continue
            span_s = (stats["last_recv_ns"] - stats["first_send_ns"]) / 1e9
            out[keys[0]] = Measured(n / span_s)
            out[keys[1]] = Measured(n * size / span_s / 1e9)
        return out


class FanOut(Scenario):
    """One sender, four receivers, 4 MB paced: latency p50 over every receiver."""

    name, title = "fanout", "fan-out 1 -> 4"

    def __init__(self, count: int, warmup: int, size: int = 4 * MB, receivers: int = 4):
        self.count, self.warmup, self.size, self.n = count, warmup, size, receivers

    def runs(self) -> list[RunSpec]:
        recvs = tuple(f"receiver{i}" for i in range(self.n))
        room = self.count + self.warmup  # as in Latency: catch-up after a stall is not a drop
        nodes = pair(
            [self.size], [self.count], [self.warmup], [pace_ms(self.size)], recvs, queue_size=room
        )
        expected = (self.count + self.warmup) * pace_ms(self.size) / 1000
        return [RunSpec("fanout", nodes, expected)]

    def figures(self) -> list[FigureDef]:
        return [
            FigureDef(
                "fanout_p50", f"fan-out 1->{self.n} {size_label(self.size)} p50", "us", "lower"
            )
        ]

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        run = runs["fanout"]
        ids = [f"receiver{i}" for i in range(self.n)]
        problem = run_problem(run, {i: {self.size: self.count} for i in ids})
        if problem:
            return {"fanout_p50": Measured(None, problem)}
        lat = [v for i in ids for v in run.results[i]["sizes"][str(self.size)]["lat_ns"]]
        return {"fanout_p50": Measured(percentile(lat, 50) / 1000.0)}


class Spawn(Scenario):
    """Launch of `dora run` -> the receiver's first message; total wall of a 1-message run."""

    name, title = "spawn", "start-up"

    def runs(self) -> list[RunSpec]:
        return [RunSpec("spawn", pair([8], [1], [0], [0]), 0.0)]

    def figures(self) -> list[FigureDef]:
        return [
            FigureDef("spawn_first", "spawn -> first message", "ms", "lower"),
            FigureDef("spawn_total", "2-node 1-message run, total wall", "ms", "lower"),
        ]

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        run = runs["spawn"]
        problem = run_problem(run, {"receiver": {8: 1}})
        if problem:
            return _all_invalid(self.figures(), problem)
        first = run.results["receiver"]["first_recv_ns"]
        return {
            "spawn_first": Measured((first - run.launch_ns) / 1e6),
            "spawn_total": Measured(run.wall_s * 1000.0),
        }


class Cpu(Scenario):
    """CPU of the whole process tree per small message, over an unpaced 8 B burst alone.

    The sender reports its process CPU time just before the burst and once the receiver
    acknowledged every message, the receiver its own from the first message to the last;
    ``dora run`` itself (CLI, daemon, helpers) is sampled from outside, and its CPU over
    the same wall-clock window is interpolated. Start-up and shutdown stay out: measured
    as a difference of whole runs, their jitter of tens of ms outweighed the messages.
    """

    name, title = "cpu", "CPU per small message"

    def __init__(self, count: int):
        self.count = count

    def runs(self) -> list[RunSpec]:
        n = self.count
        nodes = pair([8], [n], [0], [0], queue_size=n + 10, ack_timeout_s=max(3.0, n / 1250))
        return [RunSpec("cpu_burst", nodes, n / 5000, sample_cpu=True)]

    def figures(self) -> list[FigureDef]:
        return [FigureDef("cpu_per_msg", "CPU per 8 B message, whole tree", "us", "lower")]

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        run = runs["cpu_burst"]
        problem = run_problem(run, {"receiver": {8: self.count}})
        if problem:
            return {"cpu_per_msg": Measured(None, problem)}
        sender, receiver = run.results["sender"], run.results["receiver"]
        if not sender.get("acked") or receiver.get("cpu_done_s") is None:
            return {"cpu_per_msg": Measured(None, "the burst did not complete")}
        start, end = sender["t_burst_ns"], sender["t_acked_ns"]
        cli = cpu_between(run.cli_cpu, start, end)
        if cli is None:
            return {"cpu_per_msg": Measured(None, "`dora run` CPU samples miss the burst")}
        nodes = (sender["cpu_acked_s"] - sender["cpu_burst_s"]) + (
            receiver["cpu_done_s"] - receiver["cpu_first_s"]
        )
        return {"cpu_per_msg": Measured((cli + nodes) / self.count * 1e6)}


def cpu_between(samples: list[tuple[int, float]], start_ns: int, end_ns: int) -> float | None:
    """CPU seconds used between two instants, interpolated from (time_ns, cumulative CPU)
    samples; None unless samples lie on both sides of the window."""
    if not samples or samples[0][0] > start_ns or samples[-1][0] < end_ns:
        return None
    return _cpu_at(samples, end_ns) - _cpu_at(samples, start_ns)


def _cpu_at(samples: list[tuple[int, float]], t_ns: int) -> float:
    for (t0, c0), (t1, c1) in itertools.pairwise(samples):
        if t0 <= t_ns <= t1:
            return c0 if t1 == t0 else c0 + (c1 - c0) * (t_ns - t0) / (t1 - t0)
    return samples[-1][1]


class Memory(Scenario):
    """RSS of a Python sender at 100 Hz (64 B arrays) and of the `dora run` process."""

    name, title = "memory", "resident memory"

    def __init__(self, seconds: float, size: int = 64):
        self.count, self.size = int(seconds * 100), size

    def runs(self) -> list[RunSpec]:
        nodes = pair([self.size], [self.count], [0], [PACE_SMALL_MS])
        return [RunSpec("memory", nodes, self.count / 100, sample_rss=True)]

    def figures(self) -> list[FigureDef]:
        return [
            FigureDef("rss_node", "Python sender node RSS (100 Hz)", "MB", "lower"),
            FigureDef("rss_dora_run", "`dora run` process RSS", "MB", "lower"),
        ]

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        run = runs["memory"]
        problem = run_problem(run, {"receiver": {self.size: self.count}})
        if problem:
            return _all_invalid(self.figures(), problem)
        node = run.rss.get("node:sender.py", [])
        if not node:
            return _all_invalid(self.figures(), "the sender node was never seen running")
        # mid-run window: from one second into the sender's life until its last sample
        start, end = node[0][0] + NODE_RSS_WARMUP_S, node[-1][0]
        if start >= end:
            start = node[0][0]
        node_mid = [rss for t, rss in node if start <= t <= end]
        cli_mid = [rss for t, rss in run.rss.get("dora run", []) if start <= t <= end]
        out = {"rss_node": Measured(max(node_mid) / MB)}
        out["rss_dora_run"] = (
            Measured(max(cli_mid) / MB)
            if cli_mid
            else Measured(None, "no RSS sample of `dora run` mid-run")
        )
        return out


def build_scenarios(quick: bool) -> list[Scenario]:
    """All scenarios, sized for a full run or for ``--quick`` (well under a minute)."""
    if quick:
        return [
            Latency([8, 64 * KB, 4 * MB, 16 * MB], small_count=20, large_count=8, warmup=2),
            Burst({8: 2000, 64 * KB: 300, 4 * MB: 16}),
            FanOut(count=8, warmup=2),
            Spawn(),
            Cpu(count=1000),
            Memory(seconds=2.5),
        ]
    sizes = [8, 64, 512, 2 * KB, 4 * KB, 16 * KB, 64 * KB, 512 * KB, 4 * MB, 16 * MB]
    return [
        Latency(sizes, small_count=100, large_count=40, warmup=5),
        # N kept moderate: dora-rs 1.1.0 drops runs of messages from unpaced bursts now
        # and then (more often the longer the burst), which makes its figure invalid
        Burst({8: 5000, 64 * KB: 1000, 4 * MB: 64}),
        FanOut(count=40, warmup=3),
        Spawn(),
        Cpu(count=2000),
        Memory(seconds=6.0),
    ]


SCENARIO_NAMES = ("latency", "burst", "fanout", "spawn", "cpu", "memory")
