"""Bad input reaches C code as errors, never as crashes: NULL pointers and wrong calls,
a daemon that vanishes mid-stream (a STOP, then the end of the stream), and malformed
frames sent to the node's data socket (the connection is dropped with an ERROR event,
the node goes on)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pytest

from bench.fake_daemon import FakeDaemon
from dora_message.data_protocol import (
    Closed,
    Data,
    Hello,
    NewSegment,
    data_encoder,
    to_sender_decoder,
)
from dora_message.dataplane.framing import FrameBuffer, encode_frame
from dora_message.dataplane.sockets import send_with_fd
from dora_message.memfd import create_sealed
from dora_message.node_protocol import PROTOCOL_VERSION, Stop, Tick
from tests.c_api.conftest import CompileC
from tests.c_api.helpers import (
    CNode,
    hello_frame,
    mutated,
    raw_frame,
    running_watch,
    send_frame,
    topology,
)

pytestmark = pytest.mark.integration

ASAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-O1"]
ASAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:exitcode=86", "UBSAN_OPTIONS": "print_stacktrace=1"}


def build(compile_c: CompileC, source: str, sanitized: bool) -> tuple[Path, dict[str, str]]:
    """The program, plain or with the library compiled in under ASan/UBSan (and its env)."""
    if not sanitized:
        return compile_c([source], source[:-2]), {}
    return compile_c([source], f"{source[:-2]}_asan", ASAN, link="sources-node"), ASAN_ENV


@contextmanager
def watching(
    compile_c: CompileC, daemon: FakeDaemon, sanitized: bool
) -> Iterator[tuple[CNode, str]]:
    """``c_watch`` (plain or under ASan) as node ``c`` of ``topology()``, ready and
    subscribed: the node and the address of its data socket."""
    config = topology(daemon)["c"]
    binary, env = build(compile_c, "c_watch.c", sanitized)
    with running_watch(daemon, binary, config, **env) as node:
        yield node, config.listen_address  # type: ignore[attr-defined]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sanitized", [False, True], ids=["plain", "asan"])
def test_null_pointers_and_bad_config_without_a_dataflow(
    compile_c: CompileC, sanitized: bool
) -> None:
    binary, env = build(compile_c, "c_misuse.c", sanitized)
    with CNode(binary, None, **env) as node:
        node.expect("misuse: init: DORA_NODE_CONFIG env variable is not set")
        node.expect("misuse: bad config: DORA_NODE_CONFIG is not valid JSON")
        node.expect("misuse: no daemon: cannot connect to the dora daemon")
        node.expect("misuse: ok (0 failures)")
        assert node.wait() == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sanitized", [False, True], ids=["plain", "asan"])
def test_wrong_calls_on_a_live_context(
    compile_c: CompileC, daemon: FakeDaemon, sanitized: bool
) -> None:
    config = topology(daemon)["c"]
    binary, env = build(compile_c, "c_misuse.c", sanitized)
    with CNode(binary, config, **env) as node:
        node.expect("misuse: unknown output: output `nope` is not declared")
        node.expect("misuse: nested: Arrow type with format `+l` is not supported")
        node.expect("misuse: tz: cannot send Arrow type timestamp[ns, tz=Europe/Paris]")
        daemon.wait_subscribed()
        daemon.send("c", Tick(["tick"], time.time_ns()))
        node.expect("misuse: ok (0 failures)")
        assert node.wait() == 0
    # the node told the daemon about the closed output and its end, and logged
    daemon.wait_for(lambda r: any(type(m).__name__ == "OutputsDone" for _n, m in r), 10)
    kinds = [type(m).__name__ for n, m in daemon.received if n == "c"]
    assert "CloseOutputs" in kinds and "NodeLog" in kinds, kinds


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sanitized", [False, True], ids=["plain", "asan"])
def test_daemon_vanishing_mid_stream(
    compile_c: CompileC, daemon: FakeDaemon, sanitized: bool
) -> None:
    with watching(compile_c, daemon, sanitized) as (node, _address):
        daemon.send("c", Tick(["tick"], time.time_ns()))
        node.expect("watch: INPUT tick 0")
        # malformed daemon messages are logged and skipped; the connection stays
        conn = daemon._conns["c"]
        for body in (
            b"\xc1",
            b"\x92\xa4tick\x01",
            b"\x91\xa7unknown",
            b"\x93\xa4tick\x91\x01\xa1x",
        ):
            conn.sendall(len(body).to_bytes(4, "little") + body)
        daemon.send("c", Tick(["tick"], time.time_ns()))
        node.expect("watch: INPUT tick 0")
        daemon.disconnect("c")
        node.expect("watch: STOP  0 MANUAL")
        node.expect("watch: end")
        assert node.wait() == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("sanitized", [False, True], ids=["plain", "asan"])
def test_malformed_frames_drop_the_connection_not_the_node(
    compile_c: CompileC, daemon: FakeDaemon, sanitized: bool
) -> None:
    with watching(compile_c, daemon, sanitized) as (node, address):
        hello = hello_frame(daemon)
        raw = raw_frame(b"hello")
        socks = [
            # not msgpack at all
            send_frame(address, b"\x03\x00\x00\x00\xc1\xc1\xc1"),
            # a length over the 64 MiB limit
            send_frame(address, b"\xff\xff\xff\x7f" + b"\x00" * 16),
            # data before hello
            send_frame(address, raw),
            # a hello from another dataflow
            send_frame(address, encode_frame(data_encoder, Hello("other", "py", PROTOCOL_VERSION))),
            # a segment announced without its fd
            send_frame(address, hello, encode_frame(data_encoder, NewSegment(1, 65536))),
            # a data frame whose fields have the wrong types
            send_frame(address, hello, b"\x06\x00\x00\x00\x93\xa4data\x01\x02"),
        ]
        for needle in (
            "malformed frame",
            "over the 67108864-byte limit",
            "data before hello",
            "unexpected hello",
            "without its fd",
            "malformed data frame",
        ):
            node.expect("watch: ERROR  0 dropping the data connection from `", timeout=20)
            assert any(needle in line for line in node.seen), (needle, node.seen)
        # a well-formed connection still works, and so does a buffers message without type
        good = send_frame(
            address,
            hello,
            encode_frame(
                data_encoder,
                Data("out", time.time_ns(), {}, "buffers", inline=b"", layout=[0, 0, 0]),
            ),
            raw,
        )
        node.expect("watch: ERROR  0 failed to read input `in`: message has no type")
        node.expect("watch: INPUT in 5 hello")
        # a message outside its segment is lost, released, and the connection stays
        fd = create_sealed("test-segment", 65536)  # dora-py-2: unsealed ones are refused
        send_with_fd(good, encode_frame(data_encoder, NewSegment(1, 65536)), fd)
        os.close(fd)
        outside = Data(
            "out", time.time_ns(), {}, "raw", segment_id=1, offset=65000, length=1000, token=7
        )
        good.sendall(encode_frame(data_encoder, outside))
        node.expect("watch: ERROR  0 failed to read input `in`: the message lies outside")
        frames = FrameBuffer()
        good.settimeout(10)
        while not (released := [to_sender_decoder.decode(body) for body in frames]):
            frames.feed(good.recv(4096))
        assert released[0].tokens == [7], released
        good.sendall(raw)
        node.expect("watch: INPUT in 5 hello")
        daemon.send("c", Stop())
        node.expect("watch: STOP  0 MANUAL")
        node.expect("watch: end")
        assert node.wait() == 0
        for sock in [*socks, good]:
            sock.close()


@pytest.mark.timeout(180)
def test_mutated_frames_under_asan(compile_c: CompileC, daemon: FakeDaemon) -> None:
    """Hundreds of randomly mutated data frames, each on its own connection after a valid
    hello: the node (library under ASan/UBSan) survives them all without a report or a
    leak, and still takes a valid message afterwards."""
    with watching(compile_c, daemon, True) as (node, address):
        hello = hello_frame(daemon)
        ts = time.time_ns()
        seeds = [
            data_encoder.encode(Data("out", ts, {"k": 1, "s": "x"}, "raw", inline=b"abc")),
            data_encoder.encode(
                Data(
                    "out",
                    ts,
                    {},
                    "buffers",
                    schema=pa.schema([pa.field("data", pa.string())]).serialize().to_pybytes(),
                    inline=b"\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00ab"
                    + bytes(6),
                    layout=[1, -1, 0, -1, 8, 2],
                )
            ),
            data_encoder.encode(
                Data("out", ts, {}, "raw", segment_id=3, offset=0, length=10, token=1)
            ),
            data_encoder.encode(Closed(["out", "other"], False)),
        ]
        rng = random.Random(99)
        for _ in range(400):
            body = mutated(rng, seeds, flips=3, cut=0.1, keep=1)
            sock = send_frame(address, hello, len(body).to_bytes(4, "little") + body)
            sock.close()
        good = send_frame(
            address, hello, encode_frame(data_encoder, Data("out", ts, {}, "raw", inline=b"alive"))
        )
        node.expect("watch: INPUT in 5 alive", timeout=60)
        daemon.send("c", Stop())
        node.expect("watch: end", timeout=60)
        assert node.wait(timeout=60) == 0, "\n".join(node.seen[-20:])
        good.close()
