"""Live node logs: a bounded buffer per dataflow and fan-out to subscribers, sans-I/O.

Daemons forward every node log record; ``dora start --attach`` and ``dora logs --follow``
subscribe. The buffer lets an attaching CLI see the records written before it
subscribed (the spawn races the subscription); the full history stays in the log files
on the daemons. A subscriber's sink must not block: the server's sinks queue frames.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dora_message.common import LogMessage

BUFFERED_PER_DATAFLOW = 10_000
BUFFERED_DATAFLOWS = 64

LogSink = Callable[[list[LogMessage]], None]


@dataclass(eq=False)
class LogSubscription:
    """One subscriber of one dataflow's records (all nodes when ``nodes`` is None)."""

    dataflow_id: str
    nodes: frozenset[str] | None
    sink: LogSink

    def wants(self, record: LogMessage) -> bool:
        """Whether ``record`` is for this subscriber."""
        return self.nodes is None or record.node_id in self.nodes


class LogHub:
    """Buffers and distributes log records by dataflow."""

    def __init__(
        self, per_dataflow: int = BUFFERED_PER_DATAFLOW, dataflows: int = BUFFERED_DATAFLOWS
    ) -> None:
        self._per_dataflow = per_dataflow
        self._max_dataflows = dataflows
        self._buffers: OrderedDict[str, deque[LogMessage]] = OrderedDict()
        self._subscriptions: dict[str, list[LogSubscription]] = {}

    def publish(self, records: Iterable[LogMessage]) -> None:
        """Buffer records and hand them to the subscribers of their dataflow."""
        grouped: dict[str, list[LogMessage]] = {}
        for record in records:
            if record.dataflow_id is not None:
                grouped.setdefault(record.dataflow_id, []).append(record)
        for dataflow_id, batch in grouped.items():
            self._buffer(dataflow_id).extend(batch)
            for subscription in self._subscriptions.get(dataflow_id, ()):
                wanted = [r for r in batch if subscription.wants(r)]
                if wanted:
                    subscription.sink(wanted)

    def subscribe(
        self,
        dataflow_id: str,
        sink: LogSink,
        nodes: Iterable[str] | None = None,
        replay: bool = False,
    ) -> LogSubscription:
        """Start delivering; with ``replay`` the buffered records come first."""
        subscription = LogSubscription(
            dataflow_id, frozenset(nodes) if nodes is not None else None, sink
        )
        if replay:
            earlier = [r for r in self.buffered(dataflow_id) if subscription.wants(r)]
            if earlier:
                sink(earlier)
        self._subscriptions.setdefault(dataflow_id, []).append(subscription)
        return subscription

    def unsubscribe(self, subscription: LogSubscription) -> None:
        """Stop delivering (no error when already gone)."""
        subs = self._subscriptions.get(subscription.dataflow_id, [])
        if subscription in subs:
            subs.remove(subscription)
        if not subs:
            self._subscriptions.pop(subscription.dataflow_id, None)

    def subscribers(self, dataflow_id: str) -> list[LogSubscription]:
        """The current subscribers of a dataflow."""
        return list(self._subscriptions.get(dataflow_id, ()))

    def buffered(self, dataflow_id: str) -> list[LogMessage]:
        """The records still buffered for a dataflow, oldest first."""
        return list(self._buffers.get(dataflow_id, ()))

    def forget(self, dataflow_id: str) -> None:
        """Drop the buffered records of a dataflow the coordinator no longer keeps."""
        self._buffers.pop(dataflow_id, None)

    def _buffer(self, dataflow_id: str) -> deque[LogMessage]:
        buffer = self._buffers.get(dataflow_id)
        if buffer is None:
            buffer = self._buffers[dataflow_id] = deque(maxlen=self._per_dataflow)
            while len(self._buffers) > self._max_dataflows:
                self._buffers.popitem(last=False)
        else:
            self._buffers.move_to_end(dataflow_id)
        return buffer
