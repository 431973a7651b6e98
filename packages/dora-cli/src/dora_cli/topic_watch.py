"""Receiving a running dataflow's messages for ``dora topic echo|hz|info``.

A dataflow started with ``_unstable_debug.publish_all_messages_to_zenoh: true`` (or
``debug.enable_debug_inspection: true``) has its daemons publish every output on the
zenoh key of :func:`~dora_message.inter_daemon.debug_key`, with the schema attached to
every message (``dora_daemon.bridge.watch``). The CLI opens one zenoh *client* session
per daemon that runs producers of the watched topics (client mode: it listens on
nothing), connects to the endpoint the daemon registered with the coordinator, and
subscribes to the keys of that daemon's producers. Messages land in one queue, in
arrival order per topic.
"""

from __future__ import annotations

import contextlib
import json
import queue
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dora_message.inter_daemon import RemoteClosed, RemoteData, debug_key, inter_daemon_decoder


@dataclass(frozen=True)
class TopicMessage:
    """One message of a watched topic (``error`` set when it did not decode)."""

    topic: str
    array: pa.Array | None
    parameters: dict[str, Any]
    size: int
    received: float = field(default_factory=time.monotonic)
    error: str | None = None
    timestamp_ns: int = 0  # the sender's timestamp (Unix ns)


@dataclass(frozen=True)
class TopicClosed:
    """The producer will send nothing more on this topic."""

    topic: str


def decode_array(msg: RemoteData) -> pa.Array | None:
    """The pyarrow array a published message carries (None for an empty message)."""
    from dora.payloads import array_from_payload

    return array_from_payload(
        msg.kind, msg.payload, schema=msg.schema, layout=msg.layout, stream=msg.shared
    )


def client_config(endpoint: str) -> Any:
    """A zenoh client session that dials ``endpoint`` and nothing else."""
    import zenoh

    config = zenoh.Config()
    config.insert_json5("mode", '"client"')
    config.insert_json5("connect/endpoints", json.dumps([endpoint]))
    config.insert_json5("listen/endpoints", "[]")
    config.insert_json5("scouting/multicast/enabled", "false")
    config.insert_json5("scouting/gossip/enabled", "false")
    config.insert_json5("transport/shared_memory/enabled", "false")
    return config


def close_sessions(declared: list[Any], sessions: list[Any]) -> None:
    """Undeclare zenoh subscribers or publishers, close the sessions, empty both lists."""
    for entity in declared:
        with contextlib.suppress(Exception):  # closing anyway
            entity.undeclare()
    for session in sessions:
        with contextlib.suppress(Exception):
            session.close()
    declared.clear()
    sessions.clear()


class TopicWatch:
    """Subscriptions to some topics of one dataflow, over its daemons' zenoh endpoints."""

    def __init__(
        self,
        dataflow_id: str,
        topics: Mapping[str, tuple[str, str]],
        producer_endpoints: Mapping[str, list[str]],
    ) -> None:
        """``topics`` maps each public ``node/output`` to the node and the output id it
        sends on; ``producer_endpoints`` maps each producing node to the zenoh endpoints
        of its daemon."""
        self._dataflow_id = dataflow_id
        self._topics = dict(topics)
        self._endpoints = producer_endpoints
        self._queue: queue.SimpleQueue[TopicMessage | TopicClosed] = queue.SimpleQueue()
        self._sessions: list[Any] = []
        self._subscribers: list[Any] = []

    def open(self) -> None:
        """Connect and subscribe (raises ``zenoh.ZError`` when a daemon is unreachable)."""
        import zenoh

        by_endpoint: dict[str, list[str]] = {}
        for topic, (node, _output) in self._topics.items():
            endpoints = self._endpoints.get(node) or []
            if endpoints:
                by_endpoint.setdefault(endpoints[0], []).append(topic)
        for endpoint, topics in by_endpoint.items():
            session = zenoh.open(client_config(endpoint))
            self._sessions.append(session)
            for topic in topics:
                key = debug_key(self._dataflow_id, *self._topics[topic])
                self._subscribers.append(session.declare_subscriber(key, self._handler(topic)))

    def _handler(self, topic: str) -> Any:
        put = self._queue.put

        def on_sample(sample: Any) -> None:
            raw = sample.payload.to_bytes()
            try:
                msg = inter_daemon_decoder.decode(raw)
            except Exception as err:  # a bad frame is reported, not fatal
                put(TopicMessage(topic, None, {}, len(raw), error=str(err)))
                return
            if isinstance(msg, RemoteClosed):
                put(TopicClosed(topic))
                return
            try:
                array = decode_array(msg)
            except Exception as err:  # e.g. a type pyarrow cannot rebuild
                put(
                    TopicMessage(
                        topic, None, dict(msg.parameters), len(msg.payload), error=str(err)
                    )
                )
                return
            size = len(msg.payload)
            stamp = msg.timestamp_ns
            put(TopicMessage(topic, array, dict(msg.parameters), size, timestamp_ns=stamp))

        return on_sample

    def get(self, timeout: float | None) -> TopicMessage | TopicClosed | None:
        """The next message, or None when ``timeout`` passed first."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Undeclare and close every session."""
        close_sessions(self._subscribers, self._sessions)

    def __enter__(self) -> TopicWatch:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
