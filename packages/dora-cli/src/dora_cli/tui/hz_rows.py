"""What the ``dora topic hz`` TUI shows, from receive instants (pure, no textual).

:class:`HzState` keeps the sliding :class:`~dora_cli.topic_view.RateWindow` and, per row
(``ALL`` then each topic), the recent rate sampled at every redraw: the number of
messages received in the last second, the last :data:`HISTORY_POINTS` samples. Titles
and cell formats follow templates-and-misc.md §7.3.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence

from dora_cli.topic_view import Rate, RateWindow, intervals_ms

COLUMNS: tuple[str, ...] = ("Output", "Avg (ms)", "Avg (Hz)", "Min (ms)", "Max (ms)", "Std (ms)")
ALL = "ALL"
HISTORY_POINTS = 240
RECENT_S = 1.0
FOOTER = "Up/Down: Select | Exit: q / Ctrl-C / Esc"


def row_cells(name: str, rate: Rate) -> list[str]:
    """The cells of one row, in :data:`COLUMNS` order (2 decimals, ``-`` when unknown)."""
    return [name, *rate.cells()]


def recent_count(instants: Sequence[float], now: float, span_s: float = RECENT_S) -> int:
    """How many of the ascending ``instants`` fall in the ``span_s`` seconds up to ``now``."""
    return len(instants) - bisect.bisect_right(instants, now - span_s)


def sparkline_title(name: str) -> str:
    """The title of the rate sparkline of row ``name``."""
    return f"Recent Rate (Hz) — {name}"


def histogram_title(low: float | None, high: float | None) -> str:
    """The title of the interval histogram (``-`` without intervals)."""
    if low is None or high is None:
        return "Histogram (ms) — min=-, max=-"
    return f"Histogram (ms) — min={low:.2f}, max={high:.2f}"


class HzState:
    """The rates of ``topics`` over ``window_s`` seconds, and each row's recent rates."""

    def __init__(self, window_s: float, topics: Sequence[str]) -> None:
        self.window = RateWindow(window_s=window_s, topics=list(topics))
        self.names: list[str] = [ALL, *topics]
        self.rows: list[tuple[str, Rate]] = [(name, Rate(samples=0)) for name in self.names]
        self._history = {name: deque[int](maxlen=HISTORY_POINTS) for name in self.names}

    def add(self, topic: str, instant: float) -> None:
        """A message of ``topic`` arrived at ``instant`` (seconds, monotonic)."""
        self.window.add(topic, instant)

    def sample(self, now: float) -> None:
        """Recompute the rows at ``now`` and append each row's messages of the last
        second to its history (one redraw)."""
        self.rows = self.window.rows(now)
        for name in self.names:
            self._history[name].append(recent_count(self.window.instants(name, now), now))

    def history(self, name: str) -> list[int]:
        """The recent rates (Hz) of row ``name``, oldest first."""
        return list(self._history.get(name, ()))

    def intervals(self, name: str, now: float) -> list[float]:
        """The intervals (ms) between the messages of row ``name`` within the window."""
        return intervals_ms(self.window.instants(name, now))
