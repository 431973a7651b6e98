"""``send_output_raw``: allocate the send buffer first, fill it, then send.

Large samples (>= the zero-copy threshold, with at least one receiver) live directly in a
shared-memory segment, so the node writes its data exactly once, into the memory the
receivers will map. Small ones use a ``bytearray`` and travel inline.

The buffer contract is dora-rs's: ``as_buffer()`` returns one cached buffer object;
``as_memoryview()`` returns a fresh view per call, and each view still open is counted;
``send()`` refuses while any view (or a numpy array made from one) is open, because the
receivers would read memory the node can still write; after ``send()`` the buffer is
gone. A ``with`` block sends on a clean exit only; a body that raises leaves the sample
as it was, still sendable.
"""

from __future__ import annotations

import re
import sys
from types import TracebackType
from typing import Any

from dora._sender import Sender
from dora._shm import Segment, ShmPool

_SENT = "Sample has already been sent"
_GONE = "Cannot access buffer: the sample has already been sent"
_EXPORTS = re.compile(r"has (\d+) exported")
# references to a handed-out view that are ours: the list, the loop variable, the
# argument of sys.getrefcount; one more means the caller (or a numpy array) holds it
_OUR_REFS = 3


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
        self._done = False
        if length >= sender.threshold and sender.has_receivers(output_id):
            self._segment, _offset = pool.acquire(length, dedicated=True)  # offset 0
            self._base = memoryview(self._segment.mm)[:length]
        else:
            self._bytes = bytearray(length)
            self._base = memoryview(self._bytes)
        self._views: list[memoryview] = []  # handed out by as_memoryview()

    # ---- access ---------------------------------------------------------------------

    def as_buffer(self) -> memoryview:
        """The sample's writable buffer: the same object on every call."""
        if self._done:
            raise RuntimeError(_GONE)
        return self._base

    def as_memoryview(self) -> memoryview:
        """A fresh writable view of the sample; release it (``.release()`` or drop it)
        before :meth:`send`."""
        if self._done:
            raise RuntimeError(_GONE)
        view = self._base[:]
        self._views.append(view)
        return view

    # ---- sending --------------------------------------------------------------------

    def send(self) -> None:
        """Send the sample (once). Refused while views of its buffer are open."""
        if self._done:
            raise RuntimeError(_SENT)
        self._close_buffer()
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
        """Give the buffer back without sending (refused while views are open)."""
        if self._done:
            return
        self._close_buffer()
        self._done = True
        if self._segment is not None:
            segment, self._segment = self._segment, None
            self._sender.discard_segment(segment, 0)
        self._bytes = None

    def _open_views(self) -> list[str]:
        """What still sees the buffer, in words; forgets views nobody holds any more."""
        views = self._views
        keep: list[int] = []
        for index in range(len(views)):  # no enumerate: its tuple would hold a reference
            view = views[index]
            try:
                view.nbytes  # noqa: B018 - raises ValueError once released
            except ValueError:
                continue
            if sys.getrefcount(view) > _OUR_REFS:
                keep.append(index)
            else:
                view.release()  # dropped by the caller: nothing can write through it
        self._views = [views[i] for i in keep]
        return [f"as_memoryview() view #{i + 1}" for i in keep]

    def _close_buffer(self) -> None:
        """Release the buffer for sending; RuntimeError naming what is still open."""
        named = self._open_views()
        exports = 0
        if not named:
            try:
                self._base.release()
            except BufferError as error:  # numpy arrays etc. made from as_buffer()
                match = _EXPORTS.search(str(error))
                exports = int(match.group(1)) if match else 1
        if not named and not exports and self._storage_exported():
            # memoryview(as_buffer()) or a slice of it: invisible to the count above
            exports = 1
            self._base = self._fresh_base()
        if named or exports:
            if exports:
                named.append(f"{exports} view(s) made from as_buffer() (memoryview / numpy)")
            count = len(named) - (1 if exports else 0) + exports
            raise RuntimeError(
                f"Cannot send: {count} buffer view(s) are still open: {', '.join(named)}. "
                "Release all memoryview / numpy references before calling send()."
            )

    def _storage_exported(self) -> bool:
        if self._segment is not None:
            return self._segment.has_views()
        assert self._bytes is not None
        try:
            self._bytes.append(0)  # resizing is refused while views exist
            self._bytes.pop()
        except BufferError:
            return True
        return False

    def _fresh_base(self) -> memoryview:
        if self._segment is not None:
            return memoryview(self._segment.mm)[: self._length]
        assert self._bytes is not None
        return memoryview(self._bytes)

    def __del__(self) -> None:
        # An unsent sample was dropped: give its memory back. When views of it live on,
        # the memory stays valid for whoever holds them, and a shared-memory segment
        # never goes back to the pool (no later sample may share memory still written).
        if getattr(self, "_done", True):
            return
        try:
            self.discard()
        except Exception:
            self._done = True
            self._segment = None  # its views live on: the segment is not reused

    # ---- with -----------------------------------------------------------------------

    def __enter__(self) -> memoryview:
        return self.as_buffer()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            try:
                self.send()
            except RuntimeError as error:
                raise RuntimeError(f"Failed to send: {error}") from None
        # a body that raised sends nothing: the sample stays as it was, still sendable
