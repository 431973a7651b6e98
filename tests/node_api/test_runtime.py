"""The Python operator runtime: ``import dora; dora.start_runtime()``."""

from __future__ import annotations

import json
import os

import pytest

from dora_message.config import InputConfig
from tests.node_api.node_process import NODES_DIR

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def operator_env(file: str) -> str:
    return json.dumps({"id": "op", "python": os.path.join(NODES_DIR, file)})


def test_operator_receives_bare_ids_and_sends_prefixed_outputs(harness):
    daemon = harness.daemon(["src", "rt", "sink"])
    cfg = daemon.configs(
        {
            "src": {"outputs": ["out"]},
            "rt": {
                "inputs": {"op/in": InputConfig(source="src/out", queue_size=100)},
                "outputs": ["op/out"],
            },
            "sink": {"inputs": {"in": InputConfig(source="rt/op/out", queue_size=100)}},
        }
    )
    sink = harness.spawn("sink.py", cfg["sink"])
    rt = harness.spawn("runtime_main.py", cfg["rt"], DORA_OPERATOR=operator_env("op_echo.py"))
    harness.spawn("source.py", cfg["src"], COUNT="30")
    got = json.loads(sink.expect("RESULT "))
    assert got["counts"] == {"in": 30} and got["disorder"] == 0
    assert got["types"][-2:] == [["INPUT_CLOSED", 1], ["STOP", 1]]
    assert rt.wait() == 0


def test_operator_exception_exits_with_code_1(harness):
    daemon = harness.daemon(["src", "rt"])
    cfg = daemon.configs(
        {"src": {"outputs": ["out"]}, "rt": {"inputs": {"op/in": "src/out"}, "outputs": []}}
    )
    rt = harness.spawn("runtime_main.py", cfg["rt"], DORA_OPERATOR=operator_env("op_fail.py"))
    harness.spawn("source.py", cfg["src"], COUNT="1")
    assert rt.wait() == 1
    assert "operator exploded" in rt.err()
