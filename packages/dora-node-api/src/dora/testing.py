"""Test helpers for dora nodes: :class:`MockNode`, a daemon-free stand-in for ``Node``.

Example::

    import pyarrow as pa
    from dora.testing import MockNode

    def test_my_node():
        node = MockNode([("tick", pa.array([0]))])
        for event in node:
            if event["type"] == "INPUT":
                node.send_output("result", pa.array([42]))
        assert node.outputs["result"][0].to_pylist() == [42]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["MockNode"]


class MockNode:
    """Yields one INPUT event per ``(input_id, data)``, then ``{"type": "STOP"}``.

    ``metadata`` is copied into every INPUT event; ``send_output`` records the data in
    :attr:`outputs` (``output id -> list``), and the metadata in :attr:`output_metadata`.
    """

    def __init__(
        self, inputs: list[tuple[str, Any]], metadata: dict[str, Any] | None = None
    ) -> None:
        events: list[dict[str, Any]] = [
            {
                "type": "INPUT",
                "id": input_id,
                "value": data,
                "metadata": dict(metadata) if metadata else {},
            }
            for input_id, data in inputs
        ]
        events.append({"type": "STOP"})
        self._events = iter(events)
        self.outputs: dict[str, list[Any]] = {}
        self.output_metadata: dict[str, list[dict[str, Any] | None]] = {}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._events)

    def next(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event or ``None`` when exhausted; ``timeout`` is ignored."""
        return next(self._events, None)

    async def recv_async(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Same as :meth:`next`; returns at once."""
        return self.next(timeout)

    def __aiter__(self) -> MockNode:
        return self

    async def __anext__(self) -> dict[str, Any]:
        event = self.next()
        if event is None:
            raise StopAsyncIteration
        return event

    def send_output(
        self, output_id: str, data: Any, metadata: dict[str, Any] | None = None
    ) -> None:
        """Record an output."""
        self.outputs.setdefault(output_id, []).append(data)
        self.output_metadata.setdefault(output_id, []).append(metadata)
