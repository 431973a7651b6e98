"""Draw a :class:`~dora_cli.graph.model.Graph` as inline SVG (for an HTML page).

Text is set in a monospace font so that widths can be estimated without a font engine:
boxes and label stubs are sized from character counts. The SVG carries its own
``<style>``; it has no ``xmlns`` attribute because it is meant to be inlined in HTML5,
which needs none (and so the page contains no URL at all).
"""

from __future__ import annotations

from html import escape

from dora_cli.graph.layout import Box, Layout, Link, Route, layered_layout
from dora_cli.graph.model import Graph, Vertex

__all__ = ["COLORS", "layout_graph", "render_svg", "text_width"]

# Monospace advance is ~0.6 em in the common fonts (DejaVu Sans Mono, Menlo, Consolas).
_ADVANCE = 0.61
_ID_SIZE = 13.0
_SMALL_SIZE = 11.0
_PORT_SPACING = 22.0
_DETAIL_CHARS = 40

#: Fill and stroke of each vertex kind (the render test looks for the node fill).
COLORS: dict[str, tuple[str, str]] = {
    "node": ("#e8f0fe", "#3367d6"),
    "operator": ("#e6f4ea", "#188038"),
    "operators": ("#e6f4ea", "#188038"),
    "module": ("#f3e8fd", "#8430ce"),
    "ros2": ("#fef7e0", "#b06000"),
    "timer": ("#fff3c4", "#c79100"),
    "logs": ("#eceff1", "#607d8b"),
    "missing": ("#fce8e6", "#d93025"),
}
_SOURCE_KINDS = ("timer", "logs", "missing")


def text_width(text: str, size: float) -> float:
    """Estimated width in pixels of ``text`` at font size ``size``."""
    return len(text) * size * _ADVANCE


def _detail(vertex: Vertex) -> str | None:
    detail = vertex.detail
    if detail and len(detail) > _DETAIL_CHARS:
        detail = "…" + detail[-(_DETAIL_CHARS - 1) :]
    return detail


def _box(vertex: Vertex) -> Box:
    detail = _detail(vertex)
    text = max(
        text_width(vertex.label, _ID_SIZE if vertex.kind not in _SOURCE_KINDS else _SMALL_SIZE),
        text_width(detail or "", _SMALL_SIZE),
    )
    if vertex.kind in _SOURCE_KINDS:
        return Box(vertex.key, max(text + 28, 72), 38)
    ports = max(len(vertex.inputs), len(vertex.outputs), 1)
    return Box(vertex.key, max(text + 28, 96), max(50.0, ports * _PORT_SPACING + 8))


def _port_offset(height: float, ports: list[str], name: str | None) -> float:
    if name is None or name not in ports:
        return height / 2
    return height * (ports.index(name) + 0.5) / len(ports)


def layout_graph(graph: Graph) -> Layout:
    """Measure the graph's boxes and labels and lay it out."""
    boxes = [_box(v) for v in graph.vertices]
    size = {b.key: b for b in boxes}
    by_key = {v.key: v for v in graph.vertices}
    links = [
        Link(
            edge.source,
            edge.target,
            _port_offset(size[edge.source].height, by_key[edge.source].outputs, edge.output),
            _port_offset(size[edge.target].height, by_key[edge.target].inputs, edge.input),
            text_width(edge.label, _SMALL_SIZE),
        )
        for edge in graph.edges
    ]
    return layered_layout(boxes, links)


def render_svg(graph: Graph, layout: Layout | None = None) -> str:
    """The ``<svg>`` element drawing ``graph``."""
    layout = layout or layout_graph(graph)
    width, height = round(layout.width), round(layout.height)
    parts = [
        f'<svg class="dora-graph" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(graph.title)} dataflow graph">',
        f"<style>{_CSS}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    by_key = {v.key: v for v in graph.vertices}
    for edge, route in zip(graph.edges, layout.routes, strict=True):
        source = by_key[edge.source].label if edge.source in by_key else edge.source
        where = f"{edge.source}/{edge.output}" if edge.output else source
        tip = f"{where} → {edge.target}/{edge.input}"
        parts.append(
            f'<g class="edge"><title>{escape(tip)}</title>'
            f'<path d="{_path(route)}" marker-end="url(#arrow)"/>'
            f'<text x="{route.label_anchor[0]:.1f}" y="{route.label_anchor[1]:.1f}" '
            f'text-anchor="end">{escape(edge.label)}</text></g>'
        )
    for vertex in graph.vertices:
        parts.append(_vertex(vertex, layout))
    parts.append("</svg>")
    return "\n".join(parts)


def _vertex(vertex: Vertex, layout: Layout) -> str:
    rect = layout.boxes[vertex.key]
    fill, stroke = COLORS[vertex.kind]
    source = vertex.kind in _SOURCE_KINDS
    radius = rect.height / 2 if source else 6
    cx = rect.x + rect.width / 2
    detail = _detail(vertex)
    title = vertex.key + (f"\n{vertex.tooltip}" if vertex.tooltip else "")
    dash = ' stroke-dasharray="5 3"' if vertex.kind == "missing" else ""
    out = [
        f'<g class="vertex {vertex.kind}" data-id="{escape(vertex.key)}">'
        f"<title>{escape(title)}</title>",
        f'<rect x="{rect.x:.1f}" y="{rect.y:.1f}" width="{rect.width:.1f}" '
        f'height="{rect.height:.1f}" rx="{radius:.1f}" fill="{fill}" stroke="{stroke}"{dash}/>',
    ]
    mid = rect.y + rect.height / 2
    label_class = "src-label" if source else "id"
    if detail:
        out.append(
            f'<text class="{label_class}" x="{cx:.1f}" y="{mid - 2:.1f}">'
            f"{escape(vertex.label)}</text>"
        )
        out.append(f'<text class="detail" x="{cx:.1f}" y="{mid + 12:.1f}">{escape(detail)}</text>')
    else:
        out.append(
            f'<text class="{label_class}" x="{cx:.1f}" y="{mid + 4:.1f}">'
            f"{escape(vertex.label)}</text>"
        )
    out.append("</g>")
    return "".join(out)


def _path(route: Route) -> str:
    (x0, y0), *rest = route.points
    d = [f"M{x0:.1f},{y0:.1f}"]
    prev = (x0, y0)
    for x, y in rest:
        if route.back or abs(y - prev[1]) < 0.5:
            d.append(f"L{x:.1f},{y:.1f}")
        else:
            # Horizontal tangents at both ends: the link leaves and enters ports flat.
            dx = max((x - prev[0]) / 2, 12.0)
            d.append(f"C{prev[0] + dx:.1f},{prev[1]:.1f} {x - dx:.1f},{y:.1f} {x:.1f},{y:.1f}")
        prev = (x, y)
    return " ".join(d)


_CSS = (
    ".dora-graph{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace}"
    ".dora-graph .edge path{fill:none;stroke:#5f6368;stroke-width:1.4}"
    ".dora-graph .arrowhead{fill:#5f6368}"
    ".dora-graph .edge text{font-size:11px;fill:#202124;paint-order:stroke;"
    "stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    ".dora-graph .edge:hover path{stroke:#d93025;stroke-width:2.4}"
    ".dora-graph .edge:hover text{fill:#d93025}"
    ".dora-graph .vertex text{text-anchor:middle;fill:#202124}"
    ".dora-graph .vertex .id{font-size:13px;font-weight:bold}"
    ".dora-graph .vertex .src-label{font-size:11px;font-weight:bold}"
    ".dora-graph .vertex .detail{font-size:11px;fill:#5f6368}"
    ".dora-graph .vertex:hover rect{stroke-width:2.5}"
)
