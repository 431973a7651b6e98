"""Asking the coordinator about one running dataflow: the commands that take ``-d``.

``dora node``, ``dora topic`` and ``dora param`` name a dataflow by UUID or name with
``-d/--dataflow``, or let the user pick among the running ones; :func:`ask` connects,
resolves it and sends one request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click

from dora_cli.completion import complete_dataflows

if TYPE_CHECKING:
    from dora_cli.client import ControlClient, Target
    from dora_message import cli_to_coordinator as req

R = TypeVar("R")

dataflow_option = click.option(
    "--dataflow",
    "-d",
    help="Dataflow UUID or name (default: the only running one, or a picker).",
    shell_complete=complete_dataflows,
)


async def resolve(client: ControlClient, dataflow: str | None, what: str) -> str:
    """``dataflow`` as given, else the one the user picks among the running ones."""
    from dora_cli.summary import pick_dataflow

    if dataflow is not None:
        return dataflow
    picked = await pick_dataflow(client, what)
    if picked is None:
        raise click.ClickException("no dataflow is running (see `dora list`)")
    return picked


def ask(
    target: Target,
    dataflow: str | None,
    what: str,
    build: Callable[[str], req.ControlRequest],
    kind: type[R],
    timeout: float | None = None,
) -> R:
    """Connect, resolve the dataflow, send ``build(dataflow)``, return the typed reply
    (waiting ``timeout`` seconds for it, by default the client's ``REQUEST_TIMEOUT``)."""
    import asyncio

    # here, not at the top: `dora topic|node|param … --help` then needs no client module
    from dora_cli.client import REQUEST_TIMEOUT, ControlClient

    wait = REQUEST_TIMEOUT if timeout is None else timeout

    async def go() -> R:
        async with await ControlClient.connect(target) as client:
            ident = await resolve(client, dataflow, what)
            return await client.request_as(build(ident), kind, wait)

    return asyncio.run(go())


def details_request(ident: str) -> req.ControlRequest:
    """The request for a dataflow's summary, nodes and stored descriptor."""
    from dora_message import cli_to_coordinator as req

    return req.GetDataflow(dataflow=ident)
