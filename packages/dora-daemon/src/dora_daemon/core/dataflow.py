"""The state machine of one dataflow run, sans-I/O (spec/runtime.md §4-§11).

:class:`DataflowCore` takes :mod:`~dora_daemon.core.events` and returns
:mod:`~dora_daemon.core.actions`; it never touches a process, a socket or a clock. It
decides:

* node statuses, and on each exit whether the node restarts (its
  :class:`~dora_daemon.restart.RestartTracker`) or ends for good (its
  :func:`~dora_daemon.results.node_result`). Nothing restarts once the dataflow or the
  node is stopping, or every input of the node closed for good. A restart tells the
  node's receivers ``NodeRestarted`` at once (their inputs stay open), clears the old
  process group, waits the backoff (cut short when restarts get disabled), then spawns
  the node again with ``restart_count`` + 1, replaying ``InputClosed`` for inputs that
  closed meanwhile and every parameter set so far;
* the stop ladders (:mod:`~dora_daemon.core.ladder`): the dataflow's (STOP to every
  node, SIGTERM after the grace, SIGKILL half a grace later; ``force`` SIGKILLs at once)
  and one node's (``dora node stop`` / ``restart``, a finish straggler);
* routing (:class:`~dora_daemon.routing.Router`: closed inputs, ``NodeFailed``,
  ``NodeRestarted``, daemon-made inputs), whose messages come out as ``Send`` actions;
* finish rules (:mod:`~dora_daemon.finish`): a node whose inputs all closed gets
  ``finish_grace_secs`` to exit, then its own ladder, as a failure;
* the health check: a live node silent past ``health_check_timeout`` is SIGKILLed.

The start barrier (:class:`~dora_daemon.barrier.StartBarrier`) is created here and
handed to the control server, which records subscriptions in it (it parks the
connections); the core reads its verdict to classify exits.

Deadlines (backoffs, ladders, finish graces) are kept here: the caller asks
:meth:`DataflowCore.next_deadline` after each event and sends ``Tick(now)`` when it is
reached. A refused command (``RestartRequested`` of an unknown node, ...) raises
:class:`NodeControlError` before anything changes.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Mapping

from dora_daemon.barrier import StartBarrier
from dora_daemon.commands import NodeKind
from dora_daemon.core import actions as act
from dora_daemon.core import events as ev
from dora_daemon.core.dynamic_nodes import DynamicNodes
from dora_daemon.core.errors import NodeControlError
from dora_daemon.core.finish_graces import FinishGraces
from dora_daemon.core.ladder import Ladder
from dora_daemon.core.params import ParamMemory, is_param
from dora_daemon.core.status import NodeStatus
from dora_daemon.core.supervised import LastExit, Supervised
from dora_daemon.dynamic import DynamicError
from dora_daemon.health import DEFAULT_INTERVAL, FaultCounters, silent_nodes
from dora_daemon.missed import MissedMessages
from dora_daemon.resolve import ResolvedDataflow
from dora_daemon.restart import Decision, RestartPolicy, RestartTracker
from dora_daemon.results import Kill, describe_status, exited_before_init, node_result
from dora_daemon.routing import Router
from dora_message.common import LogMessage, NodeResult
from dora_message.config import NodeConfig
from dora_message.node_protocol import (
    STOP_NODE,
    STOP_RESTART,
    DaemonToNode,
    InputClosed,
    Stop,
)

log = logging.getLogger(__name__)

RESTART_GRACE = 10.0 / 2  # `dora node restart` grace when none is given
STOP_GRACE = 10.0  # `dora node stop` grace when none is given
RESTARTABLE = (NodeKind.CUSTOM, NodeKind.SHELL, NodeKind.OPERATOR)
"""Kinds the daemon restarts and health-checks (an operator runtime may crash: a
segfaulting shared-library operator); dynamic nodes are not the daemon's to restart."""


class _Outbox:
    """The router's sender: its messages become actions of the event being handled."""

    def __init__(self, actions: Callable[[], list[act.Action]]) -> None:
        self._actions = actions

    def send(self, node_id: str, message: DaemonToNode) -> None:
        self._actions().append(act.Send(node_id, message))

    def send_droppable(self, node_id: str, message: DaemonToNode, limit: int) -> None:
        self._actions().append(act.SendDroppable(node_id, message, limit))


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
        self.grace = grace
        self._health_interval = health_interval or DEFAULT_INTERVAL
        self.barrier = StartBarrier(dataflow.static_nodes)
        self.fault_counters = FaultCounters()
        self.missed = MissedMessages(lambda: dataflow.consumers, self._restart_count)
        self.results: dict[str, NodeResult] = {}
        self._out: list[act.Action] = []
        self.router = Router(dataflow, _Outbox(lambda: self._out), self._display)
        self._nodes: dict[str, Supervised] = {}  # spawned nodes, once started
        self._dynamic = DynamicNodes(
            n.id for n in dataflow.nodes.values() if n.kind is NodeKind.DYNAMIC
        )
        self._kills: dict[str, Kill] = {}
        self._culprit: str | None = None  # the node whose early failure failed the barrier
        self.stop_requested = False
        self.force = False
        self._ladder: Ladder | None = None  # the dataflow's stop ladder
        self._finish = FinishGraces(finish_grace)
        self._pending: dict[str, int] = {}  # node -> messages in its input queues
        self._params = ParamMemory()

    # ---- the machine ------------------------------------------------------------

    def handle(self, event: ev.Event) -> list[act.Action]:
        """Apply one event; the actions to carry out, in order."""
        self._dispatch(event)
        out, self._out = self._out, []
        return out

    def next_deadline(self) -> float | None:
        """When the next ``Tick`` is due (None: no deadline pending)."""
        deadlines = [n.restart_at for n in self._nodes.values() if n.restart_at is not None]
        deadlines += [
            d for n in self._nodes.values() if n.ladder and (d := n.ladder.next_deadline())
        ]
        if self._ladder is not None and (d := self._ladder.next_deadline()) is not None:
            deadlines.append(d)
        if (d := self._finish.next_deadline()) is not None:
            deadlines.append(d)
        return min(deadlines, default=None)

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
                self._spawn_failed(node_id, error, now)
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
                self._out.append(act.ForwardClosed(node_id, list(outputs)))
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

    def _display(self, record: LogMessage) -> None:
        self._out.append(act.Display(record))

    # ---- spawning ---------------------------------------------------------------

    def _start(self, now: float) -> None:
        for node_id in self.dataflow.static_nodes:
            resolved = self.dataflow.nodes[node_id]
            spec = resolved.descriptor_node
            restartable = resolved.kind in RESTARTABLE
            self._nodes[node_id] = Supervised(
                tracker=RestartTracker(RestartPolicy.of(spec), now) if restartable else None,
                health_timeout=spec.health_check_timeout if restartable else None,
            )
            self._out.append(act.Spawn(node_id))

    def _spawned(self, node_id: str) -> None:
        node = self._nodes[node_id]
        node.running = True
        node.status = "Running"
        if self.force:
            self._kill(node_id, Kill.FORCE)

    def _spawn_failed(self, node_id: str, message: str, now: float) -> None:
        node = self._nodes[node_id]
        if not self.barrier.decided:
            self._culprit = node_id
        self.results[node_id] = NodeResult(node_id=node_id, ok=False, cause=message)
        node.status = "Failed"
        self._out.append(act.CloseChannel(node_id, clean=False, error=message))
        self.router.node_failed(node_id, message)
        self._producer_ended(node_id, now)
        self._done(node_id, node)

    def _done(self, node_id: str, node: Supervised) -> None:
        """The node ended for good (its final status, Stopped or Failed, is set)."""
        node.restart_at = None
        self._out.append(act.Report(self.results[node_id]))

    # ---- exits and restarts -----------------------------------------------------

    def _exited(self, event: ev.Exited) -> None:
        node_id = event.node_id
        node = self._nodes[node_id]
        node.running = False
        node.ladder = None
        node.last_exit = LastExit(event.returncode, event.subscribed, tuple(event.stderr_tail))
        self.fault_counters.forget(node_id)
        self._pending.pop(node_id, None)
        decision = self._decide(node_id, node, event.returncode, event.now)
        if not decision.restart:
            self._ended(node_id, node, decision, event.now)
        else:
            self._restart(node_id, node, decision, event.now)

    def _decide(self, node_id: str, node: Supervised, returncode: int, now: float) -> Decision:
        disabled = self._restarts_disabled(node_id, node)
        if node.tracker is None:
            return Decision(False, reason="nodes of this kind are not restarted")
        forced, node.force_restart = node.force_restart, False
        return node.tracker.on_exit(
            success=returncode == 0, now=now, disabled=disabled, forced=forced
        )

    def _restarts_disabled(self, node_id: str, node: Supervised) -> str | None:
        if self.stop_requested or self.force:
            return "the dataflow is stopping"
        if node.stop_requested:
            return "it was stopped (dora node stop)"
        if self.router.all_inputs_closed(node_id):
            return "all its inputs are closed"
        return None

    def _ended(self, node_id: str, node: Supervised, decision: Decision, now: float) -> None:
        """The node will not run again: record its result and close its outputs."""
        last = node.last_exit
        assert last is not None
        self._finish_node(node_id, node, last, now)
        self.missed.ended(node_id)
        result = self.results[node_id]
        node.status = "Stopped" if result.ok else "Failed"
        tracker = node.tracker
        if tracker is not None and tracker.policy.mode != "never" and not self.stop_requested:
            if result.ok:
                log.warning(
                    "node %s exited (%s) and is not restarted: %s",
                    node_id,
                    describe_status(last.returncode),
                    decision.reason,
                )
            else:
                # the traceback itself is in the node's output and the final summary
                tail = last.stderr_tail
                log.error(
                    "node %s failed (%s) and is not restarted: %s (%d restart(s) so far)%s",
                    node_id,
                    describe_status(last.returncode),
                    decision.reason,
                    tracker.restarts,
                    f"; last stderr line: {tail[-1]}" if tail else "",
                )
        self._done(node_id, node)

    def _finish_node(self, node_id: str, node: Supervised, last: LastExit, now: float) -> None:
        self._out.append(act.StopTicking(node_id))
        self._finish.forget(node_id)
        returncode, subscribed = last.returncode, last.subscribed
        if not subscribed and not self.barrier.decided and returncode != 0:
            self._culprit = node_id
        # Nodes parked in the barrier got its error: their failure follows the culprit's.
        cascade = self._culprit if self.barrier.error and subscribed else None
        planned = self.stop_requested or node.stop_requested
        result = self.results[node_id] = node_result(
            node_id,
            returncode,
            stderr_tail=last.stderr_tail,
            subscribed=subscribed,
            stop_requested=planned,
            kill=self._kills.get(node_id, Kill.NONE),
            cascade_from=cascade,
        )
        if not subscribed and returncode == 0 and not planned:
            # a clean exit without ever creating its Node: say so, as dora-rs does
            log.warning(
                "node %s exited before initializing dora (it never created a Node)", node_id
            )
        # A planned-stop exit before subscribing is no start failure.
        error = exited_before_init(node_id, returncode, last.stderr_tail)
        self._out.append(act.CloseChannel(node_id, clean=result.ok, error=error))
        if not result.ok:  # before InputClosed: receivers learn why first
            self.router.node_failed(node_id, result.cause or "failed")
        self._producer_ended(node_id, now)

    def _restart(self, node_id: str, node: Supervised, decision: Decision, now: float) -> None:
        """Tell the receivers, clear the old group, back off, then respawn."""
        last = node.last_exit
        assert last is not None and node.tracker is not None
        node.status = "Restarting"
        self.fault_counters.restarts += 1
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
        self.router.node_restarted(node_id)  # at exit time, before the backoff
        self._out.append(act.ClearGroup(node_id))  # whatever the old incarnation left behind
        node.restart_at = now + decision.delay
        if decision.delay <= 0:
            self._respawn(node_id, node, now)

    def _respawn(self, node_id: str, node: Supervised, now: float) -> None:
        """The backoff is over (or cut short): spawn again, unless restarts got disabled."""
        node.restart_at = None
        disabled = self._restarts_disabled(node_id, node)
        if disabled is not None:
            log.warning("node %s is not restarted after all: %s", node_id, disabled)
            self._ended(node_id, node, Decision(False, reason=disabled), now)
            return
        assert node.tracker is not None
        self._kills.pop(node_id, None)
        self._out.append(act.Reconnect(node_id))
        self._catch_up(node_id)
        self._out.append(act.Spawn(node_id, node.tracker.restarts))

    def _catch_up(self, node_id: str) -> None:
        """A new incarnation learns at once which of its inputs closed meanwhile, and
        every parameter set so far (queued until it is live)."""
        for producer, input_ids in self.router.closed_inputs(node_id).items():
            self._send(node_id, InputClosed(input_ids=input_ids, source_node=producer))
        for update in self._params.replay(node_id):
            self._send(node_id, update)

    def _disable_restarts(self, now: float) -> None:
        """Restarts are off now: backoffs in progress end at once (their nodes end)."""
        for node_id, node in list(self._nodes.items()):
            if node.restart_at is not None and not node.done:
                self._respawn(node_id, node, now)

    # ---- outputs and finish rules -----------------------------------------------

    def _producer_ended(self, node_id: str, now: float) -> None:
        """Receivers here get InputClosed; remote ones once the bridge read all its data."""
        self.router.close_outputs(node_id)
        self._out.append(act.ProducerEnded(node_id))
        self._watch_finished_receivers(node_id, now)

    def _watch_finished_receivers(self, producer: str, now: float) -> None:
        """Arm the finish grace of every running receiver whose inputs are now all closed."""
        for (source, _output), readers in self.dataflow.consumers.items():
            if source != producer:
                continue
            for receiver in readers:
                node = self._nodes.get(receiver)
                if node is None or not node.running:
                    continue
                if self.router.all_inputs_closed(receiver):
                    spec = self.dataflow.nodes[receiver].descriptor_node
                    self._finish.arm(receiver, spec.finish_grace_secs, now)

    def _straggler(self, node_id: str, grace: float, now: float) -> None:
        """``node_id`` outlived its finish grace: stop it with the ladder, as a failure."""
        node = self._nodes.get(node_id)
        if node is None or not node.running:
            return
        if self.stop_requested or self.force:
            return  # the dataflow stop handles it
        log.warning(
            "node %s still runs %.1f s after all its inputs closed: stopping it", node_id, grace
        )
        self._kills.setdefault(node_id, Kill.FINISH)
        self._stop_one(node_id, node, self.grace, restart=False, now=now)

    # ---- stopping ---------------------------------------------------------------

    def _stop(self, now: float, force: bool, grace: float | None) -> None:
        if force:
            self.force = True
            self.stop_requested = True
            self._kill_all(Kill.FORCE)
        elif not self.stop_requested:
            self.stop_requested = True
            for node_id in self.dataflow.nodes:
                self._send(node_id, Stop())
            if self._ladder is None and not self.force:
                self._ladder = Ladder.start(now, self.grace if grace is None else grace)
        self._disable_restarts(now)

    def _kill_all(self, why: Kill) -> None:
        for node_id, node in self._nodes.items():
            if node.running:
                self._kill(node_id, why)

    def _kill(self, node_id: str, why: Kill) -> None:
        self._kills.setdefault(node_id, why)
        self._out.append(act.Signal(node_id, signal.SIGKILL))

    def _stop_one(
        self, node_id: str, node: Supervised, grace: float, *, restart: bool, now: float
    ) -> None:
        self._send(node_id, Stop(scope=STOP_RESTART if restart else STOP_NODE))
        if node.ladder is None or node.ladder.done:
            node.ladder = Ladder.start(now, grace)

    def _tick(self, now: float) -> None:
        if self._ladder is not None:
            for signum in self._ladder.due(now):
                if signum == signal.SIGKILL:
                    self._kill_all(Kill.GRACE)
                    continue
                for node_id, node in self._nodes.items():
                    if node.running:
                        log.warning(
                            "node %s did not stop within %.1f s: SIGTERM",
                            node_id,
                            self._ladder.grace,
                        )
                        self._out.append(act.Signal(node_id, signum))
        for node_id, node in list(self._nodes.items()):
            if node.ladder is not None:
                for signum in node.ladder.due(now):
                    if not node.running:
                        continue
                    if signum == signal.SIGKILL:
                        self._kill(node_id, Kill.GRACE)
                    else:
                        log.warning(
                            "node %s did not stop within %.1f s: SIGTERM",
                            node_id,
                            node.ladder.grace,
                        )
                        self._out.append(act.Signal(node_id, signum))
            if node.restart_at is not None and node.restart_at <= now:
                self._respawn(node_id, node, now)
        for due in self._finish.due(now):
            self._straggler(due.node_id, due.grace, now)

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
        if self.stop_requested:
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
        self._stop_one(node_id, node, grace, restart=True, now=now)

    def _node_stop_requested(self, node_id: str, now: float, grace: float | None) -> None:
        node = self._live_node(node_id)
        node.stop_requested = True
        node.force_restart = False
        if node.running:
            log.warning("stopping node %s on request", node_id)
            grace = STOP_GRACE if grace is None else grace
            self._stop_one(node_id, node, grace, restart=False, now=now)
        elif node.restart_at is not None:
            self._respawn(node_id, node, now)  # ends it: restarts are disabled now

    # ---- start barrier, health, dynamic nodes -----------------------------------

    def _barrier_decided(self, error: str | None, now: float) -> None:
        if error is None:
            self._out.append(act.StartTimers())
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
            self._kill(node_id, Kill.HEALTH)

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
        if node_id not in self._dynamic or self.stop_requested:
            return
        self._dynamic.left(node_id)
        self._out.append(act.Reconnect(node_id))
        self._catch_up(node_id)
        log.info("dynamic node %s left dataflow %s", node_id, self.dataflow_id)

    def dynamic_node_ids(self) -> list[str]:
        """The ``path: dynamic`` nodes of this dataflow."""
        return self._dynamic.ids()

    def join_dynamic(self, node_id: str, connected: bool) -> NodeConfig:
        """The config a dynamic node joins with; raises DynamicError when it cannot."""
        if self.stop_requested:
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
        statuses = {}
        for node_id, node in self._nodes.items():
            alive = node_id in pids
            broken = tuple(self.fault_counters.broken(node_id)) if alive else ()
            status = "Degraded" if node.status == "Running" and broken else node.status
            statuses[node_id] = NodeStatus(
                status=status,
                restarts=node.restarts,
                pid=pids.get(node_id),
                broken_inputs=broken,
                pending=self._pending.get(node_id, 0) if alive else None,
                dropped=self.missed.totals(node_id),
            )
        for node_id in self._dynamic.ids():
            state = self._dynamic.state(node_id)
            connected = node_id in dynamic_peers
            statuses[node_id] = NodeStatus(
                status="Running" if connected else state,
                restarts=0,
                pid=dynamic_peers.get(node_id),
                pending=self._pending.get(node_id) if connected else None,
                dropped=self.missed.totals(node_id),
                dynamic=True,
            )
        return statuses

    def close(self) -> None:
        """The run is over: log what is still open."""
        self.missed.ended()
        counters = self.fault_counters
        if counters.restarts or counters.health_check_kills or counters.input_timeouts:
            log.info("fault tolerance: %s", counters.summary())

    def _restart_count(self, node_id: str) -> int:
        node = self._nodes.get(node_id)
        return node.restarts if node is not None else 0

    def _send(self, node_id: str, message: DaemonToNode) -> None:
        self._out.append(act.Send(node_id, message))
