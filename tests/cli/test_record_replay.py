"""`dora record` and `dora replay` end to end: real CLI, daemon, nodes and recordings."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pyarrow as pa
import pytest

from dora_record.format import Header, RecordingWriter, open_recording
from tests.procs import DoraProcess, run_dora

pytestmark = pytest.mark.integration

SENDER = """
import pyarrow as pa
from dora import Node

node = Node()
n = 0
for event in node:
    if event["type"] == "INPUT":
        n += 1
        node.send_output("numbers", pa.array([n, n * 10]), {"seq": n, "label": f"m{n}"})
        if n == COUNT:
            break
"""

RECEIVER = """
from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        meta = event["metadata"]
        print("got", event["value"].to_pylist(), meta.get("seq"), meta.get("label"), flush=True)
"""

FLOW = """
nodes:
  - id: sender
    path: sender.py
    inputs:
      tick: dora/timer/millis/{period}
    outputs:
      - numbers
  - id: receiver
    path: receiver.py
    inputs:
      numbers: sender/numbers
"""


def make_flow(folder: Path, count: int = 5, period: int = 20) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sender.py").write_text(SENDER.replace("COUNT", str(count)))
    (folder / "receiver.py").write_text(RECEIVER)
    flow = folder / "flow.yml"
    flow.write_text(FLOW.format(period=period))
    return flow


def got_lines(output: str) -> list[str]:
    return [line.split("got ", 1)[1] for line in output.splitlines() if "receiver: got " in line]


def expected(n: int) -> str:
    return f"[{n}, {n * 10}] {n} m{n}"


@pytest.mark.timeout(120)
def test_record_then_replay_sends_the_same_messages(tmp_path: Path) -> None:
    flow = make_flow(tmp_path / "live")
    recorded = run_dora(["record", str(flow), "-o", "rec.adorec"], cwd=flow.parent, timeout=60)
    assert recorded.returncode == 0, recorded.stderr
    assert "Recording 1 topics to" in recorded.stderr
    assert "Topics: sender/numbers" in recorded.stderr
    assert "recording complete: 5 messages" in recorded.stdout  # the recorder node's line

    recording = open_recording(flow.parent / "rec.adorec")
    assert recording.header.descriptor == flow.read_text()
    (run_id,) = (p.name for p in (flow.parent / "out").iterdir())
    assert recording.header.dataflow_id == run_id
    entries = list(recording.entries())
    assert not recording.truncated
    assert [e.topic for e in entries] == ["sender/numbers"] * 5
    assert [e.value.to_pylist() for e in entries if e.value is not None] == [
        [n, n * 10] for n in range(1, 6)
    ]
    assert [e.parameters for e in entries] == [{"seq": n, "label": f"m{n}"} for n in range(1, 6)]
    offsets = [e.offset_ns for e in entries]
    assert offsets == sorted(offsets)
    assert all(e.timestamp_ns >= recording.header.start_ns - 10**9 for e in entries)

    # replay elsewhere: the sender's code is not even there, only the receiver's
    replay_dir = tmp_path / "replay"
    replay_dir.mkdir()
    shutil.copy(flow.parent / "rec.adorec", replay_dir)
    shutil.copy(flow.parent / "receiver.py", replay_dir)
    # the receiver comes from the recording's own dataflow: that needs the explicit flag
    replayed = run_dora(["replay", "rec.adorec", "--run-embedded"], cwd=replay_dir, timeout=60)
    assert replayed.returncode == 0, replayed.stderr
    assert "Replaying 1 nodes from rec.adorec" in replayed.stderr
    assert "Replaced: sender" in replayed.stderr
    assert "replayed 5 messages (0 skipped)" in replayed.stdout  # the replay node's line
    assert got_lines(replayed.stdout) == [expected(n) for n in range(1, 6)]


@pytest.mark.timeout(120)
def test_unpaced_looping_replay_until_stopped(tmp_path: Path) -> None:
    folder = tmp_path / "flow"
    flow = make_flow(folder, count=3)
    assert run_dora(["record", str(flow), "-o", "r.adorec"], cwd=folder).returncode == 0
    dora = DoraProcess(
        ["replay", "r.adorec", "--loop", "--speed", "0", "--stop-after", "2s", "--run-embedded"],
        cwd=folder,
    )
    try:
        dora.wait_for_line("looping...")
        assert dora.wait(timeout=60) == 0, dora.output
    finally:
        dora.kill_tree()
    got = got_lines(dora.output)
    assert len(got) > 3
    assert got[:6] == [expected(n) for n in (1, 2, 3, 1, 2, 3)]


@pytest.mark.timeout(120)
def test_recording_a_stopped_dataflow_ends_cleanly(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, count=10**6, period=10)
    result = run_dora(
        ["record", str(flow), "-o", "r.adorec", "--stop-after", "1s"], cwd=tmp_path, timeout=60
    )
    assert result.returncode == 0, result.stderr
    recording = open_recording(tmp_path / "r.adorec")
    entries = list(recording.entries())
    assert not recording.truncated
    assert len(entries) > 5
    assert [e.parameters["seq"] for e in entries] == list(range(1, len(entries) + 1))


@pytest.mark.timeout(120)
def test_a_killed_recorder_leaves_a_readable_file(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, count=10**6, period=10)
    dora = DoraProcess(["record", str(flow), "-o", "r.adorec"], cwd=tmp_path)
    try:
        dora.wait_for_line("got [150, 1500]")  # 1.5 s of messages: at least one flush
        (recorder,) = [
            p for p in dora.descendants() if any("dora-record-node" in a for a in p.cmdline())
        ]
        recorder.send_signal(signal.SIGKILL)
        recorder.wait(timeout=10)
    finally:
        dora.kill_tree()
    recording = open_recording(tmp_path / "r.adorec")
    seqs = [e.parameters["seq"] for e in recording.entries()]
    assert len(seqs) >= 50
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.timeout(60)
def test_output_yaml_writes_the_rewritten_dataflows(tmp_path: Path) -> None:
    flow = make_flow(tmp_path)
    result = run_dora(
        ["record", str(flow), "--topics", "sender/numbers", "--output-yaml", "with-recorder.yml"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "with-recorder.yml").read_text()
    assert "__dora_record__" in text and "dora-record-node" in text
    assert not list(tmp_path.glob("*.adorec"))  # nothing ran

    writer = RecordingWriter(tmp_path / "r.adorec", Header(0, "df", flow.read_text()))
    writer.write("sender", "numbers", 0, 0, {}, pa.array([1]))
    writer.close()
    result = run_dora(
        ["replay", "r.adorec", "--speed", "0", "--output-yaml", "replay.yml"], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "replay.yml").read_text()
    assert "dora-replay-node" in text and "DORA_REPLAY_SPEED: '0.0'" in text


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["record", "flow.yml", "--topics", "sender/nope"], "topic `sender/nope` not found"),
        (["record", "missing.yml"], "dataflow file `missing.yml` does not exist"),
        (["record", "flow.yml", "-o", "no/such/dir/r.adorec"], "does not exist"),
        (["replay", "flow.yml"], "not a dora recording"),
        (["replay", "missing.adorec"], "recording file `missing.adorec` does not exist"),
        (["replay", "empty.adorec"], "contains no readable messages"),
        (
            ["replay", "one.adorec", "--replace", "camera"],
            "node `camera` not found in the recording",
        ),
    ],
)
def test_bad_input_gets_one_clear_error(tmp_path: Path, args: list[str], needle: str) -> None:
    flow = make_flow(tmp_path)
    RecordingWriter(tmp_path / "empty.adorec", Header(0, "df", flow.read_text())).close()
    writer = RecordingWriter(tmp_path / "one.adorec", Header(0, "df", flow.read_text()))
    writer.write("sender", "numbers", 0, 0, {}, pa.array([1]))
    writer.close()
    result = run_dora(args, cwd=tmp_path, timeout=30)
    assert result.returncode == 1, result.stderr
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.timeout(60)
def test_run_debug_says_where_topics_can_be_watched(tmp_path: Path) -> None:
    flow = make_flow(tmp_path, count=2)
    result = run_dora(["run", str(flow), "--debug"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "`dora start --debug`" in result.stderr
    assert got_lines(result.stdout) == [expected(1), expected(2)]
