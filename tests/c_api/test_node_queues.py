"""The C node's input queues follow the Python node's rules: queue_size drops the oldest
message, correlated messages (request_id) are evicted last, flush=true drops the older
ones, and input_timeout breaks a silent input (INPUT_CLOSED, reported to the daemon as
broken) until its next message (INPUT_RECOVERED). The queue length is reported to the
daemon."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bench.fake_daemon import FakeDaemon
from dora_message.config import InputConfig
from dora_message.node_protocol import BrokenInputs, PendingInputs, Stop
from tests.c_api.conftest import CompileC
from tests.c_api.helpers import CNode, hello_frame, raw_frame, running_watch, send_frame

pytestmark = pytest.mark.integration


def _pending(msg: object) -> int | None:
    return msg.count if isinstance(msg, PendingInputs) else None


def message(text: str, **params: object) -> bytes:
    return raw_frame(text.encode(), **params)


@contextmanager
def watch_input(
    compile_c: CompileC, daemon: FakeDaemon, spec: InputConfig
) -> Iterator[tuple[CNode, str]]:
    """``c_watch`` reading ``in`` as ``spec`` says, ready and subscribed, holding back its
    first event until ``node.go()``: the node and the address of its data socket."""
    configs = daemon.configs({"py": {"outputs": ["out"]}, "c": {"inputs": {"in": spec}}})
    binary = compile_c(["c_watch.c"], "c_watch")
    with running_watch(daemon, binary, configs["c"], WATCH_WAIT_STDIN="1") as node:
        yield node, configs["c"].listen_address


@pytest.mark.timeout(60)
def test_queue_size_request_ids_and_flush(compile_c: CompileC, daemon: FakeDaemon) -> None:
    with watch_input(compile_c, daemon, InputConfig(source="py/out", queue_size=3)) as (
        node,
        address,
    ):
        frames = [message(f"m{i}", **({"request_id": "r1"} if i == 2 else {})) for i in range(10)]
        sock = send_frame(address, hello_frame(daemon), *frames)
        node.go()
        # queue of 3: m2 (correlated) is kept, the other old ones are dropped
        assert node.expect("watch: INPUT in").endswith(" m2")
        assert node.expect("watch: INPUT in").endswith(" m8")
        assert node.expect("watch: INPUT in").endswith(" m9")
        # the queue length went to the daemon (dora top's QUEUE): 2 behind m2, then 0
        daemon.wait_for(lambda r: any(_pending(m) == 2 for _n, m in r), 10)
        daemon.wait_for(lambda r: any(_pending(m) == 0 for _n, m in r), 10)
        daemon.send("c", Stop())
        node.expect("watch: end")
        assert node.wait() == 0
        sock.close()


@pytest.mark.timeout(60)
def test_flush_drops_older_messages(compile_c: CompileC, daemon: FakeDaemon) -> None:
    with watch_input(compile_c, daemon, InputConfig(source="py/out", queue_size=10)) as (
        node,
        address,
    ):
        frames = [message(f"m{i}", **({"request_id": "r"} if i == 1 else {})) for i in range(4)]
        frames.append(message("m4", flush=True))
        sock = send_frame(address, hello_frame(daemon), *frames)
        node.go()
        assert node.expect("watch: INPUT in").endswith(" m1")
        assert node.expect("watch: INPUT in").endswith(" m4")
        daemon.send("c", Stop())
        node.expect("watch: end")
        assert not any(line.endswith((" m0", " m2", " m3")) for line in node.seen), node.seen
        sock.close()


@pytest.mark.timeout(60)
def test_input_timeout_breaks_and_recovers(compile_c: CompileC, daemon: FakeDaemon) -> None:
    with watch_input(
        compile_c, daemon, InputConfig(source="py/out", input_timeout=0.3, queue_size=10)
    ) as (node, address):
        node.go()
        sock = send_frame(address, hello_frame(daemon), message("first"))
        node.expect("watch: INPUT in 5 first")
        node.expect("watch: INPUT_CLOSED in 0")  # 0.3 s of silence
        daemon.wait_for(
            lambda r: any(isinstance(m, BrokenInputs) and m.input_ids == ["in"] for _n, m in r), 10
        )
        sock.sendall(message("again"))
        node.expect("watch: INPUT in 5 again")
        node.expect("watch: INPUT_RECOVERED in 0")
        daemon.wait_for(
            lambda r: any(isinstance(m, BrokenInputs) and m.input_ids == [] for _n, m in r), 10
        )
        daemon.send("c", Stop())
        node.expect("watch: STOP")
        node.expect("watch: end")
        sock.close()
