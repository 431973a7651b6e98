"""Nodes that live in their own venvs (docs/node-venvs.md).

A venv's ``bin/python`` is a symlink to the base interpreter: the daemon must start the
link itself, or the node runs in the base Python without the venv's packages. A node
whose ``path`` is an entry point installed in a venv runs with that venv (its shebang),
found on the ``PATH`` of the node's own ``env`` or given as an absolute path.

The integration test makes two venvs that hold only the node API (from the workspace
sources, installed non-editable), and runs one dataflow whose nodes live in them; the
release check (scripts/release-check, step ``node-venvs``) does the same from built wheels.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dora_daemon.resolve import resolve_dataflow
from tests.daemon.helpers import descriptor

REPO = Path(__file__).resolve().parents[2]
PROJECT = Path(__file__).parent / "node_venv_project"
DORA = Path(sys.executable).parent / "dora"
sys.path.insert(0, str(REPO / "scripts"))

from release_check.steps import node_venv_dataflow, node_venv_expected  # noqa: E402


def _resolve_argv(flow: Path, node: dict[str, object]) -> tuple[str, ...]:
    resolved = resolve_dataflow(
        descriptor([node]),
        flow,
        dataflow_id="11111111-2222-3333-4444-555555555555",
        daemon_address="\0dora-daemon-test",
        host_env={"PATH": "/usr/bin"},
        parent_pid=4242,
        python="/daemon/python",
    )
    return resolved.nodes[str(node["id"])].argv


def test_an_interpreter_symlink_is_started_as_written(tmp_path: Path) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    argv = _resolve_argv(tmp_path, {"id": "n", "path": "venv/bin/../bin/python", "args": "node.py"})
    assert argv == (str(bin_dir / "python"), "node.py")


def test_a_py_path_runs_with_the_daemons_python(tmp_path: Path) -> None:
    (tmp_path / "node.py").write_text("")
    argv = _resolve_argv(tmp_path, {"id": "n", "path": "node.py"})
    assert argv == ("/daemon/python", "-u", str(tmp_path / "node.py"))


def _base_python() -> str:
    """The interpreter the workspace venv was made from (a venv needs a real base)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def _node_venv(where: Path, *extra: Path) -> Path:
    """A venv holding the node API (non-editable, from the workspace) and ``extra``."""
    subprocess.run(
        ["uv", "venv", "-q", "--python", _base_python(), str(where)],
        check=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    packages = [REPO / "packages" / "dora-message", REPO / "packages" / "dora-node-api", *extra]
    subprocess.run(
        ["uv", "pip", "install", "-q", "--python", str(where / "bin" / "python")]
        + [str(p) for p in packages],
        check=True,
        cwd=where,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )
    return where


@pytest.mark.integration
@pytest.mark.timeout(300)
@pytest.mark.skipif(shutil.which("uv") is None, reason="needs uv to make the node venvs")
def test_nodes_run_in_their_own_venvs(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    sender_venv = _node_venv(tmp_path / "sender-venv")
    receiver_venv = _node_venv(tmp_path / "receiver-venv", project)
    (project / "dataflow.yml").write_text(node_venv_dataflow(sender_venv, receiver_venv))
    done = subprocess.run(
        [str(DORA), "run", "dataflow.yml", "--stop-after", "60s"],
        cwd=project,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for expected in node_venv_expected(sender_venv, receiver_venv):
        assert expected in output


def test_an_absolute_entry_point_runs_with_its_venv(tmp_path: Path) -> None:
    entry = tmp_path / "venv" / "bin" / "my-node"
    entry.parent.mkdir(parents=True)
    entry.write_text(f"#!{tmp_path}/venv/bin/python\n")
    argv = _resolve_argv(tmp_path, {"id": "n", "path": str(entry), "args": ["--x"]})
    assert argv == (str(entry), "--x")
