"""Messages ``dora topic pub`` sends, handed to the local readers and acknowledged.

A daemon of a dataflow opened to watching declares a zenoh queryable on
:func:`~dora_message.inter_daemon.inject_key` for every output read here. The CLI sends
each message as the payload of a query; the daemon hands it to every local reader of
that output as if the producer had sent it (a data-plane connection per reader, opened
with a ``Hello`` naming the producer, the message inline in one frame) and answers with
an :class:`~dora_message.inter_daemon.InjectionReport`. A reader that does not listen
yet (its process has not created its ``Node``) is retried until the wait the query
allows ends; meanwhile an interim report names it, and the last report says who got the
message and who did not. So no injected message is lost without the CLI knowing.

Threads: zenoh's callback only queues the query, since it runs on zenoh's receiving
thread; one thread per producer delivers in arrival order and does the waiting.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import zenoh

from dora_daemon.bridge.deliver import (
    Link,
    SchemaRef,
    inline_frame_size,
    join_or_cut,
    latest_schema,
    undeclare_all,
)
from dora_message.auth import link_token
from dora_message.constants import MAX_INJECT_WAIT_S
from dora_message.data_protocol import Data
from dora_message.dataplane.framing import MAX_FRAME
from dora_message.dataplane.pool import SegmentPool
from dora_message.dataplane.sender import RETRY_INTERVAL, Sender
from dora_message.inter_daemon import (
    INJECT_WAIT_PARAMETER,
    InjectionReport,
    RemoteData,
    inject_key,
    inter_daemon_decoder,
    inter_daemon_encoder,
)
from dora_message.safe_decode import MalformedMessage

log = logging.getLogger(__name__)

Answer = Callable[[InjectionReport], object]


def requested_wait(wait_ms: str | None) -> float:
    """The wait a query asks for (its :data:`INJECT_WAIT_PARAMETER`), in seconds: 0
    when absent or unreadable, at most :data:`~dora_message.constants.MAX_INJECT_WAIT_S`."""
    try:
        millis = int(wait_ms or 0)
    except ValueError:
        return 0.0
    return min(max(millis, 0) / 1000, MAX_INJECT_WAIT_S)


class ProducerInjection:
    """Delivers the injected messages of one producer's outputs; owns a thread."""

    def __init__(
        self,
        dataflow_id: str,
        producer: str,
        routes: Mapping[str, list[str]],
        addresses: Mapping[str, str],
        key: bytes,
    ) -> None:
        """``routes``: output (as sent on the wire) -> local nodes reading it."""
        self.producer = producer
        readers = {
            output: [Link(n, addresses[n], link_token(key, producer, n)) for n in nodes]
            for output, nodes in routes.items()
        }
        # inline frames only: the pool never makes a segment
        self._pool = SegmentPool(f"dora-inject-{dataflow_id}-{producer}")
        self._sender = Sender(dataflow_id, producer, readers, self._pool)
        self._schemas: dict[str, SchemaRef] = {}
        self._queue: queue.SimpleQueue[tuple[str, str, Any] | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"dora-inject-{producer}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def offer(self, key: str, output: str, query: Any) -> None:
        """A query on ``key`` (``output``'s), from any thread (zenoh's callback)."""
        self._queue.put((key, output, query))

    def stop(self) -> None:
        """End any wait, answer what is queued, close the connections."""
        self._stopping.set()
        if self._thread.ident is None:  # never started: nothing queued, no thread to end
            self._sender.close()
            self._pool.close()
            return
        self._queue.put(None)
        join_or_cut(self._thread, self._sender)

    # ---- thread ----------------------------------------------------------------

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                key, output, query = item
                with query:  # dropping it tells the CLI that no more reports come
                    try:
                        payload = query.payload
                        wait = requested_wait(query.parameters.get(INJECT_WAIT_PARAMETER))
                        self.inject(
                            output,
                            b"" if payload is None else payload.to_bytes(),
                            wait,
                            lambda report, key=key, query=query: query.reply(
                                key, inter_daemon_encoder.encode(report)
                            ),
                        )
                    except zenoh.ZError as err:  # the CLI went away: nobody to answer
                        log.debug("inject: cannot answer on %s: %s", key, err)
        except Exception:
            log.exception("inject: delivering messages of `%s` failed", self.producer)
        finally:
            self._sender.close()
            self._pool.close()

    def inject(self, output: str, encoded: bytes, wait: float, answer: Answer) -> InjectionReport:
        """Deliver one encoded message to the readers of ``output``, waiting up to
        ``wait`` seconds for those not listening; ``answer(report)`` gets every report
        (interim ones, then the outcome, also returned)."""
        try:
            message = inter_daemon_decoder.decode(encoded)
        except MalformedMessage as err:
            return _answered(answer, InjectionReport(error=f"unreadable message: {err}"))
        if type(message) is not RemoteData or message.output_id != output:
            return _answered(answer, InjectionReport(error="not a message of this output"))
        if message.shared:
            return _answered(answer, InjectionReport(error="a shared-memory message"))
        schema = latest_schema(self._schemas, output, message.schema)
        data = Data(
            output,
            message.timestamp_ns,
            message.parameters,
            message.kind,
            None,
            message.payload,
            layout=message.layout,
        )
        size = inline_frame_size(data, None if schema is None else schema.schema_bytes)
        if size > MAX_FRAME:
            # a reader drops a connection whose frame is over the limit
            error = f"the message is {size} bytes, over the readers' {MAX_FRAME}-byte frame limit"
            return _answered(answer, InjectionReport(error=error))
        return self._deliver(data, schema, wait, answer)

    def _deliver(
        self, data: Data, schema: SchemaRef | None, wait: float, answer: Answer
    ) -> InjectionReport:
        output = data.output_id
        pending = list(self._sender.receivers(output))
        delivered: list[str] = []
        deadline = time.monotonic() + wait
        told_waiting: list[str] = []
        reconnected = False
        while True:
            conns = [c for c in self._sender.live(output) if c.node_id in pending]
            failed = self._sender.fan_out(data, schema, conns, None) if conns else []
            for conn in conns:
                if conn not in failed:
                    delivered.append(conn.node_id)
                    pending.remove(conn.node_id)
            if failed and not reconnected:
                # a connection from an earlier message was gone (the reader restarted):
                # connect again at once rather than report a reader that is there
                reconnected = True
                continue
            remaining = deadline - time.monotonic()
            if not pending or remaining <= 0 or self._stopping.is_set():
                break
            if pending != told_waiting:
                told_waiting = list(pending)
                answer(InjectionReport(delivered=list(delivered), waiting=list(pending)))
            # the sender retries a reader at most every RETRY_INTERVAL
            self._stopping.wait(min(RETRY_INTERVAL, remaining))
        error = "the dataflow is stopping" if pending and self._stopping.is_set() else None
        report = InjectionReport(delivered=delivered, not_listening=pending, error=error)
        return _answered(answer, report)


def _answered(answer: Answer, report: InjectionReport) -> InjectionReport:
    answer(report)
    return report


class TopicInjection:
    """The injection point of one dataflow on this daemon: a queryable per output read
    here, a :class:`ProducerInjection` per producer."""

    def __init__(
        self,
        session: zenoh.Session,
        dataflow_id: str,
        daemon_id: str,
        readers: Mapping[str, Mapping[str, list[str]]],
        addresses: Mapping[str, str],
        key: bytes,
    ) -> None:
        """``readers``: producer (anywhere) -> output -> local nodes reading it, at
        ``addresses``; ``key``: the dataflow run's key (link tokens)."""
        self._session = session
        self._producers = {
            producer: ProducerInjection(dataflow_id, producer, routes, addresses, key)
            for producer, routes in readers.items()
        }
        self._keys = {
            inject_key(dataflow_id, daemon_id, producer, output): (producer, output)
            for producer, routes in readers.items()
            for output in routes
        }
        self._queryables: list[Any] = []

    def start(self) -> None:
        """Start the threads and declare the queryables."""
        for producer in self._producers.values():
            producer.start()
        for key, (producer, output) in self._keys.items():
            offer = self._producers[producer].offer

            def on_query(
                query: zenoh.Query, key: str = key, output: str = output, offer: Any = offer
            ) -> None:
                offer(key, output, query)

            self._queryables.append(self._session.declare_queryable(key, on_query))

    def close(self) -> None:
        """Stop taking messages, end the waits, answer what came, close connections."""
        undeclare_all(self._queryables)
        for producer in self._producers.values():
            producer.stop()
