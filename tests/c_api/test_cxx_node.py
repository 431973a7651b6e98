"""A C++ node written against dora_node_api.hpp runs in a real dataflow (`dora run`): it
gets timer ticks, bytes with params and an Arrow float64 array from a Python node, answers
a Python sink with bytes, params, a float64 and a utf8 array, and a send on an unknown
output surfaces as a dora::Error carrying the C library's message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.c_api.helpers import CXX_SOURCES, compile_cxx, dora_env, py_sink_summary, run_flow

pytestmark = pytest.mark.integration

ROUNDS = 5  # py_source.py's
PYTHON_NODES = ("py_source.py", "py_sink.py", "py_waiter.py")


@pytest.mark.timeout(180)
def test_cxx_node_talks_to_python_nodes(tmp_path: Path) -> None:
    for name in ("node_roundtrip.yml", "py_source.py", "py_sink.py"):
        shutil.copy(CXX_SOURCES / name, tmp_path / name)
    (tmp_path / "build").mkdir()
    compile_cxx([CXX_SOURCES / "node_roundtrip.cc"], tmp_path / "build" / "node_roundtrip")

    code, output = run_flow(tmp_path / "node_roundtrip.yml", timeout=150, env=dora_env())
    assert code == 0, output
    received = py_sink_summary(output)

    echoes = [r for r in received if r["id"] == "echo"]
    assert [e["params"]["seq"] for e in echoes] == list(range(ROUNDS)), output
    for echo in echoes:
        seq = echo["params"]["seq"]
        assert echo["type"] == "uint8"
        assert bytes(echo["values"]) == f"hello {seq}".encode()[::-1]
        params = echo["params"]
        assert params["label"] == "cxx:hello"
        assert params["scale"] == 3.0
        assert params["flag"] is (seq % 2 != 0)
        assert params["strict"] is True
    # each input's timestamp_ns() (nanoseconds since the epoch, past 2020) and in send order
    stamps = [e["params"]["input_ns"] for e in echoes]
    assert stamps[0] > 1_577_836_800 * 10**9 and stamps == sorted(stamps), stamps

    stats = [r for r in received if r["id"] == "stats"]
    assert [s["params"]["seq"] for s in stats] == list(range(ROUNDS)), output
    for stat in stats:
        assert stat["type"] == "double"
        assert stat["values"] == [stat["params"]["seq"] + 2.25, 3.0]
        assert stat["params"]["format_checked"] is True

    (report,) = [r["values"] for r in received if r["id"] == "report"]
    assert report[0].startswith("ticks=") and int(report[0].removeprefix("ticks=")) > 0
    error = report[1].removeprefix("error=")
    assert error != "none" and "no-such-output" in error, report
    assert report[2] == "node=cxx"
    assert len(report[3].removeprefix("dataflow=")) > 0
    # the exception's what() names the call too, and the log record came through
    assert 'cxx: caught dora::Error: send_output("no-such-output"): ' in output
    assert "cxx: sending the report" in output


@pytest.fixture
def lifecycle_flow(tmp_path: Path) -> Path:
    for name in ("node_lifecycle.yml", "py_waiter.py"):
        shutil.copy(CXX_SOURCES / name, tmp_path / name)
    (tmp_path / "build").mkdir()
    compile_cxx([CXX_SOURCES / "node_lifecycle.cc"], tmp_path / "build" / "node_lifecycle")
    return tmp_path / "node_lifecycle.yml"


@pytest.mark.timeout(180)
def test_cxx_node_timeouts_samples_and_end_of_stream(lifecycle_flow: Path) -> None:
    code, output = run_flow(lifecycle_flow, timeout=150, env=dora_env())
    assert code == 0, output
    line = next(ln for ln in output.splitlines() if "py_waiter: " in ln)
    received = json.loads(line.split("py_waiter: ", 1)[1])
    # the sample arrived whole with its params; the first next(20ms) had timed out
    assert received == {
        "type": "uint8",
        "data": "abcde",
        "timed_out": True,
        "restarts": 0,
        "blob": [1, 2, 255],
    }
    results = next(ln for ln in output.splitlines() if "lifecycle: " in ln)
    # a sample sent on an unknown output throws and is consumed; once the waiter is gone
    # the stream ends (next() -> nullopt, finished()) after its INPUT_CLOSED
    assert "timed_out=1 sample_error=1 consumed=1 finished=1" in results
    # then the stop that ends it, with its cause as the event's text
    assert "kinds=INPUT_CLOSED,STOP:ALL_INPUTS_CLOSED," in results


@pytest.mark.timeout(60)
def test_cxx_node_outside_a_dataflow_throws(lifecycle_flow: Path) -> None:
    program = lifecycle_flow.parent / "build" / "node_lifecycle"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DORA_")}
    result = subprocess.run([program], env=env, capture_output=True, text=True, timeout=30)
    # dora::Node's constructor threw dora::Error with the C library's reason
    assert result.returncode == 3, result.stdout + result.stderr
    assert "lifecycle: init_dora_context_from_env: " in result.stderr
    assert "DORA_NODE_CONFIG" in result.stderr


@pytest.mark.timeout(300)
def test_cxx_nodes_are_clean_under_sanitizers(tmp_path: Path) -> None:
    # Ownership in the wrapper (events, Arrow arrays, samples, params, the node) under
    # AddressSanitizer with leak detection and UBSan: a double free, a leak or undefined
    # behaviour ends the node non-zero, which fails the run.
    for name in ("node_roundtrip.yml", "node_lifecycle.yml", *PYTHON_NODES):
        shutil.copy(CXX_SOURCES / name, tmp_path / name)
    (tmp_path / "build").mkdir()
    for program in ("node_roundtrip", "node_lifecycle"):
        compile_cxx(
            [CXX_SOURCES / f"{program}.cc"],
            tmp_path / "build" / program,
            std="c++20",
            sanitize=True,
        )
    for flow in ("node_roundtrip.yml", "node_lifecycle.yml"):
        code, output = run_flow(tmp_path / flow, timeout=120, env=dora_env())
        assert code == 0, output
        assert "Sanitizer" not in output and "runtime error" not in output, output
