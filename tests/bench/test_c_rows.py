"""The C rows of the benchmark (bench/c_run.py): ratios and statuses, and reduced real runs
of the bare C pair and of the C nodes through our `dora run`.

No timing is asserted, only that real measurements flow through to the table. The runs
need a C compiler and are skipped without one; the dora run also needs the C node library
(``dora_node_api_c``) to build, and fails, not skips, when it does not.
"""

import c_run
import pytest
from c_build import build, compiler
from c_report import build_rows, render_markdown, render_text
from c_rows import CPlan, burst_figures, burst_lists, latency_figures, latency_lists, run_bare
from scenarios import Measured

TINY = CPlan(small=5, large=2, warmup=1, burst=50)
needs_cc = pytest.mark.skipif(
    compiler() is None,
    reason="no C compiler (cc, gcc or $CC): the C rows compile bench/c at run time",
)


def _rows(measured):
    return {row.fig.key: row for row in build_rows(measured)}


def test_ratio_is_a_cost_ratio_and_targets_allow_a_fifth_more():
    measured = {
        "dora": {"c_lat_p50_8": [Measured(60.0)], "c_burst_msgs_8": [Measured(100_000.0)]},
        "bare": {"c_lat_p50_8": [Measured(50.0)], "c_burst_msgs_8": [Measured(300_000.0)]},
    }
    rows = _rows(measured)
    assert rows["c_lat_p50_8"].ratio == pytest.approx(1.2)
    assert rows["c_lat_p50_8"].status == "met"
    assert rows["c_burst_msgs_8"].ratio == pytest.approx(3.0)  # bare / dora for a rate
    assert rows["c_burst_msgs_8"].status == "NOT met"
    assert rows["c_lat_p50_4MB"].status == "info" and rows["c_lat_p50_4MB"].ratio is None
    text = render_text(list(rows.values()))
    assert "dora / bare" in text and "1.20x" in text and "not run" in text


def test_a_bad_repetition_gives_no_verdict():
    measured = {
        "dora": {"c_lat_p50_8": [Measured(50.0), Measured(None, "receiver: 1 of 5 missing")]},
        "bare": {"c_lat_p50_8": [Measured(50.0), Measured(50.0)]},
    }
    row = _rows(measured)["c_lat_p50_8"]
    assert row.status.startswith("n/a")
    markdown = render_markdown([row], measured, ["bench/c_run.py"], "test")
    assert "1/2 reps bad" in markdown and "dora 50 us, bad" in markdown


@needs_cc
def test_bare_pair_runs_a_reduced_plan(tmp_path):
    programs = build(tmp_path, with_dora=False)
    lat, bur = latency_lists(TINY), burst_lists(TINY)
    for large in ("shm", "socket"):
        figures = latency_figures(run_bare(programs.bare, lat, large), lat)
        assert set(figures) == {f"c_lat_p{p}_{s}" for p in (50, 90) for s in ("8", "4MB")}
        assert all(m.invalid is None and m.value > 0 for m in figures.values()), figures
    (rate,) = burst_figures(run_bare(programs.bare, bur), bur).values()
    assert rate.invalid is None and rate.value > 0


@needs_cc
@pytest.mark.integration
@pytest.mark.timeout(240)
def test_c_nodes_through_dora_reduced_run_makes_the_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(c_run, "QUICK", TINY)
    out = tmp_path / "c.md"
    assert c_run.main(["--quick", "--markdown", str(out)]) == 0
    text = capsys.readouterr().out
    assert "C latency p50 8 B" in text and "C burst 8 B msg/s" in text
    markdown = out.read_text()
    assert "## C nodes" in markdown
    assert "bad" not in markdown and "run failed" not in markdown, markdown
