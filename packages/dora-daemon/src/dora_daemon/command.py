"""The daemon's command line, declared once: ``python -m dora_daemon`` runs it and the
CLI registers it as ``dora daemon``.

The daemon connects to ``ws://ADDR:PORT/api/daemon``, registers with ``--machine-id`` and
``--labels``, and runs the nodes the coordinator places here. Data between daemons goes
over zenoh: the daemon listens on ``--zenoh-listen IP[:PORT]`` (default: the address it
uses to reach the coordinator, or ``--interface`` when that is not a wildcard, on a free
port) and dials the daemons the coordinator names. SIGINT/SIGTERM stop the hosted
dataflows gracefully and exit; so does ``dora down``. Logs to stderr unless ``--quiet``.

Only click and constants are imported here: ``dora daemon --help`` must stay cheap (see
tests/cli/test_help_imports.py); the daemon itself is imported when the command runs.
"""

from __future__ import annotations

import sys

import click

from dora_message.constants import (
    DEFAULT_COORDINATOR_PORT,
    ENV_ALLOW_SHELL_NODES,
    ENV_COORDINATOR_ADDR,
    ENV_COORDINATOR_PORT,
    ENV_DAEMON_LOCAL_LISTEN_PORT,
    LOCALHOST,
)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--machine-id", help="This machine's id (matched by `deploy.machine`).")
@click.option(
    "-c",
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
@click.option("--labels", help="Scheduling labels, e.g. gpu=true,zone=a.")
@click.option(
    "--interface",
    help="Address for the zenoh listener when --zenoh-listen is not given "
    "(a wildcard such as 0.0.0.0 means the address toward the coordinator).",
)
@click.option(
    "--zenoh-listen",
    metavar="IP[:PORT]",
    help="Where the zenoh session for data between daemons listens "
    "[default: the address toward the coordinator, a free port].",
)
@click.option(
    "--zenoh-connect",
    multiple=True,
    metavar="ENDPOINT",
    help="Extra zenoh endpoints to dial (tcp/IP:PORT; repeatable, comma-separated).",
)
@click.option(
    "--token-file",
    # a str, made a Path when the command runs: declaring a path type here would import
    # pathlib, which --help would pay for
    type=click.Path(),
    help="Token of a coordinator that requires one (else env DORA_AUTH_TOKEN).",
)
@click.option(
    "--allow-shell-nodes",
    is_flag=True,
    envvar=ENV_ALLOW_SHELL_NODES,
    show_envvar=True,
    help="Allow nodes with `path: shell`.",
)
@click.option(
    "--local-listen-port",
    type=click.IntRange(0, 65535),
    envvar=ENV_DAEMON_LOCAL_LISTEN_PORT,
    show_envvar=True,
    help="Port on 127.0.0.1 where dynamic nodes join [default: 53291; 0: any free port].",
)
@click.option("--quiet", is_flag=True, help="Do not log to stderr.")
# how long to keep trying after the coordinator went away (for tests of the give-up path)
@click.option("--reconnect-timeout", type=click.FloatRange(min=0), default=90.0, hidden=True)
def daemon(
    machine_id: str | None,
    coordinator_addr: str,
    coordinator_port: int,
    labels: str | None,
    interface: str | None,
    zenoh_listen: str | None,
    zenoh_connect: tuple[str, ...],
    token_file: str | None,
    allow_shell_nodes: bool,
    local_listen_port: int | None,
    quiet: bool,
    reconnect_timeout: float,
) -> None:
    """Run a daemon that spawns the nodes the coordinator places on this machine.

    Reconnects when the coordinator goes away; the nodes keep running meanwhile.
    """
    from pathlib import Path

    from dora_daemon.coordinator_link import LinkConfig
    from dora_daemon.dynamic import set_listen_port
    from dora_daemon.serve import parse_labels, read_token, run, split_endpoints
    from dora_message.errors import DoraError

    try:
        parsed = parse_labels(labels)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--labels") from None
    try:
        token = read_token(Path(token_file) if token_file is not None else None)
    except (DoraError, OSError) as error:
        raise click.BadParameter(str(error), param_hint="--token-file") from None
    config = LinkConfig(
        host=coordinator_addr,
        port=coordinator_port,
        machine_id=machine_id,
        labels=parsed,
        token=token,
        reconnect_timeout=reconnect_timeout,
        zenoh_listen=zenoh_listen,
        interface=interface,
        zenoh_connect=split_endpoints(zenoh_connect),
    )
    set_listen_port(local_listen_port)
    sys.exit(run(config, quiet, allow_shell_nodes))
