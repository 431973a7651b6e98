"""The dora-templates package: file lists, substitution, and generated code quality."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dora_templates import LANGUAGES, PYTHON_DATAFLOW_NODES, Variables, render

from dora_message.load import parse_descriptor
from dora_message.sources import TimerSource, input_source_of, parse_input_source

VARS = Variables("my-robot", "my_robot", "dora-node-api>=0.1.0,<0.2")

NODE_FILES = [
    "README.md",
    "my_robot/__init__.py",
    "my_robot/__main__.py",
    "my_robot/main.py",
    "pyproject.toml",
    "tests/test_my_robot.py",
]


def write(files: dict[str, str], root: Path) -> Path:
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def test_languages_with_templates() -> None:
    # cxx joins once its folder is shipped (the C++ templates come separately).
    assert LANGUAGES[:2] == ("python", "c")
    assert set(LANGUAGES) <= {"python", "c", "cxx"}
    with pytest.raises(ValueError, match="rust"):
        render("rust", "node", VARS)
    with pytest.raises(ValueError, match="operator"):
        render("python", "operator", VARS)


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "python"])
def test_compiled_language_dataflows_build_with_dora_c_api(lang: str) -> None:
    for kind in ("dataflow", "node"):
        files = render(lang, kind, VARS)
        flow = parse_descriptor(files["dataflow.yml"], "dataflow.yml")
        builds = [node.build for node in flow.nodes] + [
            op.build for node in flow.nodes for op in node.operators or []
        ]
        assert any(build and "dora c-api" in build for build in builds), kind
        assert "README.md" in files


def test_python_node_files_and_substitution() -> None:
    files = render("python", "node", VARS)
    assert sorted(files) == NODE_FILES
    assert all("{{" not in text for text in files.values())
    pyproject = files["pyproject.toml"]
    assert 'name = "my-robot"' in pyproject
    assert '"dora-node-api>=0.1.0,<0.2"' in pyproject
    assert '"my-robot" = "my_robot.main:main"' in pyproject
    assert "from my_robot.main import main, run" in files["tests/test_my_robot.py"]
    assert "from dora import Node" in files["my_robot/main.py"]


def test_python_dataflow_files_and_topology() -> None:
    files = render("python", "dataflow", VARS)
    expected = {"dataflow.yml", "README.md", "pyproject.toml"}
    for package, module, _, _ in PYTHON_DATAFLOW_NODES:
        expected |= {
            f"{package}/{name.replace('my_robot', module)}"
            for name in NODE_FILES
            if not name.startswith("tests/")
        }
        expected.add(f"{package}/tests/test_{module}.py")
    assert set(files) == expected
    assert all("{{" not in text for text in files.values())
    flow = parse_descriptor(files["dataflow.yml"], "dataflow.yml")
    nodes = {node.id: node for node in flow.nodes}
    assert list(nodes) == [node_id for _, _, node_id, _ in PYTHON_DATAFLOW_NODES]
    assert nodes["talker_1"].path == "talker-1/talker_1/main.py"
    assert nodes["talker_1"].build is None  # runs at once: nothing to build
    assert parse_input_source(input_source_of(nodes["talker_1"].inputs["tick"])) == TimerSource(
        100_000_000
    )
    assert parse_input_source(input_source_of(nodes["talker_2"].inputs["tick"])) == TimerSource(
        2_000_000_000
    )
    assert nodes["listener_1"].inputs == {
        "speech-1": "talker_1/speech",
        "speech-2": "talker_2/speech",
    }
    assert 'members = ["talker-1", "talker-2", "listener-1"]' in files["pyproject.toml"]
    assert "Hello World" in files["talker-1/talker_1/main.py"]


@pytest.mark.parametrize("kind", ["node", "dataflow"])
def test_generated_python_is_ruff_clean(kind: str, tmp_path: Path) -> None:
    root = write(render("python", kind, VARS), tmp_path / "project")
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["node", "dataflow"])
def test_generated_tests_pass(kind: str, tmp_path: Path) -> None:
    """The generated tests run green, including 'Node() fails outside a dataflow'."""
    root = write(render("python", kind, VARS), tmp_path / "project")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DORA_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected = "2 passed" if kind == "node" else "6 passed"
    assert expected in result.stdout
