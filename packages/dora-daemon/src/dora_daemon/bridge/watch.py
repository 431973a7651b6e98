"""Every output of a dataflow published for ``dora topic`` (the debug tap).

A dataflow whose descriptor sets ``publish_all_messages_to_zenoh`` (or
``enable_debug_inspection``) gets one more receiver on every local output, a
:class:`~dora_daemon.bridge.receive.BridgeReceiver` whose messages are published on
:func:`~dora_message.inter_daemon.debug_key` (schema on every message, dropped rather
than waited for when a watcher is slow). Watchers (``dora topic echo|hz|info``) are zenoh
clients of this daemon's session. Nothing here feeds a node: the data plane between
nodes, and the bridge between daemons, do not change.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from dora_daemon.bridge.mesh import Mesh
from dora_daemon.bridge.publish import Publishing
from dora_daemon.bridge.receive import BridgeReceiver


class DataflowWatch:
    """The debug tap of one dataflow on this daemon."""

    def __init__(
        self, mesh: Mesh, dataflow_id: str, outputs: Mapping[str, list[str]], address: str
    ) -> None:
        """``outputs``: local node -> every output it declares (as sent on the wire);
        ``mesh``: the daemon's open zenoh session, which watchers dial."""
        assert mesh.session is not None
        self._mesh = mesh
        self._publishing = Publishing(mesh.session, dataflow_id, outputs, for_watchers=True)
        self._receiver = BridgeReceiver(dataflow_id, address, self._publishing)
        self._started = False

    def start(self) -> None:
        """Listen (before any node starts: producers connect right after the barrier)."""
        self._mesh.users += 1  # the session must not be reopened under our publishers
        self._started = True
        self._receiver.start()

    def producer_exited(self, node_id: str) -> None:
        """A local node's process ended: its outputs end once its connections drained."""
        self._receiver.producer_exited(node_id)

    def outputs_closed(self, node_id: str, outputs: list[str]) -> None:
        """A local node closed some outputs."""
        self._receiver.outputs_closed(node_id, outputs)

    async def aclose(self) -> None:
        """Stop receiving, publish the end of every output, drop the publishers."""
        await asyncio.to_thread(self._close)
        if self._started:
            self._started = False
            self._mesh.users -= 1

    def _close(self) -> None:
        self._receiver.close()
        self._publishing.undeclare()
