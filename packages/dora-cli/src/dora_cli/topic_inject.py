"""Sending messages into a running dataflow for ``dora topic pub``.

The daemons of a dataflow that runs with ``publish_all_messages_to_zenoh`` declare a
queryable on :func:`~dora_message.inter_daemon.inject_key` for every output their nodes
read (``dora_daemon.bridge.inject``). The CLI is a zenoh client of each daemon that
runs a reader and sends every message as a query on that daemon's own key, once the
daemon's queryable matched. The daemon delivers it to its readers as if the producer
had sent it, waits (up to the wait the query allows) for a reader that does not listen
yet, and answers who got it. A message goes to every such daemon at once (their waits
overlap, and each one's interim report is passed on as it comes); :meth:`TopicInjector.send`
returns once all of them answered, with the merged :class:`Outcome`, and
``dora topic pub`` fails naming every reader a message did not reach, on any machine.

Size: the daemon hands an injected message to each reader inline, in one data-plane
frame, and a reader drops a connection whose frame is over ``MAX_FRAME`` (64 MiB,
docs/protocol.md 4.1). Such a message is refused here before sending
(:func:`check_size`). Below that, queries block under congestion rather than letting
zenoh drop the fragments of a big message.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import pyarrow as pa

from dora_cli.error_root import CliError
from dora_cli.topic_watch import client_config, close_sessions
from dora_message.data_protocol import Data, data_encoder
from dora_message.dataplane.framing import MAX_FRAME
from dora_message.inter_daemon import (
    INJECT_WAIT_PARAMETER,
    InjectionReport,
    RemoteData,
    inject_key,
    injection_report_decoder,
    inter_daemon_encoder,
)
from dora_message.param_checks import json_depth
from dora_message.quote import excerpt
from dora_message.safe_decode import MalformedMessage

MATCH_TIMEOUT = 5.0  # how long to wait for a daemon's queryable
# how long a daemon may take to answer beyond the wait for its readers (a big message
# crosses zenoh and is written to each reader meanwhile)
ANSWER_MARGIN = 30.0
# Arrow nests a list type per level; far beyond any real message, far below recursion limits
MAX_JSON_DEPTH = 64


def json_array(text: str) -> pa.Array:
    """JSON text as an Arrow array: a list gives its items, any other value one item.

    Raises ValueError for text that is not JSON, nested deeper than ``MAX_JSON_DEPTH``,
    or values Arrow cannot hold together (an integer beyond 64 bits among them).
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    if json_depth(value, MAX_JSON_DEPTH + 1) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    items = value if isinstance(value, list) else [value]
    try:
        return pa.array(items)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as err:
        raise ValueError(f"no Arrow array holds these values: {excerpt(err)}") from None


class MessageTooLarge(CliError, ValueError):
    """The message would not reach a reader (see the module docstring)."""


def check_size(output: str, array: pa.Array) -> int:
    """The size of the frame a reader gets for ``array`` (its first message on
    ``output``: with the schema); raises :class:`MessageTooLarge` past ``MAX_FRAME``."""
    batch = pa.record_batch([array], names=["data"])
    schema = batch.schema.serialize().to_pybytes()
    # the frame the daemon writes to each reader (bridge.deliver.Writer._frame), but for
    # the payload, which counts by its size (no copy of a payload that may be big)
    frame = data_encoder.encode(Data(output, time.time_ns(), {}, "ipc", schema, b""))
    size = len(frame) + pa.ipc.get_record_batch_size(batch) + 3  # bin32: 3 more than b""
    if size > MAX_FRAME:
        raise MessageTooLarge(
            f"the message is {size} bytes ({size / 1e6:.1f} MB) and a node takes at most "
            f"{MAX_FRAME} bytes ({MAX_FRAME // (1024 * 1024)} MiB) in one message from "
            "`dora topic pub` (the data plane's frame limit)"
        )
    return size


def injected(output: str, array: pa.Array) -> bytes:
    """One message carrying ``array`` on ``output``, as the daemons expect it."""
    batch = pa.record_batch([array], names=["data"])
    message = RemoteData(
        output,
        time.time_ns(),
        {},
        "ipc",
        batch.serialize().to_pybytes(),
        False,
        batch.schema.serialize().to_pybytes(),
    )
    return inter_daemon_encoder.encode(message)


class Outcome(NamedTuple):
    """What became of one message, over every daemon that runs a reader."""

    delivered: list[str]  # readers whose connection took the message
    not_listening: list[str]  # readers that did not listen within the wait
    errors: list[str]  # why a daemon delivered nothing (more)

    @property
    def complete(self) -> bool:
        """Every reader got the message."""
        return not self.not_listening and not self.errors


def outcome(final: Mapping[str, InjectionReport | None]) -> Outcome:
    """The outcome from each daemon's last report (None: it sent none)."""
    delivered: list[str] = []
    not_listening: list[str] = []
    errors: list[str] = []
    for daemon_id, report in sorted(final.items()):
        if report is None:
            errors.append(f"daemon {daemon_id} did not answer (is the dataflow still running?)")
            continue
        delivered += report.delivered
        if report.error is not None:
            # the readers it had not reached yet: it stopped waiting for them, and says why
            missed = sorted(report.not_listening + report.waiting)
            gave_up = f" gave up on {_nodes(missed)}" if missed else ""
            errors.append(f"daemon {daemon_id}{gave_up}: {report.error}")
            continue
        not_listening += report.not_listening
        if report.waiting:
            # an interim report was its last: the daemon went away while it waited
            errors.append(
                f"daemon {daemon_id} stopped answering while it waited for "
                f"{_nodes(report.waiting)} (is the daemon still running?)"
            )
    return Outcome(sorted(delivered), sorted(not_listening), errors)


def _nodes(names: list[str]) -> str:
    listed = ", ".join(f"`{n}`" for n in names)
    return f"node {listed}" if len(names) == 1 else f"nodes {listed}"


def undelivered_text(topic: str, result: Outcome, wait: float, index: int, count: int) -> str:
    """Why message ``index`` (from 0) of ``count`` did not reach every reader of
    ``topic``, who got it, and what was not sent after it."""
    which = f"message {index + 1}/{count}" if count > 1 else "the message"
    reasons = list(result.errors)
    if result.not_listening:
        reasons.insert(
            0,
            f"{_nodes(result.not_listening)} did not listen within {wait:g} s "
            "(not started yet, or exited)",
        )
    text = f"{which} on `{topic}` did not reach every reader: {'; '.join(reasons)}"
    text += f"; it reached {_nodes(result.delivered)}" if result.delivered else "; it reached none"
    if index + 1 < count:
        rest = f"message {index + 2}" if index + 2 == count else f"messages {index + 2}-{count}"
        text += f"; {rest} not sent"
    return text


OnWaiting = Callable[[list[str]], None]


class TopicInjector:
    """Queriers of one output toward the daemons that run its readers.

    Each message is a query: a daemon answers once it handed the message to its readers,
    waiting up to ``wait`` seconds for those that do not listen yet (interim reports
    name them), so :meth:`send` knows who got it."""

    def __init__(
        self,
        dataflow_id: str,
        node: str,
        output: str,
        daemons: Mapping[str, list[str]],
        wait: float,
    ) -> None:
        """``output`` as the node sends on it; ``daemons``: daemon id -> its endpoints."""
        self._dataflow_id = dataflow_id
        self._node = node
        self._output = output
        self._daemons = daemons
        self._wait = wait
        # the same for every message: built once, not per send
        self._parameters = {INJECT_WAIT_PARAMETER: str(round(wait * 1000))}
        self._sessions: list[Any] = []
        self._queriers: dict[str, Any] = {}

    def open(self) -> None:
        """Connect to every daemon and wait until each one's queryable matched."""
        import zenoh

        for daemon_id, endpoints in self._daemons.items():
            if not endpoints:
                raise RuntimeError(f"no zenoh endpoint known for daemon {daemon_id}")
            session = zenoh.open(client_config(endpoints[0]))
            self._sessions.append(session)
            key = inject_key(self._dataflow_id, daemon_id, self._node, self._output)
            # block, do not drop: the default drops a big message's fragments after 50 ms
            # of a full queue; no consolidation: interim reports come as they are sent
            querier = session.declare_querier(
                key,
                target=zenoh.QueryTarget.ALL,
                consolidation=zenoh.ConsolidationMode.NONE,
                timeout=self._wait + ANSWER_MARGIN,
                congestion_control=zenoh.CongestionControl.BLOCK,
            )
            self._queriers[daemon_id] = querier
            deadline = time.monotonic() + MATCH_TIMEOUT
            while not querier.matching_status.matching:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"daemon {daemon_id} takes no messages for this dataflow "
                        "(was it started with publish_all_messages_to_zenoh?)"
                    )
                time.sleep(0.01)

    def send(self, array: pa.Array, on_waiting: OnWaiting | None = None) -> Outcome:
        """Send ``array`` once to every daemon; what became of it. ``on_waiting`` gets
        the readers a daemon waits for, when it starts waiting for them (the daemons
        wait at once, so each one's interim report is passed on as it comes)."""
        import zenoh

        frame = injected(self._output, array)
        reports: queue.SimpleQueue[tuple[str, InjectionReport | None]] = queue.SimpleQueue()
        for daemon_id, querier in self._queriers.items():
            # each reply as it comes, then None once the query ended (the daemon is done,
            # or the timeout); called on zenoh's thread, in order, doing no more than a
            # decode and a put (a relay thread per daemon and message: ~1.5x the time)
            handler = zenoh.handlers.Callback(
                lambda reply, daemon_id=daemon_id: reports.put((daemon_id, _report(reply))),
                lambda daemon_id=daemon_id: reports.put((daemon_id, None)),
                indirect=False,
            )
            querier.get(handler, payload=frame, parameters=self._parameters)
        final: dict[str, InjectionReport | None] = dict.fromkeys(self._queriers)
        answering = len(self._queriers)
        while answering:
            daemon_id, report = reports.get()
            if report is None:
                answering -= 1
                continue
            final[daemon_id] = report
            if report.waiting and on_waiting is not None:
                on_waiting(report.waiting)
        return outcome(final)

    def close(self) -> None:
        """Drop the queriers and close the sessions."""
        close_sessions(list(self._queriers.values()), self._sessions)
        self._queriers.clear()


def _report(reply: Any) -> InjectionReport:
    """A daemon's reply as a report (a zenoh error or unreadable reply: an error)."""
    sample = reply.ok
    if sample is None:
        return InjectionReport(error=f"zenoh error: {reply.err.payload.to_string()}")
    try:
        return injection_report_decoder.decode(sample.payload.to_bytes())
    except MalformedMessage as err:
        return InjectionReport(error=f"unreadable answer: {err}")
