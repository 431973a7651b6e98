"""The ``floor`` scenario: small-message latency of ours and the peer beside the bare floor.

In one repetition: a paced latency run (8 B and 64 KB, 10 ms apart, as in ``latency``) for
each system, and two bare Python processes exchanging the same payloads over a Unix socket
at the same pacing (``nodes/bare_pair.py``). Reported as ours / floor; DESIGN.md's target
is at most 2x for the p50. The figure keys carry a ``floor_`` prefix so that this scenario
and ``latency`` can run in one invocation.
"""

from __future__ import annotations

import bare
from floored import FlooredScenario, FloorRow, FloorTarget, floor_failed
from flows import RunSpec
from runner import RunResult
from scenarios import KB, PACE_SMALL_MS, FigureDef, Latency, Measured, size_label
from stats import percentile

SIZES = (8, 64 * KB)
PERCENTILES = (50, 90)


class SmallFloor(FlooredScenario):
    name, title = "floor", "small messages against the bare floor"

    def __init__(self, count: int, warmup: int) -> None:
        self.count, self.warmup = count, warmup
        self.latency = Latency(list(SIZES), small_count=count, large_count=count, warmup=warmup)

    def runs(self) -> list[RunSpec]:
        (spec,) = self.latency.runs()
        return [RunSpec("floor_latency", spec.nodes, spec.expected_s)]

    def figures(self) -> list[FigureDef]:
        return [
            FigureDef(
                f"floor_lat_p{p}_{s}", f"floor run: latency p{p} {size_label(s)}", "us", "lower"
            )
            for s in SIZES
            for p in PERCENTILES
        ]

    def floor_figures(self) -> list[FigureDef]:
        return [
            FigureDef(f"bare_lat_p{p}_{s}", f"bare pair p{p} {size_label(s)}", "us", "lower")
            for s in SIZES
            for p in PERCENTILES
        ]

    def floor_rows(self) -> list[FloorRow]:
        rows = []
        for fig, floor in zip(self.figures(), self.floor_figures(), strict=True):
            target = FloorTarget("<= 2x floor", 2.0) if "_p50_" in fig.key else None
            rows.append(FloorRow(fig.key, floor, target))
        return rows

    def measure_floor(self) -> dict[str, Measured]:
        n = len(SIZES)
        try:
            lat = bare.pair_latency(list(SIZES), [self.count] * n, [self.warmup] * n, PACE_SMALL_MS)
        except bare.FloorError as error:
            return floor_failed(self.floor_figures(), f"floor: {error}")
        return {
            f"bare_lat_p{p}_{s}": Measured(percentile(lat[s], p) / 1000)
            for s in SIZES
            for p in PERCENTILES
        }

    def measure(self, runs: dict[str, RunResult]) -> dict[str, Measured]:
        figures = self.latency.measure({"latency": runs["floor_latency"]})
        wanted = {fig.key for fig in self.figures()}
        return {f"floor_{k}": value for k, value in figures.items() if f"floor_{k}" in wanted}
