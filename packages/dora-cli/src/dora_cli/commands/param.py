"""``dora param list|get|set|delete``: runtime parameters of a node (needs a coordinator).

Parameters are JSON values kept in the coordinator's store (they survive a coordinator
restart with the sqlite store), keyed by dataflow, node and key (at most 256 bytes; the
serialized value at most 64 KiB). While the dataflow runs, ``set`` and ``delete`` are
also pushed to the node, which receives ``PARAM_UPDATE`` / ``PARAM_DELETED`` events; a
dataflow that has ended can still be addressed by UUID (the change is only stored).
See docs/params.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import click

from dora_cli.completion import complete_running_node_ids
from dora_cli.coordinator_options import coordinator_options
from dora_cli.dataflow_query import dataflow_option
from dora_cli.errors import fail, reports_errors

if TYPE_CHECKING:
    from dora_cli.client import Target

node_argument = click.argument("node_id", metavar="NODE", shell_complete=complete_running_node_ids)


@click.group()
def param() -> None:
    """Manage runtime parameters of nodes (stored by the coordinator, pushed to nodes)."""


def _check_key(key: str) -> None:
    from dora_coordinator.params import ParamError, check_key

    try:
        check_key(key)
    except ParamError as error:
        fail(str(error))


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def parse_value(text: str) -> str:
    """VALUE as compact JSON text; exits with "invalid JSON value" when it is not JSON."""
    import json

    from dora_coordinator.params import ParamError, check_value
    from dora_message.param_checks import MAX_PARAM_DEPTH, param_value_problem
    from dora_message.quote import excerpt

    try:
        value: Any = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        fail(f"invalid JSON value: {excerpt(error)}")
    except RecursionError:
        fail(f"invalid JSON value: nested deeper than {MAX_PARAM_DEPTH} levels")
    problem = param_value_problem(value)
    if problem:
        fail(problem)
    value_json = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        check_value(value_json.encode())
    except ParamError as error:
        fail(str(error))
    return value_json


@param.command("list")
@node_argument
@dataflow_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    help="Output format: `key = value` lines, or one pretty-printed JSON object.",
)
@coordinator_options
@reports_errors
def list_params(node_id: str, dataflow: str | None, fmt: str, target: Target) -> None:
    """List all runtime parameters of a node."""
    import json

    from dora_cli.dataflow_query import ask
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    reply = ask(
        target, dataflow, "param", lambda d: req.ListParams(dataflow=d, node=node_id), rep.ParamList
    )
    if fmt == "json":
        click.echo(json.dumps(reply.params, indent=2, ensure_ascii=False))
        return
    if not reply.params:
        click.echo(f"No parameters set for node `{node_id}`")
        return
    click.echo(f"Parameters for node `{node_id}`:")
    for key, value in sorted(reply.params.items()):
        click.echo(f"  {key} = {json.dumps(value, ensure_ascii=False)}")


@param.command("get")
@node_argument
@click.argument("key", metavar="KEY")
@dataflow_option
@coordinator_options
@reports_errors
def get(node_id: str, key: str, dataflow: str | None, target: Target) -> None:
    """Print one runtime parameter's value as JSON."""
    import json

    from dora_cli.dataflow_query import ask
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    _check_key(key)
    reply = ask(
        target,
        dataflow,
        "param",
        lambda d: req.GetParam(dataflow=d, node=node_id, key=key),
        rep.ParamValue,
    )
    click.echo(json.dumps(reply.value, ensure_ascii=False))


@param.command("set")
@node_argument
@click.argument("key", metavar="KEY")
@click.argument("value", metavar="VALUE")
@dataflow_option
@coordinator_options
@reports_errors
def set_(node_id: str, key: str, value: str, dataflow: str | None, target: Target) -> None:
    """Set a runtime parameter; VALUE is JSON.

    Examples of VALUE: 42, '"1080p"', '{"confidence": 0.8}'.
    It is stored by the coordinator and pushed to the node if the dataflow runs.
    """
    from dora_cli.dataflow_query import ask
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    _check_key(key)
    value_json = parse_value(value)
    ask(
        target,
        dataflow,
        "param",
        lambda d: req.SetParam(dataflow=d, node=node_id, key=key, value_json=value_json),
        rep.ParamStored,
    )
    click.echo(f"Set `{key}` = {value_json} on node `{node_id}`")


@param.command("delete")
@node_argument
@click.argument("key", metavar="KEY")
@dataflow_option
@coordinator_options
@reports_errors
def delete(node_id: str, key: str, dataflow: str | None, target: Target) -> None:
    """Delete a runtime parameter.

    The node is told if the dataflow runs.
    """
    from dora_cli.dataflow_query import ask
    from dora_message import cli_to_coordinator as req
    from dora_message import coordinator_to_cli as rep

    _check_key(key)
    ask(
        target,
        dataflow,
        "param",
        lambda d: req.DeleteParam(dataflow=d, node=node_id, key=key),
        rep.ParamRemoved,
    )
    click.echo(f"Deleted `{key}` from node `{node_id}`")
