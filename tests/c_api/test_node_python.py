"""C and Python nodes in one dataflow, both ways: small byte payloads and metadata
parameters survive the trip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.c_api.conftest import NODES, CompileC
from tests.procs import run_dora

pytestmark = pytest.mark.integration


def flow(tmp_path: Path, text: str, scripts: list[str]) -> Path:
    for script in scripts:
        shutil.copy(NODES / script, tmp_path / script)
    path = tmp_path / "dataflow.yml"
    path.write_text(text)
    return path


@pytest.mark.timeout(120)
def test_python_to_c_and_back_with_metadata(tmp_path: Path, compile_c: CompileC) -> None:
    echo = compile_c(["c_echo.c"], "c_echo")
    path = flow(
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
        ["py_pinger.py"],
    )
    result = run_dora(["run", str(path)], cwd=tmp_path, timeout=100)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "pinger: all replies ok" in out, out
    assert "c_echo: got 6 bytes: ping-4" in out
    assert "c_echo: param tags=[1,2,3]" in out
    assert "c_echo: param ratio=0.25" in out
    assert 'c_echo: param name="alpha"' in out
    assert "c_echo: done" in out


@pytest.mark.timeout(120)
def test_c_to_python_with_metadata(tmp_path: Path, compile_c: CompileC) -> None:
    source = compile_c(["c_source.c"], "c_source")
    path = flow(
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
        ["py_collect.py"],
    )
    result = run_dora(["run", str(path)], cwd=tmp_path, timeout=100)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    for i in range(3):
        expected = list(f"hi {i}".encode())
        meta = {"i": i, "half": i / 2, "even": i % 2 == 0, "who": "c_source", "raw": b"\x01\x02"}
        assert f"collect: text uint8 {expected} {meta}" in out, out
    assert "collect: stop ALL_INPUTS_CLOSED" in out
