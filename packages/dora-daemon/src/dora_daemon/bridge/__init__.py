"""Data between daemons on different machines, over zenoh (see docs/distributed.md).

* :mod:`~dora_daemon.bridge.mesh`: the daemon's zenoh session and its peers;
* :mod:`~dora_daemon.bridge.plan`: which outputs cross machines (sans-I/O);
* :mod:`~dora_daemon.bridge.receive` + :mod:`~dora_daemon.bridge.publish`: the daemon
  as a receiver of local producers, publishing what remote nodes consume;
* :mod:`~dora_daemon.bridge.deliver`: the daemon as the sender, toward local nodes, of
  what remote producers publish;
* :mod:`~dora_daemon.bridge.dataflow`: all of it for one dataflow.

This module stays free of zenoh so that ``dora run`` never loads it.
"""

from __future__ import annotations

BRIDGE_NODE_ID = "dora/bridge"
"""The receiver id of the bridge in a producer's routes (node ids cannot contain ``/``)."""


def bridge_address(dataflow_id: str, token: str) -> str:
    """The abstract Unix socket on which the bridge of a dataflow receives."""
    return f"\0dora-bridge-{dataflow_id}-{token}"
