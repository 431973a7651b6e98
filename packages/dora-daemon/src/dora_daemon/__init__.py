"""dora_daemon: spawns the nodes of a dataflow, serves their control protocol, routes
timers, closed inputs and logs. ``dora run`` uses :class:`LocalDataflow` in-process."""

from dora_daemon.local import LocalDataflow, RunOptions
from dora_message.common import DataflowResult

__all__ = ["DataflowResult", "LocalDataflow", "RunOptions"]
