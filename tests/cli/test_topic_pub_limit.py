"""`dora topic pub` refuses a message no reader can take (issue 13 item 2): the daemon
hands it to each reader inline in one data-plane frame, and a reader drops a frame over
64 MiB, so a 70 MB message used to vanish after "Published" with exit code 0."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest

from dora_cli.topic_inject import MessageTooLarge, check_size, injected
from dora_daemon.bridge.deliver import inline_frame_size
from dora_message.data_protocol import Data, data_encoder
from dora_message.dataplane.framing import MAX_FRAME, encode_frame
from dora_message.inter_daemon import RemoteData
from tests.cli.helpers import started_uuid
from tests.coordinator.helpers import wait_until
from tests.procs import run_dora

SENSOR = """
from dora import Node

for _event in Node():
    pass
"""

SIZER = """
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print("sizer: got", event["value"].nbytes, "bytes", flush=True)
"""

FLOW = """
_unstable_debug:
  publish_all_messages_to_zenoh: true
nodes:
  - id: sensor
    path: sensor.py
    inputs:
      tick: dora/timer/secs/3600
    outputs: [reading]
  - id: sizer
    path: sizer.py
    inputs:
      reading: sensor/reading
"""


def test_the_size_is_the_frame_a_reader_gets() -> None:
    array = pa.array(["x" * 100_000])
    batch = pa.record_batch([array], names=["data"])
    frame = data_encoder.encode(
        Data(
            "reading",
            time.time_ns(),
            {},
            "ipc",
            batch.schema.serialize().to_pybytes(),
            batch.serialize().to_pybytes(),
        )
    )
    assert check_size("reading", array) == len(frame)
    with pytest.raises(MessageTooLarge, match=rf"at most {MAX_FRAME} bytes \(64 MiB\)"):
        check_size("reading", pa.array(["x" * MAX_FRAME]))


def test_the_daemon_measures_an_injected_message_the_same_way() -> None:
    """The daemon refuses to deliver an inline message over the limit (any publisher):
    its measure is the frame it would write, and the CLI's."""
    for size in (10, 1_000, 100_000):
        array = pa.array(["x" * size])
        message = msgspec.msgpack.decode(injected("reading", array), type=RemoteData)
        schema = message.schema
        data = Data("reading", message.timestamp_ns, {}, "ipc", None, message.payload)
        described = msgspec.structs.replace(data, schema=schema)
        frame = encode_frame(data_encoder, described)  # what the daemon sends a new reader
        body = len(frame) - 4
        assert inline_frame_size(data, schema) == body
        assert check_size("reading", array) >= body  # never below (bin headers aside)
    assert check_size("reading", pa.array(["x" * 100_000])) == body


@pytest.mark.integration
@pytest.mark.timeout(180)
def test_pub_refuses_70_mb_and_delivers_60_mb(tmp_path: Path, coordinated: dict[str, str]) -> None:
    env = coordinated
    folder = tmp_path / "flow"
    folder.mkdir()
    (folder / "sensor.py").write_text(SENSOR)
    (folder / "sizer.py").write_text(SIZER)
    (folder / "flow.yml").write_text(FLOW)
    uuid = started_uuid(run_dora(["start", str(folder / "flow.yml"), "--detach"], env=env))
    log = folder / "out" / uuid / "log_sizer.jsonl"
    try:
        big = tmp_path / "big.json"
        big.write_text('"' + "x" * 70_000_000 + '"')
        refused = run_dora(
            ["topic", "pub", "-d", uuid, "sensor/reading", "--file", str(big)], env=env
        )
        assert refused.returncode != 0, refused.stderr
        assert "Published" not in refused.stderr
        assert "cannot publish to `sensor/reading`: the message is 7000" in refused.stderr
        assert f"at most {MAX_FRAME} bytes (64 MiB)" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr

        # below the limit a big message does arrive (publishing blocks under congestion
        # instead of letting zenoh drop its fragments)
        fits = tmp_path / "fits.json"
        fits.write_text('"' + "x" * 60_000_000 + '"')
        sent = run_dora(
            ["topic", "pub", "-d", uuid, "sensor/reading", "--file", str(fits)], env=env
        )
        assert sent.returncode == 0, sent.stderr
        assert "Published to sensor/reading" in sent.stderr
        wait_until(
            lambda: "sizer: got 600000" in log.read_text(),  # 60 MB + Arrow's offsets
            timeout=60,
            what="the 60 MB message",
        )
        assert "sizer: got" in log.read_text() and log.read_text().count("sizer: got") == 1
    finally:
        run_dora(["stop", uuid, "--force"], env=env)
