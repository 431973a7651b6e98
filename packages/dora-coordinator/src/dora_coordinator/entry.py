"""Running the coordinator as a process: logging, signals, the exit code.

``python -m dora_coordinator`` and ``dora coordinator`` (one command,
:mod:`dora_coordinator.command`) both end up in :func:`run`. Prints
``dora-coordinator listening on ADDR:PORT`` on stdout once it accepts connections
(unless quiet). SIGINT/SIGTERM stop it; running dataflows stay with their
daemons, which reconnect when a coordinator is back.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from dora_coordinator.server import Coordinator, CoordinatorConfig
from dora_message.errors import DoraError


def run(config: CoordinatorConfig, quiet: bool = False) -> int:
    """Serve until a signal or ``dora down``; returns the process exit code.

    ``config.limits`` is used as given: the command fills it from its flags and the
    environment (:func:`dora_coordinator.command.coordinator_config`).
    """
    if not quiet:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        # One line per connection is noise; our own modules log what matters.
        logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
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
