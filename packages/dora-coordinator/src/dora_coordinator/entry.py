"""Running the coordinator as a process: flags, logging, signals.

``python -m dora_coordinator`` and ``dora coordinator`` both end up in :func:`run`.
Prints ``dora-coordinator listening on ADDR:PORT`` on stdout once it accepts
connections (unless quiet). SIGINT/SIGTERM stop it; running dataflows stay with their
daemons, which reconnect when a coordinator is back.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from dora_coordinator.limits import SETTINGS, LimitsError, limits_from
from dora_coordinator.server import DEFAULT_PORT, Coordinator, CoordinatorConfig
from dora_message.constants import ENV_COORDINATOR_INTERFACE, ENV_COORDINATOR_PORT, LOCALHOST
from dora_message.errors import DoraError


def run(config: CoordinatorConfig, quiet: bool = False) -> int:
    """Serve until a signal or ``dora down``; returns the process exit code."""
    if not quiet:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # One line per connection is noise; our own modules log what matters.
        logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        if config.limits is None:  # `dora coordinator`, `dora up`: the environment decides
            config = dataclasses.replace(config, limits=limits_from(os.environ))
        coordinator = Coordinator(config)
    except DoraError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return asyncio.run(_serve(coordinator, config, quiet))


async def _serve(coordinator: Coordinator, config: CoordinatorConfig, quiet: bool) -> int:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, coordinator.request_shutdown)

    def ready(port: int) -> None:
        if not quiet:
            print(f"dora-coordinator listening on {config.interface}:{port}", flush=True)

    try:
        await coordinator.run(ready)
    except OSError as error:
        print(
            f"error: cannot listen on {config.interface}:{config.port}: {error.strerror} "
            "(is another coordinator using this port?)",
            file=sys.stderr,
        )
        return 1
    return 0


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("port must be between 0 and 65535")
    return value


def parse_args(argv: Sequence[str] | None = None) -> tuple[CoordinatorConfig, bool]:
    """Flags of ``python -m dora_coordinator`` (env fallbacks as for ``dora coordinator``)."""
    parser = argparse.ArgumentParser(prog="dora-coordinator", description=__doc__)
    parser.add_argument(
        "--interface",
        default=os.environ.get(ENV_COORDINATOR_INTERFACE, LOCALHOST),
        help="address to bind (default 127.0.0.1, env DORA_COORDINATOR_INTERFACE)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=_port(os.environ.get(ENV_COORDINATOR_PORT, str(DEFAULT_PORT))),
        help="port to listen on, 0 = any free port (default 6013, env DORA_COORDINATOR_PORT)",
    )
    parser.add_argument(
        "--store", default="memory", help="memory (default), sqlite[:PATH] or redb[:PATH]"
    )
    parser.add_argument("--token-file", type=Path, help="require the token in this file (0600)")
    parser.add_argument("--quiet", action="store_true", help="no logging to stderr")
    bounds = parser.add_argument_group("bounds (docs/security.md)")
    for setting in SETTINGS:
        bounds.add_argument(setting.flag, metavar="N", help=f"{setting.help} (env {setting.env})")
    args = parser.parse_args(argv)
    flags = {setting.field: getattr(args, setting.field) for setting in SETTINGS}
    try:
        limits = limits_from(os.environ, flags)
    except LimitsError as error:
        # one line: the usage text does not help with a bad environment variable
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    config = CoordinatorConfig(
        interface=args.interface,
        port=args.port,
        store=args.store,
        token_file=args.token_file,
        limits=limits,
    )
    return config, args.quiet


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m dora_coordinator``."""
    config, quiet = parse_args(argv)
    sys.exit(run(config, quiet))
