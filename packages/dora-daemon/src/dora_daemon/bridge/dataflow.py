"""The bridge of one dataflow on one daemon: receive + publish, subscribe + deliver.

Start order matters: the receiving socket listens before any local node starts (a
producer connects to it right after the start barrier), and the subscribers exist
before this daemon says its nodes are ready — then the liveliness token
:func:`~dora_message.inter_daemon.subscribed_token_key` tells the producing daemons so,
and they report ready only once they see it and their publishers match.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import zenoh

from dora_daemon.bridge import BRIDGE_NODE_ID
from dora_daemon.bridge.deliver import Delivery
from dora_daemon.bridge.mesh import Mesh, MeshError
from dora_daemon.bridge.plan import plan_bridge
from dora_daemon.bridge.publish import Publishing
from dora_daemon.bridge.receive import BridgeReceiver
from dora_daemon.resolve import node_address
from dora_message.daemon_to_coordinator import NetworkMetric
from dora_message.inter_daemon import daemon_token_key, subscribed_token_key

log = logging.getLogger(__name__)

READY_TIMEOUT = 10.0


@dataclass
class ClusterPart:
    """This daemon's share of a dataflow spanning several daemons."""

    daemon_id: str
    mesh: Mesh
    session: zenoh.Session  # the mesh's session, once every peer daemon is there
    node_daemons: dict[str, str]  # every node of the dataflow -> its daemon
    on_ready: Callable[[str | None], None]  # tell the coordinator (error: failed)

    @property
    def local_nodes(self) -> set[str]:
        """The nodes placed on this daemon."""
        return {n for n, d in self.node_daemons.items() if d == self.daemon_id}


class DataflowBridge:
    """Everything that crosses machines for one dataflow on this daemon."""

    def __init__(
        self,
        cluster: ClusterPart,
        dataflow_id: str,
        consumers: Mapping[tuple[str, str], Mapping[str, list[str]]],
        address: str,
        on_closed: Callable[[str, list[str]], None],
        key: bytes,
    ) -> None:
        """``consumers`` is the routing table; ``on_closed(producer, outputs)`` runs on
        the event loop's thread when a remote producer's outputs end; ``key`` is the
        dataflow run's key (link tokens of the bridge's data connections)."""
        self.plan = plan = plan_bridge(consumers, cluster.local_nodes, cluster.node_daemons)
        self._cluster = cluster
        self._mesh = cluster.mesh
        self._session = session = cluster.session
        self._dataflow_id = dataflow_id
        self._daemon_id = cluster.daemon_id
        self._tasks: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()

        def closed_threadsafe(producer: str, outputs: list[str]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nobody to tell
                loop.call_soon_threadsafe(on_closed, producer, outputs)

        self._publishing = Publishing(session, dataflow_id, plan.published)
        self._receiver = BridgeReceiver(dataflow_id, address, self._publishing, key, BRIDGE_NODE_ID)
        addresses = {n: node_address(dataflow_id, n) for n in cluster.local_nodes}
        self._delivery = Delivery(
            session, dataflow_id, plan.delivered, addresses, closed_threadsafe, key=key
        )
        self._token: zenoh.LivelinessToken | None = None
        self._started = False
        self._unwatch: Callable[[], None] | None = None
        # remote producers by the liveliness token of their daemon
        self._by_token: dict[str, list[str]] = {}
        for producer in plan.delivered:
            daemon = cluster.node_daemons.get(producer)
            if daemon is not None:
                self._by_token.setdefault(daemon_token_key(daemon), []).append(producer)

    def start(self) -> None:
        """Listen, declare publishers and subscribers, announce the subscribers."""
        self._mesh.users += 1
        self._started = True
        self._receiver.start()
        self._delivery.start()
        self._unwatch = self._mesh.watch_gone(self._token_gone)
        self._token = self._session.liveliness().declare_token(
            subscribed_token_key(self._dataflow_id, self._daemon_id)
        )

    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Return once every daemon reading our outputs has its subscribers declared."""
        keys = [subscribed_token_key(self._dataflow_id, d) for d in self.plan.consumer_daemons]
        missing = await self._mesh.wait_tokens(keys, timeout)
        if missing:
            raise MeshError(
                "daemon(s) reading this dataflow's outputs did not get ready: "
                + ", ".join(k.rsplit("/", 1)[-1] for k in missing)
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._publishing.matched():
            if loop.time() > deadline:
                raise MeshError("no subscriber matched this daemon's bridged outputs")
            await asyncio.sleep(0.01)

    def _token_gone(self, key: str) -> None:
        # a producing daemon died (or its link broke for good): its outputs end here,
        # or the nodes reading them would wait forever
        producers = self._by_token.pop(key, None)
        if producers:
            self._delivery.producers_lost(producers)

    def report_ready(self, error: str | None) -> None:
        """The local nodes are all there (or failed): tell the coordinator once the
        daemons reading our outputs are ready too."""
        if error is not None:
            self._cluster.on_ready(error)
            return
        task = asyncio.create_task(self._report_when_ready())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report_when_ready(self) -> None:
        try:
            await self.wait_ready()
        except MeshError as error:
            self._cluster.on_ready(str(error))
            return
        self._cluster.on_ready(None)

    def producer_exited(self, node_id: str) -> None:
        """A local node's process ended."""
        self._receiver.producer_exited(node_id)

    def outputs_closed(self, node_id: str, outputs: list[str]) -> None:
        """A local node closed some outputs."""
        self._receiver.outputs_closed(node_id, outputs)

    def traffic(self) -> NetworkMetric:
        """Cumulative data messages and bytes this daemon exchanged over zenoh."""
        received, messages = self._delivery.received()
        publishing = self._publishing
        return NetworkMetric(
            bytes_sent=publishing.bytes_sent,
            bytes_received=received,
            messages_sent=publishing.messages_sent,
            messages_received=messages,
            publish_failures=publishing.publish_failures,
        )

    async def aclose(self) -> None:
        """Publish the end of every output, then tear everything down."""
        for task in list(self._tasks):
            task.cancel()
        if not self._started:
            return
        self._started = False
        try:
            await asyncio.to_thread(self._close)
        finally:
            self._mesh.users -= 1

    def _close(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
        self._receiver.close()
        self._publishing.undeclare()
        self._delivery.close()
        if self._token is not None:
            with contextlib.suppress(zenoh.ZError):
                self._token.undeclare()
