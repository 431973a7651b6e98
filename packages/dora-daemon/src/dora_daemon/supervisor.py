"""Node supervision: restart policies, the health check, single-node stop and restart.

:class:`Supervision` is mixed into :class:`~dora_daemon.local.LocalDataflow`, which
owns the processes, the control server and the router; this module decides what
happens around each node process (spec/runtime.md §7-§9):

* every exit goes through the node's :class:`~dora_daemon.restart.RestartTracker`;
  nothing restarts once the dataflow or the node is stopping, or every input of the
  node closed for good. A restart tells the node's receivers ``NodeRestarted`` at once
  (their inputs stay open), kills what is left of the old process group, waits the
  backoff (cut short when restarts get disabled), then spawns the node again with
  ``restart_count`` + 1 and replays ``InputClosed`` for inputs that closed meanwhile;
* a node that ends for good is handed to ``_finish_node`` (result, ``NodeFailed`` and
  ``InputClosed`` downstream, barrier);
* the health check kills (SIGKILL, whole group) a live node silent for longer than its
  ``health_check_timeout``; the restart policy then applies as for any crash;
* ``restart_node`` / ``stop_node`` run the stop ladder (Stop, SIGTERM after the grace,
  SIGKILL half a grace later) on one node; the first restarts it whatever its policy,
  the second disables its restarts.

Process nodes (custom and shell) and runtime nodes (the operator runtime, whose
operators may crash it: a segfaulting shared-library operator) restart and are
health-checked; dynamic nodes are not the daemon's to restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import time
from typing import TYPE_CHECKING

from dora_daemon.commands import NodeKind
from dora_daemon.health import DEFAULT_INTERVAL, FaultCounters, silent_nodes
from dora_daemon.missed import MissedMessages
from dora_daemon.node_control import NodeStatus
from dora_daemon.resolve import ResolvedNode
from dora_daemon.restart import Decision, RestartPolicy, RestartTracker, with_restart_count
from dora_daemon.results import Kill, describe_status, tail_text
from dora_daemon.spawn import NodeProcess, spawn_node
from dora_message.common import NodeResult
from dora_message.errors import DoraError
from dora_message.node_protocol import (
    STOP_NODE,
    STOP_RESTART,
    DaemonToNode,
    DroppedMessages,
    InputClosed,
    ParamDeleted,
    ParamUpdate,
    Stop,
)

if TYPE_CHECKING:
    from dora_daemon.control import ControlServer
    from dora_daemon.local import RunOptions
    from dora_daemon.logs import NodeLogger
    from dora_daemon.resolve import ResolvedDataflow
    from dora_daemon.routing import Router
    from dora_message.descriptor import Descriptor

log = logging.getLogger(__name__)

RESTART_GRACE = 10.0 / 2  # `dora node restart` grace when none is given
STOP_GRACE = 10.0  # `dora node stop` grace when none is given
DRAIN_TIMEOUT = 1.0  # after a node exits, how long its control connection may still be read
RESTARTABLE = (NodeKind.CUSTOM, NodeKind.SHELL, NodeKind.OPERATOR)


class NodeControlError(DoraError):
    """A single-node command that cannot be carried out (unknown node, not running)."""


@dataclasses.dataclass(eq=False)
class _Node:
    """Supervision state of one node across its incarnations."""

    tracker: RestartTracker | None  # None: never restarts (not a RESTARTABLE kind)
    health_timeout: float | None
    wakeup: asyncio.Event  # set when restarts get disabled: cuts a backoff short
    done: asyncio.Event  # set when the node ended for good
    status: str = "Running"
    force_restart: bool = False  # the next exit restarts (dora node restart)
    stop_requested: bool = False  # dora node stop: never restart, a planned stop
    ladder: asyncio.Task[None] | None = None


class Supervision:
    """The supervision half of ``LocalDataflow`` (see the module docstring)."""

    # ---- provided by LocalDataflow ------------------------------------------------
    descriptor: Descriptor
    options: RunOptions
    _control: ControlServer | None
    _router: Router | None
    _dataflow: ResolvedDataflow | None
    _processes: dict[str, NodeProcess]
    _spawning: dict[str, asyncio.Event]
    _loggers: dict[str, NodeLogger]
    _results: dict[str, NodeResult]
    _kills: dict[str, Kill]
    _culprit: str | None
    _force: bool
    _stop_requested: bool
    _finished: bool
    _dynamic: dict[str, str]  # dynamic node -> Waiting | Left (when not connected)

    def _finish_node(self, node_id: str, process: NodeProcess, returncode: int) -> None:
        raise NotImplementedError

    def _producer_ended(self, node_id: str) -> None:
        raise NotImplementedError

    def _log_line(
        self, node_id: str, logger: NodeLogger, stream: str, line: str, raw: bool = True
    ) -> None:
        raise NotImplementedError

    # ---- state ----------------------------------------------------------------------

    def _supervision_init(self) -> None:
        self._supervised: dict[str, _Node] = {}
        self._health_task: asyncio.Task[None] | None = None
        self.fault_counters = FaultCounters()
        self._pending: dict[str, int] = {}  # node -> messages in its input queues
        # node -> set once its spawn call returned (its registration waits for that)
        self._spawning: dict[str, asyncio.Event] = {}
        self.missed = MissedMessages(self._consumers, self._restart_count)
        # node -> {key: value JSON}: parameters it was told, told again after a restart
        self._params: dict[str, dict[str, str]] = {}

    def node_statuses(self) -> dict[str, NodeStatus]:
        """Status, restart count, pid and broken inputs of every node spawned so far."""
        statuses = {}
        for node_id, node in self._supervised.items():
            process = self._processes.get(node_id)
            alive = process is not None and process.returncode is None
            broken = tuple(self.fault_counters.broken(node_id)) if alive else ()
            status = "Degraded" if node.status == "Running" and broken else node.status
            statuses[node_id] = NodeStatus(
                status=status,
                restarts=node.tracker.restarts if node.tracker else 0,
                pid=process.pid if alive and process is not None else None,
                broken_inputs=broken,
                pending=self._pending.get(node_id, 0) if alive else None,
                dropped=self.missed.totals(node_id),
            )
        for node_id, state in self._dynamic.items():
            connected = self._control is not None and self._control.connected(node_id)
            statuses[node_id] = NodeStatus(
                status="Running" if connected else state,
                restarts=0,
                pid=self._control.peer_pid(node_id) if connected and self._control else None,
                pending=self._pending.get(node_id) if connected else None,
                dropped=self.missed.totals(node_id),
                dynamic=True,
            )
        return statuses

    def _consumers(self) -> dict[tuple[str, str], dict[str, list[str]]]:
        return self._dataflow.consumers if self._dataflow is not None else {}

    def _restart_count(self, node_id: str) -> int:
        node = self._supervised.get(node_id)
        return node.tracker.restarts if node is not None and node.tracker else 0

    def _planned_stop(self, node_id: str) -> bool:
        """Whether this node alone was asked to stop (its exit is then no failure)."""
        return (node := self._supervised.get(node_id)) is not None and node.stop_requested

    def _disable_restarts(self) -> None:
        """The dataflow stops: no node restarts any more (pending backoffs end now)."""
        for node in self._supervised.values():
            node.wakeup.set()

    def _restarts_disabled(self, node_id: str, node: _Node) -> str | None:
        if self._stop_requested or self._force:
            return "the dataflow is stopping"
        if node.stop_requested:
            return "it was stopped (dora node stop)"
        assert self._router is not None
        if self._router.all_inputs_closed(node_id):
            return "all its inputs are closed"
        return None

    # ---- the restart loop ---------------------------------------------------------

    async def _run_node(self, resolved: ResolvedNode) -> None:
        """Run one node until it ends for good, restarting it as its policy says."""
        loop = asyncio.get_running_loop()
        spec = resolved.descriptor_node
        restartable = resolved.kind in RESTARTABLE
        node = self._supervised[resolved.id] = _Node(
            tracker=RestartTracker(RestartPolicy.of(spec), loop.time()) if restartable else None,
            health_timeout=spec.health_check_timeout if restartable else None,
            wakeup=asyncio.Event(),
            done=asyncio.Event(),
        )
        if node.health_timeout and self._health_task is None:
            interval = self.descriptor.health_check_interval or DEFAULT_INTERVAL
            self._health_task = asyncio.create_task(self._health_loop(interval))
        current = resolved
        try:
            while True:
                process = await self._spawn(current, node)
                if process is None:
                    return
                returncode = await process.wait()
                # what the node sent just before exiting is handled before its exit
                assert self._control is not None
                await self._control.drained(resolved.id, DRAIN_TIMEOUT)
                if node.ladder is not None:
                    node.ladder.cancel()
                    node.ladder = None
                self.fault_counters.forget(resolved.id)
                self._pending.pop(resolved.id, None)
                decision = self._decide(resolved.id, node, returncode)
                if not decision.restart:
                    self._ended(resolved.id, node, process, returncode, decision)
                    return
                await self._restart(resolved.id, node, process, returncode, decision)
                if node.done.is_set():
                    return
                assert node.tracker is not None
                current = with_restart_count(resolved, node.tracker.restarts)
        finally:
            node.done.set()

    async def _spawn(self, resolved: ResolvedNode, node: _Node) -> NodeProcess | None:
        assert self._control is not None and self._router is not None
        node_id = resolved.id
        logger = self._loggers[node_id]

        def on_line(stream: str, line: str) -> None:
            self._log_line(node_id, logger, stream, line)

        spawned = self._spawning[node_id] = asyncio.Event()
        try:
            process = await spawn_node(resolved, on_line)
        except OSError as error:
            spawned.set()
            self._spawning.pop(node_id, None)
            message = f"failed to spawn node {node_id} ({' '.join(resolved.argv)}): {error}"
            if not self._control.barrier.decided:
                self._culprit = node_id
            self._results[node_id] = NodeResult(node_id=node_id, ok=False, cause=message)
            node.status = "Failed"
            self._control.node_exited(node_id, clean=False, error=message)
            self._router.node_failed(node_id, message)
            self._producer_ended(node_id)
            return None
        self._processes[node_id] = process
        spawned.set()
        self._spawning.pop(node_id, None)
        node.status = "Running"
        if self._force:
            self._kills.setdefault(node_id, Kill.FORCE)
            process.signal_group(signal.SIGKILL)
        return process

    def _decide(self, node_id: str, node: _Node, returncode: int) -> Decision:
        disabled = self._restarts_disabled(node_id, node)
        if node.tracker is None:
            return Decision(False, reason="nodes of this kind are not restarted")
        forced, node.force_restart = node.force_restart, False
        now = asyncio.get_running_loop().time()
        return node.tracker.on_exit(
            success=returncode == 0, now=now, disabled=disabled, forced=forced
        )

    def _ended(
        self,
        node_id: str,
        node: _Node,
        process: NodeProcess,
        returncode: int,
        decision: Decision,
    ) -> None:
        """The node will not run again: record its result and close its outputs."""
        self._finish_node(node_id, process, returncode)
        self.missed.ended(node_id)
        result = self._results[node_id]
        node.status = "Stopped" if result.ok else "Failed"
        tracker = node.tracker
        if tracker is None or tracker.policy.mode == "never" or self._stop_requested:
            return
        if result.ok:
            log.warning(
                "node %s exited (%s) and is not restarted: %s",
                node_id,
                describe_status(returncode),
                decision.reason,
            )
            return
        log.error(
            "node %s failed (%s) and is not restarted: %s (%d restart(s) so far); "
            "last stderr lines:\n%s",
            node_id,
            describe_status(returncode),
            decision.reason,
            tracker.restarts,
            tail_text(process.stderr_tail, 10),
        )

    async def _restart(
        self,
        node_id: str,
        node: _Node,
        process: NodeProcess,
        returncode: int,
        decision: Decision,
    ) -> None:
        """Tell the receivers, clear the old group, back off, get ready to respawn."""
        assert self._router is not None and self._control is not None
        assert node.tracker is not None
        node.status = "Restarting"
        self.fault_counters.restarts += 1
        # a failure's last words (a runtime node names the operator that failed or crashed)
        tail = process.stderr_tail
        said = f"; last stderr line: {tail[-1]}" if returncode != 0 and tail else ""
        log.warning(
            "node %s exited (%s): restarting it in %.2f s (%s, restart %d)%s",
            node_id,
            describe_status(returncode),
            decision.delay,
            decision.reason,
            node.tracker.restarts,
            said,
        )
        self._router.node_restarted(node_id)  # at exit time, before the backoff
        process.signal_group(signal.SIGKILL)  # whatever the old incarnation left behind
        process.close()
        if decision.delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(node.wakeup.wait(), decision.delay)
        disabled = self._restarts_disabled(node_id, node)
        if disabled is not None:
            log.warning("node %s is not restarted after all: %s", node_id, disabled)
            self._ended(node_id, node, process, returncode, Decision(False, reason=disabled))
            node.done.set()
            return
        self._kills.pop(node_id, None)
        self._control.restarting(node_id)
        for producer, input_ids in self._router.closed_inputs(node_id).items():
            self._control.send(node_id, InputClosed(input_ids=input_ids, source_node=producer))
        self._replay_params(node_id)

    def _replay_params(self, node_id: str) -> None:
        """A new incarnation learns every parameter set so far (queued until it is live)."""
        assert self._control is not None
        for key, value_json in sorted(self._params.get(node_id, {}).items()):
            self._control.send(node_id, ParamUpdate(key=key, value_json=value_json))

    # ---- health check -------------------------------------------------------------

    async def _health_loop(self, interval: float) -> None:
        while not self._finished:
            await asyncio.sleep(interval)
            if self._control is None or self._finished:
                continue
            timeouts = {
                node_id: node.health_timeout
                for node_id, node in self._supervised.items()
                if node.health_timeout and node.status == "Running"
            }
            for node_id, silence in silent_nodes(
                time.monotonic(), timeouts, self._control.last_activity
            ):
                process = self._processes.get(node_id)
                if process is None or process.returncode is not None:
                    continue
                log.warning(
                    "node %s showed no activity for %.1f s (health_check_timeout %.1f s): "
                    "killing it",
                    node_id,
                    silence,
                    timeouts[node_id],
                )
                self.fault_counters.health_check_kills += 1
                self._kills.setdefault(node_id, Kill.HEALTH)
                process.signal_group(signal.SIGKILL)

    def _stop_supervision(self) -> None:
        """The dataflow is over: stop the health check and any single-node ladders."""
        if self._health_task is not None:
            self._health_task.cancel()
        self.missed.ended()
        counters = self.fault_counters
        if counters.restarts or counters.health_check_kills or counters.input_timeouts:
            log.info("fault tolerance: %s", counters.summary())
        for node in self._supervised.values():
            if node.ladder is not None:
                node.ladder.cancel()

    def inputs_broken(self, node_id: str, input_ids: list[str]) -> None:
        """The node reports its open circuit breakers (``input_timeout``)."""
        broke, recovered = self.fault_counters.broken_inputs(node_id, input_ids)
        for input_id in sorted(broke):
            log.info("node %s: input %s timed out (circuit breaker open)", node_id, input_id)
        for input_id in sorted(recovered):
            log.info("node %s: input %s recovered", node_id, input_id)

    def inputs_pending(self, node_id: str, count: int) -> None:
        """The node reports how many messages wait in its input queues."""
        self._pending[node_id] = count

    def messages_dropped(self, node_id: str, report: DroppedMessages) -> None:
        """The node could not hand messages to a receiver (restarting, or gone)."""
        self.missed.dropped(
            node_id, report.output_id, report.receiver, report.count, report.resumed
        )

    def inputs_unread(self, node_id: str, counts: dict[str, int]) -> None:
        """The node leaves to be restarted with these messages unread."""
        self.missed.unread(node_id, counts)

    # ---- single-node control ------------------------------------------------------

    def _live_node(self, node_id: str) -> tuple[_Node, NodeProcess | None]:
        node = self._supervised.get(node_id)
        if node is None:
            known = ", ".join(sorted(self._supervised)) or "none"
            raise NodeControlError(f"no node `{node_id}` runs here (nodes: {known})")
        if node.done.is_set():
            raise NodeControlError(f"node `{node_id}` is not running any more ({node.status})")
        process = self._processes.get(node_id)
        if process is not None and process.returncode is not None:
            process = None  # between two incarnations
        return node, process

    def restart_node(self, node_id: str, grace: float | None = None) -> None:
        """Stop the node (Stop, then the kill ladder) and start it again at once."""
        if self._stop_requested:
            raise NodeControlError("the dataflow is stopping")
        node, process = self._live_node(node_id)
        if node.tracker is None:
            raise NodeControlError(f"node `{node_id}` cannot be restarted (not started by dora)")
        if node.stop_requested:
            raise NodeControlError(f"node `{node_id}` is stopping")
        if process is None:
            return  # already between two incarnations
        node.force_restart = True
        log.warning("restarting node %s on request", node_id)
        self._stop_one(node_id, node, process, RESTART_GRACE if grace is None else grace, True)

    async def stop_node(self, node_id: str, grace: float | None = None) -> NodeResult | None:
        """Stop the node for good (whatever its policy); returns once it has ended."""
        node, process = self._live_node(node_id)
        node.stop_requested = True
        node.force_restart = False
        node.wakeup.set()
        if process is not None:
            log.warning("stopping node %s on request", node_id)
            self._stop_one(node_id, node, process, STOP_GRACE if grace is None else grace, False)
        await node.done.wait()
        return self._results.get(node_id)

    def deliver(self, node_id: str, message: DaemonToNode) -> None:
        """Push a message whose loss must be reported (``dora param``) into the node's
        event stream; raises :class:`NodeControlError` when it cannot."""
        if node_id not in self._supervised and node_id not in self._dynamic:
            known = ", ".join(sorted([*self._supervised, *self._dynamic])) or "none"
            raise NodeControlError(f"no node `{node_id}` runs here (nodes: {known})")
        if self._control is None:
            raise NodeControlError(f"node `{node_id}` not connected")
        node = self._supervised.get(node_id)
        if node is not None and node.status == "Restarting" and _is_param(message):
            self._remember_param(node_id, message)  # the next incarnation is told
            return
        error = self._control.deliver(node_id, message)
        if error is not None:
            raise NodeControlError(error)
        self._remember_param(node_id, message)

    def _remember_param(self, node_id: str, message: DaemonToNode) -> None:
        if isinstance(message, ParamUpdate):
            self._params.setdefault(node_id, {})[message.key] = message.value_json
        elif isinstance(message, ParamDeleted):
            self._params.get(node_id, {}).pop(message.key, None)

    def _stop_one(
        self, node_id: str, node: _Node, process: NodeProcess, grace: float, restart: bool
    ) -> None:
        assert self._control is not None
        self._control.send(node_id, Stop(scope=STOP_RESTART if restart else STOP_NODE))
        if node.ladder is None or node.ladder.done():
            node.ladder = asyncio.create_task(self._node_ladder(node_id, process, grace))

    async def _node_ladder(self, node_id: str, process: NodeProcess, grace: float) -> None:
        await asyncio.sleep(grace)
        if process.returncode is None:
            log.warning("node %s did not stop within %.1f s: SIGTERM", node_id, grace)
            process.signal_group(signal.SIGTERM)
        await asyncio.sleep(grace / 2)
        if process.returncode is None:
            self._kills.setdefault(node_id, Kill.GRACE)
            process.signal_group(signal.SIGKILL)


def _is_param(message: DaemonToNode) -> bool:
    return isinstance(message, ParamUpdate | ParamDeleted)
