"""What a replay would run besides its replay nodes, and the replay-only dataflow (sans-I/O).

A recording stores the dataflow it was made from, and that dataflow names programs:
``path``, ``args``, ``build`` commands, ``git`` sources, operators, modules, and ``env``
(``LD_PRELOAD``, ``PYTHONPATH``) that even a replay node would obey. A recording is a
data file people pass around, so running what it names is running a stranger's program.
``dora replay`` therefore runs those *live* nodes only from the user's own dataflow file
(``--dataflow``) or after an explicit yes (``--run-embedded``, or a prompt on a terminal);
otherwise it runs nothing but :func:`replay_only`, its own replay nodes.
"""

from __future__ import annotations

import copy
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dora_message.constants import ENV_REPLAY_PREFIX
from dora_record.plan import PlanError

MAX_SHOWN = 200  # characters of one node's description: a crafted value can be huge

# What a replay node from an untrusted recording keeps: nothing that starts a program or
# changes the environment, working folder or machine it runs in.
_REPLAY_NODE_KEYS = frozenset(
    (
        "id",
        "name",
        "description",
        "path",
        "outputs",
        "output_types",
        "output_metadata",
        "output_framing",
        "min_log_level",
        "max_log_size",
        "max_rotated_files",
    )
)
# Dataflow-wide keys kept: none of them runs anything (``env`` and ``deploy`` are dropped)
_DATAFLOW_KEYS = frozenset(
    (
        "nodes",
        "name",
        "description",
        "health_check_interval",
        "exit_when_nodes_finish",
        "strict_types",
        "type_rules",
        "debug",
        "_unstable_debug",
    )
)
# How a node names what it runs, in the order they are shown
_RUN_KEYS = ("path", "args", "build", "git", "branch", "tag", "rev", "hub", "module", "custom")


@dataclass(frozen=True)
class LiveNode:
    """A node a replay would run as itself, and what that means."""

    node_id: str
    runs: str

    def __str__(self) -> str:
        return f"{self.node_id}: {self.runs}"


# reprlib bounds depth and items: a plain repr of a YAML alias bomb would never end
_repr = reprlib.Repr()
_repr.maxlevel, _repr.maxlist, _repr.maxdict = 3, 8, 8
_repr.maxstring = _repr.maxother = MAX_SHOWN


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else _repr.repr(value)
    text = text.encode("unicode_escape").decode("ascii")  # no terminal escapes, one line
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def describe(node: dict[str, Any]) -> str:
    """What ``node`` runs, in a line: its program, arguments, build, sources, operators."""
    parts = [f"{key} {_short(node[key])}" for key in _RUN_KEYS if node.get(key) is not None]
    operators = node.get("operators")
    singles = [node["operator"]] if isinstance(node.get("operator"), dict) else []
    ops = [*singles, *(op for op in operators or [] if isinstance(op, dict))]
    for op in ops:
        kinds = [f"{k} {_short(op[k])}" for k in ("python", "shared-library", "wasm") if k in op]
        if op.get("build") is not None:
            kinds.append(f"build {_short(op['build'])}")
        parts.append("operator " + (", ".join(kinds) or "?"))
    if isinstance(node.get("env"), dict) and node["env"]:
        parts.append("env " + ", ".join(_short(k) for k in node["env"]))
    return "; ".join(parts) or "(nothing named: fails to start)"


def _nodes(doc: Any) -> list[dict[str, Any]]:
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if not isinstance(nodes, list):
        raise PlanError("the dataflow has no `nodes` list")
    return [node for node in nodes if isinstance(node, dict)]


def live_nodes(doc: Any, replaced: Iterable[str]) -> list[LiveNode]:
    """The nodes of ``doc`` that are not replay nodes, each with what it runs."""
    swap = set(replaced)
    return [
        LiveNode(_short(node.get("id")), describe(node))
        for node in _nodes(doc)
        if node.get("id") not in swap
    ]


def dropped_settings(doc: Any, replaced: Iterable[str]) -> list[str]:
    """What :func:`replay_only` leaves out of ``doc``, to tell the user (``env PATH``,
    ``cam: env LD_PRELOAD``, ``cam: deploy``)."""
    dropped = [f"{_short(key)}" for key in doc if key not in _DATAFLOW_KEYS]
    env = doc.get("env")
    if isinstance(env, dict):
        dropped = [d for d in dropped if d != "env"] + [f"env {_short(k)}" for k in env]
    swap = set(replaced)
    for node in _nodes(doc):
        if node.get("id") not in swap:
            continue
        label = _short(node.get("id"))
        dropped += [f"{label}: {_short(k)}" for k in node if k not in _REPLAY_NODE_KEYS | {"env"}]
        node_env = node.get("env") if isinstance(node.get("env"), dict) else {}
        dropped += [
            f"{label}: env {_short(k)}"
            for k in node_env
            if not str(k).startswith(ENV_REPLAY_PREFIX)
        ]
    return dropped


def replay_only(doc: Any, replaced: Iterable[str]) -> dict[str, Any]:
    """A copy of a planned replay dataflow with only its replay nodes, each stripped to
    what replaying needs: no ``env`` but the ``DORA_REPLAY_*`` settings, no ``deploy``
    (working folder, machine), no restart or CPU settings, no dataflow-wide ``env``."""
    swap = set(replaced)
    new = {key: copy.deepcopy(value) for key, value in doc.items() if key in _DATAFLOW_KEYS}
    nodes = []
    for node in _nodes(doc):
        if node.get("id") not in swap:
            continue
        kept = {
            key: copy.deepcopy(value) for key, value in node.items() if key in _REPLAY_NODE_KEYS
        }
        env = node.get("env") if isinstance(node.get("env"), dict) else {}
        kept["env"] = {k: v for k, v in env.items() if str(k).startswith(ENV_REPLAY_PREFIX)}
        nodes.append(kept)
    new["nodes"] = nodes
    return new
