"""Messages between daemons on different machines (zenoh, msgpack payloads).

A daemon whose node sends on an output consumed on another machine publishes every
message of that output on :func:`output_key`, reliably and in order; the daemons of
the consuming machines subscribe to it and hand the messages to their local nodes over
the ordinary data plane (:mod:`dora_message.data_protocol`). The end of an output
travels in band on the same key (:class:`RemoteClosed`), so it can never overtake the
output's last messages.

Liveliness tokens say who is there: :func:`daemon_token_key` while a daemon's zenoh
session is open, :func:`subscribed_token_key` once a daemon declared every subscriber
of a dataflow (so producers know their messages have somewhere to go).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

from dora_message.data_protocol import PayloadKind
from dora_message.safe_decode import SafeDecoder

_KEY_SAFE = re.compile(r"[A-Za-z0-9_.-]+")


class _Msg(msgspec.Struct, frozen=True, array_like=True, tag=True):
    """Base: encoded as a msgpack array whose first item is the type tag."""


class RemoteData(_Msg, tag="data"):
    """One message of an output, with its payload bytes.

    ``kind``, ``layout`` and ``parameters`` are as in
    :class:`dora_message.data_protocol.Data`. ``shared`` says the producer sent it in
    shared memory (for ``ipc`` the payload is then a whole Arrow IPC stream, otherwise
    one IPC record-batch message): the consuming daemon delivers it the same way.
    ``schema`` is set whenever the output's schema changed since the previous message
    on this key; the receiving side keeps the last one per output.
    """

    output_id: str
    timestamp_ns: int
    parameters: dict[str, Any]
    kind: PayloadKind
    payload: bytes
    shared: bool = False
    schema: bytes | None = None
    layout: list[int] | None = None


class RemoteClosed(_Msg, tag="closed"):
    """The producer will not send on this output again (it closed it or exited).

    ``stopping`` as in :class:`dora_message.data_protocol.Closed`: the producer closed
    because the dataflow is being stopped.
    """

    output_id: str
    stopping: bool = False


InterDaemon = RemoteData | RemoteClosed

inter_daemon_encoder = msgspec.msgpack.Encoder()
# Safe: the messages come from other daemons and `dora topic pub` over the network, and
# `parameters` may nest deep enough for RecursionError; every failure is MalformedMessage.
inter_daemon_decoder: SafeDecoder[InterDaemon] = SafeDecoder(msgspec.msgpack.Decoder(InterDaemon))


class InjectionReport(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A daemon's answer to one message ``dora topic pub`` sent it (a zenoh query on
    :func:`inject_key`, the wait it allows in :data:`INJECT_WAIT_PARAMETER`).

    Interim reports, while some readers do not listen yet, have ``waiting``; the last
    report of a query is the outcome: ``delivered`` (the message was written to those
    readers' connections), ``not_listening`` (no listener within the wait: not started
    yet, or exited), ``error`` (why the daemon delivered nothing more).
    """

    delivered: list[str] = []
    waiting: list[str] = []
    not_listening: list[str] = []
    error: str | None = None


INJECT_WAIT_PARAMETER = "wait_ms"
"""The query parameter: how long, in milliseconds, the daemon may wait for a reader that
does not listen yet before counting it as ``not_listening``."""

injection_report_decoder: SafeDecoder[InjectionReport] = SafeDecoder(
    msgspec.msgpack.Decoder(InjectionReport)
)


def key_chunk(text: str) -> str:
    """``text`` as one zenoh key chunk: itself when plain, else a stable digest."""
    if _KEY_SAFE.fullmatch(text):
        return text
    return "h" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _output_tail(output_id: str) -> str:
    chunks = output_id.split("/")
    plain = all(chunk and _KEY_SAFE.fullmatch(chunk) for chunk in chunks)
    return output_id if plain else key_chunk(output_id)


def output_key(dataflow_id: str, node_id: str, output_id: str) -> str:
    """``dora/<dataflow>/output/<node>/<output>`` (output ids may hold ``/``)."""
    return f"dora/{dataflow_id}/output/{node_id}/{_output_tail(output_id)}"


def debug_key(dataflow_id: str, node_id: str, output_id: str) -> str:
    """``dora/<dataflow>/debug/<node>/<output>``: every message of a dataflow that runs with
    ``publish_all_messages_to_zenoh``, for ``dora topic``. Apart from :func:`output_key`
    so that watching never feeds a consuming daemon twice."""
    return f"dora/{dataflow_id}/debug/{node_id}/{_output_tail(output_id)}"


def inject_key(dataflow_id: str, daemon_id: str, node_id: str, output_id: str) -> str:
    """``dora/<dataflow>/inject/<daemon>/<node>/<output>``: messages ``dora topic pub``
    hands one daemon (as query payloads, answered with :class:`InjectionReport`) to
    deliver to its nodes reading that output, as if ``node`` sent them. One key per
    daemon, so a message reaches each daemon once however zenoh routes it."""
    tail = f"{node_id}/{_output_tail(output_id)}"
    return f"dora/{dataflow_id}/inject/{key_chunk(daemon_id)}/{tail}"


def daemon_token_key(daemon_id: str) -> str:
    """Liveliness token of a daemon's zenoh session."""
    return f"dora/daemon/{key_chunk(daemon_id)}"


def subscribed_token_key(dataflow_id: str, daemon_id: str) -> str:
    """Liveliness token: ``daemon_id`` declared its subscribers for the dataflow."""
    return f"dora/{dataflow_id}/subscribed/{key_chunk(daemon_id)}"
