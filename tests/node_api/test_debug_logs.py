"""Debug records of a node reach the user (issue 14 item 7): ``node.log_debug`` and
``logging.debug`` are shown by ``dora run --log-level debug`` and ``--log-filter
node=debug``, kept by ``min_log_level: debug`` and found by ``dora logs --level debug``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.procs import run_dora

pytestmark = pytest.mark.integration

TALKER = """
import logging

from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        node.log_debug("method-debug-record")
        logging.debug("logging-debug-record")
        logging.info("logging-info-record")
        break
"""
FLOW = """
nodes:
  - id: talker
    path: talker.py
    inputs:
      tick: dora/timer/millis/20
{extra}
"""


def _flow(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "talker.py").write_text(TALKER)
    path = tmp_path / "flow.yml"
    path.write_text(FLOW.format(extra=extra))
    return path


def _run(tmp_path: Path, *args: str) -> str:
    result = run_dora(["run", "flow.yml", "--stop-after", "60s", *args], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.mark.timeout(90)
def test_run_log_level_debug_shows_both_kinds_of_debug_records(tmp_path: Path) -> None:
    _flow(tmp_path)
    out = _run(tmp_path, "--log-level", "debug")
    assert "method-debug-record" in out, out
    assert "logging-debug-record" in out, out
    assert "logging-info-record" in out, out


@pytest.mark.timeout(90)
def test_log_filter_asks_one_node_for_its_debug_records(tmp_path: Path) -> None:
    _flow(tmp_path)
    out = _run(tmp_path, "--log-level", "info", "--log-filter", "talker=debug")
    assert "logging-debug-record" in out, out
    assert "method-debug-record" in out, out


@pytest.mark.timeout(90)
def test_default_run_keeps_library_debug_chatter_out(tmp_path: Path) -> None:
    _flow(tmp_path)
    out = _run(tmp_path)
    # an explicit node.log_debug() call is shown as dora-rs shows it...
    assert "method-debug-record" in out, out
    # ...stdlib logging stays at info unless somebody asks for debug
    assert "logging-debug-record" not in out, out
    assert "logging-info-record" in out, out


@pytest.mark.timeout(90)
def test_min_log_level_debug_keeps_them_and_dora_logs_finds_them(tmp_path: Path) -> None:
    _flow(tmp_path, extra="    min_log_level: debug")
    _run(tmp_path, "--log-level", "error")  # nothing shown: the file keeps them anyway
    logs = run_dora(["logs", "--local", "--level", "debug"], cwd=tmp_path)
    assert logs.returncode == 0, logs.stdout + logs.stderr
    assert "logging-debug-record" in logs.stdout, logs.stdout
    assert "method-debug-record" in logs.stdout
    info_only = run_dora(["logs", "--local", "--level", "info"], cwd=tmp_path)
    assert "logging-info-record" in info_only.stdout
    assert "debug-record" not in info_only.stdout
    filtered = run_dora(
        ["logs", "--local", "--level", "error", "--log-filter", "talker=debug"], cwd=tmp_path
    )
    assert "logging-debug-record" in filtered.stdout, filtered.stdout + filtered.stderr
