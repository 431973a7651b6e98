"""``dora run``: one dataflow run by an in-process daemon (spec/runtime.md §2).

Resolve the descriptor, serve the control socket, spawn every static node, release the
start barrier, start timers, route daemon-made inputs and closed inputs, and end when
every node process has exited (naturally, after ``stop_after``, or through :meth:`stop`).
Nothing of a dataflow survives :meth:`LocalDataflow.run`: leftover group members are
killed and stray ``/dev/shm`` files of the dataflow removed.
With a ``ClusterPart`` (a dataflow spanning daemons) only the nodes placed here run,
data crossing machines goes through :mod:`dora_daemon.bridge`, and the start barrier
waits for the coordinator's word that every daemon is ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from dora_daemon.barrier import StartBarrier
from dora_daemon.bridge import bridge_address, watch_address
from dora_daemon.commands import NodeKind
from dora_daemon.control import ControlServer, spawned_session_check
from dora_daemon.dynamic import LISTENER, DynamicError
from dora_daemon.finish import FinishWatch, default_finish_grace
from dora_daemon.logs import NodeLogger, now_rfc3339
from dora_daemon.node_log_level import ENV_NODE_LOG_LEVEL, wanted_level
from dora_daemon.resolve import (
    ResolvedDataflow,
    ResolvedNode,
    daemon_address,
    node_address,
    resolve_dataflow,
)
from dora_daemon.results import Kill, exited_before_init, node_result
from dora_daemon.routing import Router
from dora_daemon.spawn import NodeProcess
from dora_daemon.supervisor import Supervision
from dora_daemon.timers import Timers
from dora_message.common import DataflowResult, LogMessage, NodeResult
from dora_message.config import NodeConfig
from dora_message.descriptor import Descriptor
from dora_message.node_protocol import InputClosed, NodeLog, Stop, Tick

if TYPE_CHECKING:
    from dora_daemon.bridge.dataflow import ClusterPart, DataflowBridge
    from dora_daemon.bridge.mesh import Mesh
    from dora_daemon.bridge.watch import DataflowWatch
    from dora_message.daemon_to_coordinator import NetworkMetric

log = logging.getLogger(__name__)

TICK_BUFFER_LIMIT = 64 * 1024  # unread bytes after which a node's ticks are dropped
GROUP_EXIT_TIMEOUT = 2.0  # how long to wait for SIGKILLed group members to vanish
SPAWN_WAIT = 10.0  # a registration waits at most this long for its node's spawn to return
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


class LocalDataflow(Supervision):
    """One dataflow run in this process. Use from a single event loop.

    Node supervision (restart policies, health check, ``restart_node``/``stop_node``,
    ``node_statuses``) comes from :class:`~dora_daemon.supervisor.Supervision`.
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
        self._stop_requested = False
        self._force = False
        self._dataflow: ResolvedDataflow | None = None
        self._control: ControlServer | None = None
        self._router: Router | None = None
        self._timers: Timers | None = None
        self._processes: dict[str, NodeProcess] = {}
        self._loggers: dict[str, NodeLogger] = {}
        self._results: dict[str, NodeResult] = {}
        self._kills: dict[str, Kill] = {}
        self._culprit: str | None = None  # the node whose early failure failed the barrier
        self._ladder: asyncio.Task[None] | None = None
        self._started = False
        self._finished = False
        self._supervision_init()
        self._finish = FinishWatch(default_finish_grace())
        # dynamic node -> Waiting (never joined) | Left (may join again); see node_statuses
        self._dynamic: dict[str, str] = {}

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

    async def run(self) -> DataflowResult:
        """Run the dataflow to its end and report how every node ended.

        Raises :class:`~dora_message.errors.DescriptorError` before anything starts when
        the descriptor cannot be run.
        """
        if self._started:
            raise RuntimeError("a LocalDataflow runs once")
        self._started = True
        loop = asyncio.get_running_loop()
        token = secrets.token_hex(4)
        address = daemon_address(self.dataflow_id, token)
        cluster = self.cluster
        bridge_at = bridge_address(self.dataflow_id, token) if cluster else None
        watch_at = watch_address(self.dataflow_id, token) if self.watch_mesh else None
        dataflow = resolve_dataflow(
            self.descriptor,
            self.base_dir,
            dataflow_id=self.dataflow_id,
            daemon_address=address,
            host_env=os.environ,
            parent_pid=os.getpid(),
            uv=self.options.uv,
            allow_shell_nodes=self.options.allow_shell_nodes,
            sources=self.options.sources,
            local=cluster.local_nodes if cluster else None,
            bridge_address=bridge_at,
            watch_address=watch_at,
        )
        for warning in dataflow.warnings:
            log.warning("%s", warning)
        self._tell_log_levels(dataflow)
        self._dataflow = dataflow
        static = [dataflow.nodes[node_id] for node_id in dataflow.static_nodes]
        barrier = StartBarrier(n.id for n in static)
        self._control = ControlServer(
            self.dataflow_id,
            address,
            dataflow.nodes,
            barrier,
            self,
            gated=cluster is not None,
            node_secrets={n.id: n.config.secret for n in dataflow.nodes.values()},
            check_process=spawned_session_check(
                self._spawned_pid,
                {n.id for n in dataflow.nodes.values() if n.kind is NodeKind.DYNAMIC},
            ),
        )
        self._router = Router(dataflow, self._control, self._on_log)
        self._timers = Timers(dataflow.timers, self._send_tick)
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
                from dora_daemon.bridge.watch import DataflowWatch

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
            dynamic = [n for n in dataflow.nodes.values() if n.kind is NodeKind.DYNAMIC]
            self._loggers = {node.id: self._open_logger(node) for node in (*static, *dynamic)}
            if dynamic:
                await self._serve_dynamic([node.id for node in dynamic])
            watchers = [asyncio.create_task(self._run_node(node)) for node in static]
            if self.options.stop_after is not None:
                stop_timer = loop.call_later(self.options.stop_after, self.stop)
            if self._stop_requested:
                self._begin_stop()
            await asyncio.gather(*watchers)
        finally:
            if stop_timer is not None:
                stop_timer.cancel()
            self._finish.close()
            if self._dynamic:
                await LISTENER.remove(self)
            await self._shutdown()
            self._finished = True
        return DataflowResult(
            dataflow_id=self.dataflow_id,
            node_results=[self._results[node.id] for node in static if node.id in self._results],
        )

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
        self._disable_restarts()  # before any Stop goes out: shutdown never fights respawn
        if force:
            self._force = True
            self._stop_requested = True
            self._kill_all(Kill.FORCE)
            return
        if self._stop_requested:
            return
        self._stop_requested = True
        if self._control is not None:
            self._begin_stop()

    def release_barrier(self, error: str | None) -> None:
        """The coordinator says every daemon is ready (or ``error``): release here."""
        if self._control is not None and not self._finished:
            self._control.open_gate(error)

    def network(self) -> NetworkMetric | None:
        """Cross-daemon traffic so far (None: the dataflow spans no other machine)."""
        return None if self._bridge is None else self._bridge.traffic()

    def _remote_closed(self, producer: str, outputs: list[str]) -> None:
        if self._router is not None and not self._finished:
            self._router.close_outputs(producer, outputs)

    # ---- control events (called by ControlServer) ------------------------------

    def barrier_ready(self, error: str | None) -> None:
        """Every local node subscribed (or one failed): tell the coordinator."""
        if self._bridge is not None:
            self._bridge.report_ready(error)

    def barrier_decided(self) -> None:
        """Start timers when the barrier releases; stop everything when it failed."""
        assert self._control is not None and self._timers is not None
        if self._control.barrier.error is None:
            self._timers.start()
            return
        log.error("dataflow %s failed to start: %s", self.dataflow_id, self._control.barrier.error)
        self.stop()

    def outputs_closed(self, node_id: str, outputs: list[str]) -> None:
        """A node closed some outputs: their receivers see InputClosed now."""
        assert self._router is not None
        self._router.close_outputs(node_id, outputs)
        if self._bridge is not None:
            self._bridge.outputs_closed(node_id, outputs)
        if self._watch is not None:
            self._watch.outputs_closed(node_id, outputs)

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
        """A dynamic node left: it may join again (a fresh connection is accepted), and
        meanwhile its receivers keep their inputs open, as in dora-rs (outputs it closed
        itself with ``close_outputs`` stay closed until it joins again)."""
        assert self._dataflow is not None and self._control is not None
        if self._dataflow.nodes[node_id].kind is not NodeKind.DYNAMIC:
            return
        if self._finished or self._stop_requested:
            return
        self._dynamic[node_id] = "Left"
        self._control.restarting(node_id)
        assert self._router is not None
        # the next incarnation learns at once which of its inputs closed meanwhile
        for producer, input_ids in self._router.closed_inputs(node_id).items():
            self._control.send(node_id, InputClosed(input_ids=input_ids, source_node=producer))
        self._replay_params(node_id)
        log.info("dynamic node %s left dataflow %s", node_id, self.dataflow_id)

    # ---- dynamic nodes (dora_daemon.dynamic) -------------------------------------

    async def _serve_dynamic(self, node_ids: list[str]) -> None:
        self._dynamic = dict.fromkeys(node_ids, "Waiting")
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
        return list(self._dynamic)

    def dynamic_config(self, node_id: str) -> NodeConfig:
        """The config a dynamic node joins with; raises DynamicError when it cannot."""
        assert self._dataflow is not None and self._control is not None
        assert self._router is not None
        if self._finished or self._stop_requested:
            raise DynamicError(f"dataflow {self.dataflow_id} is stopping")
        if self._control.connected(node_id):
            raise DynamicError(
                f"dynamic node `{node_id}` of dataflow {self.dataflow_id} is already connected"
            )
        if self._dynamic.get(node_id) == "Left":
            self._router.reopen_outputs(node_id)  # its receivers take its data again
        log.info("dynamic node %s joins dataflow %s", node_id, self.dataflow_id)
        return self._dataflow.nodes[node_id].config

    # ---- nodes -----------------------------------------------------------------

    # _run_node (spawn, restart policy, health check) lives in dora_daemon.supervisor

    def _finish_node(self, node_id: str, process: NodeProcess, returncode: int) -> None:
        assert self._control is not None and self._router is not None and self._timers
        self._timers.remove_node(node_id)
        self._finish.disarm(node_id)
        subscribed = self._control.subscribed(node_id)
        barrier = self._control.barrier
        if not subscribed and not barrier.decided and returncode != 0:
            self._culprit = node_id
        # Nodes parked in the barrier got its error: their failure follows the culprit's.
        cascade = self._culprit if barrier.error and subscribed else None
        self._results[node_id] = node_result(
            node_id,
            returncode,
            stderr_tail=process.stderr_tail,
            subscribed=subscribed,
            stop_requested=self._stop_requested or self._planned_stop(node_id),
            kill=self._kills.get(node_id, Kill.NONE),
            cascade_from=cascade,
        )
        error = exited_before_init(node_id, returncode, process.stderr_tail)
        planned = self._stop_requested or self._planned_stop(node_id)
        if not subscribed and returncode == 0 and not planned:
            # a clean exit without ever creating its Node: say so, as dora-rs does
            log.warning(
                "node %s exited before initializing dora (it never created a Node)", node_id
            )
        # A planned-stop exit before subscribing is no start failure.
        self._control.node_exited(node_id, clean=self._results[node_id].ok, error=error)
        if not self._results[node_id].ok:  # before InputClosed: receivers learn why first
            self._router.node_failed(node_id, self._results[node_id].cause or "failed")
        self._producer_ended(node_id)

    def _producer_ended(self, node_id: str) -> None:
        """Receivers here get InputClosed; remote ones once the bridge read all its data."""
        assert self._router is not None
        self._router.close_outputs(node_id)
        if self._bridge is not None:
            self._bridge.producer_exited(node_id)
        if self._watch is not None:
            self._watch.producer_exited(node_id)
        self._watch_finished_receivers(node_id)

    def _watch_finished_receivers(self, producer: str) -> None:
        """Arm the finish grace of every running receiver whose inputs are now all closed."""
        assert self._dataflow is not None and self._router is not None
        for (source, _output), readers in self._dataflow.consumers.items():
            if source != producer:
                continue
            for receiver in readers:
                process = self._processes.get(receiver)
                node = self._dataflow.nodes.get(receiver)
                if process is None or process.returncode is not None or node is None:
                    continue
                if self._router.all_inputs_closed(receiver):
                    grace = node.descriptor_node.finish_grace_secs
                    self._finish.arm(receiver, grace, self._straggler)

    def _straggler(self, node_id: str, grace: float) -> None:
        """``node_id`` outlived its finish grace: stop it with the ladder, as a failure."""
        process = self._processes.get(node_id)
        node = self._supervised.get(node_id)
        if process is None or process.returncode is not None or node is None:
            return
        if self._stop_requested or self._force:
            return  # the dataflow stop handles it
        log.warning(
            "node %s still runs %.1f s after all its inputs closed: stopping it", node_id, grace
        )
        self._kills.setdefault(node_id, Kill.FINISH)
        self._stop_one(node_id, node, process, self.options.grace, False)

    def _log_line(
        self, node_id: str, logger: NodeLogger, stream: str, line: str, raw: bool = True
    ) -> None:
        assert self._router is not None
        if raw:
            self._router.stdout_line(node_id, line)
        record = logger.process_line(stream, line)
        if record is not None:
            self._router.publish_log(node_id, record)

    def _open_logger(self, node: ResolvedNode) -> NodeLogger:
        return NodeLogger(
            dataflow_id=self.dataflow_id,
            node_id=node.id,
            out_dir=self.base_dir / "out",
            min_log_level=node.logs.min_log_level,
            max_log_size=node.logs.max_log_size,
            max_rotated_files=node.logs.max_rotated_files,
        )

    def _send_tick(self, node_id: str, tick: Tick) -> None:
        assert self._control is not None
        self._control.send_droppable(node_id, tick, TICK_BUFFER_LIMIT)

    # ---- stopping --------------------------------------------------------------

    def _begin_stop(self) -> None:
        assert self._control is not None and self._dataflow is not None
        for node_id in self._dataflow.nodes:
            self._control.send(node_id, Stop())
        if self._ladder is None and not self._force:
            self._ladder = asyncio.create_task(self._stop_ladder(self.options.grace))

    async def _stop_ladder(self, grace: float) -> None:
        await asyncio.sleep(grace)
        for node_id, process in self._processes.items():
            if process.returncode is None:
                log.warning("node %s did not stop within %.1f s: SIGTERM", node_id, grace)
                process.signal_group(signal.SIGTERM)
        await asyncio.sleep(grace / 2)
        self._kill_all(Kill.GRACE)

    def _kill_all(self, why: Kill) -> None:
        for node_id, process in self._processes.items():
            if process.returncode is None:
                self._kill(node_id, why)

    def _kill(self, node_id: str, why: Kill) -> None:
        self._kills.setdefault(node_id, why)
        self._processes[node_id].signal_group(signal.SIGKILL)

    async def _shutdown(self) -> None:
        """Leave nothing behind: tasks, process groups, sockets, log files, shm files."""
        self._stop_supervision()
        if self._ladder is not None:
            self._ladder.cancel()
        if self._timers is not None:
            await self._timers.stop()
        await self._reap_groups()
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
