"""Arrow C Data Interface: flat arrays with nulls from Python are read by a C node with
dora_event_arrow and sent back with dora_send_output_arrow, equal; a nested type is an
error naming it; a 1 MB allocate-then-fill sample arrives intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.c_api.helpers import NODES, run_flow, write_flow

pytestmark = pytest.mark.integration


@pytest.mark.timeout(120)
def test_arrow_arrays_round_trip_through_c(tmp_path: Path, compile_c: CompileC) -> None:
    node = compile_c(["c_arrow.c"], "c_arrow")
    flow = write_flow(
        tmp_path,
        f"""nodes:
  - id: py
    path: py_arrow.py
    inputs:
      back:
        source: c/back
        queue_size: 100
      filled: c/filled
    outputs:
      - arrays
      - nested
      - fill
  - id: c
    path: {node}
    inputs:
      arrays:
        source: py/arrays
        queue_size: 100
      nested: py/nested
      fill: py/fill
    outputs:
      - back
      - filled
""",
        [NODES / "py_arrow.py"],
    )
    code, out = run_flow(flow, cwd=tmp_path, timeout=100)
    assert code == 0, out
    for n, fmt in enumerate(
        [
            "g",
            "i",
            "u",
            "l",
            "u",
            "b",
            "z",
            "U",
            "w:3",
            "C",
            "tdD",
            "tsu:",
            "tsn:UTC",
            "tDm",
            "ttn",
            "n",
            "g",
        ]
    ):
        assert f"py_arrow: array {n} " in out and f"equal True format {fmt}" in out, (n, out)
    assert out.count("equal True") == 17, out
    assert "equal False" not in out
    assert "c_arrow: g length 4 nulls 1 offset 0" in out
    assert "c_arrow: l length 3 nulls 1 offset 2" in out
    assert "c_arrow: g length 100000 nulls 14286 offset 0" in out
    assert "c_arrow: error: input `nested` carries an Arrow list array" in out, out
    assert "py_arrow: filled 1 MB intact True" in out
