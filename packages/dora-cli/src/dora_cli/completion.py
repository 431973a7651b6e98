"""Shell completion: the scripts ``dora completion`` prints and ``shell_complete`` hooks.

click generates the scripts (bash, zsh, fish); the shell then calls ``dora`` back with
``_DORA_COMPLETE=<shell>_complete`` to get candidates, which is where the hooks run.

Hooks (use as ``shell_complete=`` on an argument or option):

* :func:`complete_dataflow_files` — dataflow YAML files (``*.yml``, ``*.yaml``) and
  directories under the typed prefix; falls back to the shell's own file completion.
* :func:`complete_node_ids` — node ids read from the dataflow YAML given earlier on the
  same command line (a parameter named ``dataflow``, ``path`` or ``dataflow_path``).

* :func:`complete_dataflows` — names and UUIDs of the dataflows the coordinator knows.
* :func:`complete_running_node_ids` — node ids of the dataflow named by ``--dataflow``
  (or the only running one), asked from the coordinator.

The coordinator hooks use a short timeout (:data:`COORDINATOR_TIMEOUT`). Every hook here
fails silently: a completion must never print an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from dora_message.constants import ENV_COORDINATOR_ADDR, ENV_COORDINATOR_PORT

if TYPE_CHECKING:
    from pathlib import Path

    from click.shell_completion import CompletionItem

__all__ = [
    "CLICK_SHELLS",
    "COMPLETE_VAR",
    "SHELLS",
    "complete_dataflow_files",
    "complete_dataflows",
    "complete_node_ids",
    "complete_running_node_ids",
    "completion_script",
    "detect_shell",
    "node_ids_of",
]

#: Shells accepted by ``dora completion`` (the seed's list).
SHELLS: tuple[str, ...] = ("bash", "zsh", "fish", "elvish", "powershell")
#: Shells click can generate a script for.
CLICK_SHELLS: tuple[str, ...] = ("bash", "zsh", "fish")
#: Environment variable of click's completion protocol for the ``dora`` program.
COMPLETE_VAR = "_DORA_COMPLETE"

#: How long a completion may wait for the coordinator, in seconds.
COORDINATOR_TIMEOUT = 0.5

_YAML_SUFFIXES = (".yml", ".yaml")
_DATAFLOW_PARAMS = ("dataflow", "path", "dataflow_path")
_SHELL_NAMES = {"pwsh": "powershell", "powershell": "powershell"}


def detect_shell(environ: Mapping[str, str] | None = None) -> str | None:
    """The user's shell from ``$SHELL`` (``/bin/zsh`` → ``zsh``), or ``None``."""
    from pathlib import Path

    env = os.environ if environ is None else environ
    name = Path(env.get("SHELL", "")).name.lower().removesuffix(".exe")
    name = _SHELL_NAMES.get(name, name)
    return name if name in SHELLS else None


def completion_script(shell: str, cli: click.Command, prog_name: str = "dora") -> str:
    """click's completion script for ``shell`` (one of :data:`CLICK_SHELLS`)."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:
        raise ValueError(f"click has no completion support for {shell}")
    return cls(cli, {}, prog_name, COMPLETE_VAR).source()


def complete_dataflow_files(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Dataflow files and directories starting with ``incomplete``."""
    from pathlib import Path

    from click.shell_completion import CompletionItem

    try:
        folder, _, prefix = incomplete.rpartition("/")
        base = Path(folder + "/") if folder or incomplete.startswith("/") else Path(".")
        items: list[CompletionItem] = []
        for entry in sorted(base.iterdir(), key=lambda e: e.name):
            name = entry.name
            if not name.startswith(prefix) or (name.startswith(".") and not prefix):
                continue
            shown = f"{folder}/{name}" if folder or incomplete.startswith("/") else name
            if entry.is_dir():
                items.append(CompletionItem(shown + "/"))
            elif entry.suffix in _YAML_SUFFIXES:
                items.append(CompletionItem(shown))
    except OSError:
        items = []
    return items or [CompletionItem(incomplete, type="file")]


def complete_node_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Node ids of the dataflow given earlier on the command line, if any."""
    from pathlib import Path

    from click.shell_completion import CompletionItem

    for name in _DATAFLOW_PARAMS:
        value = ctx.params.get(name)
        if isinstance(value, str | os.PathLike):
            ids = node_ids_of(Path(value))
            return [CompletionItem(i) for i in ids if i.startswith(incomplete)]
    return []


def node_ids_of(path: Path) -> list[str]:
    """The ``id`` of every node in the YAML file ``path``; empty if it cannot be read.

    A plain YAML read, not a full validation: half-written dataflows still complete.
    """
    if path.suffix not in _YAML_SUFFIXES:
        return []
    try:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # any failure means "no candidates", never an error in the shell
        return []
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, list):
        return []
    return [n["id"] for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)]


def complete_dataflows(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Names and UUIDs of the coordinator's dataflows (nothing if it cannot be reached)."""
    from click.shell_completion import CompletionItem

    from dora_message import coordinator_to_cli as rep

    items: list[CompletionItem] = []
    for row in _ask(ctx, "list", rep.DataflowList, lambda r: r.dataflows) or []:
        for value in (row.name, row.uuid):
            if value and value.startswith(incomplete):
                items.append(CompletionItem(value, help=row.status))
    return items


def complete_running_node_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Node ids of the dataflow given with ``--dataflow`` (or the only one running)."""
    from click.shell_completion import CompletionItem

    from dora_message import coordinator_to_cli as rep

    dataflow = ctx.params.get("dataflow")
    if not isinstance(dataflow, str) or not dataflow:
        running = [
            row.uuid
            for row in _ask(ctx, "list", rep.DataflowList, lambda r: r.dataflows) or []
            if row.status.lower() == "running"
        ]
        if len(running) != 1:
            return []
        dataflow = running[0]
    nodes = _ask(ctx, dataflow, rep.DataflowDetails, lambda r: r.nodes) or []
    return [CompletionItem(n.node_id) for n in nodes if n.node_id.startswith(incomplete)]


def _ask(ctx: click.Context, what: str, kind: type, pick: Any) -> Any:
    """One request to the coordinator with a short timeout; ``None`` on any failure."""
    try:
        import asyncio

        from dora_cli.client import (
            DEFAULT_ADDR,
            DEFAULT_PORT,
            ControlClient,
            Target,
            discover_token,
        )
        from dora_message import cli_to_coordinator as req

        addr = ctx.params.get("coordinator_addr") or os.environ.get(
            ENV_COORDINATOR_ADDR, DEFAULT_ADDR
        )
        port = int(
            ctx.params.get("coordinator_port") or os.environ.get(ENV_COORDINATOR_PORT, DEFAULT_PORT)
        )
        body = req.ListDataflows() if what == "list" else req.GetDataflow(dataflow=what)

        async def go() -> Any:
            target = Target(addr, port, discover_token())
            client = await ControlClient.connect(target, COORDINATOR_TIMEOUT)
            async with client:
                return await client.request_as(body, kind, COORDINATOR_TIMEOUT)

        reply = asyncio.run(asyncio.wait_for(go(), COORDINATOR_TIMEOUT * 2))
        return pick(reply)
    except Exception:  # no coordinator, a refusal, a timeout: no candidates
        return None
