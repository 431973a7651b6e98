"""Sending messages into a running dataflow for ``dora topic pub``.

The daemons of a dataflow that runs with ``publish_all_messages_to_zenoh`` subscribe to
:func:`~dora_message.inter_daemon.inject_key` for every output their nodes read, and
deliver what arrives there to those nodes as if the producer had sent it
(``dora_daemon.bridge.watch``). The CLI is a zenoh client of each daemon that runs a
reader, and publishes on that daemon's own key once the daemon's subscriber matched.

Size: the daemon hands an injected message to each reader inline, in one data-plane
frame, and a reader drops a connection whose frame is over ``MAX_FRAME`` (64 MiB,
docs/protocol.md 4.1): such a message would vanish after "Published". It is refused
here instead (:func:`check_size`). Below that, publishing blocks under congestion
rather than letting zenoh drop the fragments of a big message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from dora_cli.errors import CliError
from dora_cli.topic_watch import client_config, close_sessions
from dora_message.data_protocol import Data, data_encoder
from dora_message.dataplane.framing import MAX_FRAME
from dora_message.inter_daemon import RemoteData, inject_key, inter_daemon_encoder
from dora_message.param_checks import json_depth
from dora_message.quote import excerpt

MATCH_TIMEOUT = 5.0  # how long to wait for a daemon's subscriber
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


class TopicInjector:
    """Publishers of one output toward the daemons that run its readers."""

    def __init__(
        self, dataflow_id: str, node: str, output: str, daemons: Mapping[str, list[str]]
    ) -> None:
        """``output`` as the node sends on it; ``daemons``: daemon id -> its endpoints."""
        self._dataflow_id = dataflow_id
        self._node = node
        self._output = output
        self._daemons = daemons
        self._sessions: list[Any] = []
        self._publishers: list[Any] = []

    def open(self) -> None:
        """Connect to every daemon and wait until each one's subscriber matched."""
        import zenoh

        for daemon_id, endpoints in self._daemons.items():
            if not endpoints:
                raise RuntimeError(f"no zenoh endpoint known for daemon {daemon_id}")
            session = zenoh.open(client_config(endpoints[0]))
            self._sessions.append(session)
            key = inject_key(self._dataflow_id, daemon_id, self._node, self._output)
            # block, do not drop: the default drops a big message's fragments after 50 ms
            # of a full queue, and "Published" would then be a lie
            publisher = session.declare_publisher(
                key,
                reliability=zenoh.Reliability.RELIABLE,
                congestion_control=zenoh.CongestionControl.BLOCK,
            )
            self._publishers.append(publisher)
            deadline = time.monotonic() + MATCH_TIMEOUT
            while not publisher.matching_status.matching:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"daemon {daemon_id} takes no messages for this dataflow "
                        "(was it started with publish_all_messages_to_zenoh?)"
                    )
                time.sleep(0.01)

    def send(self, array: pa.Array) -> None:
        """Send ``array`` once to every daemon."""
        frame = injected(self._output, array)
        for publisher in self._publishers:
            publisher.put(frame)

    def close(self) -> None:
        """Drop the publishers and close the sessions (queued messages go out first)."""
        close_sessions(self._publishers, self._sessions)
