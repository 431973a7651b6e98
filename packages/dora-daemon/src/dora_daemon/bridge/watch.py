"""A dataflow opened to ``dora topic``: every output published, messages injected.

A dataflow whose descriptor sets ``publish_all_messages_to_zenoh`` (or
``enable_debug_inspection``) gets, on each daemon:

* one more receiver on every local output, a
  :class:`~dora_daemon.bridge.receive.BridgeReceiver` whose messages are published on
  :func:`~dora_message.inter_daemon.debug_key` (schema on every message, dropped rather
  than waited for when a watcher is slow), for ``dora topic echo|hz|info``;
* queryables on :func:`~dora_message.inter_daemon.inject_key` for every output read
  here, delivering what ``dora topic pub`` sends to the local readers as if the producer
  had sent it, and answering who got it
  (:class:`~dora_daemon.bridge.inject.TopicInjection`; it connects to a reader only
  when the first such message comes, and waits for a reader that does not listen yet).

Watchers and publishers are zenoh clients of this daemon's session. Without them nothing
changes for the nodes but the extra receiver on each output.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from dora_daemon.bridge import WATCH_NODE_ID
from dora_daemon.bridge.inject import TopicInjection
from dora_daemon.bridge.mesh import Mesh
from dora_daemon.bridge.publish import Publishing
from dora_daemon.bridge.receive import BridgeReceiver


class DataflowWatch:
    """The debug tap and the injection point of one dataflow on this daemon."""

    def __init__(
        self,
        mesh: Mesh,
        dataflow_id: str,
        outputs: Mapping[str, list[str]],
        address: str,
        readers: Mapping[str, Mapping[str, list[str]]],
        addresses: Mapping[str, str],
        key: bytes,
    ) -> None:
        """``key``: the dataflow run's key (link tokens of the tap and the injection);
        ``outputs``: local node -> every output it declares (as sent on the wire);
        ``readers``: producer (anywhere) -> output -> local nodes reading it, at
        ``addresses``; ``mesh``: the daemon's open zenoh session, which clients dial."""
        assert mesh.session is not None and mesh.daemon_id is not None
        self._mesh = mesh
        self._publishing = Publishing(mesh.session, dataflow_id, outputs, for_watchers=True)
        self._receiver = BridgeReceiver(dataflow_id, address, self._publishing, key, WATCH_NODE_ID)
        self._injection = TopicInjection(
            mesh.session, dataflow_id, mesh.daemon_id, readers, addresses, key
        )
        self._started = False

    def start(self) -> None:
        """Listen (before any node starts: producers connect right after the barrier)."""
        self._mesh.users += 1  # the session must not be reopened under our publishers
        self._started = True
        self._receiver.start()
        self._injection.start()

    def producer_exited(self, node_id: str) -> None:
        """A local node's process ended: its outputs end once its connections drained."""
        self._receiver.producer_exited(node_id)

    def outputs_closed(self, node_id: str, outputs: list[str]) -> None:
        """A local node closed some outputs."""
        self._receiver.outputs_closed(node_id, outputs)

    async def aclose(self) -> None:
        """Stop receiving, publish the end of every output, drop publishers and injection."""
        await asyncio.to_thread(self._close)
        if self._started:
            self._started = False
            self._mesh.users -= 1

    def _close(self) -> None:
        self._injection.close()
        self._receiver.close()
        self._publishing.undeclare()
