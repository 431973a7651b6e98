"""A layered (Sugiyama-style) left-to-right layout for boxes with ports.

Steps: break cycles with a depth-first search (back links and self-loops are routed
separately, under the drawing); assign layers by longest path, then pull sources next to
their first consumer; split links that span several layers with dummy points; order each
layer by barycenters, keeping the order with the fewest crossings; place boxes vertically
by isotonic regression towards the ports they connect to (the best positions that keep
the order and the gaps). Each link ends in a horizontal stub in front of its target port,
wide enough for its label, so labels never overlap each other or boxes.

Pure and deterministic: same input, same output. Units are SVG pixels.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Box", "Layout", "Link", "Rect", "Route", "Spacing", "layered_layout"]

Point = tuple[float, float]
# (vertex key, link index, "source" | "target") -> port offset from the vertex's top
PortOffset = Callable[[str, int, str], float]

# Sweeps of the ordering and placement heuristics: enough for graphs of a few dozen nodes.
_ORDER_SWEEPS = 8
_PLACE_SWEEPS = 8


@dataclass(frozen=True)
class Box:
    """A vertex to place, with its size."""

    key: str
    width: float
    height: float


@dataclass(frozen=True)
class Link:
    """A connection between two boxes' ports (offsets from each box's top)."""

    source: str
    target: str
    source_y: float
    target_y: float
    label_width: float = 0.0


@dataclass(frozen=True)
class Spacing:
    """Gaps and margins of the layout."""

    margin: float = 24.0
    layer_gap: float = 48.0
    row_gap: float = 28.0
    dummy_gap: float = 14.0
    label_pad: float = 16.0
    lane: float = 8.0


@dataclass(frozen=True)
class Rect:
    """A placed box (top-left corner and size)."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        """The x of the right side."""
        return self.x + self.width


@dataclass(frozen=True)
class Route:
    """The polyline of a link and where its label ends (text-anchor ``end``, baseline)."""

    points: tuple[Point, ...]
    label_anchor: Point
    back: bool
    """Routed below the drawing (a cycle or self-loop): draw it with straight segments."""


@dataclass(frozen=True)
class Layout:
    """Placed boxes, routed links (in input order), layer of each box, drawing size."""

    boxes: dict[str, Rect]
    routes: list[Route]
    layers: dict[str, int]
    width: float
    height: float


def layered_layout(boxes: list[Box], links: list[Link], spacing: Spacing | None = None) -> Layout:
    """Lay out ``boxes`` left to right so that ``links`` mostly point rightwards."""
    sp = spacing or Spacing()
    size = {box.key: box for box in boxes}
    keys = [box.key for box in boxes]
    back = _back_links(keys, links)
    forward = [i for i in range(len(links)) if i not in back]
    layer = _assign_layers(keys, [(links[i].source, links[i].target) for i in forward])

    # Dummy points split long forward links into one segment per layer.
    chains: dict[int, list[str]] = {}
    members: dict[int, list[str]] = defaultdict(list)
    for key in keys:
        members[layer[key]].append(key)
    for i in forward:
        link = links[i]
        chain = [link.source]
        for lay in range(layer[link.source] + 1, layer[link.target]):
            dummy = f"\0{i}:{lay}"
            layer[dummy] = lay
            members[lay].append(dummy)
            chain.append(dummy)
        chain.append(link.target)
        chains[i] = chain
    n_layers = max(layer.values(), default=-1) + 1
    order = [members[lay] for lay in range(n_layers)]

    segments = [(a, b, i) for i, chain in chains.items() for a, b in itertools.pairwise(chain)]
    order = _order_layers(order, segments)

    def offset(key: str, i: int, end: str) -> float:
        """Port offset of link ``i`` at ``key`` (0 for dummy points)."""
        link = links[i]
        if end == "source" and key == link.source:
            return link.source_y
        if end == "target" and key == link.target:
            return link.target_y
        return 0.0

    height = {key: (size[key].height if key in size else 0.0) for key in layer}
    tops = _place_rows(order, segments, height, offset, sp)

    # Horizontal room: layer columns, then label stubs and back-link lanes between them.
    width = [max((size[k].width for k in lay if k in size), default=0.0) for lay in order]
    label_room = [0.0] * n_layers
    for link in links:
        lay = layer[link.target]
        label_room[lay] = max(label_room[lay], link.label_width + sp.label_pad)
    lanes_out = [0] * n_layers
    lanes_in = [0] * n_layers
    for i in sorted(back):
        lanes_out[layer[links[i].source]] += 1
        lanes_in[layer[links[i].target]] += 1
    left: list[float] = []
    x = sp.margin
    for lay in range(n_layers):
        x += label_room[lay] + lanes_in[lay] * sp.lane
        if lay > 0:
            x += sp.layer_gap + lanes_out[lay - 1] * sp.lane
        left.append(x)
        x += width[lay]
    total_width = x + (lanes_out[-1] * sp.lane if n_layers else 0.0) + sp.margin

    rects: dict[str, Rect] = {}
    for key in keys:
        lay = layer[key]
        box = size[key]
        x_box = left[lay] + (width[lay] - box.width) / 2
        rects[key] = Rect(x_box, tops[key], box.width, box.height)
    bottom = max((r.y + r.height for r in rects.values()), default=sp.margin)
    bottom = max([bottom, *(tops[k] for k in layer if k not in size)])

    routes: list[Route] = []
    used_out = [0] * n_layers
    used_in = [0] * n_layers
    back_rank = {i: rank for rank, i in enumerate(sorted(back))}
    for i, link in enumerate(links):
        src, tgt = rects[link.source], rects[link.target]
        start = (src.right, src.y + link.source_y)
        end_y = tgt.y + link.target_y
        stub = tgt.x - link.label_width - sp.label_pad
        anchor = (tgt.x - 6.0, end_y - 5.0)
        if i in back:
            s_lay, t_lay = layer[link.source], layer[link.target]
            used_out[s_lay] += 1
            used_in[t_lay] += 1
            out_x = left[s_lay] + width[s_lay] + used_out[s_lay] * sp.lane
            in_x = left[t_lay] - label_room[t_lay] - used_in[t_lay] * sp.lane
            channel = bottom + sp.row_gap / 2 + back_rank[i] * sp.lane
            points: tuple[Point, ...] = (
                start,
                (out_x, start[1]),
                (out_x, channel),
                (in_x, channel),
                (in_x, end_y),
                (stub, end_y),
                (tgt.x, end_y),
            )
            routes.append(Route(points, anchor, back=True))
            continue
        middle: list[Point] = []
        for dummy in chains[i][1:-1]:
            lay = layer[dummy]
            middle += [(left[lay], tops[dummy]), (left[lay] + width[lay], tops[dummy])]
        points = (start, *middle, (stub, end_y), (tgt.x, end_y))
        routes.append(Route(points, anchor, back=False))
    channels = (sp.row_gap / 2 + len(back) * sp.lane) if back else 0.0
    total_height = bottom + channels + sp.margin
    return Layout(rects, routes, {k: layer[k] for k in keys}, total_width, total_height)


def _back_links(keys: list[str], links: list[Link]) -> set[int]:
    """Indices of links that close a cycle (found by DFS) and of self-loops."""
    out: dict[str, list[int]] = defaultdict(list)
    has_in: set[str] = set()
    for i, link in enumerate(links):
        out[link.source].append(i)
        if link.source != link.target:
            has_in.add(link.target)
    back = {i for i, link in enumerate(links) if link.source == link.target}
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done
    # Start from the vertices nothing points to, so cycles are cut where they close.
    starts = [k for k in keys if k not in has_in] + [k for k in keys if k in has_in]
    for start in starts:
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(out[start]))]
        while stack:
            key, pending = stack[-1]
            for i in pending:
                target = links[i].target
                if target == key:
                    continue
                if state.get(target) == 1:
                    back.add(i)
                elif target not in state:
                    state[target] = 1
                    stack.append((target, iter(out[target])))
                    break
            else:
                state[key] = 2
                stack.pop()
    return back


def _assign_layers(keys: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layers of an acyclic graph; sources sit just before their consumers."""
    succ: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(keys, 0)
    for a, b in edges:
        succ[a].append(b)
        indegree[b] += 1
    sources = [k for k in keys if indegree[k] == 0]
    layer = dict.fromkeys(keys, 0)
    ready = list(sources)
    remaining = dict(indegree)
    while ready:
        key = ready.pop(0)
        for nxt in succ[key]:
            layer[nxt] = max(layer[nxt], layer[key] + 1)
            remaining[nxt] -= 1
            if remaining[nxt] == 0:
                ready.append(nxt)
    for key in sources:
        if succ[key]:
            layer[key] = min(layer[n] for n in succ[key]) - 1
    return layer


def _order_layers(order: list[list[str]], segments: list[tuple[str, str, int]]) -> list[list[str]]:
    """Reorder each layer by the barycenters of its neighbours; keep the best found."""
    preds: dict[str, list[str]] = defaultdict(list)
    succs: dict[str, list[str]] = defaultdict(list)
    for a, b, _ in segments:
        succs[a].append(b)
        preds[b].append(a)
    best = [list(lay) for lay in order]
    best_cost = _crossings(best, segments)
    current = [list(lay) for lay in order]
    for sweep in range(_ORDER_SWEEPS):
        down = sweep % 2 == 0
        indices = range(1, len(current)) if down else range(len(current) - 2, -1, -1)
        for lay in indices:
            ref = current[lay - 1] if down else current[lay + 1]
            pos = {k: p for p, k in enumerate(ref)}
            neigh = preds if down else succs
            here = {k: p for p, k in enumerate(current[lay])}

            current[lay].sort(key=lambda key, p=pos, h=here, nb=neigh: _bary(key, p, h, nb))
        cost = _crossings(current, segments)
        if cost < best_cost:
            best, best_cost = [list(lay) for lay in current], cost
    return best


def _bary(
    key: str, pos: dict[str, int], here: dict[str, int], neigh: dict[str, list[str]]
) -> float:
    around = [pos[n] for n in neigh[key] if n in pos]
    return sum(around) / len(around) if around else float(here[key])


def _crossings(order: list[list[str]], segments: list[tuple[str, str, int]]) -> int:
    pos = {k: p for lay in order for p, k in enumerate(lay)}
    by_gap: dict[int, list[tuple[int, int]]] = defaultdict(list)
    layer_of = {k: n for n, lay in enumerate(order) for k in lay}
    for a, b, _ in segments:
        by_gap[layer_of[a]].append((pos[a], pos[b]))
    count = 0
    for pairs in by_gap.values():
        for n, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[n + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    count += 1
    return count


def _place_rows(
    order: list[list[str]],
    segments: list[tuple[str, str, int]],
    height: dict[str, float],
    port: PortOffset,
    sp: Spacing,
) -> dict[str, float]:
    """Top y of every vertex (boxes and dummy points)."""
    incoming: dict[str, list[tuple[str, int]]] = defaultdict(list)
    outgoing: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for a, b, i in segments:
        outgoing[a].append((b, i))
        incoming[b].append((a, i))
    tops: dict[str, float] = {}
    for lay in order:
        y = 0.0
        for n, key in enumerate(lay):
            if n:
                y += _gap(lay[n - 1], key, sp)
            tops[key] = y
            y += height[key]

    def desired(key: str, use_in: bool, use_out: bool) -> float:
        wanted: list[float] = []
        if use_in:
            for other, i in incoming[key]:
                there = tops[other] + port(other, i, "source")
                wanted.append(there - port(key, i, "target"))
        if use_out:
            for other, i in outgoing[key]:
                there = tops[other] + port(other, i, "target")
                wanted.append(there - port(key, i, "source"))
        return sum(wanted) / len(wanted) if wanted else tops[key]

    passes = [(True, False), (False, True)] * _PLACE_SWEEPS + [(True, True)]
    for use_in, use_out in passes:
        layers = order if use_in and not use_out else order[::-1]
        for lay in layers:
            wanted = [desired(k, use_in, use_out) for k in lay]
            gaps = [_gap(lay[n - 1], lay[n], sp) if n else 0.0 for n in range(len(lay))]
            placed = _isotonic_tops(wanted, [height[k] for k in lay], gaps)
            tops.update(zip(lay, placed, strict=True))
    low = min(tops.values(), default=0.0)
    return {key: y - low + sp.margin for key, y in tops.items()}


def _gap(above: str, below: str, sp: Spacing) -> float:
    return sp.dummy_gap if above.startswith("\0") or below.startswith("\0") else sp.row_gap


def _isotonic_tops(wanted: list[float], heights: list[float], gaps: list[float]) -> list[float]:
    """Tops closest (least squares) to ``wanted`` that keep the order and the gaps.

    With ``c_i`` the minimal offset of item ``i`` below item 0, a valid placement is one
    where ``top_i - c_i`` never decreases, so this is isotonic regression of
    ``wanted_i - c_i`` (pool-adjacent-violators), shifted back.
    """
    offsets: list[float] = []
    c = 0.0
    for n in range(len(wanted)):
        if n:
            c += heights[n - 1] + gaps[n]
        offsets.append(c)
    blocks: list[list[float]] = []  # [mean, count]
    for value in (w - c for w, c in zip(wanted, offsets, strict=True)):
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            prev = blocks[-1]
            prev[0] = (prev[0] * prev[1] + mean * count) / (prev[1] + count)
            prev[1] += count
    fitted = [mean for mean, count in blocks for _ in range(int(count))]
    return [f + c for f, c in zip(fitted, offsets, strict=True)]
