"""``dora run``: one dataflow run by an in-process daemon (spec/runtime.md §2).

Resolve the descriptor, serve the control socket, spawn every static node, release the
start barrier, start timers, route daemon-made inputs and closed inputs, and end when
every node process has exited (naturally, after ``stop_after``, or through :meth:`stop`).
Nothing of a dataflow survives :meth:`LocalDataflow.run`: leftover group members are
killed and stray ``/dev/shm`` files of the dataflow removed.
With a ``ClusterPart`` (a dataflow spanning daemons) only the nodes placed here run,
data crossing machines goes through :mod:`dora_daemon.bridge`, and the start barrier
waits for the coordinator's word that every daemon is ready.

What to do is decided by the dataflow's sans-I/O :class:`~dora_daemon.core.DataflowCore`
(see docs/daemon-core.md); this module owns processes, sockets and timers, turns what
happens to them into events and carries out the actions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from dora_daemon import forkserver, forkserver_launch
from dora_daemon.bridge import bridge_address, watch_address
from dora_daemon.commands import NodeKind
from dora_daemon.control import ControlServer, spawned_session_check
from dora_daemon.core.actions import (
    Action,
    ClearGroup,
    CloseChannel,
    Display,
    ForwardClosed,
    ProducerEnded,
    Reconnect,
    Report,
    Send,
    SendDroppable,
    Signal,
    Spawn,
    StartTimers,
    StopTicking,
)
from dora_daemon.core.dataflow import DataflowCore
from dora_daemon.core.errors import NodeControlError
from dora_daemon.core.events import (
    BarrierDecided,
    Disconnected,
    Event,
    Exited,
    HealthSweep,
    InputsBroken,
    InputsPending,
    InputsUnread,
    LogRecord,
    MessagesDropped,
    NodeStopRequested,
    OutputsClosed,
    RemoteOutputsClosed,
    RestartRequested,
    Spawned,
    SpawnFailed,
    Start,
    StdoutLine,
    StopRequested,
    Tick,
)
from dora_daemon.core.status import NodeStatus
from dora_daemon.dynamic import LISTENER, DynamicError
from dora_daemon.finish import default_finish_grace
from dora_daemon.forkserver import ForkServer
from dora_daemon.guardian import start_guardian
from dora_daemon.logs import NodeLogger, now_rfc3339
from dora_daemon.node_log_level import wanted_level
from dora_daemon.resolve import (
    ResolvedDataflow,
    ResolvedNode,
    daemon_address,
    node_address,
    resolve_dataflow,
)
from dora_daemon.restart import with_restart_count
from dora_daemon.spawn import NodeProcess, describe_spawn_failure, spawn_node
from dora_daemon.timers import Timers
from dora_message.common import DataflowResult, LogMessage, NodeResult
from dora_message.config import NodeConfig
from dora_message.constants import ENV_NODE_LOG_LEVEL
from dora_message.descriptor import Descriptor
from dora_message.node_protocol import DaemonToNode, DroppedMessages, NodeLog
from dora_message.node_protocol import Tick as NodeTick

if TYPE_CHECKING:
    from dora_daemon.bridge.dataflow import ClusterPart, DataflowBridge
    from dora_daemon.bridge.mesh import Mesh
    from dora_daemon.bridge.watch import DataflowWatch
    from dora_message.daemon_to_coordinator import NetworkMetric

log = logging.getLogger(__name__)

TICK_BUFFER_LIMIT = 64 * 1024  # unread bytes after which a node's ticks are dropped
GROUP_EXIT_TIMEOUT = 2.0  # how long to wait for SIGKILLed group members to vanish
SPAWN_WAIT = 10.0  # a registration waits at most this long for its node's spawn to return
FORK_SERVER_SHRINK_DELAY = 0.5  # after the initial spawns, before the fork server shrinks
DRAIN_TIMEOUT = 1.0  # after a node exits, how long its control connection may still be read
_SHM_DIR = Path("/dev/shm")
_json = msgspec.json.Encoder()


@dataclass
class RunOptions:
    """Options of ``dora run`` that the daemon honours."""

    stop_after: float | None = None
    uv: bool = False
    allow_shell_nodes: bool = False
    grace: float = 10.0
    # node id -> (working dir, path to run) for fetched nodes (dora_daemon.sources)
    sources: dict[str, tuple[Path, str]] = field(default_factory=dict)
    # `dora run --log-level` and `--log-filter` overrides: nodes log that verbosely
    shown_level: str | None = None
    shown_levels: dict[str, str] = field(default_factory=dict)
    # Python nodes may be forked from a warm interpreter (dora_daemon.forkserver). Only
    # `dora run` asks: a daemon's metrics take its direct children for its nodes.
    fork_server: bool = False


class LocalDataflow:
    """One dataflow run in this process. Use from a single event loop.

    The decisions (node statuses, restarts, the stop ladders, routing, finish rules,
    the health check) are the :class:`~dora_daemon.core.DataflowCore`'s; this class
    owns the processes, the control server, the bridge and the timers, feeds the core
    what happens to them and carries out the actions it returns.
    """

    def __init__(
        self,
        descriptor: Descriptor,
        base_dir: Path,
        options: RunOptions,
        on_log: Callable[[LogMessage], None],
        dataflow_id: str | None = None,
        cluster: ClusterPart | None = None,
        watch_mesh: Mesh | None = None,
    ) -> None:
        self.dataflow_id = dataflow_id or str(uuid.uuid4())
        self.cluster = cluster
        self._bridge: DataflowBridge | None = None
        # the daemon's zenoh session when every output is published for `dora topic`
        self.watch_mesh = watch_mesh
        self._watch: DataflowWatch | None = None
        self.descriptor = descriptor
        self.base_dir = Path(base_dir).resolve()
        self.options = options
        self._on_log = on_log
        self._core: DataflowCore | None = None
        self._early_stop: bool | None = None  # stop() before the run began: force?
        self._control: ControlServer | None = None
        self._timers: Timers | None = None
        self._processes: dict[str, NodeProcess] = {}
        self._fork_server: ForkServer | None = None
        self._first_spawns: set[str] = set()  # static nodes not spawned yet
        self._shrink_task: asyncio.Task[None] | None = None
        # node -> set once its spawn call returned (its registration waits for that)
        self._spawning: dict[str, asyncio.Event] = {}
        self._loggers: dict[str, NodeLogger] = {}
        self._ended: dict[str, asyncio.Event] = {}  # node -> set when it ended for good
        self._all_ended: asyncio.Event | None = None
        self._incarnations: set[asyncio.Task[None]] = set()
        self._tick: asyncio.TimerHandle | None = None
        self._tick_at: float | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False
        self._resolved: ResolvedDataflow | None = None
        self._bridge_at: str | None = None
        self._watch_at: str | None = None
        self._launched = False  # the core was started: events go to it
        self._closing = False  # shutting down: what happens now changes nothing
        self._finished = False

    # ---- public ----------------------------------------------------------------

    async def _spawned_pid(self, node_id: str) -> int | None:
        """The pid of the node's running incarnation (None between a crash and its
        restart): only its session may register as the node. A spawn in progress is
        waited for: its process may connect before the spawn call returns."""
        spawning = self._spawning.get(node_id)
        if spawning is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(spawning.wait(), SPAWN_WAIT)
        process = self._processes.get(node_id)
        if process is None or process.returncode is not None:
            return None
        return process.pid

    def resolve(
        self, *, spans: bool, watched: bool, local: set[str] | None = None
    ) -> ResolvedDataflow:
        """Resolve the descriptor for this run, once (pure: nothing starts).

        ``spans``: other daemons run nodes of it (its outputs may go to the bridge);
        ``watched``: ``dora topic`` taps every output; ``local``: the nodes that run here
        (None: all). The daemon calls this before it sets anything up, so a bad path is
        the spawn's error; :meth:`run` calls it when nobody did.
        Raises :class:`~dora_message.errors.DescriptorError` naming the node.
        """
        if self._resolved is not None:
            raise RuntimeError("a LocalDataflow is resolved once")
        token = secrets.token_hex(4)
        self._bridge_at = bridge_address(self.dataflow_id, token) if spans else None
        self._watch_at = watch_address(self.dataflow_id, token) if watched else None
        self._resolved = resolve_dataflow(
            self.descriptor,
            self.base_dir,
            dataflow_id=self.dataflow_id,
            daemon_address=daemon_address(self.dataflow_id, token),
            host_env=os.environ,
            parent_pid=os.getpid(),
            uv=self.options.uv,
            allow_shell_nodes=self.options.allow_shell_nodes,
            sources=self.options.sources,
            local=local,
            bridge_address=self._bridge_at,
            watch_address=self._watch_at,
        )
        return self._resolved

    async def run(self) -> DataflowResult:
        """Run the dataflow to its end and report how every node ended.

        Raises :class:`~dora_message.errors.DescriptorError` before anything starts when
        the descriptor cannot be run.
        """
        if self._started:
            raise RuntimeError("a LocalDataflow runs once")
        self._started = True
        loop = self._loop = asyncio.get_running_loop()
        cluster = self.cluster
        if self._resolved is None:
            self.resolve(
                spans=cluster is not None,
                watched=self.watch_mesh is not None,
                local=cluster.local_nodes if cluster else None,
            )
        dataflow = self._resolved
        assert dataflow is not None
        bridge_at, watch_at = self._bridge_at, self._watch_at
        for warning in dataflow.warnings:
            log.warning("%s", warning)
        self._tell_log_levels(dataflow)
        core = self._core = DataflowCore(
            dataflow,
            dataflow_id=self.dataflow_id,
            grace=self.options.grace,
            finish_grace=default_finish_grace(),
            health_interval=self.descriptor.health_check_interval,
        )
        static = [dataflow.nodes[node_id] for node_id in dataflow.static_nodes]
        self._ended = {node.id: asyncio.Event() for node in static}
        self._all_ended = asyncio.Event()
        self._control = ControlServer(
            self.dataflow_id,
            dataflow.daemon_address,
            dataflow.nodes,
            core.barrier,
            self,
            gated=cluster is not None,
            node_secrets={n.id: n.config.secret for n in dataflow.nodes.values()},
            check_process=spawned_session_check(
                self._spawned_pid,
                {n.id for n in dataflow.nodes.values() if n.kind is NodeKind.DYNAMIC},
            ),
        )
        self._timers = Timers(dataflow.timers, self._send_tick)
        self._fork_server = self._take_fork_server(static)
        self._first_spawns = {node.id for node in static}
        # the guardian's start (an interpreter, waited for) would otherwise hold up the
        # loop in the first spawn, when nodes are about to connect
        loop.run_in_executor(None, start_guardian)
        stop_timer: asyncio.TimerHandle | None = None
        try:
            await self._control.start()
            if cluster is not None and bridge_at is not None:
                from dora_daemon.bridge.dataflow import DataflowBridge

                self._bridge = DataflowBridge(
                    cluster,
                    self.dataflow_id,
                    dataflow.consumers,
                    bridge_at,
                    self._remote_closed,
                    dataflow.key,
                )
                self._bridge.start()
                self._control.check_barrier()
            if self.watch_mesh is not None and watch_at is not None:
                self._start_watch(dataflow, watch_at)
            dynamic = [n for n in dataflow.nodes.values() if n.kind is NodeKind.DYNAMIC]
            self._loggers = {node.id: self._open_logger(node) for node in (*static, *dynamic)}
            if dynamic:
                await self._serve_dynamic([node.id for node in dynamic])
            self._launched = True
            self._feed(Start(loop.time()))
            interval = core.health_interval
            if interval is not None:
                self._health_task = asyncio.create_task(self._health_loop(interval))
            if self.options.stop_after is not None:
                stop_timer = loop.call_later(self.options.stop_after, self.stop)
            if self._early_stop is not None:
                self._feed(StopRequested(loop.time(), force=self._early_stop))
            await self._all_ended.wait()
        finally:
            if stop_timer is not None:
                stop_timer.cancel()
            if core.dynamic_node_ids():
                await LISTENER.remove(self)
            await self._shutdown()
            self._finished = True
        return DataflowResult(
            dataflow_id=self.dataflow_id,
            node_results=[core.results[node.id] for node in static if node.id in core.results],
        )

    def _take_fork_server(self, static: list[ResolvedNode]) -> ForkServer | None:
        """The fork server for this run's Python nodes: the one ``dora run`` started
        early, else a new one when a node can use it and the options ask for it (not for
        a dataflow spanning daemons); None otherwise."""
        launched = forkserver_launch.take_prestarted()
        env = launched.env if launched is not None else forkserver_launch.server_env()
        wanted = (
            self.options.fork_server
            and self.cluster is None
            and forkserver_launch.enabled()
            and any(forkserver.eligible(node, env) for node in static)
        )
        if not wanted:
            if launched is not None:
                ForkServer(launched).close()
            return None
        return ForkServer.start(launched)

    def _start_watch(self, dataflow: ResolvedDataflow, watch_at: str) -> None:
        """Publish every output for ``dora topic`` (the daemon's zenoh session)."""
        from dora_daemon.bridge.watch import DataflowWatch

        assert self.watch_mesh is not None
        here = dataflow.nodes
        outputs = {n.id: list(n.config.outputs) for n in here.values()}
        readers: dict[str, dict[str, list[str]]] = {}
        for (producer, output), receivers in dataflow.consumers.items():
            local = [r for r in receivers if r in here]
            if local:
                readers.setdefault(producer, {})[output] = local
        addresses = {n: node_address(self.dataflow_id, n) for n in here}
        self._watch = DataflowWatch(
            self.watch_mesh,
            self.dataflow_id,
            outputs,
            watch_at,
            readers,
            addresses,
            dataflow.key,
        )
        self._watch.start()

    def _tell_log_levels(self, dataflow: ResolvedDataflow) -> None:
        """Nodes whose debug records somebody wants learn it (see node_log_level)."""
        for node in dataflow.nodes.values():
            wishes = (
                node.logs.min_log_level,
                self.options.shown_levels.get(node.id, self.options.shown_level),
            )
            level = wanted_level(wishes)
            if level is not None:
                node.env[ENV_NODE_LOG_LEVEL] = level

    def stop(self, force: bool = False) -> None:
        """Stop the dataflow: Stop events, then SIGTERM after the grace, then SIGKILL.

        A second call is ignored unless ``force``, which kills every node group at once.
        Call from the event-loop thread (e.g. a loop signal handler).
        """
        if self._finished:
            return
        if not self._launched:
            self._early_stop = force or bool(self._early_stop)
            return
        self._feed(StopRequested(self._now(), force=force))

    def release_barrier(self, error: str | None) -> None:
        """The coordinator says every daemon is ready (or ``error``): release here."""
        if self._control is not None and not self._finished:
            self._control.open_gate(error)

    def network(self) -> NetworkMetric | None:
        """Cross-daemon traffic so far (None: the dataflow spans no other machine)."""
        return None if self._bridge is None else self._bridge.traffic()

    def node_statuses(self) -> dict[str, NodeStatus]:
        """Status, restart count, pid and broken inputs of every node spawned so far."""
        if self._core is None:
            return {}
        pids = {n: p.pid for n, p in self._processes.items() if p.returncode is None}
        control = self._control
        peers = {
            node_id: control.peer_pid(node_id)
            for node_id in self._core.dynamic_node_ids()
            if control is not None and control.connected(node_id)
        }
        return self._core.node_statuses(pids, peers)

    def restart_node(self, node_id: str, grace: float | None = None) -> None:
        """Stop the node (Stop, then the kill ladder) and start it again at once."""
        self._require_core(node_id)
        self._feed(RestartRequested(node_id, self._now(), grace))

    async def stop_node(self, node_id: str, grace: float | None = None) -> NodeResult | None:
        """Stop the node for good (whatever its policy); returns once it has ended."""
        self._require_core(node_id)
        self._feed(NodeStopRequested(node_id, self._now(), grace))
        await self._ended[node_id].wait()
        assert self._core is not None
        return self._core.results.get(node_id)

    def deliver(self, node_id: str, message: DaemonToNode) -> None:
        """Push a message whose loss must be reported (``dora param``) into the node's
        event stream; raises :class:`NodeControlError` when it cannot."""
        core = self._require_core(node_id)
        core.check_deliverable(node_id)
        if self._control is None:
            raise NodeControlError(f"node `{node_id}` not connected")
        if core.held_for_restart(node_id, message):
            return  # the next incarnation is told
        error = self._control.deliver(node_id, message)
        if error is not None:
            raise NodeControlError(error)
        core.remember(node_id, message)

    def _require_core(self, node_id: str) -> DataflowCore:
        if self._core is None:
            raise NodeControlError(f"no node `{node_id}` runs here (nodes: none)")
        return self._core

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _remote_closed(self, producer: str, outputs: list[str]) -> None:
        if self._core is not None and not self._finished:
            self._feed(RemoteOutputsClosed(producer, outputs))

    # ---- control events (called by ControlServer) ------------------------------

    def barrier_ready(self, error: str | None) -> None:
        """Every local node subscribed (or one failed): tell the coordinator."""
        if self._bridge is not None:
            self._bridge.report_ready(error)

    def barrier_decided(self) -> None:
        """Start timers when the barrier releases; stop everything when it failed."""
        assert self._control is not None
        self._feed(BarrierDecided(self._control.barrier.error, self._now()))

    def outputs_closed(self, node_id: str, outputs: list[str]) -> None:
        """A node closed some outputs: their receivers see InputClosed now."""
        self._feed(OutputsClosed(node_id, outputs))

    def node_log(self, node_id: str, record: NodeLog) -> None:
        """An out-of-band log record goes the same way as a structured output line."""
        line = {
            "timestamp": now_rfc3339(),
            "level": record.level,
            "message": record.message,
            "target": record.target,
            "fields": record.fields,
        }
        logger = self._loggers.get(node_id)
        if logger is not None:
            self._log_line(node_id, logger, "stdout", _json.encode(line).decode(), raw=False)

    def disconnected(self, node_id: str) -> None:
        """A node's connection closed (a dynamic node may join again)."""
        if not self._finished:
            self._feed(Disconnected(node_id))

    def inputs_broken(self, node_id: str, input_ids: list[str]) -> None:
        """The node reports its open circuit breakers (``input_timeout``)."""
        self._feed(InputsBroken(node_id, input_ids), routine=True)

    def inputs_pending(self, node_id: str, count: int) -> None:
        """The node reports how many messages wait in its input queues."""
        self._feed(InputsPending(node_id, count), routine=True)

    def messages_dropped(self, node_id: str, report: DroppedMessages) -> None:
        """The node could not hand messages to a receiver (restarting, or gone)."""
        self._feed(MessagesDropped(node_id, report), routine=True)

    def inputs_unread(self, node_id: str, counts: dict[str, int]) -> None:
        """The node leaves to be restarted with these messages unread."""
        self._feed(InputsUnread(node_id, counts), routine=True)

    # ---- dynamic nodes (dora_daemon.dynamic) -------------------------------------

    async def _serve_dynamic(self, node_ids: list[str]) -> None:
        port = await LISTENER.add(self)
        names = ", ".join(f"`{n}`" for n in node_ids)
        where = f"127.0.0.1:{port}" if port is not None else "nowhere (see the error above)"
        log.warning(
            "dataflow %s waits for dynamic node(s) %s: start them with Node(%r) "
            "(dynamic nodes join on %s)",
            self.dataflow_id,
            names,
            node_ids[0],
            where,
        )

    def dynamic_node_ids(self) -> list[str]:
        """The ``path: dynamic`` nodes of this dataflow."""
        return [] if self._core is None else self._core.dynamic_node_ids()

    def dynamic_config(self, node_id: str) -> NodeConfig:
        """The config a dynamic node joins with; raises DynamicError when it cannot."""
        assert self._core is not None and self._control is not None
        if self._finished:
            raise DynamicError(f"dataflow {self.dataflow_id} is stopping")
        return self._core.join_dynamic(node_id, self._control.connected(node_id))

    # ---- carrying out the core's actions -----------------------------------------

    def _feed(self, event: Event, *, routine: bool = False) -> None:
        """Hand ``event`` to the core and carry out what it says (actions may feed
        further events: the control server reports a barrier decided at once).

        ``routine``: an event that moves no deadline and ends no node (output lines, log
        records, input counters), fed per line: the deadline and end checks, each a walk
        over every node, are skipped."""
        assert self._core is not None
        if self._closing:
            return  # e.g. connections closing in _shutdown: nothing may spawn or signal now
        for action in self._core.handle(event):
            self._do(action)
        if routine:
            return
        self._schedule_tick()
        if self._launched and self._core.all_ended:
            assert self._all_ended is not None
            self._all_ended.set()

    def _do(self, action: Action) -> None:
        control = self._control
        assert control is not None
        match action:
            case Send(node_id, message):
                control.send(node_id, message)
            case SendDroppable(node_id, message, limit):
                control.send_droppable(node_id, message, limit)
            case Display(record):
                self._on_log(record)
            case Spawn(node_id, restart_count):
                task = asyncio.create_task(self._incarnation(node_id, restart_count))
                self._incarnations.add(task)
                task.add_done_callback(self._incarnations.discard)
            case Signal(node_id, signum):
                process = self._processes.get(node_id)
                if process is not None and process.returncode is None:
                    process.signal_group(signum)
            case ClearGroup(node_id):
                process = self._processes.get(node_id)
                if process is not None:
                    process.signal_group(signal.SIGKILL)
                    process.close()
            case Reconnect(node_id):
                control.restarting(node_id)
            case CloseChannel(node_id, clean, error):
                control.node_exited(node_id, clean=clean, error=error)
            case Report(result):
                self._ended[result.node_id].set()
            case StartTimers():
                assert self._timers is not None
                self._timers.start()
            case StopTicking(node_id):
                assert self._timers is not None
                self._timers.remove_node(node_id)
            case ProducerEnded(node_id):
                if self._bridge is not None:
                    self._bridge.producer_exited(node_id)
                if self._watch is not None:
                    self._watch.producer_exited(node_id)
            case ForwardClosed(node_id, outputs):
                if self._bridge is not None:
                    self._bridge.outputs_closed(node_id, list(outputs))
                if self._watch is not None:
                    self._watch.outputs_closed(node_id, list(outputs))

    def _schedule_tick(self) -> None:
        """One loop timer, at the core's next deadline."""
        assert self._core is not None and self._loop is not None
        when = self._core.next_deadline()
        if when == self._tick_at:
            return
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        self._tick_at = when
        if when is not None and not self._finished:
            self._tick = self._loop.call_at(when, self._on_tick, when)

    def _on_tick(self, when: float) -> None:
        self._tick, self._tick_at = None, None
        assert self._loop is not None
        # call_at may run a hair early (clock resolution): the deadline counts as reached
        self._feed(Tick(max(self._loop.time(), when)))

    async def _incarnation(self, node_id: str, restart_count: int) -> None:
        """Spawn one incarnation of the node and report its exit."""
        try:
            await self._spawn_and_wait(node_id, restart_count)
        except asyncio.CancelledError:
            raise
        except Exception:
            # a bug here must not leave the run waiting forever for this node
            log.exception("supervising node %s failed; stopping dataflow", node_id)
            if self._all_ended is not None:
                self._all_ended.set()

    async def _spawn_and_wait(self, node_id: str, restart_count: int) -> None:
        assert self._resolved is not None and self._control is not None
        loop = asyncio.get_running_loop()
        resolved = self._resolved.nodes[node_id]
        if restart_count:
            resolved = with_restart_count(resolved, restart_count)
        logger = self._loggers[node_id]

        def on_line(stream: str, line: str) -> None:
            self._log_line(node_id, logger, stream, line)

        spawned = self._spawning[node_id] = asyncio.Event()
        try:
            process = await spawn_node(resolved, on_line, self._fork_server)
        except OSError as error:
            await self._first_spawn_done(node_id)
            spawned.set()
            self._spawning.pop(node_id, None)
            message = describe_spawn_failure(resolved, error)
            self._feed(SpawnFailed(node_id, message, loop.time()))
            return
        self._processes[node_id] = process
        await self._first_spawn_done(node_id)
        spawned.set()
        self._spawning.pop(node_id, None)
        self._feed(Spawned(node_id))
        returncode = await process.wait()
        # what the node sent just before exiting is handled before its exit
        await self._control.drained(node_id, DRAIN_TIMEOUT)
        exited = Exited(
            node_id,
            returncode,
            loop.time(),
            subscribed=self._control.subscribed(node_id),
            stderr_tail=tuple(process.stderr_tail),
        )
        self._feed(exited)

    async def _first_spawn_done(self, node_id: str) -> None:
        """Once every static node had its first spawn, the fork server stops forking and
        shrinks (restarts exec): its imports would otherwise stay resident all run. Not
        at once: its new interpreter's start would compete with the nodes' own."""
        waiting = self._first_spawns
        if node_id in waiting:
            waiting.discard(node_id)
            if not waiting and self._fork_server is not None:
                self._shrink_task = asyncio.create_task(self._shrink_fork_server())

    async def _shrink_fork_server(self) -> None:
        await asyncio.sleep(FORK_SERVER_SHRINK_DELAY)
        if self._fork_server is not None:
            await self._fork_server.shrink()

    async def _health_loop(self, interval: float) -> None:
        while not self._finished:
            await asyncio.sleep(interval)
            control = self._control
            if control is None or self._core is None or self._finished:
                continue
            activity = {
                node_id: last
                for node_id in self._ended
                if (last := control.last_activity(node_id)) is not None
            }
            self._feed(HealthSweep(time.monotonic(), activity))

    # ---- logs and ticks ----------------------------------------------------------

    def _log_line(
        self, node_id: str, logger: NodeLogger, stream: str, line: str, raw: bool = True
    ) -> None:
        if raw:
            self._feed(StdoutLine(node_id, line), routine=True)
        record = logger.process_line(stream, line)
        if record is not None:
            self._feed(LogRecord(node_id, record), routine=True)

    def _open_logger(self, node: ResolvedNode) -> NodeLogger:
        return NodeLogger(
            dataflow_id=self.dataflow_id,
            node_id=node.id,
            out_dir=self.base_dir / "out",
            min_log_level=node.logs.min_log_level,
            max_log_size=node.logs.max_log_size,
            max_rotated_files=node.logs.max_rotated_files,
        )

    def _send_tick(self, node_id: str, tick: NodeTick) -> None:
        assert self._control is not None
        self._control.send_droppable(node_id, tick, TICK_BUFFER_LIMIT)

    # ---- shutdown --------------------------------------------------------------

    async def _shutdown(self) -> None:
        """Leave nothing behind: tasks, process groups, sockets, log files, shm files."""
        self._closing = True
        if self._tick is not None:
            self._tick.cancel()
        if self._health_task is not None:
            self._health_task.cancel()
        for task in list(self._incarnations):
            task.cancel()
        await asyncio.gather(*self._incarnations, return_exceptions=True)
        if self._core is not None:
            self._core.close()
        if self._timers is not None:
            await self._timers.stop()
        await self._reap_groups()
        if self._shrink_task is not None:
            self._shrink_task.cancel()
        if self._fork_server is not None:
            self._fork_server.close()  # after the reaping: it would take nodes with it
        if self._bridge is not None:
            await self._bridge.aclose()
        if self._watch is not None:
            await self._watch.aclose()
        for process in self._processes.values():
            process.close()
        if self._control is not None:
            if dropped := self._control.dropped():
                log.warning("daemon events dropped because nodes did not keep up: %s", dropped)
            await self._control.close()
        for logger in self._loggers.values():
            logger.close()
        _remove_shm_files(self.dataflow_id)

    async def _reap_groups(self) -> None:
        alive = [p for p in self._processes.values() if p.signal_group(signal.SIGKILL)]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GROUP_EXIT_TIMEOUT
        while alive:
            # Leaders are reaped by asyncio; after SIGKILL only orphans in the group are
            # left, which the kernel and init remove within a few scheduler ticks.
            for process in alive:
                if process.returncode is None:
                    await process.wait()
            alive = [p for p in alive if p.group_alive()]
            if alive and loop.time() > deadline:
                pids = ", ".join(str(p.pgid) for p in alive)
                log.warning("process groups %s still exist after SIGKILL", pids)
                return
            if alive:
                await asyncio.sleep(0.01)


def _remove_shm_files(dataflow_id: str) -> None:
    """Remove shared memory files of the dataflow (the node API normally leaves none)."""
    try:
        names = os.listdir(_SHM_DIR)
    except OSError:
        return
    for name in names:
        if dataflow_id in name:
            try:
                (_SHM_DIR / name).unlink()
                log.warning("removed leftover shared memory file %s", name)
            except OSError:
                pass
