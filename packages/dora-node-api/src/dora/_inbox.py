"""The node's event inbox and its poller (who reads the sockets, and when).

Latency matters most, so the thread that waits for an event reads the sockets itself: a
message wakes exactly one thread, the one that returns it. A background thread takes over
the polling only while nobody has waited for a few milliseconds (the node is busy in user
code), so queue policies, shared-memory releases and daemon messages keep being handled.
The *poll lock* says who polls; a consumer that finds it held by the background thread
kicks it (eventfd) and takes over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

from dora._scheduler import Scheduler

logger = logging.getLogger(__name__)

Op = tuple[str, Any, bool, bool]
"""A queue operation: (input id, item or None to close the input, protected, flush).

A ``list`` in place of the item is a run of plain messages (see ``Scheduler.push_run``).
"""

HANDOFF_DELAY = 0.005  # the consumer is "busy" after this long outside next()
BACKGROUND_TICK = 0.02  # how often the idle background thread looks
WAITING_TICK = 0.1  # ... while a consumer is blocked in next() (it polls itself)
LONG_WAIT_TICK = 1.6  # ... once nobody has left next() for a while: the node is idle


class Inbox:
    """The scheduler plus its lock and async wake-ups. Thread-safe."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.lock = threading.Lock()
        self.sched = scheduler
        self._async: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def apply(self, ops: list[Op]) -> None:
        """Apply queue operations in order."""
        with self.lock:
            sched = self.sched
            for input_id, item, protected, flush in ops:
                if item is None:
                    sched.close_input(input_id)
                elif type(item) is list:
                    sched.push_run(input_id, item)
                else:
                    sched.push_input(input_id, item, protected, flush)
        if self._async:
            self.wake_async()

    def push_event(self, event: dict[str, Any]) -> None:
        """Queue a control event."""
        with self.lock:
            self.sched.push_event(event)
        if self._async:
            self.wake_async()

    def reopen(self, input_ids: list[str]) -> None:
        """Accept data on these inputs again."""
        with self.lock:
            for input_id in input_ids:
                self.sched.reopen_input(input_id)

    def expire(self) -> tuple[list[str], list[str]]:
        """Apply input timeouts: (inputs that broke now, inputs broken now)."""
        with self.lock:
            fired = self.sched.expire()
            broken = self.sched.broken_inputs()
        if fired and self._async:
            self.wake_async()
        return fired, broken

    def pop(self) -> Any:
        """Next queued entry (see :meth:`Scheduler.pop`)."""
        with self.lock:
            return self.sched.pop()

    def pending(self) -> int:
        """Messages waiting in the input queues."""
        with self.lock:
            return self.sched.pending()

    def ready(self) -> bool:
        """Something is queued, or the stream ended."""
        sched = self.sched
        return sched.ended or not sched.is_empty()

    def end(self) -> None:
        """End the stream now."""
        with self.lock:
            self.sched.end()
        self.wake_async()

    # ---- asyncio --------------------------------------------------------------------

    def add_async(self, loop: asyncio.AbstractEventLoop, fut: asyncio.Future[None]) -> None:
        """Resolve ``fut`` (on its loop) at the next change."""
        with self.lock:
            self._async.append((loop, fut))

    def remove_async(self, fut: asyncio.Future[None]) -> None:
        """Forget ``fut``."""
        with self.lock:
            self._async = [(lp, f) for lp, f in self._async if f is not fut]

    def wake_async(self) -> None:
        """Resolve every registered future."""
        with self.lock:
            waiters, self._async = self._async, []
        for loop, fut in waiters:
            with contextlib.suppress(RuntimeError):  # loop closed
                loop.call_soon_threadsafe(_resolve, fut)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Poller:
    """One epoll set over every socket of the node, polled by one thread at a time."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._handlers: dict[int, Callable[[], None]] = {}
        self.lock = threading.Lock()  # the poll lock: held by whoever polls
        self._count_lock = threading.Lock()
        self._idle = threading.Condition(threading.Lock())  # background thread parks here
        # one entry per consumer blocked in wait(): list append/pop are atomic, no lock
        self._consumers: list[None] = []
        self._async_waiters = 0
        self.active_at = time.monotonic()  # last time a consumer asked for an event
        # the background thread sleeps past WAITING_TICK: a consumer leaving next() wakes it
        self._sleeping_long = False
        self.last_poll = 0.0
        self.closed = False
        self.blocked = False  # a thread is (about to be) asleep in epoll
        self._before_poll: list[Callable[[], None]] = []
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._handlers[self._wake_fd] = self._drain_wake
        self._epoll.register(self._wake_fd, select.EPOLLIN)
        self._thread: threading.Thread | None = None

    # ---- registration ---------------------------------------------------------------

    def register(self, sock: socket.socket, handler: Callable[[], None]) -> None:
        """Call ``handler()`` in the polling thread whenever ``sock`` is readable."""
        fd = sock.fileno()
        self._handlers[fd] = handler
        self._epoll.register(fd, select.EPOLLIN)

    def unregister(self, sock: socket.socket) -> None:
        """Stop watching ``sock`` (call before closing it)."""
        fd = sock.fileno()
        if self._handlers.pop(fd, None) is not None:
            with contextlib.suppress(OSError, ValueError):
                self._epoll.unregister(fd)

    def before_poll(self, hook: Callable[[], None]) -> None:
        """Run ``hook()`` in the polling thread before every poll (deferred writes)."""
        self._before_poll.append(hook)

    # ---- polling ----------------------------------------------------------------------

    def poll(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` and run the handlers of ready sockets (poll lock held)."""
        handlers = self._handlers
        # set before the hooks: work queued after they ran sees it and wakes us
        self.blocked = timeout != 0
        for hook in self._before_poll:
            hook()
        events = self._epoll.poll(-1 if timeout is None else timeout)
        self.blocked = False
        self.last_poll = time.monotonic()
        for fd, _mask in events:
            handler = handlers.get(fd)
            if handler is not None:
                try:
                    handler()
                except Exception:
                    # a bug in one connection's handling must not break next() for good
                    logger.exception("error while handling node I/O; dropping that socket")
                    if handlers.pop(fd, None) is not None:
                        with contextlib.suppress(OSError, ValueError):
                            self._epoll.unregister(fd)

    def wake_if_blocked(self) -> None:
        """Wake the polling thread if it sleeps, so its hooks run soon."""
        if self.blocked:
            self.kick()

    def kick(self) -> None:
        """Make the thread blocked in :meth:`poll` return."""
        with contextlib.suppress(OSError):
            os.eventfd_write(self._wake_fd, 1)

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):
            os.eventfd_read(self._wake_fd)

    def poll_nowait(self) -> None:
        """Read whatever already arrived, unless another thread is polling."""
        if self.lock.acquire(False):
            try:
                if not self.closed:
                    self.poll(0)
            finally:
                self.lock.release()

    def _take_over(self, timeout: float | None) -> bool:
        """Take the poll lock from the thread holding it (the background thread, asleep in
        the poll: kick it); False when ``timeout`` passed first."""
        self.kick()
        return self.lock.acquire(True, -1 if timeout is None else timeout)

    def wait(self, ready: Callable[[], bool], timeout: float | None) -> None:
        """Consumer side: poll until something happened or ``timeout`` passed."""
        consumers = self._consumers
        consumers.append(None)
        try:
            lock = self.lock
            if not lock.acquire(False) and not self._take_over(timeout):
                return
            try:
                if not self.closed and not ready():
                    self.poll(timeout)
            finally:
                lock.release()
        finally:
            consumers.pop()
            self.active_at = time.monotonic()
            if self._sleeping_long:
                self._wake_background()

    def wait_entry(self, inbox: Inbox) -> Any:
        """Consumer side of ``next()`` without a timeout: poll until an entry is queued
        and return it; ``None`` once the stream ended.

        :meth:`wait` and the caller's pop in one loop: this runs once per message that
        finds the consumer waiting, so every call saved shortens the latency.
        """
        consumers = self._consumers
        consumers.append(None)
        try:
            lock = self.lock
            if not lock.acquire(False):
                self._take_over(None)
            try:
                inbox_lock = inbox.lock
                sched = inbox.sched
                while True:
                    if not (self.closed or sched.ended or not sched.is_empty()):
                        self.poll(None)
                    inbox_lock.acquire()  # not `with`: half the cost, once per message
                    try:
                        entry = sched.pop()
                    finally:
                        inbox_lock.release()
                    if entry is not None or sched.ended or self.closed:
                        return entry
            finally:
                lock.release()
        finally:
            consumers.pop()
            self.active_at = time.monotonic()
            if self._sleeping_long:
                self._wake_background()

    def waiting(self) -> bool:
        """Whether a consumer is blocked waiting for an event right now."""
        return bool(self._consumers) or self._async_waiters > 0

    def async_waiting(self, delta: int) -> None:
        """An asyncio consumer starts (+1) or stops (-1) waiting: the background polls."""
        with self._count_lock:
            self._async_waiters += delta
        with self._idle:
            self._idle.notify_all()

    # ---- background thread ----------------------------------------------------------

    def start(self, name: str) -> None:
        """Start the background polling thread."""
        self._thread = threading.Thread(target=self._background, name=name, daemon=True)
        self._thread.start()

    def _should_poll(self) -> bool:
        # unlocked reads: a stale value only delays the decision by one tick. A consumer
        # that keeps calling next() polls itself; two threads decoding at once would
        # only trade the GIL back and forth.
        return not self._consumers and (
            self._async_waiters > 0 or time.monotonic() - self.active_at >= HANDOFF_DELAY
        )

    def _background(self) -> None:
        idle = self._idle
        while True:
            with idle:
                tick = WAITING_TICK
                seen = -1.0  # the first look counts as activity: one WAITING_TICK first
                while not self.closed and not self._should_poll():
                    if not self._consumers:
                        tick = WAITING_TICK
                        idle.wait(BACKGROUND_TICK)
                        continue
                    # a consumer blocked in next() polls itself: look rarely, and more
                    # rarely still while nobody leaves next() (the idle CPU of a node)
                    if self.active_at != seen:
                        seen, tick = self.active_at, WAITING_TICK
                    elif tick < LONG_WAIT_TICK:
                        tick = min(2 * tick, LONG_WAIT_TICK)
                    if tick > WAITING_TICK:
                        self._sleeping_long = True
                        # a consumer that left before the flag was set has moved
                        # active_at, which this re-read sees (it checks the flag after)
                        if self.active_at == seen and self._consumers:
                            idle.wait(tick)
                        self._sleeping_long = False
                    else:
                        idle.wait(tick)
            if self.closed:
                return
            with self.lock:
                if self.closed:
                    return
                if self._should_poll():
                    try:
                        self.poll(None)
                    except Exception:  # e.g. the epoll set closed under us
                        if self.closed:
                            return
                        logger.exception("node I/O thread: polling failed")
                        time.sleep(BACKGROUND_TICK)

    def _wake_background(self) -> None:
        # the node is leaving next() after a long wait: the background thread takes over
        # the polling HANDOFF_DELAY from now, not a LONG_WAIT_TICK
        with self._idle:
            self._idle.notify_all()

    def stop(self) -> None:
        """Stop the background thread (idempotent)."""
        self.closed = True
        with self._idle:
            self._idle.notify_all()
        self.kick()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)

    def close(self) -> None:
        """Release the epoll set (after :meth:`stop`, with the poll lock held)."""
        self._epoll.close()
        self._handlers.clear()
        with contextlib.suppress(OSError):
            os.close(self._wake_fd)
