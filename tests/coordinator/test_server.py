"""A real coordinator process on 127.0.0.1 facing bad clients: it answers and keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from dora_message import cli_to_coordinator as cli
from dora_message import coordinator_to_cli as to_cli
from tests.coordinator.helpers import Proc, start_coordinator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def coordinator() -> Iterator[tuple[Proc, int]]:
    proc = start_coordinator()
    try:
        yield proc, proc.port
    finally:
        proc.kill()


def control(port: int, token: str | None = None) -> ClientConnection:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return connect(
        f"ws://127.0.0.1:{port}/api/control", additional_headers=headers, open_timeout=5, proxy=None
    )


def ask(ws: ClientConnection, request_id: int, body: cli.ControlRequest) -> to_cli.Reply:
    ws.send(cli.encode_request(request_id, body))
    frame = to_cli.decode_frame(ws.recv(timeout=10))
    assert isinstance(frame, to_cli.Reply)
    return frame


def hello(ws: ClientConnection) -> None:
    reply = ask(ws, 1, cli.Hello(protocol_version=cli.CONTROL_PROTOCOL_VERSION))
    assert isinstance(reply.result, to_cli.HelloOk), reply


def test_garbage_frames_get_error_replies(coordinator: tuple[Proc, int]) -> None:
    _, port = coordinator
    with control(port) as bad, control(port) as good:
        hello(bad)
        hello(good)
        for garbage in ("not json at all", "{}", '{"id": 5, "request": {"type": "nope"}}'):
            bad.send(garbage)
            frame = to_cli.decode_frame(bad.recv(timeout=10))
            assert isinstance(frame, to_cli.Reply)
            assert frame.error and "malformed request" in frame.error
        assert frame.id == 5  # the id is echoed when it can be read
        bad.send(b"\x00\x01binary")
        frame = to_cli.decode_frame(bad.recv(timeout=10))
        assert isinstance(frame, to_cli.Reply) and "binary frames" in (frame.error or "")
        assert isinstance(ask(bad, 6, cli.ListDataflows()).result, to_cli.DataflowList)
        assert isinstance(ask(good, 2, cli.ListDaemons()).result, to_cli.DaemonList)
        missing = ask(good, 3, cli.StopDataflow(dataflow="no-such-dataflow"))
        assert "no dataflow with UUID or running name `no-such-dataflow`" in (missing.error or "")


def test_a_malformed_descriptor_is_named_as_such(coordinator: tuple[Proc, int]) -> None:
    # the descriptor is decoded with the request: its own errors still read as the
    # descriptor's, located inside it, and answer the request's id
    _, port = coordinator
    with control(port) as ws:
        hello(ws)
        cases = {
            '{"nodes": [{"id": "a", "bogus": 1}]}': "unknown field `bogus` - at `$.nodes[0]`",
            '{"nodes": [{"id": 7}]}': "Expected `str`, got `int` - at `$.nodes[0].id`",
            "[]": "Expected `object`, got `array` - at `$`",
        }
        for request_id, (descriptor, where) in enumerate(cases.items(), start=2):
            start = f'{{"type": "start", "descriptor": {descriptor}}}'
            ws.send(f'{{"id": {request_id}, "request": {start}}}')
            frame = to_cli.decode_frame(ws.recv(timeout=10))
            assert isinstance(frame, to_cli.Reply) and frame.id == request_id
            assert frame.error is not None
            assert frame.error.startswith("invalid dataflow descriptor: "), frame.error
            assert frame.error.endswith(where), frame.error
        ws.send('{"id": 9, "request": {"type": "start"}}')  # no descriptor: the request's
        frame = to_cli.decode_frame(ws.recv(timeout=10))
        assert isinstance(frame, to_cli.Reply) and frame.id == 9
        assert (
            frame.error
            == "malformed request: Object missing required field `descriptor` - at `$.request`"
        )


def test_hello_comes_first_and_versions_must_match(coordinator: tuple[Proc, int]) -> None:
    _, port = coordinator
    with control(port) as ws:
        reply = ask(ws, 1, cli.ListDataflows())
        assert reply.error == "the first request must be hello"
        reply = ask(ws, 2, cli.Hello(protocol_version="dora-py-control-0"))
        assert "protocol version mismatch" in (reply.error or "")
        assert "dora-py-control-0" in (reply.error or "")
        hello(ws)


def test_oversized_message_closes_only_that_connection(coordinator: tuple[Proc, int]) -> None:
    _, port = coordinator
    with control(port) as big, control(port) as other:
        hello(big)
        hello(other)
        huge = cli.StartDataflow(descriptor={"nodes": [], "description": "x" * (2 * 1024 * 1024)})
        big.send(cli.encode_request(2, huge))
        with pytest.raises(ConnectionClosed) as closed:
            big.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert isinstance(ask(other, 2, cli.ListDataflows()).result, to_cli.DataflowList)


def test_daemon_endpoint_refuses_a_bad_first_frame(coordinator: tuple[Proc, int]) -> None:
    _, port = coordinator
    url = f"ws://127.0.0.1:{port}/api/daemon"
    with connect(url, open_timeout=5, proxy=None) as ws:
        ws.send("hello?")
        event = json.loads(ws.recv(timeout=10))
        assert event["event"]["type"] == "register_rejected"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    with control(port) as ws:
        hello(ws)


def test_token_is_required_and_never_shown(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    proc = start_coordinator(0, "--token-file", str(token_file))
    port = proc.port
    try:
        token = token_file.read_text().strip()
        assert oct(token_file.stat().st_mode & 0o777) == "0o600"
        for wrong in (None, "0" * 64, token[:-1]):
            with pytest.raises(InvalidStatus) as refused:
                control(port, wrong)
            assert refused.value.response.status_code == 401
            assert b"missing or wrong token" in refused.value.response.body
        with control(port, token) as ws:
            hello(ws)
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{port}/api/daemon", open_timeout=5, proxy=None)
        proc.wait_for_line("missing or wrong token")
        assert all(token not in line for line in proc.lines)
    finally:
        proc.kill()
    assert all(token not in line for line in proc.output(wait=5))
