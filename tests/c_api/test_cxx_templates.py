"""The C++ templates (dora_templates/cxx): every generated source compiles warning-free
as C++17 and C++20, and the generated dataflow (C++ node -> C++ operator -> C++ sink) and
node project build with their own `build:` lines and run with `dora run`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from dora_templates import Variables, render

import dora_node_api_c as api
from tests.c_api.helpers import STRICT, cxx_compiler, dora_env, run_flow

VARS = Variables("my robot", "my_robot", "unused")


def generate(kind: str, root: Path) -> Path:
    for relative, text in render("cxx", kind, VARS).items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def test_cxx_template_file_lists() -> None:
    assert sorted(render("cxx", "dataflow", VARS)) == [
        "README.md",
        "counter/node.cc",
        "dataflow.yml",
        "sink/node.cc",
        "transform/operator.cc",
    ]
    node = render("cxx", "node", VARS)
    assert sorted(node) == ["README.md", "dataflow.yml", "node.cc"]
    assert "id: my_robot" in node["dataflow.yml"]
    assert "{{" not in "".join(node.values())


@pytest.mark.timeout(180)
@pytest.mark.parametrize("std", ["c++17", "c++20"])
@pytest.mark.parametrize("kind", ["dataflow", "node"])
def test_cxx_template_sources_compile(kind: str, std: str, tmp_path: Path) -> None:
    root = generate(kind, tmp_path)
    for source in sorted(root.rglob("*.cc")):
        command = [cxx_compiler(), f"-std={std}", *STRICT, *api.cflags()]
        command += ["-fsyntax-only", str(source)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{source.relative_to(root)}:\n{result.stderr}"


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_cxx_dataflow_template_runs(tmp_path: Path) -> None:
    cxx_compiler()  # skips without one (the build lines call c++)
    root = generate("dataflow", tmp_path / "project")
    code, output = run_flow("dataflow.yml", cwd=root, timeout=360, env=dora_env())
    assert code == 0, output
    # dora prefixes each line with the node's id: the programs print none of their own
    assert "sink: 1 doubled is 2" in output
    assert "sink: 20 doubled is 40" in output
    assert "sink: received 20 messages" in output
    assert "transform: saw 20 counts" in output


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_cxx_node_template_runs(tmp_path: Path) -> None:
    cxx_compiler()  # skips without one (the build lines call c++)
    root = generate("node", tmp_path / "project")
    code, output = run_flow(
        "dataflow.yml", "--stop-after", "5s", cwd=root, timeout=360, env=dora_env()
    )
    assert code == 0, output
    assert "my_robot: node `my_robot` of dataflow" in output
    assert "my_robot: input `tick`" in output
    assert "my_robot: stop received" in output
