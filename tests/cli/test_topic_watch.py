"""`dora topic echo|hz|info` on a real coordinator, daemon and nodes, over real zenoh."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pyarrow as pa
import pytest

from dora_cli.topic_inject import json_array
from dora_cli.topic_watch import decode_array
from dora_message.inter_daemon import RemoteData
from tests.cli.helpers import FLOWS, env_for, started_uuid
from tests.coordinator.helpers import Proc, start_coordinator, start_daemon, wait_until
from tests.procs import run_dora

pytestmark = pytest.mark.integration

SENSOR = """
import pyarrow as pa
from dora import Node

node = Node()
n = 0
for event in node:
    if event["type"] == "INPUT":
        n += 1
        node.send_output("reading", pa.array([n * 0.5, -1.0]), {"seq": n})
        node.send_output("label", pa.array([f"r{n}"]))
"""

OPERATOR = """
from dora import DoraStatus


class Operator:
    def on_event(self, event, send_output):
        if event["type"] == "INPUT":
            send_output("doubled", event["value"], {})
        return DoraStatus.CONTINUE
"""

FLOW = """
{debug}
nodes:
  - id: sensor
    path: sensor.py
    inputs:
      tick: dora/timer/millis/20
    outputs:
      - reading
      - label
  - id: double
    operator:
      python: double.py
      inputs:
        reading: sensor/reading
      outputs:
        - doubled
  - id: listener
    path: listener.py
    inputs:
      count: double/doubled
"""


def write(directory: Path, debug: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sensor.py").write_text(SENSOR)
    (directory / "double.py").write_text(OPERATOR)
    shutil.copy(FLOWS / "listener.py", directory / "listener.py")
    flag = "_unstable_debug:\n  publish_all_messages_to_zenoh: true" if debug else ""
    path = directory / "flow.yml"
    path.write_text(FLOW.format(debug=flag))
    return path


def test_published_messages_decode_like_the_node_sent_them() -> None:
    array = pa.array([1.5, None])
    batch = pa.record_batch([array], names=["data"])
    schema = batch.schema.serialize().to_pybytes()
    ipc = RemoteData("o", 0, {}, "ipc", batch.serialize().to_pybytes(), False, schema)
    assert decode_array(ipc).equals(array)
    raw = RemoteData("o", 0, {}, "raw", b"\x01\x02")
    assert decode_array(raw).to_pylist() == [1, 2]
    assert decode_array(RemoteData("o", 0, {}, "empty", b"")) is None
    with pytest.raises(ValueError, match="without its schema"):
        decode_array(RemoteData("o", 0, {}, "buffers", b"\x00" * 8, layout=[1, 0, 0, -1, 8]))


@pytest.mark.timeout(120)
def test_echo_hz_and_info_of_a_running_dataflow(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    flow = write(tmp_path / "flow")
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "watched"], env=env))
    try:
        echo = run_dora(
            ["topic", "echo", "-d", "watched", "sensor/reading", "--count", "3", "-f", "json"],
            env=env,
            timeout=60,
        )
        assert echo.returncode == 0, echo.stderr
        records = [json.loads(line) for line in echo.stdout.splitlines()]
        assert len(records) == 3
        seqs = [r["metadata"]["seq"] for r in records]
        assert seqs == list(range(seqs[0], seqs[0] + 3))
        for record in records:
            assert record["name"] == "sensor/reading"
            assert record["data"] == [record["metadata"]["seq"] * 0.5, -1.0]

        # a bare node selects all its outputs; the operator's output keeps its public name
        table = run_dora(
            ["topic", "echo", "-d", uuid, "sensor", "double/doubled", "--count", "6"],
            env=env,
            timeout=60,
        )
        assert table.returncode == 0, table.stderr
        names = {line.split("\t")[0] for line in table.stdout.splitlines()}
        assert names == {"sensor/reading", "sensor/label", "double/doubled"}
        assert any('data=["r' in line for line in table.stdout.splitlines())

        hz = run_dora(
            ["topic", "hz", "-d", "watched", "sensor/reading", "--duration", "2"],
            env=env,
            timeout=60,
        )
        assert hz.returncode == 0, hz.stderr
        header, all_row, row = hz.stdout.splitlines()
        assert header.split("\t")[0] == "topic" and all_row.startswith("ALL\t")
        cells = row.split("\t")
        assert cells[0] == "sensor/reading"
        avg_ms, hz_value, min_ms, max_ms = (float(cells[i]) for i in (1, 2, 3, 4))
        assert int(cells[6]) > 10
        assert min_ms <= avg_ms <= max_ms
        assert abs(hz_value * avg_ms - 1000) < 1  # Hz is the inverse of the mean interval
        # A 20 ms timer never ticks faster than 50 Hz (late ticks are skipped, not bunched),
        # so load only lowers the rate; arrivals read together (zero intervals) are left
        # out. Only a watcher stalled for over half of the 2 s right after subscribing
        # could double the apparent rate: at most twice the timer's, no lower bound.
        assert hz_value <= 100, row

        info = run_dora(
            ["topic", "info", "-d", "watched", "sensor/reading", "--duration", "1"], env=env
        )
        assert info.returncode == 0, info.stderr
        assert "Topic: sensor/reading" in info.stdout
        assert "Type: double" in info.stdout
        assert "  * double/reading" in info.stdout
        assert "Total messages: 0" not in info.stdout

        bad = run_dora(["topic", "echo", "-d", "watched", "sensor/nope"], env=env)
        assert bad.returncode == 1
        assert "no topic `sensor/nope`" in bad.stderr and "Traceback" not in bad.stderr
        one = run_dora(["topic", "info", "-d", "watched", "sensor"], env=env)
        assert one.returncode == 1 and "exactly one topic" in one.stderr
    finally:
        run_dora(["stop", uuid, "--force"], env=env)


@pytest.mark.timeout(90)
def test_watching_needs_the_debug_flag_or_start_debug(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    flow = write(tmp_path / "flow", debug=False)
    uuid = started_uuid(run_dora(["start", str(flow), "--detach"], env=env))
    debugged = started_uuid(run_dora(["start", str(flow), "--detach", "--debug"], env=env))
    try:
        result = run_dora(["topic", "echo", "-d", uuid, "--count", "1"], env=env)
        assert result.returncode == 1
        assert "publish_all_messages_to_zenoh" in result.stderr
        assert "Traceback" not in result.stderr
        echoed = run_dora(
            ["topic", "echo", "-d", debugged, "sensor/label", "--count", "1"], env=env
        )
        assert echoed.returncode == 0, echoed.stderr
        assert echoed.stdout.startswith('sensor/label\tdata=["r')
    finally:
        run_dora(["stop", uuid, "--force"], env=env)
        run_dora(["stop", debugged, "--force"], env=env)


PRINTER = """
from dora import Node

node = Node()
for event in node:
    if event["type"] == "INPUT":
        print("printer:", event["id"], event["value"].to_pylist(), flush=True)
"""

PUB_FLOW = """
_unstable_debug:
  publish_all_messages_to_zenoh: true
nodes:
  - id: sensor
    path: sensor.py
    inputs:
      tick: dora/timer/secs/3600
    outputs:
      - reading
      - label
  - id: printer
    path: printer.py
    inputs:
      reading: sensor/reading
"""


def test_json_data_becomes_an_arrow_array() -> None:
    assert json_array("[42, 43]").to_pylist() == [42, 43]
    assert json_array('"1080p"').to_pylist() == ["1080p"]
    assert json_array('{"gain": 2}').to_pylist() == [{"gain": 2}]
    with pytest.raises(ValueError):
        json_array("[1, ")
    with pytest.raises(ValueError, match="no Arrow array"):
        json_array('[1, "a"]')


@pytest.mark.timeout(120)
def test_pub_reaches_the_nodes_reading_the_topic(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    folder = tmp_path / "flow"
    folder.mkdir()
    (folder / "sensor.py").write_text(SENSOR)
    (folder / "printer.py").write_text(PRINTER)
    (folder / "flow.yml").write_text(PUB_FLOW)
    uuid = started_uuid(run_dora(["start", str(folder / "flow.yml"), "--detach"], env=env))
    log = folder / "out" / uuid / "log_printer.jsonl"
    try:
        # right after the start: `pub` waits for the printer to listen (tests/cli/test_topic_pub)
        once = run_dora(
            ["topic", "pub", "-d", uuid, "sensor/reading", "[42, 43]", "--timeout", "60"], env=env
        )
        assert once.returncode == 0, once.stderr
        assert "Published to sensor/reading" in once.stderr
        wait_until(lambda: "printer: reading [42, 43]" in log.read_text(), what="injected")

        data = folder / "data.json"
        data.write_text("[1.5]")
        more = run_dora(
            ["topic", "pub", "-d", uuid, "sensor/reading", "--file", str(data), "--count", "3"],
            env=env,
        )
        assert more.returncode == 0, more.stderr
        assert "Published message 3/3" in more.stderr
        wait_until(
            lambda: log.read_text().count("printer: reading [1.5]") == 3, what="three copies"
        )

        for args, needle in [
            (["sensor/reading", "[1,"], "invalid JSON data"),
            (["sensor/label", "[1]"], "no node reads `sensor/label`"),
            (["sensor/nope", "[1]"], "no topic `sensor/nope`"),
            (["sensor/reading"], "either as DATA or with --file"),
        ]:
            bad = run_dora(["topic", "pub", "-d", uuid, *args], env=env)
            assert bad.returncode == 1, (args, bad.stderr)
            assert needle in bad.stderr and "Traceback" not in bad.stderr
    finally:
        run_dora(["stop", uuid, "--force"], env=env)


@pytest.mark.timeout(120)
def test_proxy_record_of_a_running_dataflow(tmp_path: Path, cluster: list[Proc]) -> None:
    from dora_record.format import open_recording
    from tests.procs import DoraProcess

    procs = cluster
    procs.append(coordinator := start_coordinator())
    port = coordinator.port
    env = env_for(port)
    procs.append(start_daemon(port))
    flow = write(tmp_path / "flow")
    uuid = started_uuid(run_dora(["start", str(flow), "--detach", "--name", "flow"], env=env))
    target = tmp_path / "rec.adorec"
    args = ["record", str(flow), "--proxy", "--topics", "sensor/reading", "-o", str(target)]
    recorder = DoraProcess(args, env={**env})
    try:
        recorder.wait_for_line("Proxy recording 1 topics to")
        start = target.stat().st_size if target.exists() else 0
        # 100 messages (one flush) come in about 2 s from the 20 ms timer
        wait_until(lambda: target.exists() and target.stat().st_size > start + 1000, 60)
        recorder.proc.send_signal(signal.SIGINT)
        assert recorder.wait(timeout=30) == 0, recorder.output
        assert "Recording complete:" in recorder.output
    finally:
        recorder.kill_tree()
        run_dora(["stop", uuid, "--force"], env=env)
    recording = open_recording(target)
    assert recording.header.dataflow_id == uuid
    assert recording.header.descriptor == flow.read_text()
    entries = list(recording.entries())
    assert not recording.truncated
    assert len(entries) >= 100
    seqs = [e.parameters["seq"] for e in entries]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert all(e.topic == "sensor/reading" for e in entries)
    assert entries[0].value is not None
    assert entries[0].value.to_pylist() == [seqs[0] * 0.5, -1.0]
