"""Report logic: ratio direction, targets, and that bad data never shows as a number."""

from report import build_report, render_markdown, render_text
from scenarios import FAILED_PREFIX, FigureDef, Measured

LAT = FigureDef("lat_p50_8", "latency p50 8 B", "us", "lower")
BURST = FigureDef("burst_msgs_8", "burst 8 B msg/s", "msg/s", "higher")
DELIVERED = FigureDef("burst_delivered_8", "burst 8 B delivered", "%", "higher", "worst")


def _row(report, fig):
    return next(r for r in report.rows if r.fig.key == fig.key)


def test_advantage_above_one_means_ours_is_better_both_directions():
    measured = {
        "ours": {LAT.key: [Measured(100.0)], BURST.key: [Measured(120_000.0)]},
        "peer": {LAT.key: [Measured(600.0)], BURST.key: [Measured(20_000.0)]},
    }
    report = build_report([LAT, BURST], measured, [])
    assert _row(report, LAT).advantage == 6.0
    assert _row(report, LAT).status == "met"  # target <= 1/5 of peer
    assert _row(report, BURST).advantage == 6.0
    assert _row(report, BURST).status == "met"  # target >= 5x peer


def test_slower_ours_is_not_met():
    measured = {"ours": {LAT.key: [Measured(300.0)]}, "peer": {LAT.key: [Measured(600.0)]}}
    row = _row(build_report([LAT], measured, []), LAT)
    assert row.advantage == 2.0 and row.status == "NOT met"


def test_median_over_repetitions():
    measured = {
        "ours": {LAT.key: [Measured(50.0), Measured(10.0), Measured(900.0)]},
        "peer": {LAT.key: [Measured(600.0)] * 3},
    }
    assert _row(build_report([LAT], measured, []), LAT).cells["ours"].value == 50.0


def test_invalid_ours_shows_no_number_and_fails_the_target():
    reason = "receiver: 1 corrupt payload(s), e.g. seq 3: bytes span 0..4, expected all 4"
    measured = {"ours": {LAT.key: [Measured(None, reason)]}, "peer": {LAT.key: [Measured(600.0)]}}
    report = build_report([LAT], measured, [])
    row = _row(report, LAT)
    assert row.status == "NOT met (ours INVALID)" and row.advantage is None
    text = render_text(report)
    assert "INVALID [1]" in text and f"[1] ours: {reason}" in text


def test_one_bad_repetition_is_shown_beside_the_value():
    reason = f"{FAILED_PREFIX}`dora run` exited with code 1"
    measured = {
        "ours": {LAT.key: [Measured(100.0), Measured(None, reason), Measured(110.0)]},
        "peer": {LAT.key: [Measured(600.0)] * 3},
    }
    report = build_report([LAT], measured, [])
    row = _row(report, LAT)
    assert row.status == "NOT met (ours FAILED)"
    assert "(1/3 reps FAILED [1])" in render_text(report)


def test_delivery_target_is_absolute_and_uses_worst_repetition():
    measured = {
        "ours": {DELIVERED.key: [Measured(100.0), Measured(99.5)]},
        "peer": {DELIVERED.key: [Measured(100.0)]},
    }
    row = _row(build_report([DELIVERED], measured, []), DELIVERED)
    assert row.cells["ours"].value == 99.5 and row.status == "NOT met"


def test_system_not_run_is_labelled():
    report = build_report([LAT], {"peer": {LAT.key: [Measured(600.0)]}}, [])
    assert _row(report, LAT).status == "NOT met (ours not run)"
    markdown = render_markdown(report, ["uv", "run", "python", "bench/run.py"], "test")
    assert "| latency p50 8 B | not run | 600 us |" in markdown
    assert "2 cores, shared and noisy" in markdown and "`uv run python bench/run.py`" in markdown


def test_partly_bad_peer_still_gives_a_flagged_ratio_and_per_rep_values():
    reason = "receiver: 3 of 100 messages of 8 B missing"
    measured = {
        "ours": {LAT.key: [Measured(100.0)] * 3},
        "peer": {LAT.key: [Measured(600.0), Measured(None, reason), Measured(600.0)]},
    }
    report = build_report([LAT], measured, [])
    row = _row(report, LAT)
    assert row.advantage == 6.0
    assert row.status == "met (peer: 1 of 3 reps INVALID)"
    markdown = render_markdown(report, ["bench/run.py"], "test")
    assert "- latency p50 8 B: ours 100 us, 100 us, 100 us; peer 600 us, bad, 600 us" in markdown
