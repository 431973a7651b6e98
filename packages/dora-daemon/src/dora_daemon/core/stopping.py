"""Stopping and killing, sans-I/O: the dataflow's stop ladder (STOP to every node,
SIGTERM after the grace, SIGKILL half a grace later; ``force`` SIGKILLs at once), one
node's ladder (``dora node stop`` / ``restart``, a finish straggler), and why each
SIGKILLed node was killed (its result says so)."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterable, Mapping

from dora_daemon.core import actions as act
from dora_daemon.core.ladder import Ladder
from dora_daemon.core.outbox import Outbox
from dora_daemon.core.supervised import Supervised
from dora_daemon.results import Kill
from dora_message.node_protocol import STOP_NODE, STOP_RESTART, Stop

log = logging.getLogger(__name__)


class Stopping:
    """The stop state of one dataflow run and the ladders in progress."""

    def __init__(self, out: Outbox, nodes: Mapping[str, Supervised], grace: float) -> None:
        """``nodes``: the run's spawned nodes (read, shared with the core)."""
        self._out = out
        self._nodes = nodes
        self.grace = grace
        self.requested = False  # the dataflow is stopping: nothing restarts any more
        self.force = False  # a forced stop: every node SIGKILLed (requested is set too)
        self._ladder: Ladder | None = None  # the dataflow's stop ladder
        self._kills: dict[str, Kill] = {}

    def stop_dataflow(
        self, now: float, force: bool, grace: float | None, node_ids: Iterable[str]
    ) -> None:
        """STOP to every node (``node_ids``, dynamic ones too) and start the ladder; or,
        with ``force``, SIGKILL every running node at once."""
        if force:
            self.force = True
            self.requested = True
            self.kill_running(Kill.FORCE)
        elif not self.requested:
            self.requested = True
            for node_id in node_ids:
                self._out.send(node_id, Stop())
            if self._ladder is None:
                self._ladder = Ladder.start(now, self.grace if grace is None else grace)

    def stop_one(
        self, node_id: str, node: Supervised, grace: float, *, restart: bool, now: float
    ) -> None:
        """Ask one node to stop (for a restart or for good); its ladder follows."""
        self._out.send(node_id, Stop(scope=STOP_RESTART if restart else STOP_NODE))
        if node.ladder is None or node.ladder.done:
            node.ladder = Ladder.start(now, grace)

    def kill(self, node_id: str, why: Kill) -> None:
        """SIGKILL the node's group; the first reason given is the one its result tells."""
        self._kills.setdefault(node_id, why)
        self._out.add(act.Signal(node_id, signal.SIGKILL))

    def kill_running(self, why: Kill) -> None:
        for node_id, node in self._nodes.items():
            if node.running:
                self.kill(node_id, why)

    def blame(self, node_id: str, why: Kill) -> None:
        """Record why the node is being stopped (unless a reason was recorded first)."""
        self._kills.setdefault(node_id, why)

    def kill_reason(self, node_id: str) -> Kill:
        return self._kills.get(node_id, Kill.NONE)

    def forget(self, node_id: str) -> None:
        """A new incarnation starts with a clean record."""
        self._kills.pop(node_id, None)

    def deadlines(self) -> list[float]:
        """The ladders' next rungs."""
        deadlines = [
            d for n in self._nodes.values() if n.ladder and (d := n.ladder.next_deadline())
        ]
        if self._ladder is not None and (d := self._ladder.next_deadline()) is not None:
            deadlines.append(d)
        return deadlines

    def tick(self, now: float) -> None:
        """Signal what the ladders say is due by ``now``."""
        if self._ladder is not None:
            for signum in self._ladder.due(now):
                if signum == signal.SIGKILL:
                    self.kill_running(Kill.GRACE)
                    continue
                for node_id, node in self._nodes.items():
                    if node.running:
                        self._sigterm(node_id, self._ladder.grace)
        for node_id, node in self._nodes.items():
            if node.ladder is None:
                continue
            for signum in node.ladder.due(now):
                if not node.running:
                    continue
                if signum == signal.SIGKILL:
                    self.kill(node_id, Kill.GRACE)
                else:
                    self._sigterm(node_id, node.ladder.grace)

    def _sigterm(self, node_id: str, grace: float) -> None:
        log.warning("node %s did not stop within %.1f s: SIGTERM", node_id, grace)
        self._out.add(act.Signal(node_id, signal.SIGTERM))
