"""How a node is started: its kind and command line (spec/descriptor.md §4-§5, §8).

``.py`` files run under the given interpreter with ``-u`` (``uv run python`` with
``--uv``); other paths are executed directly, bare names are looked up on ``PATH`` at
exec; ``path: shell`` runs ``sh -c <args>`` only when allowed; ``path: dynamic`` is not
spawned; a single Python operator runs in the operator runtime of ``dora``.
"""

from __future__ import annotations

import enum
import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from dora_message.descriptor import Node, Operator
from dora_message.errors import DescriptorError
from dora_message.topics import DEFAULT_OPERATOR_ID

ENV_OPERATOR = "DORA_OPERATOR"
OPERATOR_ENTRY = "import dora; dora.start_runtime()"


class NodeKind(enum.Enum):
    """How a node is started."""

    CUSTOM = "custom"  # an executable or a Python script
    OPERATOR = "operator"  # the Python operator runtime hosting one operator
    SHELL = "shell"  # `sh -c <args>`
    DYNAMIC = "dynamic"  # not spawned; an external process attaches


@dataclass(frozen=True, slots=True)
class NodeStart:
    """How one node is started."""

    kind: NodeKind
    argv: tuple[str, ...]
    operator_id: str | None  # set for operator nodes: inputs/outputs are prefixed
    operator: Operator | None
    extra_env: dict[str, str]


def node_start(
    node: Node,
    path_text: str | None,
    index: int,
    cwd: Path,
    uv: bool,
    allow_shell: bool,
    python: str,
) -> NodeStart:
    """The command of ``node``; ``path_text`` is its path (or the fetched one)."""
    where = f"nodes[{index}]"
    if node.operators is not None:
        if len(node.operators) != 1:
            raise DescriptorError(
                f"node `{node.id}` has {len(node.operators)} operators; a runtime node with "
                "more than one operator is not supported (mainline refuses it too): give each "
                "operator its own node with `operator:`",
                f"{where}.operators",
            )
        operator = node.operators[0]
        if operator.id is None:
            raise DescriptorError("an operator in `operators:` needs an `id`", where)
        return _operator_start(node, operator, f"{where}.operators[0]", cwd, uv, python)
    if node.operator is not None:
        return _operator_start(node, node.operator, f"{where}.operator", cwd, uv, python)
    if node.ros2 is not None:
        raise DescriptorError(f"node `{node.id}`: ROS2 bridge nodes are not supported", where)
    if node.module is not None:
        raise DescriptorError(
            f"node `{node.id}`: module nodes must be expanded before the dataflow runs", where
        )
    if path_text is None:
        raise DescriptorError(f"node `{node.id}` has no `path`", where)
    args = _split_args(node, where)
    if path_text == "dynamic":
        return NodeStart(NodeKind.DYNAMIC, (), None, None, {})
    if path_text == "shell":
        if not allow_shell:
            raise DescriptorError(
                f"node `{node.id}` is a shell node (`path: shell`), which runs arbitrary "
                "shell commands; allow it with `dora run --allow-shell-nodes` "
                "(or DORA_ALLOW_SHELL_NODES=true)",
                f"{where}.path",
            )
        if not args:
            raise DescriptorError(
                f"shell node `{node.id}` needs the command in `args`", f"{where}.args"
            )
        command = node.args if isinstance(node.args, str) else shlex.join(args)
        return NodeStart(NodeKind.SHELL, ("sh", "-c", command), None, None, {})
    if path_text.startswith(("http://", "https://")):
        raise DescriptorError(
            f"node `{node.id}`: a URL path must be downloaded before the dataflow runs",
            f"{where}.path",
        )
    path = Path(path_text).expanduser()
    if path_text.endswith(".py"):
        script = _existing_file(node.id, cwd / path, f"{where}.path")
        interpreter = ("uv", "run", "python") if uv else (python,)
        return NodeStart(NodeKind.CUSTOM, (*interpreter, "-u", str(script), *args), None, None, {})
    if "/" in path_text or (cwd / path).exists():
        executable = _existing_file(node.id, cwd / path, f"{where}.path")
        return NodeStart(NodeKind.CUSTOM, (str(executable), *args), None, None, {})
    # A bare name that is not in the working dir: looked up on the node's PATH at exec.
    return NodeStart(NodeKind.CUSTOM, (path_text, *args), None, None, {})


def _operator_start(
    node: Node, operator: Operator, where: str, cwd: Path, uv: bool, python: str
) -> NodeStart:
    op_id = operator.id or DEFAULT_OPERATOR_ID
    if operator.python is None:
        kind = "shared-library" if operator.shared_library else "wasm" if operator.wasm else None
        what = f"{kind} operators are not supported" if kind else "the operator has no `python`"
        raise DescriptorError(f"node `{node.id}`: {what}", where)
    if isinstance(operator.python, str):
        file, conda_env = operator.python, None
    else:
        file, conda_env = operator.python.source, operator.python.conda_env
    script = _existing_file(node.id, cwd / Path(file).expanduser(), f"{where}.python")
    if conda_env:
        interpreter: tuple[str, ...] = ("conda", "run", "-n", conda_env, "python")
    elif uv:
        interpreter = ("uv", "run", "python")
    else:
        interpreter = (python,)
    env = {ENV_OPERATOR: json.dumps({"id": op_id, "python": str(script)})}
    return NodeStart(
        NodeKind.OPERATOR, (*interpreter, "-u", "-c", OPERATOR_ENTRY), op_id, operator, env
    )


def _existing_file(node_id: str, path: Path, where: str) -> Path:
    path = path.resolve()
    if not path.is_file():
        raise DescriptorError(f"node `{node_id}`: `{path}` does not exist", where)
    return path


def _split_args(node: Node, where: str) -> list[str]:
    if node.args is None:
        return []
    if isinstance(node.args, list):
        return list(node.args)
    try:
        return shlex.split(node.args)
    except ValueError as error:
        message = f"node `{node.id}`: cannot split `args`: {error}"
        raise DescriptorError(message, f"{where}.args") from None
