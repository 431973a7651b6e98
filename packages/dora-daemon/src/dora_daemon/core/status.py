"""What ``dora node list`` / ``dora node info`` show about one node."""

from __future__ import annotations

import msgspec


class NodeStatus(msgspec.Struct, frozen=True):
    """Supervision facts of one node, for the coordinator's ``node_metrics``."""

    status: str  # Running | Degraded | Restarting | Failed | Stopped (dynamic: Waiting | Left)
    restarts: int
    pid: int | None
    broken_inputs: tuple[str, ...] = ()
    pending: int | None = None  # messages in its input queues (None: no process)
    # messages it missed per input (restarts, not running: see dora_daemon.missed)
    dropped: dict[str, int] = {}
    dynamic: bool = False  # a `path: dynamic` node: its process is not the daemon's child
