"""The state machine of one dataflow run, sans-I/O (spec/runtime.md §4-§11).

:class:`DataflowCore` takes :mod:`~dora_daemon.core.events` and returns
:mod:`~dora_daemon.core.actions`; it never touches a process, a socket or a clock. It
dispatches each event to the part that decides it, and sequences what spans parts (an
exit: restart or end; a stop: restarts disabled; a tick: every deadline due):

* :mod:`~dora_daemon.core.restarts`: on each exit, whether the node restarts, and each
  new incarnation's catch-up;
* :mod:`~dora_daemon.core.endings`: a node's result when it ends for good, its outputs
  closed, the finish rule (finish graces, stragglers);
* :mod:`~dora_daemon.core.stopping`: the dataflow's and one node's stop ladders, kills;
* :mod:`~dora_daemon.core.start_verdict`: the start barrier and the culprit of a failed
  start;
* routing (:class:`~dora_daemon.routing.Router`: closed inputs, ``NodeFailed``,
  ``NodeRestarted``, daemon-made inputs), whose messages come out as ``Send`` actions.

Here stay node statuses, the single-node commands (``dora node restart/stop``), the
health check (a live node silent past ``health_check_timeout`` is SIGKILLed), dynamic
nodes and parameter replay.

Deadlines (backoffs, ladders, finish graces) are kept by the parts: the caller asks
:meth:`DataflowCore.next_deadline` after each event and sends ``Tick(now)`` when it is
reached. A refused command (``RestartRequested`` of an unknown node, ...) raises
:class:`NodeControlError` before anything changes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from dora_daemon.barrier import StartBarrier
from dora_daemon.commands import NodeKind
from dora_daemon.core import actions as act
from dora_daemon.core import events as ev
from dora_daemon.core.dynamic_nodes import DynamicNodes
from dora_daemon.core.endings import Endings
from dora_daemon.core.errors import NodeControlError
from dora_daemon.core.outbox import Outbox
from dora_daemon.core.params import ParamMemory, is_param
from dora_daemon.core.restarts import Restarts
from dora_daemon.core.start_verdict import StartVerdict
from dora_daemon.core.status import NodeStatus, node_statuses
from dora_daemon.core.stopping import Stopping
from dora_daemon.core.supervised import LastExit, Supervised
from dora_daemon.dynamic import DynamicError
from dora_daemon.health import DEFAULT_INTERVAL, FaultCounters, silent_nodes
from dora_daemon.missed import MissedMessages
from dora_daemon.resolve import ResolvedDataflow
from dora_daemon.restart import Decision, RestartPolicy, RestartTracker
from dora_daemon.results import Kill
from dora_daemon.routing import Router
from dora_message.common import NodeResult
from dora_message.config import NodeConfig
from dora_message.node_protocol import DaemonToNode

log = logging.getLogger(__name__)

RESTART_GRACE = 10.0 / 2  # `dora node restart` grace when none is given
STOP_GRACE = 10.0  # `dora node stop` grace when none is given
RESTARTABLE = (NodeKind.CUSTOM, NodeKind.SHELL, NodeKind.OPERATOR)
"""Kinds the daemon restarts and health-checks (an operator runtime may crash: a
segfaulting shared-library operator); dynamic nodes are not the daemon's to restart."""


class DataflowCore:
    """One dataflow's decisions. Feed it with :meth:`handle`; carry out what it returns."""

    def __init__(
        self,
        dataflow: ResolvedDataflow,
        *,
        dataflow_id: str,
        grace: float,
        finish_grace: float | None,
        health_interval: float | None = None,
    ) -> None:
        """``grace``: the dataflow's stop grace; ``finish_grace``: the default
        ``finish_grace_secs`` (None: off); ``health_interval``: the descriptor's
        ``health_check_interval`` (None: the default)."""
        self.dataflow = dataflow
        self.dataflow_id = dataflow_id
        self._health_interval = health_interval or DEFAULT_INTERVAL
        self.fault_counters = FaultCounters()
        self.missed = MissedMessages(lambda: dataflow.consumers, self._restart_count)
        self._out = Outbox()
        self.router = Router(dataflow, self._out, self._out.display)
        self._nodes: dict[str, Supervised] = {}  # spawned nodes, once started
        self._dynamic = DynamicNodes(
            n.id for n in dataflow.nodes.values() if n.kind is NodeKind.DYNAMIC
        )
        self._pending: dict[str, int] = {}  # node -> messages in its input queues
        self._params = ParamMemory()
        self._verdict = StartVerdict(dataflow.static_nodes)
        self._stopping = Stopping(self._out, self._nodes, grace)
        self._endings = Endings(
            dataflow,
            self._nodes,
            out=self._out,
            router=self.router,
            stopping=self._stopping,
            verdict=self._verdict,
            missed=self.missed,
            finish_grace=finish_grace,
        )
        self._restarts = Restarts(
            out=self._out,
            router=self.router,
            stopping=self._stopping,
            params=self._params,
            fault_counters=self.fault_counters,
        )

    # ---- the machine ------------------------------------------------------------

    def handle(self, event: ev.Event) -> list[act.Action]:
        """Apply one event; the actions to carry out, in order."""
        self._dispatch(event)
        return self._out.take()

    def next_deadline(self) -> float | None:
        """When the next ``Tick`` is due (None: no deadline pending)."""
        deadlines = [n.restart_at for n in self._nodes.values() if n.restart_at is not None]
        deadlines += self._stopping.deadlines()
        if (d := self._endings.finish.next_deadline()) is not None:
            deadlines.append(d)
        return min(deadlines, default=None)

    @property
    def barrier(self) -> StartBarrier:
        """The start barrier (the control server records subscriptions in it)."""
        return self._verdict.barrier

    @property
    def results(self) -> dict[str, NodeResult]:
        """The nodes that ended for good, by id."""
        return self._endings.results

    @property
    def all_ended(self) -> bool:
        """Every spawned node ended for good (the run is over once started)."""
        return all(node.done for node in self._nodes.values())

    @property
    def health_interval(self) -> float | None:
        """How often to send ``HealthSweep`` (None: no node has a health check)."""
        if any(n.health_timeout for n in self._nodes.values()):
            return self._health_interval
        return None

    def _dispatch(self, event: ev.Event) -> None:
        match event:  # the frequent ones first: every output line of every node
            case ev.StdoutLine(node_id, line):
                self.router.stdout_line(node_id, line)
            case ev.LogRecord(node_id, record):
                self.router.publish_log(node_id, record)
            case ev.Start(now):
                self._start(now)
            case ev.Spawned(node_id):
                self._spawned(node_id)
            case ev.SpawnFailed(node_id, error, now):
                self._endings.spawn_failed(node_id, self._nodes[node_id], error, now)
            case ev.Exited():
                self._exited(event)
            case ev.StopRequested(now, force, grace):
                self._stop(now, force, grace)
            case ev.RestartRequested(node_id, now, grace):
                self._restart_requested(node_id, now, grace)
            case ev.NodeStopRequested(node_id, now, grace):
                self._node_stop_requested(node_id, now, grace)
            case ev.Tick(now):
                self._tick(now)
            case ev.HealthSweep(now, last_activity):
                self._health_sweep(now, last_activity)
            case ev.BarrierDecided(error, now):
                self._barrier_decided(error, now)
            case ev.OutputsClosed(node_id, outputs):
                self.router.close_outputs(node_id, outputs)
                self._out.add(act.ForwardClosed(node_id, list(outputs)))
            case ev.RemoteOutputsClosed(producer, outputs):
                self.router.close_outputs(producer, outputs)
            case ev.Disconnected(node_id):
                self._disconnected(node_id)
            case ev.InputsBroken(node_id, input_ids):
                self._inputs_broken(node_id, list(input_ids))
            case ev.InputsPending(node_id, count):
                self._pending[node_id] = count
            case ev.MessagesDropped(node_id, report):
                self.missed.dropped(
                    node_id, report.output_id, report.receiver, report.count, report.resumed
                )
            case ev.InputsUnread(node_id, counts):
                self.missed.unread(node_id, counts)

    # ---- spawning, exits and restarts -------------------------------------------

    def _start(self, now: float) -> None:
        for node_id in self.dataflow.static_nodes:
            resolved = self.dataflow.nodes[node_id]
            spec = resolved.descriptor_node
            restartable = resolved.kind in RESTARTABLE
            self._nodes[node_id] = Supervised(
                tracker=RestartTracker(RestartPolicy.of(spec), now) if restartable else None,
                health_timeout=spec.health_check_timeout if restartable else None,
            )
            self._out.add(act.Spawn(node_id))

    def _spawned(self, node_id: str) -> None:
        node = self._nodes[node_id]
        node.running = True
        node.status = "Running"
        if self._stopping.force:
            self._stopping.kill(node_id, Kill.FORCE)

    def _exited(self, event: ev.Exited) -> None:
        node_id = event.node_id
        node = self._nodes[node_id]
        node.running = False
        node.ladder = None
        node.last_exit = LastExit(event.returncode, event.subscribed, tuple(event.stderr_tail))
        self.fault_counters.forget(node_id)
        self._pending.pop(node_id, None)
        decision = self._restarts.decide(node_id, node, event.returncode, event.now)
        if not decision.restart:
            self._endings.ended(node_id, node, decision, event.now)
            return
        self._restarts.schedule(node_id, node, decision, event.now)
        if decision.delay <= 0:
            self._respawn(node_id, node, event.now)

    def _respawn(self, node_id: str, node: Supervised, now: float) -> None:
        """The backoff is over (or cut short): spawn again, unless restarts got disabled."""
        node.restart_at = None
        disabled = self._restarts.disabled(node_id, node)
        if disabled is not None:
            log.warning("node %s is not restarted after all: %s", node_id, disabled)
            self._endings.ended(node_id, node, Decision(False, reason=disabled), now)
            return
        self._restarts.respawn(node_id, node)

    def _disable_restarts(self, now: float) -> None:
        """Restarts are off now: backoffs in progress end at once (their nodes end)."""
        for node_id, node in list(self._nodes.items()):
            if node.restart_at is not None and not node.done:
                self._respawn(node_id, node, now)

    # ---- stopping and deadlines -------------------------------------------------

    def _stop(self, now: float, force: bool, grace: float | None) -> None:
        self._stopping.stop_dataflow(now, force, grace, self.dataflow.nodes)
        self._disable_restarts(now)

    def _tick(self, now: float) -> None:
        self._stopping.tick(now)
        for node_id, node in list(self._nodes.items()):
            if node.restart_at is not None and node.restart_at <= now:
                self._respawn(node_id, node, now)
        self._endings.tick(now)

    # ---- single-node commands ---------------------------------------------------

    def _live_node(self, node_id: str) -> Supervised:
        node = self._nodes.get(node_id)
        if node is None:
            known = ", ".join(sorted(self._nodes)) or "none"
            raise NodeControlError(f"no node `{node_id}` runs here (nodes: {known})")
        if node.done:
            raise NodeControlError(f"node `{node_id}` is not running any more ({node.status})")
        return node

    def _restart_requested(self, node_id: str, now: float, grace: float | None) -> None:
        if self._stopping.requested:
            raise NodeControlError(
                f"cannot restart node `{node_id}`: dataflow {self.dataflow_id} is stopping"
            )
        node = self._live_node(node_id)
        if node.tracker is None:
            raise NodeControlError(f"node `{node_id}` cannot be restarted (not started by dora)")
        if node.stop_requested:
            raise NodeControlError(f"node `{node_id}` is stopping")
        if not node.running:
            return  # already between two incarnations
        node.force_restart = True
        log.warning("restarting node %s on request", node_id)
        grace = RESTART_GRACE if grace is None else grace
        self._stopping.stop_one(node_id, node, grace, restart=True, now=now)

    def _node_stop_requested(self, node_id: str, now: float, grace: float | None) -> None:
        node = self._live_node(node_id)
        node.stop_requested = True
        node.force_restart = False
        if node.running:
            log.warning("stopping node %s on request", node_id)
            grace = STOP_GRACE if grace is None else grace
            self._stopping.stop_one(node_id, node, grace, restart=False, now=now)
        elif node.restart_at is not None:
            self._respawn(node_id, node, now)  # ends it: restarts are disabled now

    # ---- start barrier, health, dynamic nodes -----------------------------------

    def _barrier_decided(self, error: str | None, now: float) -> None:
        if error is None:
            self._out.add(act.StartTimers())
            return
        log.error("dataflow %s failed to start: %s", self.dataflow_id, error)
        self._stop(now, force=False, grace=None)

    def _health_sweep(self, now: float, last_activity: Mapping[str, float]) -> None:
        timeouts = {
            node_id: node.health_timeout
            for node_id, node in self._nodes.items()
            if node.health_timeout and node.status == "Running"
        }
        for node_id, silence in silent_nodes(now, timeouts, last_activity.get):
            if not self._nodes[node_id].running:
                continue
            log.warning(
                "node %s showed no activity for %.1f s (health_check_timeout %.1f s): killing it",
                node_id,
                silence,
                timeouts[node_id],
            )
            self.fault_counters.health_check_kills += 1
            self._stopping.kill(node_id, Kill.HEALTH)

    def _inputs_broken(self, node_id: str, input_ids: list[str]) -> None:
        broke, recovered = self.fault_counters.broken_inputs(node_id, input_ids)
        for input_id in sorted(broke):
            log.info("node %s: input %s timed out (circuit breaker open)", node_id, input_id)
        for input_id in sorted(recovered):
            log.info("node %s: input %s recovered", node_id, input_id)

    def _disconnected(self, node_id: str) -> None:
        """A dynamic node left: it may join again (a fresh connection is accepted), and
        meanwhile its receivers keep their inputs open, as in dora-rs (outputs it closed
        itself with ``close_outputs`` stay closed until it joins again)."""
        if node_id not in self._dynamic or self._stopping.requested:
            return
        self._dynamic.left(node_id)
        self._out.add(act.Reconnect(node_id))
        self._restarts.catch_up(node_id)
        log.info("dynamic node %s left dataflow %s", node_id, self.dataflow_id)

    def dynamic_node_ids(self) -> list[str]:
        """The ``path: dynamic`` nodes of this dataflow."""
        return self._dynamic.ids()

    def join_dynamic(self, node_id: str, connected: bool) -> NodeConfig:
        """The config a dynamic node joins with; raises DynamicError when it cannot."""
        if self._stopping.requested:
            raise DynamicError(f"dataflow {self.dataflow_id} is stopping")
        if connected:
            raise DynamicError(
                f"dynamic node `{node_id}` of dataflow {self.dataflow_id} is already connected"
            )
        if self._dynamic.rejoins(node_id):
            self.router.reopen_outputs(node_id)  # its receivers take its data again
        log.info("dynamic node %s joins dataflow %s", node_id, self.dataflow_id)
        return self.dataflow.nodes[node_id].config

    # ---- parameters and reloads (dora param, hot reload) ------------------------

    def check_deliverable(self, node_id: str) -> None:
        """Raise :class:`NodeControlError` unless ``node_id`` is a node of this run."""
        if node_id not in self._nodes and node_id not in self._dynamic:
            known = ", ".join(sorted([*self._nodes, *self._dynamic.ids()])) or "none"
            raise NodeControlError(f"no node `{node_id}` runs here (nodes: {known})")

    def held_for_restart(self, node_id: str, message: DaemonToNode) -> bool:
        """A parameter for a restarting node is kept for its next incarnation (True)."""
        node = self._nodes.get(node_id)
        if node is not None and node.status == "Restarting" and is_param(message):
            self._params.remember(node_id, message)
            return True
        return False

    def remember(self, node_id: str, message: DaemonToNode) -> None:
        """``message`` reached the node: a parameter is told again after a restart."""
        self._params.remember(node_id, message)

    # ---- reading ----------------------------------------------------------------

    def node_statuses(
        self, pids: Mapping[str, int], dynamic_peers: Mapping[str, int | None]
    ) -> dict[str, NodeStatus]:
        """Every node's status; ``pids``: live processes of spawned nodes,
        ``dynamic_peers``: connected dynamic nodes with their pid (None: unknown)."""
        return node_statuses(
            self._nodes,
            self._dynamic,
            pids=pids,
            dynamic_peers=dynamic_peers,
            pending=self._pending,
            fault_counters=self.fault_counters,
            missed=self.missed,
        )

    def close(self) -> None:
        """The run is over: log what is still open."""
        self.missed.ended()
        counters = self.fault_counters
        if counters.restarts or counters.health_check_kills or counters.input_timeouts:
            log.info("fault tolerance: %s", counters.summary())

    def _restart_count(self, node_id: str) -> int:
        node = self._nodes.get(node_id)
        return node.restarts if node is not None else 0
