"""`dora topic pub`'s two halves: the CLI's injector and a daemon's injection point.

Real Unix sockets stand for the readers; the last tests put a real zenoh session (a
daemon's, on loopback) between the CLI's queriers and the daemon's queryables. A reader
that does not listen yet is waited for, and one that never listens is named in the
outcome: no injected message is lost without the CLI knowing.
"""

from __future__ import annotations

import asyncio
import secrets
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

from dora_cli.topic_inject import Outcome, TopicInjector, injected, outcome, undelivered_text
from dora_cli.topic_watch import decode_array
from dora_daemon.bridge.inject import ProducerInjection, TopicInjection, requested_wait
from dora_daemon.bridge.mesh import Mesh
from dora_message.auth import link_token, new_key
from dora_message.constants import MAX_INJECT_WAIT_S
from dora_message.data_protocol import Data, Hello, to_receiver_decoder
from dora_message.dataplane.sockets import FrameReader
from dora_message.inter_daemon import InjectionReport, RemoteData, inter_daemon_encoder
from dora_message.node_protocol import PROTOCOL_VERSION

KEY = new_key()
DEADLINE = 10.0

# ---- sans-I/O ----------------------------------------------------------------------


def test_the_outcome_counts_every_daemon_and_names_who_missed_it() -> None:
    final = {
        "d2": InjectionReport(delivered=["b"], not_listening=["c"]),
        "d1": InjectionReport(delivered=["a"]),
        "d3": None,
        "d4": InjectionReport(delivered=[], waiting=["e"], error="the dataflow is stopping"),
    }
    result = outcome(final)
    assert result.delivered == ["a", "b"]
    assert result.not_listening == ["c"]  # `e` was still waited for when d4 gave up
    assert result.errors == [
        "daemon d3 did not answer (is the dataflow still running?)",
        "daemon d4 gave up on node `e`: the dataflow is stopping",
    ]
    assert not result.complete
    assert outcome({"d1": InjectionReport(delivered=["a"])}).complete


def test_the_failure_says_what_was_missed_reached_and_not_sent() -> None:
    missed = Outcome(["printer"], ["late"], [])
    assert undelivered_text("s/out", missed, 10, 0, 1) == (
        "the message on `s/out` did not reach every reader: node `late` did not listen "
        "within 10 s (not started yet, or exited); it reached node `printer`"
    )
    assert undelivered_text("s/out", missed, 2.5, 0, 3).endswith(
        "within 2.5 s (not started yet, or exited); it reached node `printer`; "
        "messages 2-3 not sent"
    )
    lost = Outcome([], ["a"], ["daemon d gave up on node `b`: the dataflow is stopping"])
    assert undelivered_text("s/out", lost, 1, 1, 3) == (
        "message 2/3 on `s/out` did not reach every reader: node `a` did not listen within "
        "1 s (not started yet, or exited); daemon d gave up on node `b`: the dataflow is "
        "stopping; it reached none; message 3 not sent"
    )


def test_the_wait_a_query_asks_for_is_bounded() -> None:
    assert requested_wait("2500") == 2.5
    assert requested_wait(None) == 0.0
    assert requested_wait("soon") == 0.0
    assert requested_wait("-5") == 0.0
    assert requested_wait(str(10**12)) == MAX_INJECT_WAIT_S


# ---- the daemon's side, on real sockets ------------------------------------------------


def read_frames(sock: socket.socket, count: int) -> list[Any]:
    reader = FrameReader()
    frames: list[Any] = []
    deadline = time.monotonic() + DEADLINE
    while len(frames) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"got only {frames}"
        select.select([sock], [], [], remaining)
        assert reader.fill(sock), f"connection closed after {frames}"
        frames += [to_receiver_decoder.decode(body) for body in reader.frames()]
    return frames


class Listener:
    """A reader's data socket, bound when the test says so."""

    def __init__(self) -> None:
        self.address = f"\0dora-test-inject-{secrets.token_hex(4)}"
        self.sock: socket.socket | None = None

    def listen(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.address)
        self.sock.listen(4)

    def received(self, count: int) -> list[Any]:
        """The next ``count`` frames of the next connection."""
        assert self.sock is not None
        self.sock.settimeout(DEADLINE)
        conn, _ = self.sock.accept()
        with conn:
            return read_frames(conn, count)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


@pytest.fixture
def listeners() -> Iterator[dict[str, Listener]]:
    made = {"det": Listener(), "late": Listener()}
    yield made
    for listener in made.values():
        listener.close()


def message(values: list[Any], output: str = "frames") -> bytes:
    return injected(output, pa.array(values))


def test_a_listening_reader_gets_the_message_as_from_the_producer(
    listeners: dict[str, Listener],
) -> None:
    det = listeners["det"]
    det.listen()
    injection = ProducerInjection("df", "cam", {"frames": ["det"]}, {"det": det.address}, KEY)
    reports: list[InjectionReport] = []
    try:
        report = injection.inject("frames", message([1, 2]), 5.0, reports.append)
        assert report == InjectionReport(delivered=["det"]) and reports == [report]
        hello, data = det.received(2)
        assert hello == Hello("df", "cam", PROTOCOL_VERSION, link_token(KEY, "cam", "det"))
        assert isinstance(data, Data) and data.output_id == "frames"
        remote = RemoteData("frames", 0, {}, "ipc", data.inline, False, data.schema)
        assert decode_array(remote).to_pylist() == [1, 2]
    finally:
        injection.stop()


def test_a_reader_that_never_listens_is_named(listeners: dict[str, Listener]) -> None:
    det, late = listeners["det"], listeners["late"]
    det.listen()
    routes = {"frames": ["det", "late"]}
    addresses = {"det": det.address, "late": late.address}
    injection = ProducerInjection("df", "cam", routes, addresses, KEY)
    reports: list[InjectionReport] = []
    try:
        report = injection.inject("frames", message([1]), 0.3, reports.append)
        assert report == InjectionReport(delivered=["det"], not_listening=["late"])
        assert reports == [InjectionReport(delivered=["det"], waiting=["late"]), report]
    finally:
        injection.stop()


def test_messages_that_are_not_this_outputs_are_refused(listeners: dict[str, Listener]) -> None:
    det = listeners["det"]
    injection = ProducerInjection("df", "cam", {"frames": ["det"]}, {"det": det.address}, KEY)
    try:
        unreadable = injection.inject("frames", b"\xc1", 0, lambda _r: None)
        assert unreadable.error is not None and "unreadable message" in unreadable.error
        other = injection.inject("frames", message([1], output="meta"), 0, lambda _r: None)
        assert other == InjectionReport(error="not a message of this output")
        shared = inter_daemon_encoder.encode(RemoteData("frames", 0, {}, "raw", b"x", True))
        assert injection.inject("frames", shared, 0, lambda _r: None).error == (
            "a shared-memory message"
        )
    finally:
        injection.stop()


def test_a_reader_that_starts_late_is_waited_for(listeners: dict[str, Listener]) -> None:
    late = listeners["late"]
    injection = ProducerInjection("df", "cam", {"frames": ["late"]}, {"late": late.address}, KEY)
    waiting = threading.Event()
    reports: list[InjectionReport] = []

    def answer(report: InjectionReport) -> None:
        reports.append(report)
        if report.waiting:
            waiting.set()

    result: list[InjectionReport] = []
    sender = threading.Thread(
        target=lambda: result.append(injection.inject("frames", message([7]), 60, answer))
    )
    sender.start()
    try:
        assert waiting.wait(DEADLINE)
        late.listen()  # the reader's Node() comes up now
        _hello, data = late.received(2)
        assert isinstance(data, Data)
        sender.join(DEADLINE)
        assert result == [InjectionReport(delivered=["late"])]
        assert reports == [InjectionReport(waiting=["late"]), result[0]]
    finally:
        injection.stop()
        sender.join(DEADLINE)


# ---- both sides, over a daemon's zenoh session ------------------------------------------


@pytest.fixture
def mesh() -> Iterator[Mesh]:
    opened = Mesh("tcp/127.0.0.1:0")
    asyncio.run(opened.open("d1", []))
    yield opened
    opened.close()


@pytest.mark.timeout(60)
def test_pub_over_zenoh_waits_for_a_late_reader_and_names_a_missing_one(
    mesh: Mesh, listeners: dict[str, Listener]
) -> None:
    det, late = listeners["det"], listeners["late"]
    det.listen()
    assert mesh.session is not None
    injection = TopicInjection(
        mesh.session,
        "df",
        "d1",
        {"cam": {"frames": ["det", "late"]}},
        {"det": det.address, "late": late.address},
        KEY,
    )
    injection.start()
    try:
        impatient = TopicInjector("df", "cam", "frames", {"d1": [mesh.endpoint]}, 0.2)
        try:
            impatient.open()
            missed = impatient.send(pa.array([1]))
        finally:
            impatient.close()
        assert missed == Outcome(["det"], ["late"], [])
        assert det.received(2)[1].output_id == "frames"

        waited: list[list[str]] = []
        opened = threading.Event()

        def on_waiting(nodes: list[str]) -> None:
            waited.append(nodes)
            late.listen()  # the late reader comes up once the daemon waits for it
            opened.set()

        patient = TopicInjector("df", "cam", "frames", {"d1": [mesh.endpoint]}, 60)
        try:
            patient.open()
            got = patient.send(pa.array([2]), on_waiting)
        finally:
            patient.close()
        assert got == Outcome(["det", "late"], [], []) and got.complete
        assert opened.is_set() and waited == [["late"]]
        _hello, data = late.received(2)
        assert isinstance(data, Data)
    finally:
        injection.close()


@pytest.mark.timeout(60)
def test_closing_the_injection_ends_a_wait_with_an_answer(
    mesh: Mesh, listeners: dict[str, Listener]
) -> None:
    late = listeners["late"]
    assert mesh.session is not None
    injection = TopicInjection(
        mesh.session, "df", "d1", {"cam": {"frames": ["late"]}}, {"late": late.address}, KEY
    )
    injection.start()
    closer = threading.Thread(target=injection.close)
    injector = TopicInjector("df", "cam", "frames", {"d1": [mesh.endpoint]}, 60)
    try:
        injector.open()
        result = injector.send(pa.array([1]), lambda _nodes: closer.start())
    finally:
        injector.close()
        closer.join(DEADLINE)
    assert result == Outcome([], [], ["daemon d1 gave up on node `late`: the dataflow is stopping"])


def test_no_daemon_answering_is_an_error_not_a_success(mesh: Mesh) -> None:
    injector = TopicInjector("df", "cam", "frames", {"d1": [mesh.endpoint]}, 1)
    try:
        with pytest.raises(RuntimeError, match="daemon d1 takes no messages"):
            injector.open()
    finally:
        injector.close()
