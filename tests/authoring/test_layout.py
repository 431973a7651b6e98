"""The layered layout: layers, cycles, no overlaps, routes that start and end at ports."""

from __future__ import annotations

import itertools

import pytest

from dora_cli.graph.layout import Box, Layout, Link, Rect, layered_layout


def boxes(*keys: str, width: float = 100, height: float = 50) -> list[Box]:
    return [Box(k, width, height) for k in keys]


def link(a: str, b: str, label: float = 40.0) -> Link:
    return Link(a, b, 25.0, 25.0, label)


def overlaps(a: Rect, b: Rect) -> bool:
    return a.x < b.right and b.x < a.right and a.y < b.y + b.height and b.y < a.y + a.height


def assert_no_box_overlap(layout: Layout) -> None:
    for (ka, a), (kb, b) in itertools.combinations(layout.boxes.items(), 2):
        assert not overlaps(a, b), f"{ka} overlaps {kb}"


def test_chain_goes_left_to_right_one_layer_each() -> None:
    layout = layered_layout(boxes("a", "b", "c"), [link("a", "b"), link("b", "c")])
    assert layout.layers == {"a": 0, "b": 1, "c": 2}
    a, b, c = (layout.boxes[k] for k in "abc")
    assert a.right < b.x and b.right < c.x
    # a straight chain is placed on one line, so its links are horizontal
    assert a.y == pytest.approx(b.y) == pytest.approx(c.y)


def test_source_sits_just_before_its_consumer() -> None:
    # a -> b -> c -> d, and a timer t feeding only d
    links = [link("a", "b"), link("b", "c"), link("c", "d"), link("t", "d")]
    layout = layered_layout(boxes("t", "a", "b", "c", "d"), links)
    assert layout.layers["t"] == 2
    assert layout.layers["d"] == 3


def test_long_link_is_routed_through_intermediate_layers() -> None:
    links = [link("a", "b"), link("b", "c"), link("a", "c")]
    layout = layered_layout(boxes("a", "b", "c"), links)
    route = layout.routes[2]
    # start, two points per skipped layer, label stub, end
    assert len(route.points) == 5
    b = layout.boxes["b"]
    skip_y = route.points[1][1]
    assert not (b.y <= skip_y <= b.y + b.height), "the long link must not cross box b"


def test_cycle_is_broken_and_routed_below() -> None:
    links = [link("a", "b"), link("b", "c"), link("c", "a")]
    layout = layered_layout(boxes("a", "b", "c"), links)
    assert layout.layers == {"a": 0, "b": 1, "c": 2}
    back = layout.routes[2]
    assert back.back and not layout.routes[0].back
    bottom = max(r.y + r.height for r in layout.boxes.values())
    assert min(y for _, y in back.points) >= layout.boxes["c"].y
    assert max(y for _, y in back.points) > bottom
    assert layout.height > max(y for _, y in back.points)


def test_self_loop_is_a_back_link() -> None:
    layout = layered_layout(boxes("a"), [link("a", "a")])
    assert layout.routes[0].back
    assert layout.layers == {"a": 0}


def test_routes_start_and_end_at_the_ports() -> None:
    links = [Link("a", "b", 10.0, 40.0, 30.0), Link("a", "c", 30.0, 5.0, 0.0)]
    layout = layered_layout(boxes("a", "b", "c"), links)
    for lk, route in zip(links, layout.routes, strict=True):
        src, tgt = layout.boxes[lk.source], layout.boxes[lk.target]
        assert route.points[0] == (src.right, src.y + lk.source_y)
        assert route.points[-1] == (tgt.x, tgt.y + lk.target_y)
        # the last segment is a horizontal stub long enough for the label
        (x1, y1), (x2, y2) = route.points[-2:]
        assert y1 == y2 and x2 - x1 >= lk.label_width
        assert route.label_anchor[0] <= tgt.x


def test_wide_labels_widen_the_gap() -> None:
    narrow = layered_layout(boxes("a", "b"), [link("a", "b", 10)])
    wide = layered_layout(boxes("a", "b"), [link("a", "b", 300)])
    gap = wide.boxes["b"].x - wide.boxes["a"].right
    assert gap >= 300
    assert gap > narrow.boxes["b"].x - narrow.boxes["a"].right


def test_fan_in_and_fan_out_do_not_overlap() -> None:
    keys = [f"s{i}" for i in range(6)] + ["hub"] + [f"t{i}" for i in range(6)]
    links = [link(f"s{i}", "hub") for i in range(6)] + [link("hub", f"t{i}") for i in range(6)]
    layout = layered_layout(boxes(*keys), links)
    assert_no_box_overlap(layout)
    assert all(r.x >= 0 and r.y >= 0 for r in layout.boxes.values())
    assert all(
        r.right <= layout.width and r.y + r.height <= layout.height for r in layout.boxes.values()
    )


def test_ordering_removes_avoidable_crossings() -> None:
    # a1 -> b2 and a2 -> b1 declared in crossing order: the layout must uncross them
    links = [link("a1", "b2"), link("a2", "b1")]
    layout = layered_layout(boxes("a1", "a2", "b1", "b2"), links)
    ya = {k: layout.boxes[k].y for k in ("a1", "a2", "b1", "b2")}
    assert (ya["a1"] < ya["a2"]) == (ya["b2"] < ya["b1"])


def test_layout_is_deterministic_and_handles_no_boxes() -> None:
    links = [link("a", "b"), link("b", "a"), link("a", "c")]
    first = layered_layout(boxes("a", "b", "c"), links)
    assert first == layered_layout(boxes("a", "b", "c"), links)
    empty = layered_layout([], [])
    assert empty.boxes == {} and empty.width > 0 and empty.height > 0


def test_disconnected_boxes_share_layer_zero_without_overlap() -> None:
    layout = layered_layout(boxes("x", "y", "z"), [])
    assert set(layout.layers.values()) == {0}
    assert_no_box_overlap(layout)
