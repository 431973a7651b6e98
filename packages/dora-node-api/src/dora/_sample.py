"""``send_output_raw``: allocate the send buffer first, fill it, then send.

Large samples (>= the zero-copy threshold, with at least one receiver) live directly in a
shared-memory segment, so the node writes its data exactly once, into the memory the
receivers will map. Small ones use a ``bytearray`` and travel inline.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from dora._sender import Sender
from dora._shm import Segment, ShmPool


class SampleHandler:
    """A pre-allocated output sample; send it once with :meth:`send` or a ``with`` block."""

    def __init__(
        self,
        sender: Sender,
        pool: ShmPool,
        output_id: str,
        length: int,
        params: dict[str, Any],
        clock_now: Any,
    ) -> None:
        if length < 0:
            raise ValueError("data_length must be >= 0")
        self._sender = sender
        self._pool = pool
        self._output_id = output_id
        self._length = length
        self._params = params
        self._now = clock_now
        self._segment: Segment | None = None
        self._bytes: bytearray | None = None
        if length >= sender.threshold and sender.has_receivers(output_id):
            self._segment, _offset = pool.acquire(length, dedicated=True)  # offset 0
            self._view = memoryview(self._segment.mm)[:length]
        else:
            self._bytes = bytearray(length)
            self._view = memoryview(self._bytes)
        self._done = False

    def as_memoryview(self) -> memoryview:
        """The writable buffer (valid until the sample is sent)."""
        if self._done:
            raise RuntimeError("this sample was already sent")
        return self._view

    def send(self) -> None:
        """Send the sample (once). Refused while views derived from it are alive."""
        if self._done:
            raise RuntimeError("this sample was already sent")
        self._release_view()
        self._done = True
        ts = self._now()
        if self._segment is not None:
            segment, self._segment = self._segment, None
            self._sender.send_segment(
                self._output_id, ts, self._params, "raw", segment, 0, self._length
            )
        else:
            data = self._bytes or bytearray()
            self._sender.send(self._output_id, memoryview(data), self._params, ts)
            self._bytes = None

    def discard(self) -> None:
        """Give the buffer back without sending."""
        if self._done:
            return
        self._release_view()
        self._done = True
        if self._segment is not None:
            segment, self._segment = self._segment, None
            self._sender.discard_segment(segment, 0)
        self._bytes = None

    def _release_view(self) -> None:
        # slices of our memoryview keep the underlying buffer exported: detect them so
        # nobody can write into a message after it was handed to the receivers
        self._view.release()
        if self._segment is not None:
            alive = self._segment.has_views()
        else:
            assert self._bytes is not None
            try:
                self._bytes.append(0)  # resizing is refused while views exist
                self._bytes.pop()
                alive = False
            except BufferError:
                alive = True
        if alive:
            raise RuntimeError("cannot send: views derived from the sample buffer are still alive")

    def __enter__(self) -> memoryview:
        return self.as_memoryview()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.send()
        else:
            self.discard()
