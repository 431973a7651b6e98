"""What the `dora topic hz` TUI shows, computed from given receive instants (no textual)."""

from __future__ import annotations

import pytest

from dora_cli.topic_view import Rate, RateWindow, intervals_ms, rate_of
from dora_cli.tui.charts import bin_count, histogram
from dora_cli.tui.hz_rows import (
    COLUMNS,
    HISTORY_POINTS,
    HzState,
    histogram_title,
    recent_count,
    row_cells,
    sparkline_title,
)


def test_intervals_drop_zero_gaps_and_agree_with_rate_of() -> None:
    assert intervals_ms([1.0, 1.0, 1.5, 1.75]) == [500.0, 250.0]
    assert intervals_ms([]) == [] and intervals_ms([2.0]) == []
    assert rate_of([1.0, 1.0, 1.5, 1.75]).avg_ms == pytest.approx(375.0)


def test_rate_window_instants_per_row() -> None:
    window = RateWindow(window_s=1.0, topics=["a/x", "b/y"])
    window.add("b/y", 0.9)
    window.add("a/x", 0.5)  # arrived after b/y's message but stamped earlier
    window.add("a/x", 1.2)
    assert window.instants("ALL", now=1.0) == [0.5, 0.9, 1.2]
    assert window.instants("a/x", now=1.6) == [1.2]  # 0.5 left the window
    assert window.instants("ALL", now=1.6) == [0.9, 1.2]
    assert window.instants("c/z", now=1.6) == []


def test_row_cells_have_two_decimals_and_dashes() -> None:
    assert COLUMNS == ("Output", "Avg (ms)", "Avg (Hz)", "Min (ms)", "Max (ms)", "Std (ms)")
    rate = rate_of([0.0, 0.1, 0.3])
    assert row_cells("cam/img", rate) == ["cam/img", "150.00", "6.67", "100.00", "200.00", "50.00"]
    assert row_cells("ALL", Rate(samples=1)) == ["ALL", "-", "-", "-", "-", "-"]


def test_recent_count_is_the_last_second() -> None:
    instants = [0.5, 1.0, 1.2, 1.9, 2.0]
    assert recent_count(instants, now=2.0) == 3  # 1.2, 1.9, 2.0 (1.0 is exactly 1 s old)
    assert recent_count(instants, now=5.0) == 0
    assert recent_count([], now=1.0) == 0


def test_titles() -> None:
    assert sparkline_title("cam/img") == "Recent Rate (Hz) — cam/img"
    assert histogram_title(1.0, 12.345) == "Histogram (ms) — min=1.00, max=12.35"
    assert histogram_title(None, None) == "Histogram (ms) — min=-, max=-"


def test_bin_count_stays_between_10_and_40() -> None:
    assert bin_count(0) == 10
    assert bin_count(30) == 15
    assert bin_count(500) == 40


def test_histogram_equal_bins_over_min_to_max() -> None:
    result = histogram([10.0, 12.0, 15.0, 19.9, 20.0], bins=10)
    assert (result.low, result.high) == (10.0, 20.0)
    assert len(result.counts) == 10 and sum(result.counts) == 5
    assert result.counts[0] == 1 and result.counts[2] == 1 and result.counts[5] == 1
    assert result.counts[9] == 2  # 19.9 and the maximum
    same = histogram([5.0, 5.0, 5.0], bins=12)
    assert same.counts[0] == 3 and sum(same.counts) == 3 and same.low == same.high == 5.0
    empty = histogram([], bins=10)
    assert empty.counts == (0,) * 10 and empty.low is None and empty.high is None


def test_state_samples_rows_history_and_intervals() -> None:
    state = HzState(window_s=10.0, topics=["a/x", "b/y"])
    assert state.names == ["ALL", "a/x", "b/y"]
    assert [rate.samples for _, rate in state.rows] == [0, 0, 0]
    for i in range(11):
        state.add("a/x", i * 0.1)  # 10 Hz over 1 s
    state.add("b/y", 0.5)
    state.sample(now=1.0)
    rows = dict(state.rows)
    assert rows["a/x"].hz == pytest.approx(10.0)
    assert rows["ALL"].samples == 12
    assert state.history("a/x") == [10]  # 0.0 is exactly 1 s old
    assert state.history("ALL") == [11] and state.history("b/y") == [1]
    assert state.intervals("a/x", now=1.0) == pytest.approx([100.0] * 10)
    state.sample(now=5.0)
    assert state.history("a/x") == [10, 0]
    assert state.history("nope") == []


def test_state_history_keeps_the_last_points() -> None:
    state = HzState(window_s=1.0, topics=["a/x"])
    for step in range(HISTORY_POINTS + 5):
        state.add("a/x", float(step))
        state.sample(now=float(step))
    history = state.history("a/x")
    assert len(history) == HISTORY_POINTS and set(history) == {1}
