"""Restart decisions, sans-I/O: on each exit, whether the node restarts (its
:class:`~dora_daemon.restart.RestartTracker`) or ends. Nothing restarts once the
dataflow or the node is stopping, or every input of the node closed for good. A restart
tells the node's receivers ``NodeRestarted`` at once (their inputs stay open), clears
the old process group, waits the backoff, then spawns the node again with
``restart_count`` + 1, replaying ``InputClosed`` for inputs that closed meanwhile and
every parameter set so far."""

from __future__ import annotations

import logging

from dora_daemon.core import actions as act
from dora_daemon.core.outbox import Outbox
from dora_daemon.core.params import ParamMemory
from dora_daemon.core.stopping import Stopping
from dora_daemon.core.supervised import Supervised
from dora_daemon.health import FaultCounters
from dora_daemon.restart import Decision
from dora_daemon.results import describe_status
from dora_daemon.routing import Router
from dora_message.node_protocol import InputClosed

log = logging.getLogger(__name__)


class Restarts:
    """Decides restarts and prepares each new incarnation."""

    def __init__(
        self,
        *,
        out: Outbox,
        router: Router,
        stopping: Stopping,
        params: ParamMemory,
        fault_counters: FaultCounters,
    ) -> None:
        self._out = out
        self._router = router
        self._stopping = stopping
        self._params = params
        self._fault_counters = fault_counters

    def decide(self, node_id: str, node: Supervised, returncode: int, now: float) -> Decision:
        """Whether the node's exit restarts it, and after which backoff."""
        disabled = self.disabled(node_id, node)
        if node.tracker is None:
            return Decision(False, reason="nodes of this kind are not restarted")
        forced, node.force_restart = node.force_restart, False
        return node.tracker.on_exit(
            success=returncode == 0, now=now, disabled=disabled, forced=forced
        )

    def disabled(self, node_id: str, node: Supervised) -> str | None:
        """Why the node may not restart now (None: it may)."""
        if self._stopping.requested:
            return "the dataflow is stopping"
        if node.stop_requested:
            return "it was stopped (dora node stop)"
        if self._router.all_inputs_closed(node_id):
            return "all its inputs are closed"
        return None

    def schedule(self, node_id: str, node: Supervised, decision: Decision, now: float) -> None:
        """Tell the receivers, clear the old group, start the backoff (``restart_at``)."""
        last = node.last_exit
        assert last is not None and node.tracker is not None
        node.status = "Restarting"
        self._fault_counters.restarts += 1
        # a failure's last words (a runtime node names the operator that failed or crashed)
        tail = last.stderr_tail
        said = f"; last stderr line: {tail[-1]}" if last.returncode != 0 and tail else ""
        log.warning(
            "node %s exited (%s): restarting it in %.2f s (%s, restart %d)%s",
            node_id,
            describe_status(last.returncode),
            decision.delay,
            decision.reason,
            node.tracker.restarts,
            said,
        )
        self._router.node_restarted(node_id)  # at exit time, before the backoff
        self._out.add(act.ClearGroup(node_id))  # whatever the old incarnation left behind
        node.restart_at = now + decision.delay

    def respawn(self, node_id: str, node: Supervised) -> None:
        """The backoff is over and restarts are still allowed: spawn the next incarnation."""
        assert node.tracker is not None
        self._stopping.forget(node_id)
        self._out.add(act.Reconnect(node_id))
        self.catch_up(node_id)
        self._out.add(act.Spawn(node_id, node.tracker.restarts))

    def catch_up(self, node_id: str) -> None:
        """A new incarnation (or a dynamic node joining again) learns at once which of its
        inputs closed meanwhile, and every parameter set so far (queued until it is live)."""
        for producer, input_ids in self._router.closed_inputs(node_id).items():
            self._out.send(node_id, InputClosed(input_ids=input_ids, source_node=producer))
        for update in self._params.replay(node_id):
            self._out.send(node_id, update)
