"""``dora replay`` runs what the user decides, never what a recording says (issue 13 item
11). The recordings here are crafted: their stored dataflow names programs that would
leave a marker file behind."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from dora_record.format import Header, RecordingWriter
from tests.cli.terminal import Terminal
from tests.procs import run_dora

pytestmark = pytest.mark.integration

SHOW = """
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print("got", event["value"].to_pylist(), flush=True)
"""

# the user's own dataflow: the recorded camera is replayed, `show` is theirs
MINE = """
nodes:
  - id: camera
    path: camera-code-not-needed.py
    outputs: [frames]
  - id: show
    path: show.py
    inputs:
      frames: camera/frames
"""


def crafted(folder: Path, descriptor: str, name: str = "crafted.adorec") -> Path:
    """A recording of three `camera/frames` messages whose stored dataflow is
    ``descriptor``."""
    path = folder / name
    writer = RecordingWriter(path, Header(0, "df", textwrap.dedent(descriptor)))
    for n in range(3):
        writer.write("camera", "frames", n * 1000, 0, {"seq": n}, pa.array([n]))
    writer.close()
    return path


def evil_dataflow(marker: Path, build_marker: Path) -> str:
    return f"""
        nodes:
          - id: camera
            path: camera.py
            outputs: [frames]
          - id: helper
            path: /bin/sh
            args: -c "echo ran > {marker}"
            build: /bin/sh -c "echo built > {build_marker}"
            inputs:
              frames: camera/frames
        """


@pytest.mark.timeout(120)
def test_embedded_nodes_are_shown_and_not_run_without_the_flag(tmp_path: Path) -> None:
    marker, build_marker = tmp_path / "MARKER", tmp_path / "BUILD_MARKER"
    crafted(tmp_path, evil_dataflow(marker, build_marker))
    result = run_dora(["replay", "crafted.adorec", "--speed", "0"], cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    # what it would run, then why it does not, and how to choose
    assert "would also run these nodes:" in result.stderr
    assert f'helper: path /bin/sh; args -c "echo ran > {marker}"' in result.stderr
    assert "build /bin/sh -c" in result.stderr
    assert "--run-embedded" in result.stderr and "--dataflow" in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists() and not build_marker.exists()
    assert not (tmp_path / "out").exists()  # no dataflow was started at all


@pytest.mark.timeout(120)
def test_run_embedded_runs_them_after_showing_them(tmp_path: Path) -> None:
    marker, build_marker = tmp_path / "MARKER", tmp_path / "BUILD_MARKER"
    crafted(tmp_path, evil_dataflow(marker, build_marker))
    result = run_dora(["replay", "crafted.adorec", "--speed", "0", "--run-embedded"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Live nodes from the dataflow stored in `crafted.adorec`:" in result.stderr
    assert "  helper: path /bin/sh" in result.stderr
    assert marker.read_text() == "ran\n" and build_marker.read_text() == "built\n"


@pytest.mark.timeout(120)
def test_the_users_own_dataflow_runs_instead_of_the_recordings(tmp_path: Path) -> None:
    marker, build_marker = tmp_path / "MARKER", tmp_path / "BUILD_MARKER"
    crafted(tmp_path, evil_dataflow(marker, build_marker))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "flow.yml").write_text(MINE)
    (mine / "show.py").write_text(SHOW)
    result = run_dora(
        ["replay", "crafted.adorec", "--speed", "0", "--dataflow", "mine/flow.yml"], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "Replaced: camera" in result.stderr
    assert "Live nodes from `mine/flow.yml`:" in result.stderr
    assert "  show: path show.py" in result.stderr
    assert [
        line.split("got ")[1] for line in result.stdout.splitlines() if "show: got" in line
    ] == [
        "[0]",
        "[1]",
        "[2]",
    ]
    assert not marker.exists() and not build_marker.exists()
    assert "helper" not in result.stdout + result.stderr


@pytest.mark.timeout(120)
def test_a_recording_of_replay_nodes_only_runs_without_its_env(tmp_path: Path) -> None:
    # every node is replayed, so nothing live; but env would still reach the replay
    # node (a Python program): PYTHONPATH with a sitecustomize runs code at its start
    payload = tmp_path / "payload"
    payload.mkdir()
    marker = tmp_path / "MARKER"
    (payload / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    crafted(
        tmp_path,
        f"""
        env:
          PYTHONPATH: {payload}
        nodes:
          - id: camera
            path: camera.py
            outputs: [frames]
            env:
              LD_PRELOAD: /nonexistent/evil.so
            deploy:
              working_dir: /
        """,
    )
    result = run_dora(["replay", "crafted.adorec", "--speed", "0"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Live nodes: none" in result.stderr
    assert "replayed 3 messages (0 skipped)" in result.stdout  # the replay node's line
    assert "not applied" in result.stderr
    assert "env PYTHONPATH" in result.stderr and "camera: env LD_PRELOAD" in result.stderr
    assert "camera: deploy" in result.stderr
    assert not marker.exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--dataflow", "mine/flow.yml", "--run-embedded"], "exclude each other"),
        (["--dataflow", "mine/other.yml"], "none of the recorded nodes (camera) is in"),
        (["--dataflow", "mine/flow.yml", "--replace", "camera,ghost"], "node `ghost` not found"),
    ],
)
def test_bad_choices_get_one_clear_error(tmp_path: Path, args: list[str], needle: str) -> None:
    crafted(tmp_path, evil_dataflow(tmp_path / "M", tmp_path / "B"))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "flow.yml").write_text(MINE)
    (mine / "other.yml").write_text(MINE.replace("camera", "lidar"))
    result = run_dora(["replay", "crafted.adorec", *args], cwd=tmp_path)
    assert result.returncode in (1, 2), result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("answer", "runs"), [(b"n\r", False), (b"y\r", True)])
def test_on_a_terminal_replay_asks_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: bytes, runs: bool
) -> None:
    marker, build_marker = tmp_path / "MARKER", tmp_path / "BUILD_MARKER"
    crafted(tmp_path, evil_dataflow(marker, build_marker))
    monkeypatch.chdir(tmp_path)  # Terminal runs `dora` in the current folder
    terminal = Terminal(["replay", "crafted.adorec", "--speed", "0"], {"NO_COLOR": "1"})
    try:
        terminal.expect(r"helper: path /bin/sh", timeout=60)
        terminal.expect(r"Run them\? \[y/N\]", timeout=30)
        terminal.send(answer)
        code = terminal.exit_code(90)
    finally:
        terminal.close()
    assert "Traceback" not in terminal.output
    if runs:
        assert code == 0, terminal.output
        assert marker.read_text() == "ran\n"
    else:
        assert code == 1, terminal.output
        assert "not running programs named in" in terminal.output
        assert not marker.exists() and not build_marker.exists()


@pytest.mark.timeout(60)
def test_names_from_a_recording_are_escaped_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "names.adorec"
    writer = RecordingWriter(path, Header(0, "df", "nodes: []\n"))
    writer.write("cam\x1b]0;title\x07", "frames", 0, 0, {}, pa.array([1]))
    writer.close()
    result = run_dora(["replay", "names.adorec", "--replace", "nope"], cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Recorded nodes: cam\\x1b]0;title\\x07" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
