"""`dora topic pub` says what became of each message: real coordinator, daemon, nodes.

A reader still starting up (its process runs, its ``Node`` does not exist yet) is
waited for, up to ``--timeout``; one that does not come within it is named, with exit
code 1. No message is reported "Published" unless every reader got it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dora_message.constants import MAX_INJECT_WAIT_S
from tests.cli.helpers import started_uuid
from tests.coordinator.helpers import wait_until
from tests.procs import DoraProcess, abstract_sockets, run_dora

pytestmark = pytest.mark.integration

SENSOR = """
from dora import Node

for _event in Node():
    pass
"""

PRINTER = """
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print("printer: reading", event["value"].to_pylist(), flush=True)
"""

# Listens only once the test creates the gate file: a node that is slow to start.
LATE = """
import os
import time
from pathlib import Path

gate = Path(os.environ["GATE"])
print("late: started", flush=True)
while not gate.exists():
    time.sleep(0.02)
from dora import Node

for event in Node():
    if event["type"] == "INPUT":
        print("late: reading", event["value"].to_pylist(), flush=True)
"""

FLOW = """
_unstable_debug:
  publish_all_messages_to_zenoh: true
nodes:
  - id: sensor
    path: sensor.py
    inputs:
      tick: dora/timer/secs/3600
    outputs: [reading, label]
  - id: printer
    path: printer.py
    inputs:
      reading: sensor/reading
  - id: late
    path: late.py
    inputs:
      reading: sensor/reading
    env:
      GATE: {gate}
"""


def readings(log: Path, node: str) -> list[str]:
    return [line for line in log.read_text().splitlines() if f"{node}: reading" in line]


@pytest.mark.timeout(180)
def test_pub_waits_for_a_late_reader_and_names_one_that_does_not_come(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    env = coordinated
    folder = tmp_path / "flow"
    folder.mkdir()
    gate = tmp_path / "gate"
    (folder / "sensor.py").write_text(SENSOR)
    (folder / "printer.py").write_text(PRINTER)
    (folder / "late.py").write_text(LATE)
    (folder / "flow.yml").write_text(FLOW.format(gate=gate))
    uuid = started_uuid(run_dora(["start", str(folder / "flow.yml"), "--detach"], env=env))
    out = folder / "out" / uuid
    printer_log, late_log = out / "log_printer.jsonl", out / "log_late.jsonl"
    try:
        wait_until(
            lambda: late_log.exists() and "late: started" in late_log.read_text(),
            what="the late node running, not listening yet",
        )
        # the printer listens (it waits in Node() for `late` at the start barrier)
        wait_until(lambda: abstract_sockets(f"dora-{uuid}-printer"), what="the printer listening")
        # it does not come within the timeout: the printer got the message, `late` not
        missed = run_dora(
            ["topic", "pub", "-d", uuid, "sensor/reading", "[1]", "--timeout", "0.5"], env=env
        )
        assert missed.returncode == 1, missed.stderr
        assert (
            "the message on `sensor/reading` did not reach every reader: node `late` did "
            "not listen within 0.5 s (not started yet, or exited); it reached node `printer`"
        ) in missed.stderr
        assert "Published" not in missed.stderr and "Traceback" not in missed.stderr

        # it comes while `pub` waits for it: delivered, exit 0
        pub = DoraProcess(
            ["topic", "pub", "-d", uuid, "sensor/reading", "[2]", "--timeout", "60"], env=env
        )
        try:
            pub.wait_for_line("waiting up to 60 s for `late` to listen on sensor/reading")
            gate.touch()
            assert pub.wait(90) == 0, pub.output
        finally:
            pub.kill_tree()
        assert "Published to sensor/reading" in pub.output
        wait_until(lambda: readings(late_log, "late"), what="the late node's copy")
        # the message it missed never arrives after the one it got; the printer (held
        # at the start barrier until `late` came) has both
        assert ["[2]" in line for line in readings(late_log, "late")] == [True]
        wait_until(lambda: len(readings(printer_log, "printer")) == 2, what="the printer's")
        assert ["[1]" in line for line in readings(printer_log, "printer")] == [True, False]

        # every reader listens now: no waiting
        more = run_dora(
            ["topic", "pub", "-d", uuid, "sensor/reading", "[3]", "--count", "3"], env=env
        )
        assert more.returncode == 0, more.stderr
        assert "Published message 3/3" in more.stderr and "waiting" not in more.stderr
        wait_until(
            lambda: (
                len(readings(late_log, "late")) == 4 and len(readings(printer_log, "printer")) == 5
            ),
            what="three more copies each",
        )

        nobody = run_dora(["topic", "pub", "-d", uuid, "sensor/label", "[1]"], env=env)
        assert nobody.returncode == 1
        assert "no node reads `sensor/label`" in nobody.stderr
    finally:
        gate.touch()
        run_dora(["stop", uuid, "--force"], env=env)

    stopped = run_dora(["topic", "pub", "-d", uuid, "sensor/reading", "[4]"], env=env)
    assert stopped.returncode == 1
    assert f"dataflow {uuid} is not running" in stopped.stderr
    assert "Published" not in stopped.stderr and "Traceback" not in stopped.stderr


def test_pub_refuses_a_timeout_longer_than_the_daemons_wait() -> None:
    # a daemon waits MAX_INJECT_WAIT_S at most: a longer --timeout would promise more
    refused = run_dora(["topic", "pub", "--timeout", str(MAX_INJECT_WAIT_S + 1), "a/b", "[1]"])
    assert refused.returncode == 2, refused
    assert "--timeout" in refused.stderr and "Traceback" not in refused.stderr
