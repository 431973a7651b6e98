"""What the TUIs chart (pure, no textual): equal-width histograms of intervals.

Drawing is textual's ``Sparkline``; this module only decides the bins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_BINS = 10
MAX_BINS = 40


def bin_count(width: int) -> int:
    """How many histogram bins fit ``width`` columns: two columns a bin, 10 to 40."""
    return max(MIN_BINS, min(MAX_BINS, width // 2))


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal bins from ``low`` to ``high`` (None: no values)."""

    counts: tuple[int, ...]
    low: float | None = None
    high: float | None = None


def histogram(values: Sequence[float], bins: int) -> Histogram:
    """``values`` counted in ``bins`` equal bins over [min, max]; the maximum falls in
    the last bin, and equal values all fall in the first."""
    bins = max(1, bins)
    if not values:
        return Histogram((0,) * bins)
    low, high = min(values), max(values)
    span = high - low
    counts = [0] * bins
    for value in values:
        index = 0 if span <= 0 else min(bins - 1, int((value - low) / span * bins))
        counts[index] += 1
    return Histogram(tuple(counts), low, high)
