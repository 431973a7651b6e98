"""Scale scenarios: a long chain of Python nodes, a wide fan-out and a wide fan-in.

* ``chain``: source -> N-2 relays -> sink at 50 Hz (8 B). Figures: ``dora run`` launch ->
  first message through the whole chain; PSS per node of the whole process tree (shared
  libraries counted once; the CLI and daemon are charged to the nodes); latency per hop
  (end-to-end / (N - 1)); CPU per relay per message (process CPU, idle threads included,
  from a relay's first forwarded message to its last, median over the relays); delivered.
  Floors, in the same repetition: N bare processes started at once, each importing
  pyarrow (until all have), their PSS per process; the bare two-process pair at the
  chain's pacing (the issue's target for the per-hop latency); and a bare chain of N
  plain Python processes relaying the same messages over Unix sockets at the same pacing
  (``bare.chain``): its per-hop latency and CPU per relay per message are the like-for-like
  floor of the chain's, so a chain slowed by a loaded machine shows as such (and, for
  information, the PSS of one bare process alone, whose libraries no sibling shares).
* ``fanout20`` / ``fanin20``: one sender to 20 receivers, 20 senders to one receiver,
  8 B at 100 Hz: latency p50 over all messages, delivered. Floor: the bare pair at 100 Hz.

A system that gets no message through within the run's limit (``--scale-timeout`` plus the
sending time) gets "no message through ... within T s" instead of a number.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import bare
from floored import FlooredScenario, FloorRow, FloorTarget, floor_failed
from flows import NODES_DIR, NodeSpec, RunSpec, pair
from peer import System
from pss import ChildTreeSampler, TreeSample
from runner import RunResult, run_flow
from scenarios import FAILED_PREFIX, FigureDef, Measured, _all_invalid, receiver_problem
from stats import median, percentile

MB = 1024 * 1024
SIZE = 8
CHAIN_PACE_MS, FAN_PACE_MS = 20.0, 10.0  # 50 Hz along the chain, 100 Hz for the fans
PSS_PERIOD_S = 0.5
# The chain's first messages also pay for every link's first send and receive while the
# machine is still busy with the other nodes' start-up: a one-time stall of up to ~1 s at
# 100 nodes on a loaded 2-core machine (message 0 through the whole chain), which the
# launch -> first message figure measures. Warm-up messages over this long keep it out of
# the per-hop latency and the CPU per message, which are about the steady state.
CHAIN_WARMUP_S = 2.0


def _ack_timeout(hops: int) -> float:
    # after the last send: room for a slow system to drain a long chain (the peer's
    # end-to-end latency reached seconds at 100 nodes)
    return 5.0 + 0.1 * hops


def _sender(node_id: str, count: int, warmup: int, pace_ms: float, hops: int) -> NodeSpec:
    """A ``sender.py`` of 8 B messages that waits for the ack of the node ``sink``."""
    return NodeSpec(
        id=node_id,
        script="sender.py",
        env={
            "BENCH_SIZES": str(SIZE),
            "BENCH_COUNTS": str(count),
            "BENCH_WARMUPS": str(warmup),
            "BENCH_INTERVALS_MS": str(pace_ms),
            "BENCH_ACKS": "ack_sink",
            "BENCH_ACK_TIMEOUT_S": str(_ack_timeout(hops)),
        },
        inputs={"ack_sink": {"source": "sink/done"}},
        outputs=("data",),
    )


def relay_ids(count: int) -> list[str]:
    return [f"relay{i:03d}" for i in range(count)]


def relay_chain(
    head: NodeSpec,
    count: int,
    queue_size: int,
    env: dict[str, str] | None = None,
    writes_result: bool = False,
) -> tuple[NodeSpec, ...]:
    """``head`` then ``count`` ``relay.py`` nodes, each forwarding output ``data`` of the node
    before it on its own ``data``: the links of the scale chain and of ``idle_chain.py``."""
    nodes = [head]
    for relay_id in relay_ids(count):
        inputs = {"data": {"source": f"{nodes[-1].id}/data", "queue_size": queue_size}}
        nodes.append(
            NodeSpec(
                id=relay_id,
                script="relay.py",
                env=dict(env or {}),
                inputs=inputs,
                outputs=("data",),
                writes_result=writes_result,
            )
        )
    return tuple(nodes)


class Chain(FlooredScenario):
    """source -> relays -> sink; start-up, PSS and per-hop latency against bare floors."""

    name, title = "chain", "chain of Python nodes"

    def __init__(self, length: int, count: int, warmup: int, start_budget_s: float) -> None:
        if length < 2:
            raise ValueError("a chain needs at least 2 nodes (source and sink)")
        self.length, self.count, self.warmup = length, count, warmup
        self.start_budget_s = start_budget_s
        self.hops = length - 1
        self._pss: dict[str, list[TreeSample]] = {}  # system -> samples of its last run

    # ---- runs -----------------------------------------------------------------------

    def nodes(self) -> tuple[NodeSpec, ...]:
        total = self.count + self.warmup
        room = total + 10  # queue room for every message: a stall is no drop by policy
        source = _sender("source", self.count, self.warmup, CHAIN_PACE_MS, self.hops)
        chain = relay_chain(
            source,
            self.length - 2,
            queue_size=room,
            env={"BENCH_EXPECT": str(total)},
            writes_result=True,  # its CPU per message
        )
        sink = NodeSpec(
            id="sink",
            script="receiver.py",
            env={"BENCH_EXPECT": str(total)},
            inputs={"data": {"source": f"{chain[-1].id}/data", "queue_size": room}},
            outputs=("done",),
            writes_result=True,
        )
        return (*chain, sink)

    def relay_ids(self) -> list[str]:
        return relay_ids(self.length - 2)

    def runs(self) -> list[RunSpec]:
        sending = (self.count + self.warmup) * CHAIN_PACE_MS / 1000
        return [RunSpec("chain", self.nodes(), self.start_budget_s + sending)]

    def run_one(
        self, system: System, spec: RunSpec, keep: bool = False, allowance_s: float = 20.0
    ) -> RunResult:
        """``run_flow`` with the PSS of the run's process tree sampled meanwhile."""
        work = Path(tempfile.mkdtemp(prefix="scale-chain-"))
        sampler = ChildTreeSampler(work, NODES_DIR, PSS_PERIOD_S)
        sampler.start()
        try:
            result = run_flow(system, spec, workdir=work, keep=keep, allowance_s=allowance_s)
        finally:
            self._pss[system.name] = sampler.stop()
            if not keep:
                shutil.rmtree(work, ignore_errors=True)
        return result

    # ---- figures --------------------------------------------------------------------

    def figures(self) -> list[FigureDef]:
        n = self.length
        return [
            FigureDef(
                "chain_first", f"chain {n}: launch -> first message at the end", "ms", "lower"
            ),
            FigureDef("chain_pss", f"chain {n}: PSS per node, whole tree", "MB", "lower"),
            FigureDef("chain_pss_nodes", f"chain {n}: PSS per node, nodes only", "MB", "lower"),
            FigureDef("chain_pss_runtime", f"chain {n}: PSS of dora run/daemon", "MB", "lower"),
            FigureDef("chain_hop_p50", f"chain {n}: latency per hop p50", "us", "lower"),
            FigureDef("chain_e2e_p50", f"chain {n}: end-to-end latency p50", "us", "lower"),
            FigureDef("chain_relay_cpu", f"chain {n}: CPU per relay per message", "us", "lower"),
            FigureDef("chain_delivered", f"chain {n}: delivered", "%", "higher", "worst"),
        ]

    def floor_figures(self) -> list[FigureDef]:
        n = self.length
        return [
            FigureDef("floor_start", f"start {n} x python -c 'import pyarrow'", "ms", "lower"),
            FigureDef("floor_pss", f"bare python+pyarrow PSS ({n} at once)", "MB", "lower"),
            FigureDef("floor_hop_p50", "bare pair 8 B at 50 Hz p50", "us", "lower"),
            # the same process alone: its libraries shared with no sibling (information)
            FigureDef("floor_pss_one", "one bare python+pyarrow alone, PSS", "MB", "lower"),
            FigureDef("floor_chain_hop_p50", f"bare chain of {n}: per hop p50", "us", "lower"),
            FigureDef(
                "floor_chain_relay_cpu", f"bare chain of {n}: CPU per relay per msg", "us", "lower"
            ),
        ]

    def floor_rows(self) -> list[FloorRow]:
        start, pss, hop, pss_one, chain_hop, chain_cpu = self.floor_figures()
        return [
            FloorRow("chain_first", start, FloorTarget("<= 1.2x floor", 1.2)),
            FloorRow("chain_pss", pss, FloorTarget("<= 1.1x floor", 1.1)),
            FloorRow("chain_pss", pss_one),
            FloorRow("chain_pss_nodes", pss),
            # the target: a hop against two bare processes
            FloorRow("chain_hop_p50", hop, FloorTarget("<= 2x floor", 2.0)),
            # like for like: the same chain of plain processes, on the same machine now
            FloorRow("chain_hop_p50", chain_hop),
            FloorRow("chain_relay_cpu", chain_cpu),
        ]

    def measure_floor(self) -> dict[str, Measured]:
        try:
            start_s, pss = bare.start_and_pss(self.length, self.start_budget_s)
            _, pss_one = bare.start_and_pss(1, self.start_budget_s)
            lat = bare.pair_latency([SIZE], [self.count], [self.warmup], CHAIN_PACE_MS)[SIZE]
            chain = self._bare_chain()
        except bare.FloorError as error:
            return floor_failed(self.floor_figures(), f"floor: {error}")
        return {
            "floor_start": Measured(start_s * 1000),
            "floor_pss": Measured(pss / MB),
            "floor_hop_p50": Measured(percentile(lat, 50) / 1000),
            "floor_pss_one": Measured(pss_one / MB),
            **chain,
        }

    def _bare_chain(self) -> dict[str, Measured]:
        """The bare chain's figures; a chain of 2 has no relay, so it is a bare pair."""
        keys = ("floor_chain_hop_p50", "floor_chain_relay_cpu")
        if self.length < 3:
            return {key: Measured(None, "a chain of 2 has no relay") for key in keys}
        floor = bare.chain(
            self.length, SIZE, self.count, self.warmup, CHAIN_PACE_MS, self.start_budget_s
        )
        return {
            "floor_chain_hop_p50": Measured(percentile(floor.lat_ns, 50) / 1000 / self.hops),
            "floor_chain_relay_cpu": Measured(median(floor.relay_cpu_s) * 1e6),
        }

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        run = runs["chain"]
        sink = run.results.get("sink")
        total = self.count + self.warmup
        if sink is None or sink.get("first_recv_ns") is None:
            why = f" ({run.error})" if run.error else ""
            reason = f"{FAILED_PREFIX}no message through the chain within {run.wall_s:.0f} s{why}"
            return _all_invalid(self.figures(), reason)
        out = {"chain_delivered": Measured(100.0 * sink["unique"] / total)}
        problem = receiver_problem(sink, {SIZE: self.count})
        if run.error:
            problem = f"{FAILED_PREFIX}{run.error}"
        out["chain_first"] = (
            Measured(None, problem)
            if sink["corrupt"]
            else Measured((sink["first_recv_ns"] - run.launch_ns) / 1e6)
        )
        out.update(self._pss_figures(run.system, sink["first_recv_ns"]))
        out["chain_relay_cpu"] = self._relay_cpu(run)
        keys = ("chain_hop_p50", "chain_e2e_p50")
        lat = sink["sizes"].get(str(SIZE), {}).get("lat_ns", [])
        if problem:
            if lat:  # not a figure, only a hint in the notes of what the delivered ones did
                hint = percentile(lat, 50) / 1e6
                problem += f" (end-to-end p50 of the {len(lat)} delivered: {hint:.1f} ms)"
            out.update({key: Measured(None, problem) for key in keys})
            return out
        e2e = percentile(lat, 50) / 1000
        out["chain_e2e_p50"] = Measured(e2e)
        out["chain_hop_p50"] = Measured(e2e / self.hops)
        return out

    def _relay_cpu(self, run: RunResult) -> Measured:
        """Median over the relays of CPU seconds per message, from the first measured
        message a relay forwarded to the last."""
        total = self.count + self.warmup
        per_message, short = [], []
        for relay_id in self.relay_ids():
            result = run.results.get(relay_id) or {}
            first, last = result.get("cpu_first_s"), result.get("cpu_last_s")
            messages = total - result.get("cpu_first_at", total)
            if first is None or last is None or messages < 1:
                short.append(f"{relay_id} forwarded {result.get('forwarded', 0)} of {total}")
                continue
            per_message.append((last - first) / messages)
        if short:
            return Measured(None, f"{short[0]} ({len(short)} relay(s) short)")
        if not per_message:
            return Measured(None, "a chain of 2 has no relay")
        return Measured(median(per_message) * 1e6)

    def _pss_figures(self, system: str, first_ns: int) -> dict[str, Measured]:
        """Medians over the samples with every node alive, once the chain delivered."""
        samples = [s for s in self._pss.get(system, []) if s.nodes == self.length]
        later = [s for s in samples if s.time_ns >= first_ns]
        samples = later or samples
        keys = ("chain_pss", "chain_pss_nodes", "chain_pss_runtime")
        if not samples:
            reason = f"never saw all {self.length} nodes alive at once"
            return {key: Measured(None, reason) for key in keys}
        n = self.length
        return {
            "chain_pss": Measured(median([(s.node_pss + s.other_pss) / n for s in samples]) / MB),
            "chain_pss_nodes": Measured(median([s.node_pss / n for s in samples]) / MB),
            "chain_pss_runtime": Measured(median([s.other_pss for s in samples]) / MB),
        }


class Fan(FlooredScenario):
    """Common part of the fan-out and fan-in: 8 B at 100 Hz, latency p50 and delivered."""

    def __init__(self, width: int, count: int, warmup: int, start_budget_s: float) -> None:
        self.width, self.count, self.warmup = width, count, warmup
        self.start_budget_s = start_budget_s

    @property
    def total(self) -> int:
        return self.count + self.warmup

    def expected_s(self) -> float:
        return self.start_budget_s + self.total * FAN_PACE_MS / 1000

    def figures(self) -> list[FigureDef]:
        label = self.label()
        return [
            FigureDef(f"{self.name}_p50", f"{label} 8 B at 100 Hz p50", "us", "lower"),
            FigureDef(f"{self.name}_delivered", f"{label} delivered", "%", "higher", "worst"),
        ]

    def label(self) -> str:
        raise NotImplementedError

    def floor_figure(self) -> FigureDef:
        return FigureDef(f"{self.name}_floor_p50", "bare pair 8 B at 100 Hz p50", "us", "lower")

    def floor_rows(self) -> list[FloorRow]:
        return [FloorRow(f"{self.name}_p50", self.floor_figure())]

    def measure_floor(self) -> dict[str, Measured]:
        try:
            lat = bare.pair_latency([SIZE], [self.count], [self.warmup], FAN_PACE_MS)[SIZE]
        except bare.FloorError as error:
            return floor_failed([self.floor_figure()], f"floor: {error}")
        return {self.floor_figure().key: Measured(percentile(lat, 50) / 1000)}

    def _figures_from(
        self, run: RunResult, results: list[dict], lat_ns: list[int], problem: str | None
    ) -> dict[str, Measured]:
        p50, delivered = f"{self.name}_p50", f"{self.name}_delivered"
        if run.error or len(results) < self.results_expected():
            why = f"{FAILED_PREFIX}{run.error or 'a receiver wrote no result'}"
            return {p50: Measured(None, why), delivered: Measured(None, why)}
        unique = sum(r["unique"] for r in results)
        out = {delivered: Measured(100.0 * unique / (self.width * self.total))}
        if problem or not lat_ns:
            out[p50] = Measured(None, problem or "no message measured")
        else:
            out[p50] = Measured(percentile(lat_ns, 50) / 1000)
        return out

    def results_expected(self) -> int:
        raise NotImplementedError


class FanOut(Fan):
    name, title = "fanout20", "fan-out 1 -> N, 100 Hz"

    def label(self) -> str:
        return f"fan-out 1->{self.width}"

    def receivers(self) -> tuple[str, ...]:
        return tuple(f"receiver{i:02d}" for i in range(self.width))

    def runs(self) -> list[RunSpec]:
        nodes = pair(
            [SIZE],
            [self.count],
            [self.warmup],
            [FAN_PACE_MS],
            receivers=self.receivers(),
            queue_size=self.total + 10,
            ack_timeout_s=_ack_timeout(self.width),
        )
        return [RunSpec(self.name, nodes, self.expected_s())]

    def results_expected(self) -> int:
        return self.width

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        run = runs[self.name]
        results = [run.results[r] for r in self.receivers() if r in run.results]
        problem = None
        lat: list[int] = []
        for rid, result in zip(self.receivers(), results, strict=False):
            problem = problem or receiver_problem(result, {SIZE: self.count})
            if problem and not problem.startswith(rid):
                problem = f"{rid}: {problem}"
            lat += result["sizes"].get(str(SIZE), {}).get("lat_ns", [])
        return self._figures_from(run, results, lat, problem)


class FanIn(Fan):
    name, title = "fanin20", "fan-in N -> 1, 100 Hz"

    def label(self) -> str:
        return f"fan-in {self.width}->1"

    def runs(self) -> list[RunSpec]:
        room = self.total + 10
        senders = tuple(
            _sender(f"sender{i:02d}", self.count, self.warmup, FAN_PACE_MS, self.width)
            for i in range(self.width)
        )
        sink = NodeSpec(
            id="sink",
            script="fanin_sink.py",
            env={"BENCH_EXPECT": str(self.total), "BENCH_SENDERS": str(self.width)},
            inputs={
                f"in{i}": {"source": f"sender{i:02d}/data", "queue_size": room}
                for i in range(self.width)
            },
            outputs=("done",),
            writes_result=True,
        )
        return [RunSpec(self.name, (*senders, sink), self.expected_s())]

    def results_expected(self) -> int:
        return 1

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        run = runs[self.name]
        result = run.results.get("sink")
        if result is None:
            return self._figures_from(run, [], [], None)
        want = self.width * self.total
        problem = None
        if result["corrupt"]:
            problem = f"{result['corrupt']} corrupt payload(s), e.g. {result['errors'][0]}"
        elif result["unique"] < want:
            problem = f"{want - result['unique']} of {want} messages missing"
        elif result["duplicates"]:
            problem = f"{result['duplicates']} duplicated message(s)"
        return self._figures_from(run, [result], result["lat_ns"], problem)


def build_scale_scenarios(
    quick: bool, chain: int | None, fan: int, start_budget_s: float | None
) -> list[FlooredScenario]:
    """The scale scenarios; ``chain`` nodes (default 100, quick 10), fans ``fan`` wide."""
    budget = start_budget_s if start_budget_s is not None else (30.0 if quick else 90.0)
    length = chain if chain is not None else (10 if quick else 100)
    count, warmup = (20, 3) if quick else (100, 5)
    # quick: 10 nodes start in a blink, and a quick run is about working, not figures
    chain_warmup = warmup if quick else round(CHAIN_WARMUP_S * 1000 / CHAIN_PACE_MS)
    return [
        Chain(length, count, chain_warmup, budget),
        FanOut(fan, count, warmup, budget),
        FanIn(fan, count, warmup, budget),
    ]


SCALE_NAMES = ("chain", "fanout20", "fanin20")
