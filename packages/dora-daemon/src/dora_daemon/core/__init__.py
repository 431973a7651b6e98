"""The daemon's sans-I/O core: one state machine per dataflow (see docs/daemon-core.md).

:class:`DataflowCore` takes events (:mod:`.events`) and returns actions
(:mod:`.actions`); :class:`dora_daemon.local.LocalDataflow` owns the processes, sockets
and timers and carries the actions out.
"""

from dora_daemon.core.dataflow import DataflowCore
from dora_daemon.core.errors import NodeControlError
from dora_daemon.core.status import NodeStatus

__all__ = ["DataflowCore", "NodeControlError", "NodeStatus"]
