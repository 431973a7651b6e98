"""dora_daemon: spawns the nodes of a dataflow, serves their control protocol, routes
timers, closed inputs and logs. ``dora run`` uses :class:`LocalDataflow` in-process.

The exports load on first use, so that importing a small submodule (the log formatter
the CLI uses, say) does not import the whole daemon.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dora_daemon.local import LocalDataflow, RunOptions
    from dora_message.common import DataflowResult

__all__ = ["DataflowResult", "LocalDataflow", "RunOptions"]

_WHERE = {
    "LocalDataflow": "dora_daemon.local",
    "RunOptions": "dora_daemon.local",
    "DataflowResult": "dora_message.common",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'dora_daemon' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
