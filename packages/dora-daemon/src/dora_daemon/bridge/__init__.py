"""Data between daemons on different machines, over zenoh (see docs/distributed.md).

* :mod:`~dora_daemon.bridge.mesh`: the daemon's zenoh session and its peers;
* :mod:`~dora_daemon.bridge.plan`: which outputs cross machines (sans-I/O);
* :mod:`~dora_daemon.bridge.receive` + :mod:`~dora_daemon.bridge.publish`: the daemon
  as a receiver of local producers, publishing what remote nodes consume;
* :mod:`~dora_daemon.bridge.deliver`: the daemon as the sender, toward local nodes, of
  what remote producers publish;
* :mod:`~dora_daemon.bridge.dataflow`: all of it for one dataflow;
* :mod:`~dora_daemon.bridge.watch`: every output of a dataflow published for
  ``dora topic`` (``publish_all_messages_to_zenoh``).

This module stays free of zenoh so that ``dora run`` never loads it.
"""

from __future__ import annotations

from dora_message.descriptor import Descriptor

BRIDGE_NODE_ID = "dora/bridge"
"""The receiver id of the bridge in a producer's routes (node ids cannot contain ``/``)."""


def bridge_address(dataflow_id: str, token: str) -> str:
    """The abstract Unix socket on which the bridge of a dataflow receives."""
    return f"\0dora-bridge-{dataflow_id}-{token}"


WATCH_NODE_ID = "dora/watch"
"""The receiver id of the ``dora topic`` tap in a producer's routes."""


def watch_address(dataflow_id: str, token: str) -> str:
    """The abstract Unix socket on which the ``dora topic`` tap of a dataflow receives."""
    return f"\0dora-watch-{dataflow_id}-{token}"


def publishes_all(descriptor: Descriptor) -> bool:
    """Whether the dataflow asks for every message to be published for ``dora topic``
    (``publish_all_messages_to_zenoh`` or ``enable_debug_inspection``)."""
    debug = descriptor.debug_settings
    return debug.publish_all_messages_to_zenoh or debug.enable_debug_inspection
