"""The ``netns`` scenario: a dataflow split across two machines, beside bare zenoh.

Two network namespaces joined by a veth pair stand in for two machines
(``netns_link.py``). Each system gets a coordinator and daemon ``alpha`` in the first and
daemon ``beta`` in the second (ours and the peer side by side, on different ports); the
sender is deployed on ``alpha``, the receiver on ``beta``, and ``dora start --attach`` runs
each dataflow. Figures: 8 B at 100 Hz one-way latency (p50, p90), a 4 MB burst in GB/s,
delivered. The floor, in the same repetition and on the same link: a bare zenoh-python
publisher in the first namespace and subscriber in the second (``nodes/bare_zenoh.py``:
peer mode, explicit endpoints, multicast scouting off). Targets (issue 17): at most 1.3x
its latency, at least 0.8x its throughput.

Needs root and iproute2; without them every figure says why there is none.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from bare import PYTHON, bare_env
from floored import FlooredScenario, FloorRow, FloorTarget, floor_failed
from flows import NODES_DIR, RunSpec, pair, write_flow
from netns_link import ADDR_A, ADDR_B, NetnsError, Service, VethPair, veth_pair
from peer import System
from runner import RunResult, log_tail, read_results
from scenarios import (
    BURST_WARMUP,
    FAILED_PREFIX,
    MB,
    PACE_SMALL_MS,
    FigureDef,
    Measured,
    _all_invalid,
    run_problem,
)
from stats import percentile

SMALL, BIG = 8, 4 * MB
START_S = 30.0  # a cluster's processes up and registered; a dataflow's nodes started
BARE_PORT = 17447  # inside the namespaces only; one more for every bare run


@dataclass(frozen=True)
class Recipe:
    """How one system's coordinator and daemons are started, and when they are ready."""

    port: int
    coordinator_args: tuple[str, ...]
    coordinator_ready: str
    daemon_args: tuple[str, ...]
    daemon_ready: str


RECIPES = {
    "ours": Recipe(
        6013, (), "listening on", ("--local-listen-port", "0"), "registered with the coordinator"
    ),
    # dora-rs 1.1.0: in-memory state; no multicast, daemons learn each other from the
    # coordinator; its local listen port moved off ours (both daemons share namespace a)
    "peer": Recipe(
        6113,
        ("--store", "memory"),
        "Listening on port",
        ("--local-listen-port", "53391", "--zenoh-no-multicast"),
        "Connected to dora-coordinator",
    ),
}


class Cluster:
    """One system's coordinator + daemon alpha (namespace a) + daemon beta (namespace b)."""

    def __init__(self, system: System, link: VethPair, workdir: Path) -> None:
        self.system, self.recipe = system, RECIPES[system.name]
        self.services: list[Service] = []
        env = {**system.env, "NO_COLOR": "1"}
        cwd = str(workdir)
        port = str(self.recipe.port)
        in_a, in_b = link.exec_in(link.ns_a), link.exec_in(link.ns_b)
        try:
            coordinator = self._start(
                [*in_a, *system.command("coordinator", "--interface", ADDR_A, "--port", port)],
                [*self.recipe.coordinator_args],
                env,
                cwd,
                f"{system.name} coordinator",
            )
            coordinator.wait_for(self.recipe.coordinator_ready, START_S)
            for machine, prefix in (("alpha", in_a), ("beta", in_b)):
                daemon = self._start(
                    [*prefix, *system.command("daemon", "--machine-id", machine)],
                    ["-c", ADDR_A, "--coordinator-port", port, *self.recipe.daemon_args],
                    env,
                    cwd,
                    f"{system.name} daemon {machine}",
                )
                daemon.wait_for(self.recipe.daemon_ready, START_S)
        except BaseException:
            self.stop()
            raise

    def _start(self, cmd: list[str], extra: list[str], env: dict, cwd: str, name: str) -> Service:
        service = Service([*cmd, *extra], env, cwd, name)
        self.services.append(service)
        return service

    def stop(self) -> None:
        for service in reversed(self.services):
            service.kill()
        self.services.clear()


class AcrossMachines(FlooredScenario):
    name, title = "netns", "across machines (two network namespaces, veth)"

    def __init__(self, count: int, warmup: int, burst: int) -> None:
        self.count, self.warmup, self.burst = count, warmup, burst
        self._link: VethPair | None = None
        self._unavailable: str | None = None
        self._clusters: dict[str, Cluster] = {}
        self._workdir: Path | None = None
        self._ports = itertools.count(BARE_PORT)

    # ---- set-up ---------------------------------------------------------------------

    @property
    def link(self) -> VethPair | None:
        """The namespaces while prepared (None outside, or where they cannot be made)."""
        return self._link

    @property
    def unavailable(self) -> str | None:
        """Why namespaces could not be made here, once ``prepared`` found out."""
        return self._unavailable

    @contextlib.contextmanager
    def prepared(self) -> Iterator[None]:
        self._workdir = Path(tempfile.mkdtemp(prefix="bench-netns-"))
        try:
            with veth_pair() as link:
                self._link = link
                try:
                    yield
                finally:
                    for cluster in self._clusters.values():
                        cluster.stop()
                    self._clusters.clear()
                    self._link = None
        except NetnsError as error:
            self._unavailable = f"network namespaces unavailable: {error}"
            yield
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)

    def _cluster(self, system: System) -> Cluster:
        assert self._link is not None and self._workdir is not None
        cluster = self._clusters.get(system.name)
        if cluster is None:
            cluster = self._clusters[system.name] = Cluster(system, self._link, self._workdir)
        return cluster

    # ---- runs -----------------------------------------------------------------------

    def runs(self) -> list[RunSpec]:
        total = self.count + self.warmup
        latency = pair([SMALL], [self.count], [self.warmup], [PACE_SMALL_MS], queue_size=total)
        n = self.burst
        burst = pair(
            [BIG], [n], [BURST_WARMUP], [0], queue_size=n + BURST_WARMUP + 10, ack_timeout_s=10.0
        )
        return [
            RunSpec("netns_latency", latency, total * PACE_SMALL_MS / 1000),
            RunSpec("netns_burst", burst, n * BIG / 0.1e9),  # 100 MB/s sets the safety net
        ]

    def run_one(
        self, system: System, spec: RunSpec, keep: bool = False, allowance_s: float = 20.0
    ) -> RunResult:
        launch_ns = time.time_ns()
        if self._unavailable or self._link is None:
            return RunResult(
                system.name, spec.key, self._unavailable or "not prepared", 0, launch_ns
            )
        try:
            cluster = self._cluster(system)
        except NetnsError as error:
            return RunResult(system.name, spec.key, f"cluster did not start: {error}", 0, launch_ns)
        run_dir = Path(tempfile.mkdtemp(prefix=f"{system.name}-{spec.key}-", dir=self._workdir))
        try:
            return self._start_flow(cluster, spec, run_dir, allowance_s)
        finally:
            if not keep:
                shutil.rmtree(run_dir, ignore_errors=True)

    def _start_flow(
        self, cluster: Cluster, spec: RunSpec, run_dir: Path, allowance_s: float
    ) -> RunResult:
        assert self._link is not None
        system = cluster.system
        flow = write_flow(run_dir, spec)
        descriptor = yaml.safe_load(flow.read_text())
        for node in descriptor["nodes"]:
            node["deploy"] = {"machine": "alpha" if node["id"] == "sender" else "beta"}
        flow.write_text(yaml.safe_dump(descriptor, sort_keys=False))
        port = str(cluster.recipe.port)
        cmd = [
            *self._link.exec_in(self._link.ns_a),
            *system.command("start", str(flow), "--attach"),
            *("--coordinator-addr", ADDR_A, "--coordinator-port", port),
        ]
        timeout = spec.expected_s + START_S + 2 * allowance_s
        launch_ns, start = time.time_ns(), time.monotonic()
        error = None
        log_path = run_dir / "dora-start.log"
        with open(log_path, "wb") as log:
            try:
                done = subprocess.run(
                    cmd,
                    cwd=run_dir,
                    env={**system.env, "NO_COLOR": "1"},
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                )
                if done.returncode != 0:
                    error = f"`dora start --attach` exited with code {done.returncode}"
            except subprocess.TimeoutExpired:
                error = f"timed out after {timeout:.0f} s"
        wall = time.monotonic() - start
        if error:  # a dataflow may still be running there: start the next run afresh
            cluster.stop()
            self._clusters.pop(system.name, None)
        results, missing = read_results(spec, run_dir)
        error = error or missing
        return RunResult(
            system.name,
            spec.key,
            error,
            wall,
            launch_ns,
            results,
            log_tail=log_tail(log_path) if error else "",
            run_dir=str(run_dir),
        )

    # ---- figures --------------------------------------------------------------------

    def figures(self) -> list[FigureDef]:
        return [
            FigureDef("netns_lat_p50", "across machines: 8 B at 100 Hz p50", "us", "lower"),
            FigureDef("netns_lat_p90", "across machines: 8 B at 100 Hz p90", "us", "lower"),
            FigureDef("netns_burst_gbps", "across machines: 4 MB burst GB/s", "GB/s", "higher"),
            FigureDef("netns_delivered", "across machines: delivered", "%", "higher", "worst"),
        ]

    def floor_figures(self) -> list[FigureDef]:
        return [
            FigureDef("bare_zenoh_p50", "bare zenoh pub/sub 8 B p50", "us", "lower"),
            FigureDef("bare_zenoh_p90", "bare zenoh pub/sub 8 B p90", "us", "lower"),
            FigureDef("bare_zenoh_gbps", "bare zenoh pub/sub 4 MB burst", "GB/s", "higher"),
        ]

    def floor_rows(self) -> list[FloorRow]:
        p50, p90, gbps = self.floor_figures()
        return [
            FloorRow("netns_lat_p50", p50, FloorTarget("<= 1.3x bare", 1.3)),
            FloorRow("netns_lat_p90", p90),
            FloorRow("netns_burst_gbps", gbps, FloorTarget(">= 0.8x bare", 0.8)),
        ]

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        latency, burst = runs["netns_latency"], runs["netns_burst"]
        out: dict[str, Measured] = {}
        total = self.count + self.warmup
        problem = run_problem(latency, {"receiver": {SMALL: self.count}})
        if problem:
            out["netns_lat_p50"] = out["netns_lat_p90"] = Measured(None, problem)
        else:
            lat = latency.results["receiver"]["sizes"][str(SMALL)]["lat_ns"]
            out["netns_lat_p50"] = Measured(percentile(lat, 50) / 1000)
            out["netns_lat_p90"] = Measured(percentile(lat, 90) / 1000)
        problem = run_problem(burst, {"receiver": {BIG: self.burst}})
        if problem:
            out["netns_burst_gbps"] = Measured(None, problem)
        else:
            stats = burst.results["receiver"]["sizes"][str(BIG)]
            span_s = (stats["last_recv_ns"] - stats["first_send_ns"]) / 1e9
            out["netns_burst_gbps"] = Measured(self.burst * BIG / span_s / 1e9)
        delivered = []
        for run, expected in ((latency, total), (burst, self.burst + BURST_WARMUP)):
            receiver = run.results.get("receiver")
            if receiver is None:
                reason = f"{FAILED_PREFIX}{run.error or 'no result'}"
                return {**out, **_all_invalid(self.figures()[3:], reason)}
            delivered.append(100.0 * receiver["unique"] / expected)
        out["netns_delivered"] = Measured(min(delivered))
        return out

    # ---- the floor ------------------------------------------------------------------

    def measure_floor(self) -> dict[str, Measured]:
        if self._unavailable or self._link is None:
            return floor_failed(self.floor_figures(), self._unavailable or "not prepared")
        try:
            small = self._bare(SMALL, self.count, self.warmup, PACE_SMALL_MS)
            big = self._bare(BIG, self.burst, BURST_WARMUP, 0)
        except NetnsError as error:
            return floor_failed(self.floor_figures(), f"bare zenoh: {error}")
        span_s = (big["last_recv_ns"] - big["first_send_ns"]) / 1e9
        return {
            "bare_zenoh_p50": Measured(percentile(small["lat_ns"], 50) / 1000),
            "bare_zenoh_p90": Measured(percentile(small["lat_ns"], 90) / 1000),
            "bare_zenoh_gbps": Measured(self.burst * BIG / span_s / 1e9),
        }

    def _bare(self, size: int, count: int, warmup: int, interval_ms: float) -> dict:
        """One bare zenoh exchange: subscriber in namespace b, publisher in a."""
        assert self._link is not None and self._workdir is not None
        link, script = self._link, str(NODES_DIR / "bare_zenoh.py")
        endpoint = f"tcp/{ADDR_B}:{next(self._ports)}"
        result = self._workdir / f"bare-zenoh-{size}.json"
        result.unlink(missing_ok=True)
        total = count + warmup
        sub = Service(
            [
                *link.exec_in(link.ns_b),
                str(PYTHON),
                script,
                "sub",
                endpoint,
                str(result),
                str(total),
            ],
            bare_env(),
            str(self._workdir),
            "bare zenoh subscriber",
        )
        try:
            sub.wait_for("ready", START_S)
            plan = [str(size), str(count), str(warmup), str(interval_ms)]
            pub = subprocess.run(
                [*link.exec_in(link.ns_a), str(PYTHON), script, "pub", endpoint, *plan],
                capture_output=True,
                text=True,
                timeout=START_S + total * max(interval_ms, 50) / 1000 + 60,
                env=bare_env(),
            )
            if pub.returncode != 0:
                raise NetnsError(f"publisher failed: {(pub.stderr or pub.stdout).strip()[-300:]}")
            sub.proc.wait(timeout=START_S)
            data = json.loads(result.read_text())
        except (OSError, ValueError, subprocess.TimeoutExpired) as error:
            raise NetnsError(f"the exchange did not complete: {error}") from None
        finally:
            sub.kill()
        if data["unique"] < total or data["corrupt"]:
            raise NetnsError(f"{total - data['unique']} of {total} lost, {data['corrupt']} corrupt")
        return data


def build_netns_scenario(quick: bool) -> AcrossMachines:
    return AcrossMachines(count=20, warmup=2, burst=16) if quick else AcrossMachines(100, 5, 64)
