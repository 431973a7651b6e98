"""Scenarios measured beside a floor: what plain processes do on the same machine.

A :class:`FlooredScenario` is a normal scenario (its runs alternate between the systems)
that also measures, once per repetition in the same run, a floor: bare Python processes,
a bare zenoh pair, ... Each :class:`FloorRow` sets one of its figures beside one floor
figure with a target on the ratio ``system / floor``. A scenario may also bring its own
way to run a dataflow (:meth:`FlooredScenario.run_one`, e.g. across network namespaces)
and something to set up around all its runs (:meth:`FlooredScenario.prepared`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from flows import RunSpec
from peer import System
from runner import RunResult, run_flow
from scenarios import FigureDef, Measured, Scenario


@dataclass(frozen=True)
class FloorTarget:
    """A bound on ``system / floor``: at most ``limit`` for lower-is-better figures, at
    least ``limit`` for higher-is-better ones."""

    text: str
    limit: float

    def met(self, ratio: float, better: str) -> bool:
        return ratio <= self.limit if better == "lower" else ratio >= self.limit


@dataclass(frozen=True)
class FloorRow:
    """A system figure (``figure``, a key of the scenario's figures) beside ``floor``."""

    figure: str
    floor: FigureDef
    target: FloorTarget | None = None


class FlooredScenario(Scenario):
    def floor_rows(self) -> list[FloorRow]:
        raise NotImplementedError

    def measure_floor(self) -> dict[str, Measured]:
        """The floor figures of one repetition, by floor key."""
        raise NotImplementedError

    @contextlib.contextmanager
    def prepared(self) -> Iterator[None]:
        """Held around every run and floor measurement of the scenario."""
        yield

    def run_one(
        self, system: System, spec: RunSpec, keep: bool = False, allowance_s: float = 20.0
    ) -> RunResult:
        return run_flow(system, spec, keep=keep, allowance_s=allowance_s)


def floor_failed(figures: list[FigureDef], reason: str) -> dict[str, Measured]:
    """Every floor figure without a value, for ``reason``."""
    return {fig.key: Measured(None, reason) for fig in figures}
