"""A C++ operator (dora_operator_api.hpp's DORA_OPERATOR) runs in an operator runtime node
between Python nodes; an exception it throws is reported with its text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.c_api.helpers import CXX_SOURCES, compile_cxx, dora_env, py_sink_summary, run_flow

pytestmark = pytest.mark.integration

ROUNDS = 5  # py_source.py's


def run_with_doubler(tmp_path: Path, flow: str) -> tuple[int, str]:
    """``cxx/<flow>`` run to its end under ``tmp_path``, with its Python nodes and the C++
    doubler operator (``operator_doubler.cc``) built: exit code and output."""
    for name in (flow, "py_source.py", "py_sink.py"):
        shutil.copy(CXX_SOURCES / name, tmp_path / name)
    (tmp_path / "build").mkdir()
    compile_cxx(
        [CXX_SOURCES / "operator_doubler.cc"],
        tmp_path / "build" / "libdoubler.so",
        library="operator",
        shared=True,
    )
    return run_flow(tmp_path / flow, timeout=150, env=dora_env())


@pytest.mark.timeout(180)
def test_cxx_operator_transforms_python_messages(tmp_path: Path) -> None:
    code, output = run_with_doubler(tmp_path, "operator_doubler.yml")
    assert code == 0, output
    received = py_sink_summary(output)

    doubled = [r for r in received if r["id"] == "doubled"]
    assert [d["type"] for d in doubled] == ["double"] * ROUNDS, output
    assert [d["values"] for d in doubled] == [[2.0 * n, 4.0, 0.5] for n in range(ROUNDS)]
    upper = [r for r in received if r["id"] == "upper"]
    assert [u["type"] for u in upper] == ["uint8"] * ROUNDS, output
    assert [bytes(u["values"]) for u in upper] == [f"HELLO {n}".encode() for n in range(ROUNDS)]
    assert "doubler: init" in output
    assert f"doubler: dropped after {2 * ROUNDS} inputs" in output


@pytest.mark.timeout(180)
def test_cxx_operator_exception_is_reported(tmp_path: Path) -> None:
    code, output = run_with_doubler(tmp_path, "operator_boom.yml")
    # DORA_OPERATOR turned the exception into the call's error result: the runtime names
    # the operator and quotes what(), and the operator was still dropped (no unwinding
    # into the runtime, no crash)
    assert code != 0, output
    assert "operator `doubler` returned an error: doubler: boom on purpose" in output
    assert "doubler: dropped after 1 inputs" in output


@pytest.mark.timeout(180)
def test_cxx_operator_constructor_exception_is_reported(tmp_path: Path) -> None:
    code, output = run_with_doubler(tmp_path, "operator_init_fails.yml")
    # dora_init_operator returned the exception's text as its error
    assert code != 0, output
    assert "operator `doubler` failed to initialize: doubler: cannot start" in output
    assert "doubler: init" not in output
