"""MockNode, DataflowBuilder, DoraStatus and the cost of ``import dora``."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import msgspec
import pyarrow as pa
import yaml

import dora
from dora.builder import DataflowBuilder, Operator
from dora.testing import MockNode
from dora_message.descriptor import Descriptor


def test_mock_node_yields_inputs_then_stop_and_records_outputs():
    node = MockNode([("tick", pa.array([0])), ("img", b"x")], metadata={"k": 1})
    events = list(node)
    assert [e["type"] for e in events] == ["INPUT", "INPUT", "STOP"]
    assert events[0]["id"] == "tick" and events[0]["metadata"] == {"k": 1}
    assert events[0]["metadata"] is not events[1]["metadata"]
    assert node.next() is None
    node.send_output("result", pa.array([42]))
    assert node.outputs["result"][0].to_pylist() == [42]


def test_mock_node_async():
    node = MockNode([("a", 1)])

    async def collect():
        return [e async for e in node]

    assert [e["type"] for e in asyncio.run(collect())] == ["INPUT", "STOP"]


def test_builder_writes_a_descriptor_our_parser_accepts(tmp_path):
    with DataflowBuilder("demo") as flow:
        camera = flow.add_node("camera", description="cam").path("camera.py")
        camera.env({"FPS": 30}).args("--fast").build("pip install -e .")
        frames = camera.add_output("image")
        assert str(frames) == "camera/image"
        plot = flow.add_node("plot").path("plot.py")
        plot.add_input("image", frames, queue_size=1, queue_policy="backpressure")
        plot.add_input("tick", "dora/timer/millis/100")
        runtime = flow.add_node("rt").add_operator(Operator("op", python="op.py"))
        runtime.git("https://example.com/x.git", branch="main")
        target = tmp_path / "dataflow.yml"
        assert flow.to_yaml(str(target)) is None
    data = yaml.safe_load(target.read_text())
    assert data == yaml.safe_load(flow.to_yaml())
    descriptor = msgspec.convert(data, Descriptor)
    plot_node = descriptor.nodes[1]
    assert plot_node.inputs["image"].source == "camera/image"
    assert plot_node.inputs["image"].queue_policy == "backpressure"
    assert plot_node.inputs["tick"] == "dora/timer/millis/100"
    assert descriptor.nodes[2].operators[0].python == "op.py"
    assert descriptor.nodes[2].branch == "main"


def test_dora_status_values():
    assert [s.value for s in dora.DoraStatus] == [0, 1, 2]
    assert dora.DoraStatus.STOP.name == "STOP"


def test_import_dora_is_cheap():
    code = (
        "import sys, dora\n"
        "heavy = [m for m in ('pyarrow', 'click', 'rich', 'zenoh', 'websockets', 'yaml')"
        " if m in sys.modules]\n"
        "print(heavy, dora.__version__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, version = out.stdout.strip().split(" ", 1)[0], out.stdout.strip().rsplit(" ", 1)[1]
    assert heavy == "[]", out.stdout
    assert version[0].isdigit()


def test_node_without_config_raises():
    code = (
        "import os\n"
        "os.environ.pop('DORA_NODE_CONFIG', None)\n"
        "from dora import Node\n"
        "try:\n"
        "    Node()\n"
        "except RuntimeError as err:\n"
        "    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "DORA_NODE_CONFIG env variable is not set" in out.stdout
