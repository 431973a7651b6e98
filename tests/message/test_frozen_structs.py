"""Which msgspec Structs of the workspace are frozen (issue 16).

Messages and records are values: a decoded frame, a reply being built, a stored dataflow
record are never edited in place, a change is a new value (``msgspec.structs.replace``).
Every Struct defined in a workspace package is checked; the few that hold mutable state
on purpose are listed in :data:`MUTABLE` with the reason. A new Struct is frozen, or goes
on that list with its reason.

The packages are imported in a child process, so importing every module (the CLI's
terminal UI, the daemon's process code) leaves this test process as it was.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dora_message import cli_to_coordinator as to_coordinator
from dora_message import coordinator_to_cli as to_cli
from dora_message import coordinator_to_daemon as to_daemon
from dora_message import daemon_to_coordinator as from_daemon
from dora_message.common import LogMessage, NodeResult

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]

_DESCRIPTOR = (
    "the dataflow descriptor as loaded from YAML: module expansion "
    "(dora_message.modules.expand, .rewrite) edits copies of its nodes in place"
)
_SUPERVISION = "the daemon core's per-node state machine, updated field by field on every event"

MUTABLE: dict[str, str] = {
    "dora_message.descriptor._Strict": _DESCRIPTOR,
    "dora_message.descriptor.HostEnv": _DESCRIPTOR,
    "dora_message.descriptor.InputSpec": _DESCRIPTOR,
    "dora_message.descriptor.Deploy": _DESCRIPTOR,
    "dora_message.descriptor.Debug": _DESCRIPTOR,
    "dora_message.descriptor.TypeRule": _DESCRIPTOR,
    "dora_message.descriptor.PythonSource": _DESCRIPTOR,
    "dora_message.descriptor.Operator": _DESCRIPTOR,
    "dora_message.descriptor.Node": _DESCRIPTOR,
    "dora_message.descriptor.Descriptor": _DESCRIPTOR,
    "dora_daemon.core.supervised.Supervised": _SUPERVISION,
    "dora_daemon.core.ladder.Ladder": "a stop ladder: marks which signals it sent, in place",
}

# Prints {"module.Class": frozen} for every Struct defined in the workspace packages.
_SURVEY = """
import importlib, inspect, json, pkgutil, sys
import msgspec

found = {}
for top in sys.argv[1:]:
    package = importlib.import_module(top)
    names = [top] + [m.name for m in pkgutil.walk_packages(package.__path__, top + ".")]
    for name in names:
        if name.rpartition(".")[2] == "__main__":
            continue  # running it is the CLI, not an import
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, msgspec.Struct)
                and value.__module__ == name
            ):
                found[f"{name}.{attr}"] = value.__struct_config__.frozen
print(json.dumps(found))
"""


def _packages() -> list[str]:
    return sorted(
        path.name for path in ROOT.glob("packages/*/src/*") if (path / "__init__.py").is_file()
    )


@pytest.fixture(scope="module")
def structs() -> dict[str, bool]:
    done = subprocess.run(
        [sys.executable, "-c", _SURVEY, *_packages()],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_struct_is_frozen_but_the_listed_ones(structs: dict[str, bool]) -> None:
    mutable = {name for name, frozen in structs.items() if not frozen}
    unlisted = sorted(mutable - MUTABLE.keys())
    assert not unlisted, f"freeze these Structs or list them in MUTABLE with a reason: {unlisted}"
    stale = sorted(MUTABLE.keys() - mutable)
    assert not stale, f"MUTABLE lists Structs that are frozen or gone: {stale}"


def test_the_survey_sees_the_control_plane_and_stored_records(structs: dict[str, bool]) -> None:
    # the walk reaches every package (a silent import failure would skip one)
    expected = {
        "dora_message.cli_to_coordinator.Request",
        "dora_message.coordinator_to_cli.Reply",
        "dora_message.coordinator_to_daemon.CommandFrame",
        "dora_message.daemon_to_coordinator.EventFrame",
        "dora_message.common.LogMessage",
        "dora_coordinator.store.DataflowRecord",
    }
    assert expected <= structs.keys()
    assert all(structs[name] for name in expected)
    assert {name.partition(".")[0] for name in structs} >= {
        "dora_message",
        "dora_coordinator",
        "dora_daemon",
    }


def test_decoded_frames_refuse_assignment() -> None:
    request = to_coordinator.decode_request(
        to_coordinator.encode_request(7, to_coordinator.StopDataflow(dataflow="df"))
    )
    with pytest.raises(AttributeError):
        request.id = 8  # type: ignore[misc]
    with pytest.raises(AttributeError):
        request.request.force = True  # type: ignore[union-attr]

    batch = from_daemon.LogBatch(
        records=[LogMessage(timestamp="t", level="info", message="m", node_id="n")]
    )
    frame = from_daemon.decode_frame(from_daemon.encode_frame(from_daemon.EventFrame(event=batch)))
    assert isinstance(frame, from_daemon.EventFrame)
    assert isinstance(frame.event, from_daemon.LogBatch)
    with pytest.raises(AttributeError):
        frame.event.records[0].daemon_id = "d"  # type: ignore[misc]


# one frame per control-plane module, as the unfrozen types encoded them
WIRE = [
    (
        to_coordinator.encode_request(
            5, to_coordinator.GetLogs(dataflow="df", query=to_coordinator.LogQuery(tail=3))
        ),
        '{"id":5,"request":{"type":"logs","dataflow":"df","query":{"tail":3}}}',
    ),
    (
        to_cli.encode_frame(
            to_cli.Reply(
                id=3,
                result=to_cli.NodeStopped(
                    uuid="df", node="n", result=NodeResult(node_id="n", ok=False, exit_code=1)
                ),
            )
        ),
        '{"kind":"reply","id":3,"result":{"type":"node_stopped","uuid":"df","node":"n",'
        '"result":{"node_id":"n","ok":false,"exit_code":1}}}',
    ),
    (
        to_daemon.encode_frame(to_daemon.CommandFrame(id=1, command=to_daemon.Destroy())),
        '{"kind":"request","id":1,"command":{"type":"destroy"}}',
    ),
    (
        from_daemon.encode_frame(
            from_daemon.EventFrame(
                event=from_daemon.NodeMetrics(
                    dataflow_id="df", metrics={"n": from_daemon.NodeMetric(pid=9, restarts=2)}
                )
            )
        ),
        '{"kind":"event","event":{"type":"node_metrics","dataflow_id":"df",'
        '"metrics":{"n":{"pid":9,"restarts":2}}}}',
    ),
]


@pytest.mark.parametrize(("encoded", "expected"), WIRE)
def test_freezing_changed_no_byte_on_the_wire(encoded: str, expected: str) -> None:
    assert encoded == expected
