"""Running a daemon that serves a coordinator, as a library: the pieces the daemon's
command (:mod:`dora_daemon.command`) uses (label and endpoint parsing, the token, the
serve loop)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from dora_daemon.bridge.mesh import Mesh, listen_endpoint
from dora_daemon.coordinator_link import CoordinatorLink, LinkConfig, LinkRefused
from dora_daemon.service import DaemonService
from dora_message.constants import ENV_AUTH_TOKEN
from dora_message.errors import DoraError
from dora_message.token_file import read_token_file

log = logging.getLogger("dora_daemon")


def parse_labels(text: str | None) -> dict[str, str]:
    """``k=v,k2=v2`` -> dict; raises ``ValueError`` naming a bad entry."""
    labels: dict[str, str] = {}
    for raw in (text or "").split(","):
        entry = raw.strip()
        if not entry:
            continue
        key, sep, value = entry.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"bad label `{entry}`: expected key=value")
        labels[key.strip()] = value.strip()
    return labels


def split_endpoints(values: Sequence[str]) -> list[str]:
    """``--zenoh-connect`` values (repeated, comma-separated) -> endpoints, ``tcp/`` added."""
    endpoints = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item:
                endpoints.append(item if "/" in item else f"tcp/{item}")
    return endpoints


def read_token(path: Path | None) -> str | None:
    """The token from ``--token-file`` or ``DORA_AUTH_TOKEN``.

    The file goes through the coordinator's own strict reader (no symlink, owned by us,
    mode 0600): two readers with different rules would make the weaker one the rule.
    """
    if path is None:
        return os.environ.get(ENV_AUTH_TOKEN) or None
    return read_token_file(path)


async def serve(config: LinkConfig, allow_shell_nodes: bool = False) -> int:
    """Serve the coordinator until destroyed, signalled or given up; the exit code."""
    try:
        endpoint = listen_endpoint(config.zenoh_listen, config.interface, config.host, config.port)
    except DoraError as error:
        log.error("%s", error)
        return 1
    service = DaemonService(
        emit=lambda event: None,
        emit_log=lambda record: None,
        allow_shell_nodes=allow_shell_nodes,
        mesh=Mesh(endpoint, config.zenoh_connect),
    )
    link = CoordinatorLink(config, service)
    service.emit, service.emit_log = link.emit, link.emit_log
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, service.exit_requested.set)
    sampler = asyncio.create_task(service.sample_forever())
    code = 0
    try:
        await link.run()
    except LinkRefused as error:
        log.error("%s", error)
        code = 1
    except DoraError as error:
        log.error("%s", error)
        code = 1
    finally:
        sampler.cancel()
        await service.shutdown()
    return code


def run(config: LinkConfig, quiet: bool = False, allow_shell_nodes: bool = False) -> int:
    """Run the daemon in this process; returns the exit code."""
    if not quiet:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("websockets").setLevel(logging.WARNING)
    return asyncio.run(serve(config, allow_shell_nodes))
