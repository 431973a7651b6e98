"""Bad descriptors: one clear error naming the place, non-zero exit, nothing started."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.procs import run_dora

CASES = {
    "unknown node key": (
        "nodes:\n  - id: a\n    path: a.py\n    ouputs: [x]\n",
        ["nodes[0]", "ouputs", "outputs"],
    ),
    "unknown source node": (
        "nodes:\n  - id: a\n    path: a.py\n    inputs:\n      x: ghost/out\n",
        ["nodes[0].inputs.x", "ghost"],
    ),
    "undeclared output": (
        "nodes:\n  - id: a\n    path: a.py\n    outputs: [o]\n"
        "  - id: b\n    path: b.py\n    inputs:\n      x: a/missing\n",
        ["nodes[1].inputs.x", "missing"],
    ),
    "bad timer": (
        "nodes:\n  - id: a\n    path: a.py\n    inputs:\n      t: dora/timer/weeks/1\n",
        ["nodes[0].inputs.t", "timer"],
    ),
    "duplicate id": (
        "nodes:\n  - id: a\n    path: a.py\n  - id: a\n    path: b.py\n",
        ["nodes[1]", "duplicate"],
    ),
    "bad restart policy": (
        "nodes:\n  - id: a\n    path: a.py\n    restart_policy: sometimes\n",
        ["nodes[0].restart_policy"],
    ),
    "yaml syntax": ("nodes:\n  - id: a\n   path: [\n", ["line"]),
    "missing node file": (
        "nodes:\n  - id: a\n    path: a.py\n",
        ["dataflow.yml: nodes[0].path", "a.py` does not exist"],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_descriptor_is_refused(tmp_path: Path, name: str) -> None:
    text, phrases = CASES[name]
    flow = tmp_path / "dataflow.yml"
    flow.write_text(text)
    result = run_dora(["run", str(flow)])
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3, result.stderr
    assert not (tmp_path / "out").exists(), "nothing may start"


def test_directory_instead_of_a_file_is_named(tmp_path: Path) -> None:
    result = run_dora(["run", str(tmp_path)])
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == f"error: dataflow file `{tmp_path}` is a directory"
