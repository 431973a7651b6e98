"""How a node is started: its kind and command line (spec/descriptor.md §4-§5, §8).

``.py`` files run under the given interpreter with ``-u`` (``uv run python`` with
``--uv``); other paths are executed directly, as written (symlinks are not followed:
``/venv/bin/python`` must start the venv's Python, not the base one it links to); bare
names are looked up at exec on the ``PATH`` of the node's own environment (its ``env:``
may point it at a venv's ``bin/``); ``path: shell`` runs ``sh -c <args>`` only when
allowed; ``path: dynamic`` is not spawned; a single Python operator runs in the
operator runtime of ``dora``.
"""

from __future__ import annotations

import enum
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from dora_message.constants import ENV_OPERATORS
from dora_message.descriptor import Node, Operator
from dora_message.errors import DescriptorError
from dora_message.shared_library import library_file, missing_library_error
from dora_message.topics import DEFAULT_OPERATOR_ID

OPERATOR_ENTRY = "import dora; dora.start_runtime()"


class NodeKind(enum.Enum):
    """How a node is started."""

    CUSTOM = "custom"  # an executable or a Python script
    OPERATOR = "operator"  # the operator runtime hosting the node's operators
    SHELL = "shell"  # `sh -c <args>`
    DYNAMIC = "dynamic"  # not spawned; an external process attaches


@dataclass(frozen=True, slots=True)
class NodeStart:
    """How one node is started."""

    kind: NodeKind
    argv: tuple[str, ...]
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
        blocks = []
        for position, operator in enumerate(node.operators):
            if operator.id is None:
                raise DescriptorError(
                    "an operator in `operators:` needs an `id`", f"{where}.operators[{position}]"
                )
            blocks.append((operator.id, operator, f"{where}.operators[{position}]"))
        return _runtime_start(node, blocks, cwd, uv, python)
    if node.operator is not None:
        op_id = node.operator.id or DEFAULT_OPERATOR_ID
        return _runtime_start(node, [(op_id, node.operator, f"{where}.operator")], cwd, uv, python)
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
        return NodeStart(NodeKind.DYNAMIC, (), {})
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
        return NodeStart(NodeKind.SHELL, ("sh", "-c", command), {})
    if path_text.startswith(("http://", "https://")):
        raise DescriptorError(
            f"node `{node.id}`: a URL path must be downloaded before the dataflow runs",
            f"{where}.path",
        )
    path = Path(path_text).expanduser()
    if path_text.endswith(".py"):
        script = _existing_file(node.id, cwd / path, f"{where}.path")
        interpreter = ("uv", "run", "python") if uv else (python,)
        return NodeStart(NodeKind.CUSTOM, (*interpreter, "-u", str(script), *args), {})
    if "/" in path_text or (cwd / path).exists():
        executable = _existing_executable(node.id, cwd / path, f"{where}.path")
        return NodeStart(NodeKind.CUSTOM, (str(executable), *args), {})
    # A bare name that is not in the working dir: looked up on the node's PATH at exec.
    return NodeStart(NodeKind.CUSTOM, (path_text, *args), {})


def _runtime_start(
    node: Node, blocks: list[tuple[str, Operator, str]], cwd: Path, uv: bool, python: str
) -> NodeStart:
    """The operator runtime, told its operators (files resolved and checked here)."""
    entries: list[dict[str, str]] = []
    conda_envs: dict[str, str] = {}  # env -> operator id
    any_python = False
    for op_id, operator, where in blocks:
        if operator.python is not None:
            if isinstance(operator.python, str):
                file, conda_env = operator.python, None
            else:
                file, conda_env = operator.python.source, operator.python.conda_env
            script = _existing_file(node.id, cwd / Path(file).expanduser(), f"{where}.python")
            entries.append({"id": op_id, "python": str(script)})
            any_python = True
            if conda_env:
                conda_envs.setdefault(conda_env, op_id)
        elif operator.shared_library is not None:
            library = library_file(operator.shared_library, cwd)
            if not library.is_file():
                raise missing_library_error(node.id, op_id, library, f"{where}.shared-library")
            entries.append({"id": op_id, "shared-library": str(library.resolve())})
        else:
            what = (
                "wasm operators are not supported"
                if operator.wasm
                else "no `python` or `shared-library`"
            )
            raise DescriptorError(f"node `{node.id}`: operator `{op_id}`: {what}", where)
    if len(conda_envs) > 1:
        listed = ", ".join(f"`{env}` ({op})" for env, op in conda_envs.items())
        raise DescriptorError(
            f"node `{node.id}`: its operators share one process but ask for different conda "
            f"environments: {listed}; give them separate nodes",
            blocks[0][2],
        )
    if conda_envs:
        interpreter: tuple[str, ...] = ("conda", "run", "-n", next(iter(conda_envs)), "python")
    elif uv and any_python:
        interpreter = ("uv", "run", "python")
    else:
        # shared-library operators only need dora itself: the daemon's own interpreter has it
        interpreter = (python,)
    env = {ENV_OPERATORS: json.dumps(entries)}
    return NodeStart(NodeKind.OPERATOR, (*interpreter, "-u", "-c", OPERATOR_ENTRY), env)


def _existing_file(node_id: str, path: Path, where: str) -> Path:
    path = path.resolve()
    if not path.is_file():
        raise DescriptorError(f"node `{node_id}`: `{path}` does not exist", where)
    return path


def _existing_executable(node_id: str, path: Path, where: str) -> Path:
    """``path`` made absolute without following symlinks: a venv's ``bin/python`` is a
    symlink to the base interpreter, and only started through the link does Python find
    the venv (its ``pyvenv.cfg``) and the packages installed there."""
    absolute = Path(os.path.abspath(path))
    if not absolute.is_file():
        raise DescriptorError(f"node `{node_id}`: `{absolute}` does not exist", where)
    return absolute


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
