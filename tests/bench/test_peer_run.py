"""A tiny real run of the peer (dora-rs 1.1.0) through the harness, turned into a report.

Only the peer is run: our implementation is tested by its own suites. No timing is
asserted, only that real measurements flow through to the report.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from peer import peer_dir, peer_installed, peer_system
from report import build_report, render_markdown, render_text
from runner import run_flow
from scenarios import Latency

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not peer_installed(),
        reason=f"peer venv missing at {peer_dir()} (bench/run.py installs it on first use)",
    ),
]

RUN_PY = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def test_five_message_latency_run_of_the_peer_makes_a_report():
    scenario = Latency([8], small_count=5, large_count=5, warmup=1)
    (spec,) = scenario.runs()
    run = run_flow(peer_system(peer_dir()), spec, allowance_s=20.0)
    assert run.error is None, run.log_tail
    result = run.results["receiver"]
    assert result["received"] == 6 and result["corrupt"] == 0
    assert len(result["sizes"]["8"]["lat_ns"]) == 5  # the warm-up is not measured

    measured = scenario.measure({"latency": run})
    assert measured["lat_p50_8"].invalid is None
    report = build_report(scenario.figures(), {"peer": {k: [v] for k, v in measured.items()}}, [])
    row = next(r for r in report.rows if r.fig.key == "lat_p50_8")
    assert row.cells["peer"].value == measured["lat_p50_8"].value
    assert row.cells["ours"].problem == "not run"
    text = render_text(report)
    assert "latency p50 8 B" in text and "not run" in text
    assert "| latency p99 8 B |" in render_markdown(report, ["bench/run.py"], "test")


def test_entry_point_writes_markdown(tmp_path):
    out = tmp_path / "bench.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(RUN_PY),
            "--quick",
            "--only",
            "spawn",
            "--systems",
            "peer",
            "--markdown",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert proc.returncode == 0, proc.stderr
    assert "spawn -> first message" in proc.stdout
    markdown = out.read_text()
    assert "--only spawn" in markdown and "| spawn -> first message | not run |" in markdown
    assert "FAILED" not in markdown and "INVALID" not in markdown
