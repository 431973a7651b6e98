"""16 MB between a Python node and a C node, both ways, through shared memory: the
receiver reads the bytes in place (they lie in a memfd mapping) and they arrive intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.c_api.helpers import NODES, run_flow, write_flow

pytestmark = pytest.mark.integration


@pytest.mark.timeout(180)
def test_16mb_python_to_c_and_back_zero_copy(tmp_path: Path, compile_c: CompileC) -> None:
    big = compile_c(["c_big.c"], "c_big")
    flow = write_flow(
        tmp_path,
        f"""nodes:
  - id: py
    path: py_big.py
    inputs:
      back: c/back
      copy: c/copy
    outputs:
      - big
  - id: c
    path: {big}
    inputs:
      big: py/big
    outputs:
      - back
      - copy
""",
        [NODES / "py_big.py"],
    )
    code, out = run_flow(flow, cwd=tmp_path, timeout=160)
    assert code == 0, out
    for seq in range(3):
        assert f"c_big: got 16777216 bytes seq {seq}, 0 wrong, zero-copy yes" in out, out
        assert f"py_big: back {seq} intact True zero-copy True" in out, out
        assert f"py_big: copy {seq} intact True zero-copy True" in out, out
    assert "py_big: done" in out
    assert "c_big: done" in out


@pytest.mark.timeout(180)
def test_send_only_loop_reuses_its_pool(tmp_path: Path, compile_c: CompileC) -> None:
    """500 samples of 256 KiB from a node that never asks for events: the releases are
    read by the send calls, so the sender maps a bounded number of segments."""
    flood = compile_c(["sample_flood.c"], "sample_flood")
    sink = compile_c(["c_count.c"], "c_count")
    flow = write_flow(
        tmp_path,
        f"""nodes:
  - id: flood
    path: {flood}
    outputs:
      - data
  - id: sink
    path: {sink}
    inputs:
      data:
        source: flood/data
        queue_size: 1000
""",
    )
    code, out = run_flow(flow, cwd=tmp_path, timeout=160)
    assert code == 0, out
    assert "flood: sent 500 samples, 0 failures" in out, out
    segments = int(out.split("failures, ")[1].split(" shared-memory segments")[0])
    assert segments < 100, out
    # queue_size 1000 holds everything: nothing dropped, all bytes arrived
    assert f"count: 500 inputs, {500 * 256 * 1024} bytes" in out, out
