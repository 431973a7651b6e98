"""Text charts for the TUIs (pure, no textual): column bars and equal-width histograms.

A chart is a list of lines of block characters, one column per value, bars growing from
the bottom line and scaled so the largest value fills the height (0 stays empty; any
positive value shows at least the lowest block).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

BLOCKS = " ▁▂▃▄▅▆▇█"  # index = eighths of one line filled
MIN_BINS = 10
MAX_BINS = 40


def column_chart(values: Sequence[float], height: int) -> list[str]:
    """``height`` lines (top first) with one bar column per value."""
    height = max(1, height)
    top = max(values, default=0.0)
    eighths = [max(1, math.ceil(v / top * height * 8)) if top > 0 and v > 0 else 0 for v in values]
    lines = []
    for row in range(height):
        floor = (height - 1 - row) * 8  # eighths below this line
        lines.append("".join(BLOCKS[min(8, max(0, e - floor))] for e in eighths))
    return lines


def bin_count(width: int) -> int:
    """How many histogram bins fit ``width`` columns: two columns a bin, 10 to 40."""
    return max(MIN_BINS, min(MAX_BINS, width // 2))


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal bins from ``low`` to ``high`` (None: no values)."""

    counts: tuple[int, ...]
    low: float | None = None
    high: float | None = None

    def columns(self, width: int) -> list[int]:
        """The counts with each bin repeated to share ``width`` columns (at least one)."""
        spread = max(1, width // max(1, len(self.counts)))
        return [count for count in self.counts for _ in range(spread)]


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
