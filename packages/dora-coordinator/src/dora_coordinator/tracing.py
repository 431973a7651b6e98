"""In-memory spans of the coordinator's own operations, for ``dora trace list|view``.

Sans-I/O: a :class:`SpanRecorder` keeps the last :data:`RING_CAPACITY` finished spans in a
ring buffer (the oldest is evicted first; nothing is persisted) and answers the two trace
queries. Instrumented code opens spans with a context manager::

    with recorder.span("spawn_dataflow", dataflow_id=uuid) as span:
        ...
        span.record("daemons", 2)

The open span is kept in a :class:`contextvars.ContextVar`, so a span opened inside
another one, even after an ``await`` or in a task created meanwhile, becomes its child and
inherits its trace id; a span opened with no current span is a root with a new random UUID
as trace id. :meth:`SpanRecorder.start` + :meth:`SpanRecorder.activate` split a span across
a synchronous request handler and the background task that finishes the work.

Only spans at level INFO or more severe are captured (as the Rust coordinator's capture
layer does); a DEBUG/TRACE span is transparent: its children attach to its parent.
Each record: ``span_id`` (counter from 1), ``parent_span_id``, ``name``, ``target``,
``level``, ``start_time`` (Unix ms), ``duration_us`` and ordered string ``fields`` (at most
:data:`MAX_FIELDS`; values cut to :data:`MAX_FIELD_BYTES` UTF-8 bytes plus ``...``).
A span that exits with an exception gets an ``error`` field.
"""

from __future__ import annotations

import contextlib
import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from dora_coordinator.errors import CoordinatorServerError
from dora_message import coordinator_to_cli as rep

RING_CAPACITY = 4096
MAX_FIELDS = 64
MAX_FIELD_BYTES = 4096
MAX_TRACE_ID_CHARS = 36
DEFAULT_TARGET = "dora_coordinator"

# most to least severe; spans below INFO are not captured
LEVELS = ("ERROR", "WARN", "INFO", "DEBUG", "TRACE")
_CAPTURED = frozenset(LEVELS[:3])


class InvalidTraceId(CoordinatorServerError):
    """A trace id that cannot be one: too long or not ASCII."""

    def __init__(self) -> None:
        super().__init__("invalid trace_id format")


def truncate_value(value: object) -> str:
    """``str(value)``, cut to :data:`MAX_FIELD_BYTES` UTF-8 bytes (+ ``...``) if longer."""
    text = str(value)
    if len(text) * 4 <= MAX_FIELD_BYTES:  # fast path: cannot exceed the byte limit
        return text
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= MAX_FIELD_BYTES:
        return text
    return encoded[:MAX_FIELD_BYTES].decode("utf-8", "ignore") + "..."


@dataclass(slots=True)
class OpenSpan:
    """A span that has started and not yet closed."""

    recorder: SpanRecorder
    trace_id: str
    span_id: int
    parent_span_id: int | None
    name: str
    target: str
    level: str
    start_time: int  # Unix ms
    started_ns: int  # monotonic clock
    fields: list[tuple[str, str]] = field(default_factory=list)
    closed: bool = False

    def record(self, key: str, value: object) -> None:
        """Append a field; ignored once the span has :data:`MAX_FIELDS` fields or closed."""
        if not self.closed and len(self.fields) < MAX_FIELDS:
            self.fields.append((key, truncate_value(value)))


class _NoSpan:
    """Stands in for a span below the capture level: records nothing."""

    def record(self, key: str, value: object) -> None:
        """Ignored."""


NO_SPAN = _NoSpan()
Span = OpenSpan | _NoSpan

_current: ContextVar[OpenSpan | None] = ContextVar("dora_coordinator_span", default=None)


def current_span() -> OpenSpan | None:
    """The innermost open span of this context, if any."""
    return _current.get()


class SpanRecorder:
    """Opens, closes and keeps spans; answers ``get_traces`` / ``get_trace_spans``."""

    def __init__(
        self,
        capacity: int = RING_CAPACITY,
        *,
        wall_clock: Callable[[], float] = time.time,
        monotonic_ns: Callable[[], int] = time.perf_counter_ns,
        new_trace_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._finished: deque[rep.SpanRecord] = deque(maxlen=capacity)
        self._ids = itertools.count(1)
        self._wall_clock = wall_clock
        self._monotonic_ns = monotonic_ns
        self._new_trace_id = new_trace_id

    # ---- instrumentation -------------------------------------------------------

    def start(
        self, name: str, /, *, level: str = "INFO", target: str = DEFAULT_TARGET, **fields: object
    ) -> Span:
        """Open a span, child of the current one (if from this recorder), without entering it."""
        if level not in _CAPTURED:
            return NO_SPAN
        parent = _current.get()
        if parent is not None and parent.recorder is not self:
            parent = None
        span = OpenSpan(
            recorder=self,
            trace_id=parent.trace_id if parent is not None else self._new_trace_id(),
            span_id=next(self._ids),
            parent_span_id=parent.span_id if parent is not None else None,
            name=name,
            target=target,
            level=level,
            start_time=int(self._wall_clock() * 1000),
            started_ns=self._monotonic_ns(),
        )
        for key, value in fields.items():
            span.record(key, value)
        return span

    def finish(self, span: Span) -> None:
        """Close ``span`` and store its record (a second call does nothing)."""
        if not isinstance(span, OpenSpan) or span.closed:
            return
        span.closed = True
        duration_us = max(0, (self._monotonic_ns() - span.started_ns) // 1000)
        self._finished.append(
            rep.SpanRecord(
                trace_id=span.trace_id,
                span_id=span.span_id,
                parent_span_id=span.parent_span_id,
                name=span.name,
                target=span.target,
                level=span.level,
                start_time=span.start_time,
                duration_us=duration_us,
                fields=span.fields,
            )
        )

    @contextlib.contextmanager
    def activate(self, span: Span, *, finish: bool = True) -> Iterator[Span]:
        """Make ``span`` the current span inside the block; close it after unless ``finish``."""
        if not isinstance(span, OpenSpan):
            yield span
            return
        token = _current.set(span)
        try:
            yield span
        except BaseException as error:
            span.record("error", error if str(error) else type(error).__name__)
            raise
        finally:
            _current.reset(token)
            if finish:
                self.finish(span)

    def span(
        self, name: str, /, *, level: str = "INFO", target: str = DEFAULT_TARGET, **fields: object
    ) -> contextlib.AbstractContextManager[Span]:
        """Open a span for the duration of a ``with`` block (see the module docstring)."""
        return self.activate(self.start(name, level=level, target=target, **fields))

    # ---- queries ---------------------------------------------------------------

    def spans(self) -> list[rep.SpanRecord]:
        """Every stored span, oldest first."""
        return list(self._finished)

    def traces(self) -> rep.TraceList:
        """One summary per trace, newest first.

        The root is the span without parent (else the earliest one); started is the
        earliest start in the trace; duration is the root's.
        """
        groups: dict[str, list[rep.SpanRecord]] = {}
        for record in self._finished:
            groups.setdefault(record.trace_id, []).append(record)
        summaries = []
        for trace_id, records in groups.items():
            roots = [r for r in records if r.parent_span_id is None]
            root = min(roots or records, key=lambda r: (r.start_time, r.span_id))
            summaries.append(
                rep.TraceSummary(
                    trace_id=trace_id,
                    root_span_name=root.name,
                    span_count=len(records),
                    start_time=min(r.start_time for r in records),
                    duration_us=root.duration_us,
                )
            )
        summaries.sort(key=lambda s: s.start_time, reverse=True)
        return rep.TraceList(traces=summaries)

    def trace(self, trace_id: str) -> rep.TraceSpans:
        """The stored spans of ``trace_id`` (empty when unknown); rejects malformed ids."""
        if len(trace_id) > MAX_TRACE_ID_CHARS or not trace_id.isascii():
            raise InvalidTraceId()
        return rep.TraceSpans(
            trace_id=trace_id, spans=[r for r in self._finished if r.trace_id == trace_id]
        )
