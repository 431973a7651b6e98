"""``dora record --proxy``: record a running dataflow's topics from outside, over zenoh.

For a dataflow started on a coordinator with ``publish_all_messages_to_zenoh``: the
messages come through :class:`~dora_cli.topic_watch.TopicWatch` (as for ``dora topic
echo``) and go to a recording on this machine. The first Ctrl-C ends the recording
cleanly; a second one exits at once (the file keeps what was flushed, every
``FLUSH_EVERY`` messages, and reads up to there).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from types import FrameType

import pyarrow as pa

from dora_cli.topic_watch import TopicClosed, TopicMessage, TopicWatch
from dora_record.format import RecordingWriter

FLUSH_EVERY = 100  # messages between flushes
EXIT_INTERRUPTED = 130
_EMPTY = pa.nulls(0)


class Interrupts:
    """SIGINT while recording: the first asks to stop, the second exits at once."""

    def __init__(self) -> None:
        self.stop_requested = False
        self._previous: Callable[[int, FrameType | None], object] | int | None = None

    def __enter__(self) -> Interrupts:
        self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _on_interrupt(self, _signum: int, _frame: FrameType | None) -> None:
        if self.stop_requested:
            os._exit(EXIT_INTERRUPTED)
        self.stop_requested = True


def record_watched(
    watch: TopicWatch,
    writer: RecordingWriter,
    topics: list[str],
    start_ns: int,
    interrupts: Interrupts,
    on_error: Callable[[str], None],
) -> None:
    """Write every message of ``topics`` until each closed or the user interrupts."""
    open_topics = set(topics)
    while open_topics and not interrupts.stop_requested:
        item = watch.get(0.2)
        if item is None:
            continue
        if isinstance(item, TopicClosed):
            open_topics.discard(item.topic)
            continue
        assert isinstance(item, TopicMessage)
        if item.error is not None:
            on_error(f"skipped a message of {item.topic}: {item.error}")
            continue
        node, _, output = item.topic.partition("/")
        value = _EMPTY if item.array is None else item.array
        offset = time.time_ns() - start_ns
        writer.write(node, output, offset, item.timestamp_ns, item.parameters, value)
        if writer.messages % FLUSH_EVERY == 0:
            writer.flush()
