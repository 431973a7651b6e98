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
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dora_daemon.coordinator_link import LinkConfig
from dora_daemon.serve import DEFAULT_PORT, parse_labels, read_token, run, split_endpoints
from dora_message.constants import ENV_ALLOW_SHELL_NODES, ENV_COORDINATOR_ADDR, ENV_COORDINATOR_PORT
from dora_message.errors import DoraError


def parse_args(argv: Sequence[str] | None = None) -> tuple[LinkConfig, bool, bool]:
    """Flags of ``python -m dora_daemon``: (link config, quiet, allow shell nodes)."""
    parser = argparse.ArgumentParser(prog="dora-daemon", description=__doc__)
    parser.add_argument("--machine-id", help="this machine's id, used by `deploy.machine`")
    parser.add_argument(
        "-c",
        "--coordinator-addr",
        default=os.environ.get(ENV_COORDINATOR_ADDR, "127.0.0.1"),
        help="coordinator address (env DORA_COORDINATOR_ADDR)",
    )
    parser.add_argument(
        "--coordinator-port",
        type=int,
        default=int(os.environ.get(ENV_COORDINATOR_PORT, DEFAULT_PORT)),
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
    allow_shell = args.allow_shell_nodes or os.environ.get(ENV_ALLOW_SHELL_NODES) == "true"
    return config, args.quiet, allow_shell


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
