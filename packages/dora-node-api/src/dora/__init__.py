"""dora: the Python API of dora dataflow nodes and operators.

``from dora import Node`` is all a node needs::

    from dora import Node

    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            node.send_output("out", event["value"], event["metadata"])

Attributes are imported lazily so ``import dora`` stays cheap (no pyarrow until a
``Node`` is made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dora._commands import build, run
    from dora._status import DoraStatus
    from dora.node import Node
    from dora.runtime import start_runtime

__all__ = ["DoraStatus", "Node", "__author__", "__version__", "build", "run", "start_runtime"]
__author__ = "dora contributors"

_LAZY = {
    "Node": ("dora.node", "Node"),
    "DoraStatus": ("dora._status", "DoraStatus"),
    "start_runtime": ("dora.runtime", "start_runtime"),
    # the CLI runs in a child process, imported by nobody here (see dora._commands)
    "run": ("dora._commands", "run"),
    "build": ("dora._commands", "build"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("dora-node-api")
        except PackageNotFoundError:  # running from a source tree
            value = "0.0.0"
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dora' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
