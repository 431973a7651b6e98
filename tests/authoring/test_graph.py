"""Graph model, Mermaid text (exact), SVG and HTML of `dora graph`."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from dora_cli.graph.html import GENERATOR, render_html
from dora_cli.graph.mermaid import render_mermaid
from dora_cli.graph.model import Edge, build_graph, short_type_name
from dora_cli.graph.svg import layout_graph, render_svg
from dora_message.descriptor import Descriptor
from dora_message.load import load_descriptor, parse_descriptor

FLOW = """
nodes:
  - id: camera
    description: USB "cam"
    path: camera.py
    inputs:
      tick: dora/timer/millis/100
    outputs: [image, depth]
    output_types:
      image: std/media/v1/Image
  - id: detector
    path: detector.py
    inputs:
      image: camera/image
      feedback: controller/status
    outputs: [boxes]
  - id: planner
    operator:
      python: planner.py
      inputs:
        boxes: detector/boxes
        depth: camera/depth
      outputs: [plan]
  - id: controller
    path: controller.py
    inputs:
      plan: planner/plan
      tick: dora/timer/secs/1
    input_types:
      plan: std/robot/v1/Plan[frame=base]
    outputs: [status]
  - id: runtime
    operators:
      - id: a
        python: a.py
        inputs:
          status: controller/status
        outputs: [out]
      - id: b
        python: b.py
        inputs:
          x: runtime/a/out
  - id: viz
    path: viz.py
    inputs:
      image: camera/image
      logs: dora/logs
      fast: dora/timer/hz/50
"""

EXPECTED_MERMAID = r"""flowchart TB
  camera["**camera**<hr/>*USB #quot;cam#quot;*"]
  controller["**controller**"]
  detector["**detector**"]
  planner/op[planner]
subgraph runtime
  runtime/a[a]
  runtime/b[/b\]
end
  viz[/"**viz**"\]
subgraph ___dora___ [dora]
  subgraph ___timer_timer___ [timer]
    dora/timer/millis/20[\millis/20/]
    dora/timer/millis/100[\millis/100/]
    dora/timer/secs/1[\secs/1/]
  end
end
  dora/timer/millis/100 -- tick --> camera
  planner/op -- plan [Plan[frame=base]] --> controller
  dora/timer/secs/1 -- tick --> controller
  controller -- status as feedback --> detector
  camera -- image [Image] --> detector
  detector -- boxes --> planner/op
  camera -- depth --> planner/op
  controller -- status --> runtime/a
  runtime/a -- out as x --> runtime/b
  dora/timer/millis/20 -- fast --> viz
  camera -- image [Image] --> viz
  dora/logs -- logs --> viz
"""


def descriptor():
    return parse_descriptor(FLOW, "flow.yml")


def test_mermaid_text_is_exact() -> None:
    assert render_mermaid(descriptor()) == EXPECTED_MERMAID


ECHO_MODULE = """\
module:
  name: echo
  inputs: [data_in]
  outputs: [data_out]
nodes:
  - id: passthrough
    path: echo.py
    inputs:
      incoming: _mod/data_in
    outputs: [data_out]
"""

MODULE_FLOW = """\
nodes:
  - id: source
    path: source.py
    outputs: [number]
  - id: my.echo
    module: echo.module.yml
    inputs:
      data_in: source/number
  - id: sink
    path: sink.py
    inputs:
      result: my.echo/data_out
      other: source/number
"""


def test_mermaid_groups_module_nodes(tmp_path: Path) -> None:
    (tmp_path / "echo.module.yml").write_text(ECHO_MODULE)
    flow = tmp_path / "dataflow.yml"
    flow.write_text(MODULE_FLOW)
    flat = load_descriptor(flow)
    text = render_mermaid(flat, {"my.echo": ["my.echo.passthrough"]})
    assert text.splitlines()[:6] == [
        "flowchart TB",
        "subgraph my_echo [my.echo]",
        '  my.echo.passthrough["**my.echo.passthrough**"]',
        "end",
        '  sink[/"**sink**"\\]',
        '  source[\\"**source**"/]',
    ]
    assert "  my.echo.passthrough -- data_out as result --> sink" in text
    assert "  source -- number as other --> sink" in text


def test_unknown_producer_is_drawn_as_missing() -> None:
    flow = msgspec.convert(
        {"nodes": [{"id": "a", "path": "a.py", "inputs": {"x": "ghost/out"}}]}, Descriptor
    )
    assert render_mermaid(flow).endswith("  missing>missing] -- x --> a\n")
    graph = build_graph(flow, "t")
    assert [v.kind for v in graph.vertices] == ["node", "missing"]
    assert graph.edges[0].label == "ghost/out → x"


def test_short_type_names() -> None:
    assert short_type_name("std/media/v1/Image") == "Image"
    assert short_type_name("Image") == "Image"
    assert short_type_name("std/audio/v1/AudioFrame[sample_type=f32]") == (
        "AudioFrame[sample_type=f32]"
    )


def test_model_vertices_ports_and_edge_labels() -> None:
    graph = build_graph(descriptor(), "flow")
    keys = [v.key for v in graph.vertices]
    assert keys[:6] == ["camera", "detector", "planner", "controller", "runtime", "viz"]
    assert set(keys[6:]) == {
        "dora/timer/millis/100",
        "dora/timer/secs/1",
        "dora/logs",
        "dora/timer/millis/20",
    }
    by_key = {v.key: v for v in graph.vertices}
    assert by_key["runtime"].inputs == ["a/status", "b/x"]
    assert by_key["runtime"].outputs == ["a/out"]
    assert by_key["planner"].kind == "operator"
    assert by_key["dora/timer/secs/1"].kind == "timer"
    labels = {(e.source, e.target, e.input): e.label for e in graph.edges}
    assert labels[("camera", "detector", "image")] == "image [Image]"
    assert labels[("controller", "detector", "feedback")] == "status → feedback"
    assert labels[("planner", "controller", "plan")] == "plan [Plan[frame=base]]"
    assert labels[("runtime", "runtime", "b/x")] == "a/out → b/x"
    assert labels[("dora/timer/millis/100", "camera", "tick")] == "tick"
    assert Edge("a", "o", "b", "i", "T").label == "o → i [T]"


def test_svg_draws_every_node_timer_and_label() -> None:
    graph = build_graph(descriptor(), "flow")
    svg = render_svg(graph)
    assert svg.startswith('<svg class="dora-graph"') and svg.endswith("</svg>")
    for vertex in graph.vertices:
        assert f'data-id="{vertex.key}"' in svg
    assert svg.count('<g class="vertex timer"') == 3
    assert svg.count('<g class="edge">') == len(graph.edges)
    assert "status → feedback" in svg
    assert "image [Image]" in svg
    # the description is a tooltip, escaped
    assert "USB &quot;cam&quot;" in svg


def test_svg_boxes_fit_inside_the_viewbox() -> None:
    graph = build_graph(descriptor(), "flow")
    layout = layout_graph(graph)
    svg = render_svg(graph, layout)
    width, height = map(float, re.search(r'viewBox="0 0 (\S+) (\S+)"', svg).groups())
    for rect in layout.boxes.values():
        assert rect.x >= 0 and rect.right <= width
        assert rect.y >= 0 and rect.y + rect.height <= height
    for route in layout.routes:
        assert all(0 <= x <= width and 0 <= y <= height for x, y in route.points)


def test_html_page_is_self_contained() -> None:
    graph = build_graph(descriptor(), "my <flow>")
    page = render_html("my <flow>", render_svg(graph), render_mermaid(descriptor()), "x")
    assert page.startswith("<!DOCTYPE html>")
    assert f'<meta name="generator" content="{GENERATOR}">' in page
    assert "<title>my &lt;flow&gt; · dora graph</title>" in page
    assert not re.search(r"https?://", page)
    assert "<script" not in page
    assert "<svg" in page and "flowchart TB" in page
