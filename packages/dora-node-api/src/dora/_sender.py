"""Sending side of the node's data plane: Arrow arrays into ``Data`` frames.

Connections, fan-out, shared-memory segments and releases are the data-plane core's
(:class:`dora_message.dataplane.sender.Sender`, shared with the daemon's bridge); this
subclass adds the node's encodings: small flat arrays as raw buffers inline, larger ones
written once into a segment, anything else as Arrow IPC (see ``dora._arrow``).
"""

from __future__ import annotations

import logging
from typing import Any

import pyarrow as pa

from dora._arrow import (
    _PAD,
    TypeInfo,
    as_payload,
    batch_message,
    flat_parts,
    join_parts,
    stream_size,
    write_parts,
    write_stream,
)
from dora._shm import ShmPool, writable
from dora_message.config import NodeConfig
from dora_message.data_protocol import Data, data_encoder
from dora_message.dataplane.framing import encode_frame
from dora_message.dataplane.sender import (
    RETRY_INTERVAL,
    OutConn,
    Peer,
    Register,
    ReportDrops,
    Unregister,
)
from dora_message.dataplane.sender import Sender as CoreSender

__all__ = ["RETRY_INTERVAL", "OutConn", "Peer", "ReportDrops", "Sender"]

logger = logging.getLogger(__name__)

_ARRAY = pa.Array


class Sender(CoreSender):
    """Everything a node needs to send on its outputs."""

    def __init__(
        self, config: NodeConfig, pool: ShmPool, register: Register, unregister: Unregister
    ) -> None:
        super().__init__(
            config.dataflow_id,
            config.node_id,
            config.routes,
            pool,
            register,
            unregister,
            config.zero_copy_threshold,
        )
        self._infos: dict[str, TypeInfo] = {}

    # ---- sending ------------------------------------------------------------------

    def send(self, output_id: str, data: Any, params: dict[str, Any], ts: int) -> None:
        """Send ``data`` (bytes-like or pyarrow Array; anything else raises TypeError)."""
        payload = data if isinstance(data, _ARRAY) else as_payload(data)
        peers = self._routes.get(output_id)
        if not peers:
            return
        if len(peers) == 1 and type(payload) is not memoryview:
            conn = peers[0].conn
            if conn is not None and conn.alive:
                info = self._infos.get(output_id)
                if info is None or info.plain_id != payload.type.id or info.plain_id < 0:
                    info = self._info(output_id, payload.type)
                width = info.small_width
                if (
                    width
                    and len(payload) * width < self.threshold
                    and self._send_small(output_id, ts, params, info, payload, conn)
                ):
                    return
        conns = self._live(peers, output_id)
        if not conns:
            return
        if type(payload) is memoryview:
            size = payload.nbytes
            if size < self.threshold:
                msg = Data(output_id, ts, params, "raw", inline=payload)
                frame = encode_frame(data_encoder, msg)
                for conn in conns:
                    if not self._write(conn, frame):
                        self._missed_conn(conn, output_id)
                return
            seg, offset = self._pool.acquire(size)
            seg.mm[offset : offset + size] = payload
            self.send_segment(output_id, ts, params, "raw", seg, offset, size, conns)
            return
        info = self._info(output_id, payload.type)
        if info.flat:
            layout, parts, total = flat_parts(payload)
            if len(layout) == 3 + info.num_buffers:
                if total < self.threshold:
                    inline = join_parts(parts)
                    self.send_inline(output_id, ts, params, info, "buffers", inline, conns, layout)
                    return
                seg, offset = self._pool.acquire(total)
                try:
                    write_parts(parts, seg.mm, offset, total)
                except BaseException:
                    self.discard_segment(seg, offset)
                    raise
                self.send_segment(
                    output_id, ts, params, "buffers", seg, offset, total, conns, info, layout
                )
                return
        elif not info.stream_only and payload.get_total_buffer_size() < self.threshold:
            body = memoryview(batch_message(payload, info))
            self.send_inline(output_id, ts, params, info, "ipc", body, conns, None)
            return
        batch = pa.RecordBatch.from_arrays([payload], schema=info.schema)
        size = stream_size(batch)
        seg, offset = self._pool.acquire(size)
        try:
            write_stream(batch, writable(seg, offset, size))
        except BaseException:
            self.discard_segment(seg, offset)
            raise
        self.send_segment(output_id, ts, params, "ipc", seg, offset, size, conns)

    def _send_small(
        self,
        output_id: str,
        ts: int,
        params: dict[str, Any],
        info: TypeInfo,
        array: pa.Array,
        conn: OutConn,
    ) -> bool:
        """The common small message: a validity-free primitive array, sent inline to the
        output's one receiver, which already knows its type. Same frame as the generic
        path, without its per-message lists and calls (the whole send costs a few µs,
        so they count). False when the message does not fit this case (nothing sent)."""
        buffers = array.buffers()
        if len(buffers) != 2 or buffers[0] is not None or buffers[1] is None:
            return False
        data = buffers[1]
        size = data.size
        pad = -size % 8
        if size + pad >= self.threshold:
            return False
        inline = memoryview(data) if not pad else b"".join((data, _PAD[:pad]))
        layout = [len(array), -1, array.offset, -1, size]
        with conn.lock:
            if not conn.alive or conn.types.get(output_id) is not info:
                return False  # let the generic path send (or skip) it with its schema
            frame = encode_frame(
                data_encoder, Data(output_id, ts, params, "buffers", None, inline, layout=layout)
            )
            try:
                conn.sock.sendall(frame)
                return True
            except OSError:
                self._mark_dead(conn)
        self._missed_conn(conn, output_id)  # outside conn.lock: the count has its own
        return True

    def _info(self, output_id: str, arrow_type: pa.DataType) -> TypeInfo:
        info = self._infos.get(output_id)
        if info is None or not (
            info.type is arrow_type
            or (info.plain_id >= 0 and info.plain_id == arrow_type.id)
            or info.type.equals(arrow_type)
        ):
            info = self._infos[output_id] = TypeInfo(arrow_type)
        return info
