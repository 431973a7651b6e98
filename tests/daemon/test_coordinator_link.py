"""The daemon's coordinator link against a real coordinator process on 127.0.0.1:
re-joining a restarted coordinator, giving up, a refused token, exit between attempts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dora_daemon.coordinator_link import CoordinatorLink, LinkConfig, LinkRefused
from dora_daemon.service import DaemonService
from dora_message.errors import DoraError
from tests.coordinator.helpers import Proc, cluster, refused_port, start_coordinator

__all__ = ["cluster"]  # the fixture: the coordinators a test starts, killed by PID at the end

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

LINK_LOGGERS = ("dora_daemon.coordinator_link", "websockets.client")


@dataclass
class Registering(DaemonService):
    """A daemon service (no zenoh) that lets a test await each registration."""

    registrations: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def registered(self, daemon_id: str, peer_endpoints: list[str]) -> None:
        super().registered(daemon_id, peer_endpoints)
        self.registrations.put_nowait(daemon_id)


class LogWatch(logging.Handler):
    """Every record of the link's loggers, down to DEBUG; a test can await one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._changed.set()  # records come from the event loop's own thread

    async def wait_for(self, text: str, level: int = logging.DEBUG) -> logging.LogRecord:
        while True:
            for record in self.records:
                if text in record.getMessage() and record.levelno == level:
                    return record
            self._changed.clear()
            await self._changed.wait()

    def lines(self, text: str, min_level: int = logging.DEBUG) -> list[logging.LogRecord]:
        return [r for r in self.records if text in r.getMessage() and r.levelno >= min_level]


@pytest.fixture
def logs() -> Iterator[LogWatch]:
    watch = LogWatch()
    loggers = [logging.getLogger(name) for name in LINK_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(watch)
        logger.setLevel(logging.DEBUG)
    try:
        yield watch
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(watch)
            logger.setLevel(level)


async def coordinator(procs: list[Proc], port: int = 0, *args: str) -> Proc:
    proc = await asyncio.to_thread(start_coordinator, port, *args)
    procs.append(proc)
    return proc


def link_to(port: int, **config: object) -> tuple[CoordinatorLink, Registering]:
    service = Registering(emit=lambda event: None, emit_log=lambda record: None)
    link = CoordinatorLink(LinkConfig(port=port, **config), service)  # type: ignore[arg-type]
    service.emit, service.emit_log = link.emit, link.emit_log
    return link, service


def test_the_link_rejoins_a_coordinator_restarted_on_its_port(
    cluster: list[Proc], logs: LogWatch
) -> None:
    async def scenario() -> None:
        first = await coordinator(cluster)
        link, service = link_to(first.port)
        running = asyncio.create_task(link.run())
        async with asyncio.timeout(45):
            await service.registrations.get()
            await asyncio.to_thread(first.kill)
            await logs.wait_for("lost the coordinator", logging.WARNING)
            # the attempts while it is away fail, quietly
            await logs.wait_for("cannot reach the coordinator", logging.DEBUG)
            await coordinator(cluster, first.port)
            await service.registrations.get()
            service.exit_requested.set()
            await running  # returns: asked to exit, not given up

        assert not logs.lines("cannot reach the coordinator", logging.INFO)
        # websockets' own line per attempt is kept at DEBUG too
        assert not logs.lines("connect failed", logging.INFO)
        assert logs.lines("connect failed")
        assert len(logs.lines("lost the coordinator")) == 1

    asyncio.run(scenario())


def test_the_link_gives_up_reconnect_timeout_after_the_loss(
    cluster: list[Proc], logs: LogWatch
) -> None:
    async def scenario() -> None:
        only = await coordinator(cluster)
        link, service = link_to(only.port, reconnect_timeout=1.0)
        running = asyncio.create_task(link.run())
        async with asyncio.timeout(30):
            await service.registrations.get()
            await asyncio.to_thread(only.kill)
            with pytest.raises(DoraError, match="for 1 s; giving up") as gave_up:
                await running
        assert not isinstance(gave_up.value, LinkRefused)

    asyncio.run(scenario())


def test_a_refused_token_ends_the_link_at_once(
    cluster: list[Proc], logs: LogWatch, tmp_path: Path
) -> None:
    async def scenario() -> None:
        guarded = await coordinator(cluster, 0, "--token-file", str(tmp_path / "token"))
        link, service = link_to(guarded.port, token="not-the-token")
        # retried, a 401 would go on for ever (no session was lost: no give-up)
        async with asyncio.timeout(30):
            with pytest.raises(LinkRefused, match=r"refused our token \(401\)"):
                await link.run()
        assert service.registrations.empty()
        assert not logs.lines("cannot reach the coordinator")

    asyncio.run(scenario())


def test_exit_between_attempts_ends_the_link(logs: LogWatch) -> None:
    async def scenario() -> None:
        with refused_port() as port:
            link, service = link_to(port)
            running = asyncio.create_task(link.run())
            async with asyncio.timeout(30):
                await logs.wait_for("cannot reach the coordinator", logging.WARNING)
                await logs.wait_for("cannot reach the coordinator", logging.DEBUG)
                service.exit_requested.set()
                await running  # returns, out of the backoff
        # said once, then quiet
        assert len(logs.lines("cannot reach the coordinator", logging.WARNING)) == 1

    asyncio.run(scenario())


def test_a_peer_that_closes_before_registering_is_not_redialled_in_a_loop(
    logs: LogWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # websockets resets its backoff once a connection opens: without the link's own
    # pause, a server that accepts and closes at once is dialled again immediately
    from websockets.asyncio.server import ServerConnection, serve

    from dora_daemon import coordinator_link

    monkeypatch.setattr(coordinator_link, "UNREGISTERED_PAUSE", 0.3)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        opened: list[float] = []
        third = asyncio.Event()

        async def close_at_once(connection: ServerConnection) -> None:
            opened.append(loop.time())
            if len(opened) == 3:
                third.set()
            await connection.close()

        async with serve(close_at_once, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            link, service = link_to(port)
            running = asyncio.create_task(link.run())
            async with asyncio.timeout(30):
                await third.wait()
                service.exit_requested.set()
                await running
        assert opened[2] - opened[0] >= 2 * 0.3
        assert service.registrations.empty()

    asyncio.run(scenario())
