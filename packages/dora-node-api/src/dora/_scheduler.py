"""Per-node event scheduler: input queues, queue policies, fairness, stop handling.

Sans-I/O: the node's I/O code pushes inputs and control events in, the consumer pops
them out. Rules (mainline behaviour, ``spec/node-api.md`` §2):

* every input has its own FIFO; ``drop_oldest`` keeps ``max(queue_size, 1)`` messages,
  ``backpressure`` keeps ``max(10 * queue_size, 100)`` and drops the oldest (loudly) past
  that; every drop is counted per input;
* messages carrying ``request_id``/``goal_id``/``goal_status`` ("protected") are evicted
  last; ``flush=True`` discards the older unprotected messages of that input;
* non-input events (STOP, NODE_FAILED, ...) are returned before any queued input;
* ``INPUT_CLOSED`` is queued *behind* the data already queued on that input, so it never
  overtakes data; once every input has been closed (and those events were returned) a
  ``STOP`` with id ``ALL_INPUTS_CLOSED`` follows;
* inputs are served round-robin, least recently served first;
* after a STOP has been returned only already-queued inputs come out, then the stream ends;
* circuit breaker: an input with ``input_timeout`` is armed by its first message; when no
  message came for that long (:meth:`Scheduler.expire`), ``INPUT_CLOSED`` is queued
  behind its data but the input stays open: the next message is queued, followed by
  ``INPUT_RECOVERED``. A broken input does not count as closed (no ``ALL_INPUTS_CLOSED``);
  if its producer then closes it for good, no second ``INPUT_CLOSED`` is returned.

``pop`` returns a control-event ``dict``, an ``(input_id, item)`` tuple for an input,
or ``None`` when nothing is queued (check :attr:`Scheduler.ended`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping
from typing import Any

from dora.events import input_closed_event, input_recovered_event, stop_event

logger = logging.getLogger(__name__)

NON_INPUT_QUEUE_SIZE = 1000
NON_INPUT_KEY = "dora.non_input_event"


class _Marker:
    """An entry of an input queue that is not a message."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


_CLOSED = _Marker("closed")
"""Queue marker: the input closes here (after the data queued before it)."""
_BROKEN = _Marker("broken")
"""Queue marker: the input timed out here (INPUT_CLOSED, the input stays open)."""
_RECOVERED = _Marker("recovered")
"""Queue marker: data came back on a timed-out input (INPUT_RECOVERED)."""

_OPEN, _CLOSING, _CLOSED_DONE = 0, 1, 2


class _Protected:
    """A queued message that is evicted last (it carries a request or goal id).

    Every other message is queued as the item itself: no wrapper per message.
    """

    __slots__ = ("item",)

    def __init__(self, item: Any) -> None:
        self.item = item


def effective_cap(queue_size: int, policy: str) -> int:
    """How many messages an input queue holds before it drops the oldest."""
    if policy == "backpressure":
        return max(10 * queue_size, 100)
    return max(queue_size, 1)


class _Input:
    """State of one input: its queue and policy."""

    __slots__ = (
        "backpressure",
        "broken",
        "cap",
        "count",
        "deadline",
        "dropped",
        "queue",
        "reported",
        "state",
        "timeout",
        "warned",
    )

    def __init__(self, cap: int, backpressure: bool, timeout: float | None = None) -> None:
        # entries: items, _Protected(item) and _Marker objects
        self.queue: deque[Any] = deque()
        self.cap = cap
        self.backpressure = backpressure
        self.count = 0  # data entries in queue (the marker is not counted)
        self.dropped = 0
        self.warned = False
        self.state = _OPEN
        self.timeout = timeout  # input_timeout in seconds, None: no circuit breaker
        self.deadline: float | None = None  # armed by the first message
        self.broken = False  # timed out and no message since
        self.reported = False  # the INPUT_CLOSED of the break was returned


class Scheduler:
    """Queues of one node. Not thread-safe: the caller holds a lock."""

    def __init__(
        self,
        inputs: Mapping[str, tuple[int, str]],
        timeouts: Mapping[str, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        passive: Collection[str] = (),
    ) -> None:
        """``inputs`` maps input id to ``(queue_size, queue_policy)``; ``timeouts`` maps
        input id to its ``input_timeout`` in seconds (``clock`` measures them).

        ``passive`` inputs do not keep the node open: once every other input closed, the
        node gets ``STOP(ALL_INPUTS_CLOSED)`` (timers under ``exit_when_nodes_finish``).
        """
        timeouts = timeouts or {}
        self._inputs: dict[str, _Input] = {
            iid: _Input(effective_cap(size, policy), policy == "backpressure", timeouts.get(iid))
            for iid, (size, policy) in inputs.items()
        }
        self._timed = [(iid, inp) for iid, inp in self._inputs.items() if inp.timeout is not None]
        self._clock = clock
        self._order: list[str] = list(self._inputs)  # least recently served first
        # the one input of a node that has one (the common case): nothing to rotate
        self._only: tuple[str, _Input] | None = (
            next(iter(self._inputs.items())) if len(self._inputs) == 1 else None
        )
        self._control: deque[dict[str, Any]] = deque()
        self._control_dropped = 0
        self._queued = 0  # data entries + markers over all inputs
        self._stop_seen = False  # a STOP is queued or was returned
        # messages that arrived but will never be returned: queued when the stream ended,
        # or arriving after it (or after the STOP); per input (a restarting node reports
        # them, see ``node_protocol.UnreadInputs``)
        self._discarded: dict[str, int] = {}
        self._stop_returned = False
        self._ended = False
        self._passive = frozenset(passive) & self._inputs.keys()
        # inputs that keep the node open and whose INPUT_CLOSED was not returned
        self._open_inputs = len(self._inputs) - len(self._passive)

    # ---- state ------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """The stream is over: nothing more will ever be returned."""
        return self._ended

    @property
    def stopped(self) -> bool:
        """A STOP was returned to the consumer."""
        return self._stop_returned

    def is_empty(self) -> bool:
        """Nothing is queued."""
        return not self._queued and not self._control

    def pending(self) -> int:
        """Messages queued on all inputs (markers and control events not counted)."""
        return sum(inp.count for inp in self._inputs.values())

    def has_input(self, input_id: str) -> bool:
        """Whether ``input_id`` is one of the node's inputs."""
        return input_id in self._inputs

    def is_open(self, input_id: str) -> bool:
        """The input was not closed (no INPUT_CLOSED queued or returned)."""
        inp = self._inputs.get(input_id)
        return inp is not None and inp.state == _OPEN

    def open_inputs(self) -> list[str]:
        """Inputs that were not closed yet."""
        return [iid for iid, inp in self._inputs.items() if inp.state == _OPEN]

    def broken_inputs(self) -> list[str]:
        """Inputs whose circuit breaker is open (timed out, no message since)."""
        return [iid for iid, inp in self._inputs.items() if inp.broken]

    def discarded_counts(self) -> dict[str, int]:
        """Messages per input that arrived but were never returned (see ``end``)."""
        return {iid: n for iid, n in self._discarded.items() if n}

    def _discard(self, input_id: str, count: int) -> None:
        self._discarded[input_id] = self._discarded.get(input_id, 0) + count

    def drop_counts(self) -> dict[str, int]:
        """Messages dropped so far, per input (cumulative)."""
        counts = {iid: inp.dropped for iid, inp in self._inputs.items()}
        if self._control_dropped:
            counts[NON_INPUT_KEY] = self._control_dropped
        return counts

    # ---- producers --------------------------------------------------------------

    def push_input(
        self, input_id: str, item: Any, protected: bool = False, flush: bool = False
    ) -> bool:
        """Queue one message; returns False if it was not accepted."""
        inp = self._inputs.get(input_id)
        if inp is None or inp.state != _OPEN or self._stop_returned or self._ended:
            if inp is not None and (self._stop_returned or self._ended):
                self._discard(input_id, 1)
            return False
        recovered = False
        if inp.timeout is not None:
            inp.deadline = self._clock() + inp.timeout
            if inp.broken:
                recovered = True
                inp.broken = inp.reported = False
        if flush and inp.count:
            self._flush(inp)
        accepted = inp.count < inp.cap or self._evict(input_id, inp, protected)
        if accepted:
            inp.queue.append(_Protected(item) if protected else item)
            inp.count += 1
            self._queued += 1
        if recovered:
            inp.queue.append(_RECOVERED)  # behind the data that recovered it
            self._queued += 1
        return accepted

    def push_run(self, input_id: str, items: list[Any]) -> None:
        """Queue several plain messages (not protected, no flush) in order.

        The same as :meth:`push_input` for each, in one step when they all fit (a burst
        arrives as many frames in one read).
        """
        inp = self._inputs.get(input_id)
        if (
            inp is None
            or inp.state != _OPEN
            or inp.timeout is not None
            or inp.count + len(items) > inp.cap
            or self._stop_returned
            or self._ended
        ):
            for item in items:
                self.push_input(input_id, item)
            return
        inp.queue.extend(items)
        inp.count += len(items)
        self._queued += len(items)

    def expire(self) -> list[str]:
        """Break the inputs whose ``input_timeout`` passed since their last message.

        Each gets one ``INPUT_CLOSED`` (behind its queued data) and stays open.
        """
        if not self._timed or self._stop_returned or self._ended:
            return []
        now = self._clock()
        fired = []
        for iid, inp in self._timed:
            deadline = inp.deadline
            if deadline is not None and now >= deadline and inp.state == _OPEN:
                inp.deadline = None
                inp.broken = True
                inp.queue.append(_BROKEN)
                self._queued += 1
                fired.append(iid)
        return fired

    def next_deadline(self) -> float | None:
        """The earliest armed input deadline (clock time), if any."""
        deadlines = [inp.deadline for _iid, inp in self._timed if inp.deadline is not None]
        return min(deadlines) if deadlines else None

    def push_event(self, event: dict[str, Any]) -> None:
        """Queue a non-input event (STOP, NODE_FAILED, ERROR, ...)."""
        if self._stop_returned or self._ended:
            return
        is_stop = event.get("type") == "STOP"
        if is_stop:
            if self._stop_seen:
                return
            self._stop_seen = True
        control = self._control
        if len(control) >= NON_INPUT_QUEUE_SIZE:
            # never evict the STOP: it is the one event a node must not miss
            for i, old in enumerate(control):
                if old.get("type") != "STOP":
                    del control[i]
                    break
            self._control_dropped += 1
        control.append(event)

    def close_input(self, input_id: str) -> None:
        """Queue INPUT_CLOSED behind the data already queued on ``input_id``."""
        inp = self._inputs.get(input_id)
        if inp is None or inp.state != _OPEN:
            return
        inp.state = _CLOSING
        inp.deadline = None
        if self._stop_returned or self._ended:
            return
        inp.queue.append(_CLOSED)
        self._queued += 1

    def reopen_input(self, input_id: str) -> None:
        """Accept data on a closed input again (its producer came back)."""
        inp = self._inputs.get(input_id)
        if inp is None or inp.state == _OPEN or self._stop_seen:
            return
        if inp.state == _CLOSED_DONE and input_id not in self._passive:
            self._open_inputs += 1
        elif inp.queue and inp.queue[-1] is _CLOSED:
            inp.queue.pop()
            self._queued -= 1
        inp.state = _OPEN

    def end(self) -> None:
        """End the stream now, discarding whatever is queued."""
        self._ended = True
        self._control.clear()
        for iid, inp in self._inputs.items():
            if inp.count:
                self._discard(iid, inp.count)
            inp.queue.clear()
            inp.count = 0
        self._queued = 0

    # ---- consumer ---------------------------------------------------------------

    def pop(self) -> dict[str, Any] | tuple[str, Any] | None:
        """Next event: a control dict, an ``(input_id, item)`` tuple, or None."""
        if self._control:
            event = self._control.popleft()
            if event.get("type") == "STOP":
                self._stop_returned = True
                self._maybe_end()
            return event
        while self._queued:
            only = self._only
            if only is not None:
                iid, inp = only
            else:
                order = self._order
                for idx, iid in enumerate(order):  # noqa: B007 - idx is used below
                    inp = self._inputs[iid]
                    if inp.queue:
                        break
                else:  # pragma: no cover - _queued > 0 implies a non-empty queue
                    return None
                del order[idx]
                order.append(iid)
            entry = inp.queue.popleft()
            self._queued -= 1
            if type(entry) is not _Marker:
                inp.count -= 1
                if self._stop_returned:
                    self._maybe_end()
                return (iid, entry.item if type(entry) is _Protected else entry)
            event = self._marker_returned(iid, inp, entry)
            if event is not None:
                return event
            if self._control:  # closing the last input queued ALL_INPUTS_CLOSED
                return self.pop()
        return None

    # ---- internals --------------------------------------------------------------

    def _marker_returned(self, iid: str, inp: _Input, marker: _Marker) -> dict[str, Any] | None:
        """The event of a marker; None when there is none to return (pop the next)."""
        if marker is _BROKEN:
            inp.reported = True
            event = input_closed_event(iid)
        elif marker is _RECOVERED:
            event = input_recovered_event(iid)
        else:
            # a timed-out input whose producer then closed it: INPUT_CLOSED was returned
            silent = inp.broken and inp.reported
            inp.broken = False
            event = self._closed_returned(iid, inp)
            if silent:
                return None
        if self._stop_returned:
            self._maybe_end()
        return event

    def _closed_returned(self, iid: str, inp: _Input) -> dict[str, Any]:
        inp.state = _CLOSED_DONE
        if iid in self._passive:
            if self._stop_returned:
                self._maybe_end()
            return input_closed_event(iid)
        self._open_inputs -= 1
        if self._open_inputs == 0 and not self._stop_seen:
            self._stop_seen = True
            self._control.append(stop_event("ALL_INPUTS_CLOSED"))
        elif self._stop_returned:
            self._maybe_end()
        return input_closed_event(iid)

    def _maybe_end(self) -> None:
        if self._stop_returned and not self._queued and not self._control:
            self._ended = True

    def _flush(self, inp: _Input) -> None:
        kept: deque[Any] = deque()
        for entry in inp.queue:
            if type(entry) is _Marker or type(entry) is _Protected:
                kept.append(entry)
        removed = len(inp.queue) - len(kept)
        inp.queue = kept
        inp.count -= removed
        self._queued -= removed

    def _evict(self, iid: str, inp: _Input, incoming_protected: bool) -> bool:
        """Make room for one message; False means drop the incoming one instead."""
        queue = inp.queue
        victim = -1
        for idx, entry in enumerate(queue):
            if type(entry) is not _Marker and type(entry) is not _Protected:
                victim = idx
                break
        if victim < 0:
            if not incoming_protected:
                self._count_drop(iid, inp)
                return False
            # everything is protected: drop the oldest message, loudly
            victim = next(i for i, entry in enumerate(queue) if type(entry) is not _Marker)
            logger.error(
                "input `%s`: queue full of correlated messages; dropping the oldest one "
                "(increase queue_size or use queue_policy: backpressure)",
                iid,
            )
        if victim == 0:
            queue.popleft()
        else:
            del queue[victim]
        inp.count -= 1
        self._queued -= 1
        self._count_drop(iid, inp)
        return True

    def _count_drop(self, iid: str, inp: _Input) -> None:
        inp.dropped += 1
        if inp.backpressure:
            if inp.dropped == 1 or inp.dropped % 1000 == 0:
                logger.error(
                    "input `%s` (backpressure) is full (%d messages): dropped the oldest "
                    "message (%d dropped so far)",
                    iid,
                    inp.cap,
                    inp.dropped,
                )
        elif not inp.warned:
            inp.warned = True
            logger.warning(
                "input `%s` dropped its oldest message (queue_size %d); "
                "see node.drop_counts() for totals",
                iid,
                inp.cap,
            )
