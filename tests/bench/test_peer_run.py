"""Tiny real runs through the benchmark harness and its entry point, turned into reports.

Ours runs everywhere (CI included); the peer (dora-rs 1.1.0) only where its venv exists,
which CI never has. No timing is asserted, only that real measurements flow through to
the report.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from peer import ours_system, peer_dir, peer_installed, peer_system
from report import build_report, render_markdown, render_text
from runner import run_flow
from scenarios import Latency

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

needs_peer = pytest.mark.skipif(
    not peer_installed(),
    reason=f"peer venv missing at {peer_dir()} (bench/run.py installs it on first use)",
)

RUN_PY = Path(__file__).resolve().parents[2] / "bench" / "run.py"


@needs_peer
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


def run_entry_point(systems: str, out: Path) -> subprocess.CompletedProcess[str]:
    """``bench/run.py --quick --only spawn --systems SYSTEMS --markdown OUT``."""
    command = [sys.executable, str(RUN_PY), "--quick", "--only", "spawn"]
    return subprocess.run(
        [*command, "--systems", systems, "--markdown", str(out)],
        capture_output=True,
        text=True,
        timeout=150,
    )


def test_five_message_latency_run_of_ours_makes_a_report():
    scenario = Latency([8], small_count=5, large_count=5, warmup=1)
    (spec,) = scenario.runs()
    run = run_flow(ours_system(), spec, allowance_s=20.0)
    assert run.error is None, run.log_tail
    result = run.results["receiver"]
    assert result["received"] == 6 and result["corrupt"] == 0
    assert len(result["sizes"]["8"]["lat_ns"]) == 5  # the warm-up is not measured

    measured = scenario.measure({"latency": run})
    assert measured["lat_p50_8"].invalid is None and measured["lat_p50_8"].value > 0
    report = build_report(scenario.figures(), {"ours": {k: [v] for k, v in measured.items()}}, [])
    row = next(r for r in report.rows if r.fig.key == "lat_p50_8")
    assert row.cells["ours"].value == measured["lat_p50_8"].value
    assert row.cells["peer"].problem == "not run"


def test_entry_point_runs_ours_alone(tmp_path):
    """What CI can run: the whole entry point against ours, no peer venv needed."""
    out = tmp_path / "bench.md"
    proc = run_entry_point("ours", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "spawn -> first message" in proc.stdout and "systems ours," in proc.stdout
    markdown = out.read_text()
    assert "--systems ours" in markdown
    row = next(x for x in markdown.splitlines() if x.startswith("| spawn -> first message |"))
    ours, peer = (cell.strip() for cell in row.split("|")[2:4])
    assert re.fullmatch(r"\d+(\.\d+)? (ms|s)", ours), row  # a measured time, for ours
    assert float(ours.split()[0]) > 0 and peer == "not run", row
    assert "FAILED" not in markdown and "INVALID" not in markdown


@needs_peer
def test_entry_point_writes_markdown(tmp_path):
    out = tmp_path / "bench.md"
    proc = run_entry_point("peer", out)
    assert proc.returncode == 0, proc.stderr
    assert "spawn -> first message" in proc.stdout
    markdown = out.read_text()
    assert "--only spawn" in markdown and "| spawn -> first message | not run |" in markdown
    assert "FAILED" not in markdown and "INVALID" not in markdown
