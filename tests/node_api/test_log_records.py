"""Log records as data and as ``--log-format`` lines have dora-rs's shape (issue 14
item 6): the keys of its log message in its order, upper-case levels, nanosecond
timestamps; ``compact`` is ``HH:MM:SS LEVEL node: message``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.procs import run_dora

pytestmark = pytest.mark.integration

KEYS = [
    "build_id",
    "dataflow_id",
    "node_id",
    "daemon_id",
    "level",
    "target",
    "module_path",
    "file",
    "line",
    "message",
    "timestamp",
    "fields",
]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")

TALKER = """
import logging

from dora import Node

node = Node()
logged = False
for event in node:
    if event["type"] != "INPUT":
        continue
    if event["id"] == "done":
        break  # the reader has every record: nothing is cut off by our exit
    if not logged:
        logged = True
        node.log("warn", "method-record", target="my.target", fields={"a": "1"})
        logging.info("bridged-record")
        print("plain-line", flush=True)
"""
READER = """
import json

import pyarrow as pa

from dora import Node

WANTED = {("all", "method-record"), ("all", "bridged-record"), ("all", "plain-line"),
          ("own", "method-record"), ("own", "bridged-record")}
node = Node()
seen = set()
for event in node:
    if event["type"] == "INPUT":
        for text in event["value"].to_pylist():
            print(f"GOT {event['id']} {text}", flush=True)
            seen.add((event["id"], json.loads(text)["message"]))
        if WANTED <= seen:
            node.send_output("done", pa.array([True]))
            break
"""
FLOW = """
nodes:
  - id: talker
    path: talker.py
    inputs:
      tick: dora/timer/millis/20
      done: reader/done
    send_logs_as: records
    outputs: [records]
  - id: reader
    path: reader.py
    inputs:
      all: dora/logs
      own: talker/records
    outputs: [done]
"""


def _write(tmp_path: Path) -> None:
    (tmp_path / "talker.py").write_text(TALKER)
    (tmp_path / "reader.py").write_text(READER)
    (tmp_path / "flow.yml").write_text(FLOW)


def _check(record: dict[str, object]) -> None:
    assert list(record) == KEYS, record
    assert isinstance(record["timestamp"], str) and TIMESTAMP.match(record["timestamp"])
    assert record["build_id"] is None and record["node_id"] == "talker"


@pytest.mark.timeout(90)
def test_records_on_dora_logs_and_send_logs_as_have_dora_rs_shape(tmp_path: Path) -> None:
    _write(tmp_path)
    # the reader ends the run once it has every record (--stop-after only as a safety net)
    result = run_dora(["run", "flow.yml", "--stop-after", "60s"], cwd=tmp_path, timeout=80)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    got: dict[str, list[dict[str, object]]] = {"all": [], "own": []}
    for line in out.splitlines():
        match = re.search(r"GOT (all|own) (\{.*\})$", line)
        if match:
            got[match.group(1)].append(json.loads(match.group(2)))
    for channel in ("all", "own"):
        by_message = {r["message"]: r for r in got[channel]}
        method = by_message.get("method-record")
        assert method is not None, out
        _check(method)
        assert method["level"] == "WARN" and method["target"] == "my.target"
        assert method["fields"] == {"a": "1"}
        bridged = by_message["bridged-record"]
        _check(bridged)
        assert bridged["level"] == "INFO" and bridged["target"] == "root"
        # where it was logged: file and line as dora-rs reports them, not in `fields`
        assert str(bridged["file"]).endswith("talker.py") and isinstance(bridged["line"], int)
        assert bridged["module_path"] == "talker" and bridged["fields"] is None
    plain = next(r for r in got["all"] if r["message"] == "plain-line")
    _check(plain)
    assert plain["level"] == "stdout"


@pytest.mark.timeout(90)
def test_json_and_compact_log_formats(tmp_path: Path) -> None:
    _write(tmp_path)
    result = run_dora(
        ["run", "flow.yml", "--stop-after", "30s", "--log-format", "json"], cwd=tmp_path, timeout=40
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    method = next(r for r in lines if r["message"] == "method-record")
    _check(method)
    assert method["level"] == "WARN"

    compact = run_dora(
        ["run", "flow.yml", "--stop-after", "30s", "--log-format", "compact"],
        cwd=tmp_path,
        timeout=40,
    )
    shown = compact.stdout + compact.stderr
    assert re.search(r"^\d\d:\d\d:\d\d WARN talker: method-record$", shown, re.M), shown
    assert re.search(r"^\d\d:\d\d:\d\d STDOUT talker: plain-line$", shown, re.M), shown
