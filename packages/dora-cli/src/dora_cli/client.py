"""A small asyncio client for the coordinator's control endpoint (``/api/control``).

:meth:`ControlClient.connect` opens the WebSocket (3 s timeout) and does the ``hello``
handshake; :meth:`ControlClient.request` sends one request and waits for its reply;
:meth:`ControlClient.events` yields pushed log / dataflow-finished events. One reader
task routes replies to their waiting requests by id and events to a queue.

Token discovery (only matters when the coordinator runs with a token): env
``DORA_AUTH_TOKEN``, then ``./.dora-token``, then ``<user config dir>/dora/.dora-token``.

Commands import this module when they run, not for ``--help`` (their options come from
:mod:`dora_cli.coordinator_options`, which doesn't import it); importing it is cheap all
the same: asyncio, websockets, msgspec, platformdirs and the message types are imported
where they are used.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from dora_cli.error_root import CliError
from dora_message.constants import DEFAULT_COORDINATOR_PORT, ENV_AUTH_TOKEN, LOCALHOST

if TYPE_CHECKING:
    import asyncio
    import logging
    from pathlib import Path

    from websockets.asyncio.client import ClientConnection

    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep


DEFAULT_ADDR = LOCALHOST
DEFAULT_PORT = DEFAULT_COORDINATOR_PORT
CONNECT_TIMEOUT = 3.0
REQUEST_TIMEOUT = 10.0
MAX_FRAME = 64 * 1024 * 1024
TOKEN_FILE_NAME = ".dora-token"

R = TypeVar("R")


class CoordinatorUnreachable(CliError):
    """No coordinator answers at the address."""

    def __init__(self, target: Target) -> None:
        super().__init__(
            f"Could not connect to dora-coordinator at {target} (run `dora up`, or check "
            "DORA_COORDINATOR_ADDR / DORA_COORDINATOR_PORT)"
        )


class CoordinatorError(CliError):
    """The coordinator answered a request with an error, or the connection broke."""


class CoordinatorBusy(CoordinatorError):
    """The coordinator is there but refused the connection with HTTP 503 (a bound is hit).

    Not a :class:`CoordinatorUnreachable`: `dora up` must not start a second coordinator.
    """

    def __init__(self, target: Target, body: bytes) -> None:
        reason = _printable(body.decode("utf-8", "replace"))
        super().__init__(
            f"coordinator busy (503): the coordinator at {target} refused the connection"
            + (f" ({reason})" if reason else "")
            + "; try again later"
        )


class Target(NamedTuple):
    """Where the coordinator is, and the token to show it (``_replace`` makes a changed copy).

    A named tuple rather than a dataclass: every command builds one, and the dataclasses
    module and class set-up cost ``--help`` a millisecond.
    """

    addr: str = DEFAULT_ADDR
    port: int = DEFAULT_PORT
    token: str | None = None

    def __str__(self) -> str:
        return f"{self.addr}:{self.port}"

    @property
    def url(self) -> str:
        """The control endpoint."""
        host = f"[{self.addr}]" if ":" in self.addr else self.addr
        return f"ws://{host}:{self.port}/api/control"


def default_token_file() -> Path:
    """``<user config dir>/dora/.dora-token`` (where ``dora up --auth`` puts it)."""
    from pathlib import Path

    import platformdirs

    return Path(platformdirs.user_config_dir("dora")) / TOKEN_FILE_NAME


def discover_token() -> str | None:
    """The token to send, if any (see the module docstring); bad files are skipped."""
    from pathlib import Path

    from dora_coordinator.auth import TokenFileError, read_token_file

    token = os.environ.get(ENV_AUTH_TOKEN)
    if token:
        return token.strip()
    for path in (Path(TOKEN_FILE_NAME), default_token_file()):
        if path.exists():
            try:
                return read_token_file(path)
            except TokenFileError as error:
                _log().warning("ignoring token file: %s", error)
    return None


class ControlClient:
    """One connection to the coordinator."""

    def __init__(self, websocket: ClientConnection, target: Target) -> None:
        import asyncio

        self.websocket = websocket
        self.target = target
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[rep.ControlReply]] = {}
        self._events: asyncio.Queue[rep.PushEvent | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, target: Target, timeout: float = CONNECT_TIMEOUT) -> ControlClient:
        """Connect and shake hands.

        Raises :class:`CoordinatorUnreachable` when nothing answers, and
        :class:`CoordinatorBusy` when the coordinator refuses with HTTP 503 (a connection
        bound is reached): the two need different advice.
        """
        from importlib.metadata import version

        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus

        from dora_message import cli_to_coordinator as req

        headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
        try:
            websocket = await connect(
                target.url,
                additional_headers=headers,
                open_timeout=timeout,
                max_size=MAX_FRAME,
                proxy=None,
            )
        except InvalidStatus as error:
            if error.response.status_code == 401:
                raise CoordinatorError(
                    f"the coordinator at {target} refused our token: set DORA_AUTH_TOKEN or put "
                    f"the token in {default_token_file()} (mode 0600)"
                ) from None
            if error.response.status_code == 503:
                raise CoordinatorBusy(target, error.response.body or b"") from None
            raise CoordinatorUnreachable(target) from None
        except (OSError, TimeoutError, InvalidHandshake):
            raise CoordinatorUnreachable(target) from None
        client = cls(websocket, target)
        hello = req.Hello(
            protocol_version=req.CONTROL_PROTOCOL_VERSION, client_version=version("dora-dataflow")
        )
        try:
            await client.request(hello, timeout=timeout)
        except BaseException:
            await client.close()
            raise
        return client

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection."""
        import asyncio

        await self.websocket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader

    async def request(
        self, body: req.ControlRequest, timeout: float | None = REQUEST_TIMEOUT
    ) -> rep.ControlReply:
        """Send ``body`` and return the reply; errors raise :class:`CoordinatorError`."""
        import asyncio

        from websockets.exceptions import ConnectionClosed

        from dora_message import cli_to_coordinator as req

        request_id = next(self._ids)
        future: asyncio.Future[rep.ControlReply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self.websocket.send(req.encode_request(request_id, body))
            async with asyncio.timeout(timeout):
                return await future
        except ConnectionClosed:
            reason = _printable(self.websocket.close_reason or "")
            raise CoordinatorError(
                f"the coordinator at {self.target} closed the connection"
                + (f": {reason}" if reason else "")
            ) from None
        except TimeoutError:
            raise CoordinatorError(
                f"the coordinator at {self.target} did not answer within {timeout:g} s"
            ) from None
        finally:
            self._pending.pop(request_id, None)

    async def request_as(
        self, body: req.ControlRequest, kind: type[R], timeout: float | None = REQUEST_TIMEOUT
    ) -> R:
        """Like :meth:`request`, checking the reply type."""
        reply = await self.request(body, timeout)
        if not isinstance(reply, kind):
            raise CoordinatorError(
                f"unexpected reply {type(reply).__name__} to {type(body).__name__}"
            )
        return reply

    async def events(self) -> AsyncIterator[rep.PushEvent]:
        """Pushed events until the connection closes (then CoordinatorError)."""
        while True:
            event = await self._events.get()
            if event is None:
                raise CoordinatorError(f"lost the connection to the coordinator at {self.target}")
            yield event

    async def _read(self) -> None:
        import msgspec
        from websockets.exceptions import ConnectionClosed

        from dora_message import coordinator_to_cli as rep

        try:
            async for frame in self.websocket:
                try:
                    message = rep.decode_frame(frame)
                except (msgspec.DecodeError, msgspec.ValidationError) as error:
                    _log().warning("unreadable frame from the coordinator: %s", error)
                    continue
                if isinstance(message, rep.Event):
                    self._events.put_nowait(message.event)
                    continue
                self._resolve(message)
        except ConnectionClosed:
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionClosed(None, None))
            self._events.put_nowait(None)

    def _resolve(self, reply: rep.Reply) -> None:
        future = self._pending.get(reply.id)
        if future is None or future.done():
            if reply.error:
                _log().warning("coordinator error: %s", reply.error)
            return
        if reply.error is not None:
            future.set_exception(CoordinatorError(reply.error))
        elif reply.result is None:
            future.set_exception(CoordinatorError("empty reply from the coordinator"))
        else:
            future.set_result(reply.result)


def _log() -> logging.Logger:
    """This module's logger (logging is imported on first use: it costs every --help)."""
    import logging

    return logging.getLogger(__name__)


def _printable(text: str, limit: int = 200) -> str:
    """Text from the other side, safe for one terminal line: no control characters, capped."""
    cleaned = "".join(c if c.isprintable() else " " for c in text).strip()
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "..."


def call(target: Target, body: req.ControlRequest, timeout: float | None = REQUEST_TIMEOUT) -> Any:
    """Connect, send one request, return its reply (synchronous helper)."""
    import asyncio

    async def go() -> rep.ControlReply:
        async with await ControlClient.connect(target) as client:
            return await client.request(body, timeout)

    return asyncio.run(go())
