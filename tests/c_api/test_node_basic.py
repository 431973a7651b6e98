"""A C node in dora-rs's example style runs in a dataflow (compiled as C and as C++):
timer -> C node -> C sink."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.c_api.conftest import CompileC
from tests.c_api.helpers import run_flow, write_flow

pytestmark = pytest.mark.integration


def timer_node_sink_flow(tmp_path: Path, node: Path, sink: Path) -> Path:
    return write_flow(
        tmp_path,
        f"""nodes:
  - id: c-node
    path: {node}
    inputs:
      tick: dora/timer/millis/20
    outputs:
      - message
  - id: c-sink
    path: {sink}
    inputs:
      message: c-node/message
""",
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("lang", ["c", "cxx"])
def test_c_node_timer_to_c_sink(tmp_path: Path, compile_c: CompileC, lang: str) -> None:
    node = compile_c(["c_node.c"], f"c_node_{lang}", lang=lang)
    sink = compile_c(["c_sink.c"], f"c_sink_{lang}", lang=lang)
    flow = timer_node_sink_flow(tmp_path, node, sink)
    code, out = run_flow(flow, cwd=tmp_path, timeout=100)
    assert code == 0, out
    for n in range(10):
        assert f"c_sink: input message: message {n}" in out, out
    assert "c_node: sent 10 messages" in out
    assert "c_sink: closed message" in out
    assert "c_sink: done after 10 inputs" in out


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    "source",
    ["c_echo.c", "c_source.c", "c_big.c", "c_arrow.c", "c_watch.c", "c_misuse.c", "stress_rx.c"],
)
def test_extension_header_compiles_as_cxx(compile_c: CompileC, source: str) -> None:
    """dora_node_api.h (extensions, Arrow C Data Interface) is warning-free C++ too."""
    assert compile_c([source], f"cxx_{source[:-2]}", lang="cxx").exists()
