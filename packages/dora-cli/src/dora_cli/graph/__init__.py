"""Drawing a dataflow: the graph model, a layered layout, SVG, HTML and Mermaid text.

Everything here is sans-I/O: functions take a :class:`~dora_message.descriptor.Descriptor`
(or the graph model built from it) and return strings. ``dora graph`` does the file work.

* :mod:`.model` turns a descriptor into vertices (nodes, timers, log sources) and edges;
* :mod:`.layout` places them in layers (longest path, barycentric ordering);
* :mod:`.svg` measures, lays out and draws the graph as inline SVG;
* :mod:`.html` wraps the SVG in a self-contained page (no network needed);
* :mod:`.mermaid` writes the Mermaid flowchart text of upstream's ``dora graph --mermaid``.
"""
