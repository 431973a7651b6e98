"""Completion helpers: shell detection, dataflow-file and node-id candidates."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.shell_completion import ShellComplete

from dora_cli.completion import (
    complete_dataflow_files,
    complete_node_ids,
    detect_shell,
    node_ids_of,
)

FLOW = "nodes:\n  - id: camera\n    path: c.py\n  - id: controller\n    path: d.py\n  - id: viz\n"


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        ("/bin/bash", "bash"),
        ("/usr/bin/zsh", "zsh"),
        ("/usr/local/bin/fish", "fish"),
        ("/usr/bin/pwsh", "powershell"),
        ("/usr/bin/elvish", "elvish"),
        ("/bin/sh", None),
        ("", None),
    ],
)
def test_detect_shell(shell: str, expected: str | None) -> None:
    assert detect_shell({"SHELL": shell}) == expected


def test_node_ids_of_reads_yaml_even_if_incomplete(tmp_path: Path) -> None:
    flow = tmp_path / "flow.yml"
    flow.write_text(FLOW)  # `viz` has no path: invalid dataflow, still completes
    assert node_ids_of(flow) == ["camera", "controller", "viz"]
    flow.write_text("nodes: [\n")
    assert node_ids_of(flow) == []
    assert node_ids_of(tmp_path / "absent.yml") == []
    assert node_ids_of(tmp_path / "notes.txt") == []


@click.command()
@click.argument("dataflow", type=click.Path(), shell_complete=complete_dataflow_files)
@click.argument("node", shell_complete=complete_node_ids)
def logs(dataflow: str, node: str) -> None:
    """A stand-in command using both hooks."""


def candidates(args: list[str], incomplete: str) -> list[str]:
    completer = ShellComplete(logs, {}, "dora-logs", "_DORA_LOGS_COMPLETE")
    return [item.value for item in completer.get_completions(args, incomplete)]


def test_node_ids_complete_from_the_dataflow_argument(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flow.yml").write_text(FLOW)
    monkeypatch.chdir(tmp_path)
    assert candidates(["flow.yml"], "c") == ["camera", "controller"]
    assert candidates(["flow.yml"], "") == ["camera", "controller", "viz"]
    assert candidates(["missing.yml"], "c") == []


def test_dataflow_files_and_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dataflow.yml").write_text(FLOW)
    (tmp_path / "other.yaml").write_text(FLOW)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "dataflow.yml").write_text(FLOW)
    (tmp_path / ".hidden").mkdir()
    monkeypatch.chdir(tmp_path)
    assert candidates([], "") == ["dataflow.yml", "demo/", "other.yaml"]
    assert candidates([], "d") == ["dataflow.yml", "demo/"]
    assert candidates([], "demo/") == ["demo/dataflow.yml"]
    assert candidates([], ".") == [".hidden/"]
    absolute = f"{tmp_path}/demo/d"
    assert candidates([], absolute) == [f"{tmp_path}/demo/dataflow.yml"]


def test_dataflow_files_fall_back_to_shell_file_completion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    completer = ShellComplete(logs, {}, "dora-logs", "_DORA_LOGS_COMPLETE")
    (item,) = completer.get_completions([], "nothing-here")
    assert (item.type, item.value) == ("file", "nothing-here")
