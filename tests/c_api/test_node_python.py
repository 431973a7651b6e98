"""C and Python nodes in one dataflow, both ways: small byte payloads and metadata
parameters survive the trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.c_api.helpers import NODES, run_flow, write_flow

pytestmark = pytest.mark.integration


@pytest.mark.timeout(120)
def test_python_to_c_and_back_with_metadata(tmp_path: Path, compile_c: CompileC) -> None:
    echo = compile_c(["c_echo.c"], "c_echo")
    flow = write_flow(
        tmp_path,
        f"""nodes:
  - id: pinger
    path: py_pinger.py
    inputs:
      back: echo/out
    outputs:
      - ping
  - id: echo
    path: {echo}
    inputs:
      in: pinger/ping
    outputs:
      - out
""",
        [NODES / "py_pinger.py"],
    )
    code, out = run_flow(flow, cwd=tmp_path, timeout=100)
    assert code == 0, out
    assert "pinger: all replies ok" in out, out
    assert "c_echo: got 6 bytes: ping-4" in out
    assert "c_echo: param tags=[1,2,3]" in out
    assert "c_echo: param ratio=0.25" in out
    assert 'c_echo: param name="alpha"' in out
    assert "c_echo: done" in out


@pytest.mark.timeout(120)
def test_c_to_python_with_metadata(tmp_path: Path, compile_c: CompileC) -> None:
    source = compile_c(["c_source.c"], "c_source")
    flow = write_flow(
        tmp_path,
        f"""nodes:
  - id: source
    path: {source}
    outputs:
      - text
  - id: collect
    path: py_collect.py
    inputs:
      text: source/text
""",
        [NODES / "py_collect.py"],
    )
    code, out = run_flow(flow, cwd=tmp_path, timeout=100)
    assert code == 0, out
    for i in range(3):
        expected = list(f"hi {i}".encode())
        meta = {"i": i, "half": i / 2, "even": i % 2 == 0, "who": "c_source", "raw": b"\x01\x02"}
        assert f"collect: text uint8 {expected} {meta}" in out, out
    assert "collect: stop ALL_INPUTS_CLOSED" in out


@pytest.mark.timeout(120)
def test_c_to_python_encoding_edges(tmp_path: Path, compile_c: CompileC) -> None:
    """Every msgpack width the C sender writes (integers, str/bin headers, maps past 15
    entries, long keys, payload headers) decodes in Python as it was sent."""
    edges = compile_c(["c_edges.c"], "c_edges")
    flow = write_flow(
        tmp_path,
        f"""nodes:
  - id: source
    path: {edges}
    outputs:
      - edges
  - id: check
    path: py_edges.py
    inputs:
      edges:
        source: source/edges
        queue_size: 100
""",
        [NODES / "py_edges.py"],
    )
    code, out = run_flow(flow, cwd=tmp_path, timeout=100)
    assert code == 0, out
    assert "c_edges: sent 60, 0 failures" in out, out
    assert "edges: 60 messages, 0 bad" in out, out
