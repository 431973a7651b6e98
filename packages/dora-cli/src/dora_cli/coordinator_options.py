"""``--coordinator-addr`` / ``--coordinator-port`` for every command that talks to a
coordinator, with the ``DORA_COORDINATOR_ADDR`` / ``DORA_COORDINATOR_PORT`` fallbacks
(flags win). The decorated command receives one ``target`` argument instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from dora_message.constants import (
    DEFAULT_COORDINATOR_PORT,
    ENV_COORDINATOR_ADDR,
    ENV_COORDINATOR_PORT,
    LOCALHOST,
)


def coordinator_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the coordinator flags; pass ``target=Target(addr, port, token)``."""

    @click.option(
        "--coordinator-addr",
        default=LOCALHOST,
        envvar=ENV_COORDINATOR_ADDR,
        show_default=True,
        show_envvar=True,
        help="Coordinator address.",
    )
    @click.option(
        "--coordinator-port",
        type=click.IntRange(1, 65535),
        default=DEFAULT_COORDINATOR_PORT,
        envvar=ENV_COORDINATOR_PORT,
        show_default=True,
        show_envvar=True,
        help="Coordinator port.",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, coordinator_addr: str, coordinator_port: int, **kwargs: Any) -> Any:
        # here, not above: declaring the flags (every coordinator command's --help) then
        # needs no client module
        from dora_cli.client import Target, discover_token

        target = Target(coordinator_addr, coordinator_port, discover_token())
        return func(*args, target=target, **kwargs)

    return wrapper
