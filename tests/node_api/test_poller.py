"""The node's poller: who reads the sockets after a consumer leaves ``next()``.

A consumer blocked in ``next()`` polls itself, and the background thread looks ever more
rarely while nobody leaves ``next()`` (an idle node's CPU). When the consumer leaves, the
node may stay busy in user code for long; the background thread must take over the
polling right away, not when its long sleep ends.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from dora._inbox import LONG_WAIT_TICK, Poller

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def poller():
    p = Poller()
    p.start("test-poller")
    yield p
    p.stop()
    with p.lock:
        p.close()


def test_background_takes_over_soon_after_a_long_wait(poller: Poller) -> None:
    ours, theirs = socket.socketpair()
    arrived = threading.Event()

    def readable() -> None:
        ours.recv(64)
        arrived.set()

    poller.register(ours, readable)
    try:
        # the background thread's sleeps double from WAITING_TICK while nobody leaves
        # next(): 0.1+0.2+0.4+0.8 s, then one of 1.6 s that ends ~1.5 s after this wait
        waited = LONG_WAIT_TICK
        started = time.monotonic()
        poller.wait(lambda: False, waited)
        assert time.monotonic() - started >= waited * 0.9
        # the consumer is gone (busy in user code): the background thread must read this
        theirs.send(b"x")
        assert arrived.wait(LONG_WAIT_TICK / 2), (
            "the background thread slept through the consumer leaving next()"
        )
    finally:
        poller.unregister(ours)
        ours.close()
        theirs.close()


def test_background_polls_while_nobody_waits(poller: Poller) -> None:
    ours, theirs = socket.socketpair()
    arrived = threading.Event()
    poller.register(ours, lambda: (ours.recv(64), arrived.set()))
    try:
        theirs.send(b"x")
        assert arrived.wait(5.0)
    finally:
        poller.unregister(ours)
        ours.close()
        theirs.close()
