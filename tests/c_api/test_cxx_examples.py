"""The C++ examples run with `dora run`, built by their own `build:` lines (system c++,
flags from `dora c-api`): examples/cxx-dataflow (C++ node -> C++ operator -> C++ sink) and
examples/mixed-languages (Python -> C++ -> Python, 1 MiB frames through shared memory
without a copy, checked on both sides against /proc/self/maps)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.c_api.helpers import ROOT, cxx_compiler, dora_env, run_flow
from tests.procs import dataflow_leftovers

pytestmark = pytest.mark.integration


def copy_example(name: str, tmp_path: Path) -> Path:
    """A copy without what running it in place leaves (build/, out/); its dataflow.yml."""
    target = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, target, ignore=shutil.ignore_patterns("build", "out"))
    return target / "dataflow.yml"


def only_dataflow_id(base: Path) -> str:
    (dataflow_id,) = [p.name for p in (base / "out").iterdir()]
    return dataflow_id


@pytest.mark.timeout(400)
def test_cxx_dataflow_example_runs(tmp_path: Path) -> None:
    cxx_compiler()  # skips without one
    flow = copy_example("cxx-dataflow", tmp_path)
    # run from elsewhere: the build lines must run in the dataflow's directory
    code, output = run_flow(flow, cwd=tmp_path, timeout=360, env=dora_env())
    assert code == 0, output
    assert "[cxx node] sent 20 arrays, finished" in output
    # tick n sends [n, n/2, n*n]: the 20th sums to 20 + 10 + 400
    assert "[cxx sink] received `summary`: sum 430, running total 3185" in output
    assert "[cxx sink] received 20 summaries, finished" in output
    assert "[cxx operator] summed 20 arrays" in output
    assert not dataflow_leftovers(only_dataflow_id(flow.parent))


@pytest.mark.timeout(400)
def test_mixed_languages_example_is_zero_copy(tmp_path: Path) -> None:
    cxx_compiler()
    flow = copy_example("mixed-languages", tmp_path)
    code, output = run_flow(flow, cwd=tmp_path, timeout=360, env=dora_env())
    assert code == 0, output
    assert "camera: sent 20 frames of 1048576 bytes" in output
    # the C++ node read each frame in the camera's memfd and wrote it into its own
    assert "invert: 20 frames inverted, 20 of them read from and written to shared memory" in (
        output
    )
    # and the checker found each one intact, in a memfd mapping of its own process
    assert "checker: 20 frames, 20 intact, 20 in shared memory end to end" in output
    assert "was copied" not in output
    assert not dataflow_leftovers(only_dataflow_id(flow.parent))
