"""`dora new`, `dora graph` and `dora completion` through the real CLI (subprocesses)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dora_cli.graph.mermaid import render_mermaid
from dora_message.load import load_descriptor
from tests.procs import DoraProcess, run_dora, wait_gone

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "python-dataflow" / "dataflow.yml"
DORA_BIN = Path(sys.executable).parent / "dora"


# --- dora new ---------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_new_python_dataflow_runs_at_once(tmp_path: Path) -> None:
    created = run_dora(["new", "demo", "--lang", "python"], cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "Created new Python dataflow `demo` at ./demo" in created.stdout
    project = tmp_path / "demo"
    assert (project / "dataflow.yml").is_file()

    run = DoraProcess(["run", "dataflow.yml", "--stop-after", "3s"], cwd=project)
    try:
        run.wait_for_line("I heard Hello World from speech-1", timeout=60)
        nodes = run.descendants()
        code = run.wait(timeout=60)
        assert code == 0, run.output
        assert not wait_gone(nodes, timeout=10), "node processes outlived `dora run`"
    finally:
        run.kill_tree()


def test_new_python_node_package(tmp_path: Path) -> None:
    result = run_dora(["new", "my cam", "--kind", "node", "--lang", "python"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    package = tmp_path / "my-cam"
    assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == [
        "README.md",
        "my_cam/__init__.py",
        "my_cam/__main__.py",
        "my_cam/main.py",
        "pyproject.toml",
        "tests/test_my_cam.py",
    ]
    assert "uv sync" in result.stdout and "uv run pytest ." in result.stdout


def test_new_with_path(tmp_path: Path) -> None:
    target = tmp_path / "somewhere" / "else"
    target.parent.mkdir()
    result = run_dora(["new", "flow", "--path", str(target)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (target / "dataflow.yml").is_file()
    assert not (tmp_path / "flow").exists()


def test_new_help_lists_the_languages() -> None:
    result = run_dora(["new", "--help"])
    assert result.returncode == 0
    text = " ".join(result.stdout.split())  # undo click's line wrapping
    assert "[rust|python|c|cxx]" in text
    assert "Rust is refused: this implementation has no Rust node API" in text
    assert "--lang c" in text


@pytest.mark.parametrize("name", ["a/b", "héllo", "1abc", "class", ""])
def test_new_rejects_bad_names(tmp_path: Path, name: str) -> None:
    result = run_dora(["new", name], cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    assert "error:" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_new_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine")
    result = run_dora(["new", "demo"], cwd=tmp_path)
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["keep.txt"]


# --- dora graph -------------------------------------------------------------------------


def test_graph_writes_a_self_contained_page_next_to_the_yaml(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yml"
    shutil.copy(EXAMPLE, flow)
    result = run_dora(["graph", str(flow)], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    page = tmp_path / "flow.html"
    assert result.stdout.strip() == page.resolve().as_uri()
    html = page.read_text()
    for node in load_descriptor(flow).nodes:
        assert f'data-id="{node.id}"' in html and f">{node.id}<" in html
    assert "millis/100" in html
    assert not re.search(r"https?://", html)
    assert "<script" not in html


def test_graph_output_option_and_overwrite_rules(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yml"
    shutil.copy(EXAMPLE, flow)
    page = tmp_path / "flow.html"
    page.write_text("<html>my own notes</html>")
    refused = run_dora(["graph", str(flow)])
    assert refused.returncode == 1 and "-o" in refused.stderr
    assert page.read_text() == "<html>my own notes</html>"

    other = tmp_path / "out" / "graph.html"
    other.parent.mkdir()
    assert run_dora(["graph", str(flow), "-o", str(other)]).returncode == 0
    assert "<svg" in other.read_text()

    page.unlink()
    assert run_dora(["graph", str(flow)]).returncode == 0
    first = page.read_text()
    again = run_dora(["graph", str(flow)])  # our own page may be replaced
    assert again.returncode == 0 and page.read_text() == first


def test_graph_mermaid_prints_the_text_only_on_stdout(tmp_path: Path) -> None:
    result = run_dora(["graph", str(EXAMPLE), "--mermaid"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == render_mermaid(load_descriptor(EXAMPLE))
    assert result.stdout.startswith("flowchart TB\n")
    assert "  sender -- counter --> transform" in result.stdout
    assert "mermaid" in result.stderr
    assert list(tmp_path.iterdir()) == []  # no HTML written


def test_graph_groups_the_nodes_of_each_module(tmp_path: Path) -> None:
    (tmp_path / "echo.module.yml").write_text(
        "module:\n  name: echo\n  inputs: [data_in]\n  outputs: [data_out]\n"
        "nodes:\n  - id: passthrough\n    path: echo.py\n"
        "    inputs:\n      incoming: _mod/data_in\n    outputs: [data_out]\n"
    )
    flow = tmp_path / "dataflow.yml"
    flow.write_text(
        "nodes:\n  - id: source\n    path: source.py\n    outputs: [number]\n"
        "  - id: my_echo\n    module: echo.module.yml\n    inputs:\n      data_in: source/number\n"
        "  - id: sink\n    path: sink.py\n    inputs:\n      result: my_echo/data_out\n"
    )
    result = run_dora(["graph", str(flow), "--mermaid"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:4] == [
        "subgraph my_echo [my_echo]",
        '  my_echo.passthrough["**my_echo.passthrough**"]',
        "end",
    ]
    assert run_dora(["graph", str(flow)]).returncode == 0
    assert "module my_echo" in (tmp_path / "dataflow.html").read_text()


def test_graph_errors(tmp_path: Path) -> None:
    missing = run_dora(["graph", str(tmp_path / "nope.yml")])
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("nodes:\n  - id: a\n    path: a.py\n    inputs:\n      x: ghost/out\n")
    invalid = run_dora(["graph", str(bad)])
    assert invalid.returncode == 1 and "ghost" in invalid.stderr
    both = run_dora(["graph", str(EXAMPLE), "--mermaid", "--open"])
    assert both.returncode == 2


# --- dora completion --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _dora_completion dora"),
        ("zsh", "#compdef dora"),
        ("fish", "complete --no-files --command dora"),
    ],
)
def test_completion_scripts(shell: str, marker: str) -> None:
    result = run_dora(["completion", shell])
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert f"_DORA_COMPLETE={shell}_complete" in result.stdout


@pytest.mark.parametrize("shell", ["elvish", "powershell"])
def test_completion_shells_click_cannot_do(shell: str) -> None:
    result = run_dora(["completion", shell])
    assert result.returncode == 1
    assert f"{shell} completion is not supported by click" in result.stderr
    assert result.stdout == ""


def test_completion_detects_the_shell_from_SHELL() -> None:
    zsh = run_dora(["completion"], env={"SHELL": "/usr/bin/zsh"})
    assert zsh.returncode == 0 and zsh.stdout.startswith("#compdef dora")
    unknown = run_dora(["completion"], env={"SHELL": "/bin/sh"})
    assert unknown.returncode == 1 and "dora completion bash|zsh|fish" in unknown.stderr


def test_completion_protocol_answers_commands_and_dataflow_files(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "dataflow.yml")
    env = {"_DORA_COMPLETE": "bash_complete", "COMP_WORDS": "dora gra", "COMP_CWORD": "1"}
    commands = run_dora([], cwd=tmp_path, env=env)
    assert commands.stdout.splitlines() == ["plain,graph"]
    env = {"_DORA_COMPLETE": "bash_complete", "COMP_WORDS": "dora graph da", "COMP_CWORD": "2"}
    files = run_dora([], cwd=tmp_path, env=env)
    assert files.stdout.splitlines() == ["plain,dataflow.yml"]


@pytest.mark.skipif(not DORA_BIN.exists() or not shutil.which("bash"), reason="needs bash")
def test_bash_script_completes_in_a_real_bash(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "dataflow.yml")
    script = (
        "source <(dora completion bash)\n"
        "COMP_WORDS=(dora gra); COMP_CWORD=1; COMPREPLY=(); _dora_completion dora\n"
        'echo "commands: ${COMPREPLY[*]}"\n'
        "COMP_WORDS=(dora graph data); COMP_CWORD=2; COMPREPLY=(); _dora_completion dora\n"
        'echo "files: ${COMPREPLY[*]}"\n'
    )
    env = {**os.environ, "PATH": f"{DORA_BIN.parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "commands: graph" in result.stdout
    assert "files: dataflow.yml" in result.stdout
