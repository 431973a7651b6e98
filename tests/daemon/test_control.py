"""The control server over a real abstract Unix socket, with raw protocol clients."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from dora_daemon.barrier import StartBarrier
from dora_daemon.control import ControlServer
from dora_message.auth import new_key, node_secret
from dora_message.dataplane.framing import FrameBuffer, frame
from dora_message.node_protocol import (
    PROTOCOL_VERSION,
    CloseOutputs,
    DaemonToNode,
    NodeLog,
    Register,
    RegisterReply,
    Stop,
    Subscribe,
    SubscribeReply,
    Tick,
    node_encoder,
    to_node_decoder,
)

pytestmark = pytest.mark.timeout(20)

DF = "df-" + uuid.uuid4().hex


class Events:
    """Records what the server reports."""

    def __init__(self) -> None:
        self.decided = 0
        self.closed: list[tuple[str, list[str]]] = []
        self.logs: list[tuple[str, NodeLog]] = []
        self.gone_nodes: list[str] = []
        self.gone = asyncio.Event()

    def barrier_decided(self) -> None:
        self.decided += 1

    def outputs_closed(self, node_id: str, outputs: list[str]) -> None:
        self.closed.append((node_id, outputs))

    def node_log(self, node_id: str, record: NodeLog) -> None:
        self.logs.append((node_id, record))

    def disconnected(self, node_id: str) -> None:
        self.gone_nodes.append(node_id)
        self.gone.set()


class Client:
    """A node's side of the control connection, non-blocking for use inside the loop."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.frames = FrameBuffer()
        self.ready: list[bytes] = []

    @classmethod
    async def connect(cls, address: str) -> Client:
        return cls(*await asyncio.open_unix_connection(address))

    def send(self, message: object) -> None:
        self.writer.write(frame(node_encoder.encode(message)))

    async def recv(self) -> DaemonToNode | None:
        while not self.ready:
            data = await self.reader.read(65536)
            if not data:
                return None
            self.frames.feed(data)
            self.ready.extend(self.frames)
        return to_node_decoder.decode(self.ready.pop(0))

    async def register(self, node_id: str, **overrides: str) -> RegisterReply:
        fields = {
            "dataflow_id": DF,
            "node_id": node_id,
            "protocol_version": PROTOCOL_VERSION,
            "secret": SECRETS.get(node_id, ""),
        }
        fields.update(overrides)
        self.send(Register(pid=1, **fields))
        reply = await self.recv()
        assert isinstance(reply, RegisterReply)
        return reply


KEY = new_key()
SECRETS: dict[str, str] = {}


async def serve(nodes: list[str]) -> tuple[ControlServer, Events]:
    events = Events()
    server = ControlServer(
        DF,
        f"\0dora-test-{uuid.uuid4().hex}",
        nodes,
        StartBarrier(nodes),
        events,
        node_secrets={n: SECRETS.setdefault(n, node_secret(KEY, n)) for n in nodes},
    )
    await server.start()
    return server, events


def test_register_checks_dataflow_node_version_and_duplicates() -> None:
    async def scenario() -> None:
        server, _ = await serve(["a"])
        try:
            bad_version = await (await Client.connect(server.address)).register(
                "a", protocol_version="dora-py-0"
            )
            assert "dora-py-0" in (bad_version.error or "")
            assert PROTOCOL_VERSION in (bad_version.error or "")
            assert bad_version.protocol_version == PROTOCOL_VERSION
            wrong_df = await (await Client.connect(server.address)).register("a", dataflow_id="x")
            assert "unknown dataflow `x`" in (wrong_df.error or "")
            unknown = await (await Client.connect(server.address)).register("zzz")
            assert "no node `zzz`" in (unknown.error or "")
            first = await Client.connect(server.address)
            assert (await first.register("a")).error is None
            again = await (await Client.connect(server.address)).register("a")
            assert "already connected" in (again.error or "")
            rude = await Client.connect(server.address)
            rude.send(Subscribe())
            reply = await rude.recv()
            assert isinstance(reply, RegisterReply) and "must be `register`" in (reply.error or "")
            assert await rude.recv() is None  # and the connection is closed
        finally:
            await server.close()

    asyncio.run(scenario())


def test_register_needs_the_node_secret_and_never_echoes_it() -> None:
    async def scenario() -> None:
        server, _ = await serve(["a", "b"])
        try:
            for given in ("", "f" * 64, SECRETS["b"]):  # none, a wrong one, another node's
                reply = await (await Client.connect(server.address)).register("a", secret=given)
                assert "wrong or missing secret for node `a`" in (reply.error or ""), given
                assert not given or given not in (reply.error or "")
            assert (await (await Client.connect(server.address)).register("a")).error is None
        finally:
            await server.close()

    asyncio.run(scenario())


def test_messages_before_release_wait_and_reports_reach_the_events() -> None:
    async def scenario() -> None:
        server, events = await serve(["a", "b"])
        try:
            a = await Client.connect(server.address)
            await a.register("a")
            a.send(Subscribe())
            server.send("a", Stop())  # queued: a is parked
            b = await Client.connect(server.address)
            await b.register("b")
            b.send(Subscribe())
            assert await a.recv() == SubscribeReply()
            assert await a.recv() == Stop()
            assert await b.recv() == SubscribeReply()
            assert events.decided == 1
            b.send(CloseOutputs(["x"]))
            b.send(NodeLog(level="info", message="hi"))
            b.writer.close()
            await asyncio.wait_for(events.gone.wait(), 5)
            assert events.gone_nodes == ["b"]
            assert events.closed == [("b", ["x"])]
            assert events.logs[0][1].message == "hi"
        finally:
            await server.close()

    asyncio.run(scenario())


def test_slow_node_loses_ticks_but_not_control_messages() -> None:
    async def scenario() -> None:
        server, _ = await serve(["slow"])
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.setblocking(False)
        await asyncio.get_running_loop().sock_connect(raw, server.address)
        client = Client(*await asyncio.open_unix_connection(sock=raw))
        try:
            await client.register("slow")
            client.send(Subscribe())
            assert await client.recv() == SubscribeReply()
            for n in range(20_000):  # the client reads nothing meanwhile
                server.send_droppable("slow", Tick(input_ids=["t"], timestamp_ns=n), 16 * 1024)
            server.send("slow", Stop())
            dropped = server.dropped()["slow"]
            assert dropped > 0
            received = []
            while (message := await client.recv()) != Stop():
                assert isinstance(message, Tick)
                received.append(message.timestamp_ns)
            assert len(received) + dropped == 20_000
            assert received == sorted(received)  # what arrives, arrives in order
        finally:
            await server.close()

    asyncio.run(scenario())
