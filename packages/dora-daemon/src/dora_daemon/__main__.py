"""``python -m dora_daemon``: run a daemon that serves a coordinator (``dora daemon``).

Connects to ``ws://ADDR:PORT/api/daemon``, registers with ``--machine-id`` and
``--labels``, and runs the nodes the coordinator places here. Data between daemons
goes over zenoh: the daemon listens on ``--zenoh-listen IP[:PORT]`` (default: the
address it uses to reach the coordinator, or ``--interface`` when that is not a
wildcard, on a free port) and dials the daemons the coordinator names. SIGINT/SIGTERM stop the
hosted dataflows gracefully and exit; so does ``dora down``. Logs to
stderr unless ``--quiet``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from dora_daemon.bridge.mesh import Mesh, listen_endpoint
from dora_daemon.coordinator_link import CoordinatorLink, LinkConfig, LinkRefused
from dora_daemon.service import DaemonService
from dora_message.errors import DoraError
from dora_message.token_file import read_token_file

log = logging.getLogger("dora_daemon")

DEFAULT_PORT = 6013


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
        return os.environ.get("DORA_AUTH_TOKEN") or None
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


def parse_args(argv: Sequence[str] | None = None) -> tuple[LinkConfig, bool, bool]:
    """Flags of ``python -m dora_daemon``: (link config, quiet, allow shell nodes)."""
    parser = argparse.ArgumentParser(prog="dora-daemon", description=__doc__)
    parser.add_argument("--machine-id", help="this machine's id, used by `deploy.machine`")
    parser.add_argument(
        "-c",
        "--coordinator-addr",
        default=os.environ.get("DORA_COORDINATOR_ADDR", "127.0.0.1"),
        help="coordinator address (env DORA_COORDINATOR_ADDR)",
    )
    parser.add_argument(
        "--coordinator-port",
        type=int,
        default=int(os.environ.get("DORA_COORDINATOR_PORT", DEFAULT_PORT)),
        help="coordinator port (env DORA_COORDINATOR_PORT)",
    )
    parser.add_argument("--labels", help="scheduling labels k=v,k2=v2")
    parser.add_argument(
        "--interface",
        help="address for the zenoh listener when --zenoh-listen is not given "
        "(a wildcard such as 0.0.0.0 means: the address toward the coordinator)",
    )
    parser.add_argument(
        "--zenoh-listen",
        help="IP[:PORT] the zenoh session listens on for other daemons (no wildcard)",
    )
    parser.add_argument(
        "--zenoh-connect",
        action="append",
        default=[],
        help="zenoh endpoints to dial besides the daemons the coordinator names "
        "(tcp/IP:PORT, repeatable or comma-separated)",
    )
    parser.add_argument("--token-file", type=Path, help="token of a coordinator run with one")
    parser.add_argument("--allow-shell-nodes", action="store_true")
    parser.add_argument("--reconnect-timeout", type=float, default=90.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--local-listen-port",
        type=int,
        default=None,
        help="port on 127.0.0.1 where dynamic nodes join (env DORA_DAEMON_LOCAL_LISTEN_PORT, "
        "default 53291, 0: any free port, logged)",
    )
    parser.add_argument("--quiet", action="store_true", help="no logging to stderr")
    args = parser.parse_args(argv)
    if args.local_listen_port is not None:
        from dora_daemon.dynamic import set_listen_port

        set_listen_port(args.local_listen_port)
    try:
        labels = parse_labels(args.labels)
    except ValueError as error:
        parser.error(str(error))
    config = LinkConfig(
        host=args.coordinator_addr,
        port=args.coordinator_port,
        machine_id=args.machine_id,
        labels=labels,
        token=read_token(args.token_file),
        reconnect_timeout=args.reconnect_timeout,
        zenoh_listen=args.zenoh_listen,
        interface=args.interface,
        zenoh_connect=split_endpoints(args.zenoh_connect),
    )
    allow_shell = args.allow_shell_nodes or os.environ.get("DORA_ALLOW_SHELL_NODES") == "true"
    return config, args.quiet, allow_shell


def run(config: LinkConfig, quiet: bool = False, allow_shell_nodes: bool = False) -> int:
    """Run the daemon in this process; returns the exit code."""
    if not quiet:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("websockets").setLevel(logging.WARNING)
    return asyncio.run(serve(config, allow_shell_nodes))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m dora_daemon``."""
    try:
        config, quiet, allow_shell = parse_args(argv)
    except (DoraError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    sys.exit(run(config, quiet, allow_shell))


if __name__ == "__main__":
    main()
