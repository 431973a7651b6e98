"""The daemon as a service of a coordinator: dataflows it hosts and the commands it obeys.

Each dataflow runs in a :class:`~dora_daemon.local.LocalDataflow`, restricted to the
nodes the coordinator placed on this machine (a sub-descriptor). The service forwards
node logs, samples its node processes every 2 s, remembers how dataflows ended (so a result
that could not be delivered while the coordinator was away is reported on reconnect),
and answers spawn / stop / read-logs / build / destroy commands (builds: see
:mod:`dora_daemon.remote_build`). Sending is the link's job: the service only calls
``emit``, which never blocks.

A dataflow whose nodes are placed on several daemons runs here with the full descriptor
and a :class:`~dora_daemon.bridge.dataflow.ClusterPart`: the daemon's zenoh session
(opened once the coordinator told it which daemons to dial) carries the data crossing
machines, and the start barrier is released by the coordinator's ``barrier_released``
once every daemon reported ``nodes_ready``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import psutil

from dora_daemon.bridge import publishes_all
from dora_daemon.errors import DaemonError
from dora_daemon.local import LocalDataflow, RunOptions
from dora_daemon.log_query import read_dataflow_logs
from dora_daemon.node_control import merge_statuses, node_command, reload_command
from dora_daemon.params import ParamMirror, param_command
from dora_daemon.placed import local_dir, placed_nodes
from dora_daemon.remote_build import run_remote_build
from dora_daemon.sources import default_cache_dir, resolve_sources
from dora_message import coordinator_to_daemon as cmd
from dora_message import daemon_to_coordinator as ev
from dora_message.common import DataflowResult, LogMessage
from dora_message.errors import DoraError

if TYPE_CHECKING:
    from dora_daemon.bridge.dataflow import ClusterPart
    from dora_daemon.bridge.mesh import Mesh
    from dora_message.descriptor import Descriptor

log = logging.getLogger(__name__)

METRICS_INTERVAL = 2.0
REMEMBERED_RESULTS = 100
_MIB = 1024 * 1024


class CommandError(DaemonError):
    """A command the daemon cannot carry out; the message goes back to the coordinator."""


@dataclass
class Hosted:
    """A dataflow this daemon runs."""

    info: ev.RunningDataflow
    dataflow: LocalDataflow
    base_dir: Path
    task: asyncio.Task[None] | None = None
    ready: list[str | None] | None = None  # [error] once nodes_ready was emitted
    released: bool = False  # the coordinator released the start barrier


@dataclass
class _Sampled:
    process: psutil.Process
    io: tuple[float, int, int] | None = None  # (monotonic time, read bytes, written bytes)


@dataclass
class DaemonService:
    """Dataflows hosted for the coordinator. Use from one event loop."""

    emit: Callable[[ev.DaemonEvent], None]
    emit_log: Callable[[LogMessage], None]
    allow_shell_nodes: bool = False
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    daemon_id: str | None = None
    hosted: dict[str, Hosted] = field(default_factory=dict)
    finished: deque[ev.DataflowFinished] = field(
        default_factory=lambda: deque(maxlen=REMEMBERED_RESULTS)
    )
    base_dirs: dict[str, Path] = field(default_factory=dict)
    exit_requested: asyncio.Event = field(default_factory=asyncio.Event)
    mesh: Mesh | None = None  # the zenoh session to other daemons (None: no bridge)
    params: ParamMirror = field(default_factory=ParamMirror)  # what nodes were told
    # the node processes sampled, by (dataflow id, node id, pid)
    _samples: dict[tuple[str, str, int], _Sampled] = field(default_factory=dict)
    _mesh_task: asyncio.Task[None] | None = None

    # ---- coordinator events ----------------------------------------------------

    def registered(self, daemon_id: str, peer_endpoints: list[str]) -> None:
        """The coordinator accepted us: open the zenoh session (once), dialing the peers."""
        self.daemon_id = daemon_id
        if self.mesh is not None and self._mesh_task is None:
            self._mesh_task = asyncio.create_task(self._open_mesh(daemon_id, peer_endpoints))

    def zenoh_registration(self) -> tuple[list[str], bool]:
        """What to register about the zenoh session: (endpoints, pending).

        Pending until the first session is open: its port is bound then, and a
        ``zenoh_listening`` event follows.
        """
        if self.mesh is None:
            return [], False
        if self.mesh.is_open:
            return [self.mesh.endpoint], False
        opening = self._mesh_task is None or not self._mesh_task.done()
        return [], opening

    async def _open_mesh(self, daemon_id: str, peers: list[str]) -> None:
        assert self.mesh is not None
        try:
            await self.mesh.open(daemon_id, peers)
        except DoraError as error:
            log.error("%s; dataflows spanning daemons cannot run here", error)
            self.emit(ev.ZenohListening(endpoints=[]))
        else:
            self.emit(ev.ZenohListening(endpoints=[self.mesh.endpoint]))

    def pending_events(self) -> list[ev.DaemonEvent]:
        """Events to repeat on a new coordinator session: readiness not yet answered, and
        where zenoh listens once the session opened (the event may have been dropped
        while the link was registering; a repeat is harmless)."""
        events: list[ev.DaemonEvent] = [
            ev.NodesReady(dataflow_id=dataflow_id, error=hosted.ready[0])
            for dataflow_id, hosted in self.hosted.items()
            if hosted.ready is not None and not hosted.released
        ]
        if self.mesh is not None and self._mesh_task is not None and self._mesh_task.done():
            endpoints = [self.mesh.endpoint] if self.mesh.is_open else []
            events.append(ev.ZenohListening(endpoints=endpoints))
        return events

    def barrier_released(self, dataflow_id: str, error: str | None) -> None:
        """Every daemon of the dataflow is ready (or one failed)."""
        hosted = self.hosted.get(dataflow_id)
        if hosted is None or hosted.released:
            return
        hosted.released = True
        hosted.dataflow.release_barrier(error)

    # ---- commands --------------------------------------------------------------

    async def handle(self, command: cmd.DaemonCommand) -> ev.CommandResult:
        """Carry out one command; raises :class:`CommandError` (or DoraError) on failure."""
        match command:
            case cmd.SpawnDataflow():
                await self.spawn(command)
                return ev.Done()
            case cmd.StopDataflow(dataflow_id=dataflow_id, grace_duration=grace, force=force):
                self.stop(dataflow_id, grace, force)
                return ev.Done()
            case cmd.ReadLogs():
                return ev.NodeLogs(records=await self.read_logs(command))
            case cmd.RestartNode() | cmd.StopNode():
                hosted = self.hosted.get(command.dataflow_id)
                if hosted is None:
                    raise CommandError(f"dataflow {command.dataflow_id} does not run here")
                return await node_command(hosted.dataflow, command)
            case cmd.ReloadOperator():
                hosted = self.hosted.get(command.dataflow_id)
                if hosted is None:
                    raise CommandError(f"dataflow {command.dataflow_id} does not run here")
                return reload_command(hosted.dataflow, command)
            case cmd.SetParam() | cmd.DeleteParam() | cmd.ReplayParams():
                hosted = self.hosted.get(command.dataflow_id)
                if hosted is None:
                    raise CommandError(f"dataflow {command.dataflow_id} does not run here")
                return param_command(self.params, hosted.dataflow, command)
            case cmd.BuildDataflow():
                await run_remote_build(command, self.emit, self.daemon_id)
                return ev.Done()
            case cmd.Destroy():
                self.exit_requested.set()
                return ev.Done()
        raise CommandError(f"unknown command {type(command).__name__}")

    async def spawn(self, command: cmd.SpawnDataflow) -> None:
        """Start the nodes placed here; errors in the descriptor raise before anything runs.

        ``git:`` and URL nodes are fetched first (from the cache that ``dora build`` fills).
        """
        dataflow_id = command.dataflow_id
        if dataflow_id in self.hosted:
            raise CommandError(f"dataflow {dataflow_id} already runs on this daemon")
        full, ours = placed_nodes(command.descriptor, command.nodes)
        wanted = set(command.nodes)
        spans = len(command.placement) > 1
        # spanning daemons, the routes need every node; only ours run (and are fetched)
        descriptor = full if spans else ours
        base_dir = local_dir(command.working_dir)
        fetched = await resolve_sources(ours, base_dir, default_cache_dir())
        sources = {node: (source.working_dir, source.path) for node, source in fetched.items()}
        if dataflow_id in self.hosted:  # a duplicate spawn arrived while we fetched
            raise CommandError(f"dataflow {dataflow_id} already runs on this daemon")
        options = RunOptions(
            uv=command.uv, allow_shell_nodes=self.allow_shell_nodes, sources=sources
        )
        dataflow = LocalDataflow(
            descriptor, base_dir, options, on_log=self._on_log, dataflow_id=dataflow_id
        )
        watch_mesh = self._watch_mesh(descriptor)
        # Resolving is pure and raises DescriptorError naming the node: done up front, once,
        # so that a bad path is the spawn's error, not a dataflow that fails later.
        dataflow.resolve(
            spans=spans, watched=watch_mesh is not None, local=wanted if spans else None
        )
        dataflow.cluster = await self._cluster_part(command) if spans else None
        if watch_mesh is not None:
            from dora_daemon.bridge.mesh import PEER_TIMEOUT

            await watch_mesh.ensure_peers({}, PEER_TIMEOUT)
        dataflow.watch_mesh = watch_mesh
        if dataflow_id in self.hosted:
            raise CommandError(f"dataflow {dataflow_id} already runs on this daemon")
        info = ev.RunningDataflow(
            dataflow_id=dataflow_id,
            nodes=list(command.nodes),
            name=command.name,
            descriptor=command.descriptor,
            working_dir=command.working_dir,
            uv=command.uv,
        )
        hosted = Hosted(info=info, dataflow=dataflow, base_dir=base_dir)
        self.hosted[dataflow_id] = hosted
        self.base_dirs[dataflow_id] = base_dir
        hosted.task = asyncio.create_task(self._run(hosted))
        log.info("spawning %d node(s) of dataflow %s", len(wanted), dataflow_id)

    def _watch_mesh(self, descriptor: Descriptor) -> Mesh | None:
        """The zenoh session to publish on when the dataflow publishes every output for
        ``dora topic``; None when it does not (or this daemon has no session)."""
        if not publishes_all(descriptor):
            return None
        if self.mesh is None:
            log.warning("no zenoh session: `dora topic` cannot watch this dataflow")
        return self.mesh

    async def _cluster_part(self, command: cmd.SpawnDataflow) -> ClusterPart:
        """Wait for the dataflow's other daemons on zenoh; our share of the dataflow."""
        from dora_daemon.bridge.dataflow import ClusterPart
        from dora_daemon.bridge.mesh import PEER_TIMEOUT

        if self.mesh is None or self.daemon_id is None:
            raise CommandError("this daemon has no zenoh session: it cannot bridge dataflows")
        me = self.daemon_id
        if me not in command.placement:
            raise CommandError(f"the placement does not name this daemon ({me})")
        peers = {d: command.peer_endpoints.get(d, []) for d in command.placement if d != me}
        session = await self.mesh.ensure_peers(peers, PEER_TIMEOUT)
        dataflow_id = command.dataflow_id

        def on_ready(error: str | None) -> None:
            hosted = self.hosted.get(dataflow_id)
            if hosted is not None:
                hosted.ready = [error]
            self.emit(ev.NodesReady(dataflow_id=dataflow_id, error=error))

        return ClusterPart(
            daemon_id=me,
            mesh=self.mesh,
            session=session,
            node_daemons={n: d for d, nodes in command.placement.items() for n in nodes},
            on_ready=on_ready,
        )

    def stop(self, dataflow_id: str, grace: float | None, force: bool) -> None:
        """Stop event, then SIGTERM after the grace, then SIGKILL (at once with ``force``)."""
        hosted = self.hosted.get(dataflow_id)
        if hosted is None:
            if any(f.dataflow_id == dataflow_id for f in self.finished):
                return  # already over; the result was (or will be) reported
            raise CommandError(f"dataflow {dataflow_id} does not run on this daemon")
        if grace is not None:
            hosted.dataflow.options.grace = grace
        hosted.dataflow.stop(force=force)

    async def read_logs(self, command: cmd.ReadLogs) -> list[LogMessage]:
        """Read this machine's log files of the dataflow (in a thread: it is file I/O)."""
        base_dir = self.base_dirs.get(command.dataflow_id) or local_dir(command.working_dir)
        return await asyncio.to_thread(
            read_dataflow_logs, base_dir / "out", command.dataflow_id, command.query
        )

    def status_report(self) -> ev.StatusReport:
        """What runs here and the results kept for the coordinator."""
        return ev.StatusReport(
            running=[h.info for h in self.hosted.values()], finished=list(self.finished)
        )

    async def shutdown(self, grace: float | None = None, force: bool = False) -> None:
        """Stop every hosted dataflow and wait until they have ended."""
        for dataflow_id in list(self.hosted):
            with contextlib.suppress(CommandError):
                self.stop(dataflow_id, grace, force)
        tasks = [h.task for h in self.hosted.values() if h.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._mesh_task is not None:
            self._mesh_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._mesh_task
        if self.mesh is not None:
            await asyncio.to_thread(self.mesh.close)

    # ---- running ---------------------------------------------------------------

    async def _run(self, hosted: Hosted) -> None:
        dataflow_id = hosted.info.dataflow_id
        error: str | None = None
        try:
            result = await hosted.dataflow.run()
        except DoraError as exc:
            result, error = DataflowResult(dataflow_id=dataflow_id), str(exc)
        except Exception as exc:
            log.exception("dataflow %s crashed in the daemon", dataflow_id)
            result, error = DataflowResult(dataflow_id=dataflow_id), f"daemon error: {exc}"
        finished = ev.DataflowFinished(dataflow_id=dataflow_id, result=result, error=error)
        self.finished.append(finished)
        self.hosted.pop(dataflow_id, None)
        self.params.forget(dataflow_id)
        log.info("dataflow %s finished (%s)", dataflow_id, "ok" if result.ok else "failed")
        self.emit(finished)

    def _on_log(self, record: LogMessage) -> None:
        if record.daemon_id is None:
            record = msgspec.structs.replace(record, daemon_id=self.daemon_id)
        self.emit_log(record)

    # ---- metrics ---------------------------------------------------------------

    async def sample_forever(self) -> None:
        """Send per-node CPU, memory, disk I/O and cross-daemon traffic every 2 s."""
        while True:
            await asyncio.sleep(METRICS_INTERVAL)
            try:
                for event in self.sample():
                    self.emit(event)
            except Exception:
                log.exception("sampling node processes failed")

    def sample(self) -> list[ev.NodeMetrics]:
        """One sample of the node processes this daemon spawned.

        Their pids come from the dataflows' node statuses: listing the daemon's children
        would read every process's ``/proc/<pid>/stat`` on the machine each time (~1.5 ms
        with 100 processes, every 2 s, even with nothing hosted), and telling nodes from
        other children would read their environments. Nothing hosted: nothing is read.
        """
        sampled: dict[tuple[str, str, int], _Sampled] = {}
        events = []
        for dataflow_id, hosted in self.hosted.items():
            statuses = hosted.dataflow.node_statuses()  # restarting nodes too
            metrics: dict[str, ev.NodeMetric] = {}
            for node_id, status in statuses.items():
                if status.pid is None or status.dynamic:  # a dynamic node is not our child
                    continue
                key = (dataflow_id, node_id, status.pid)
                entry = self._samples.get(key) or _watch(status.pid)
                if entry is None:
                    continue
                sampled[key] = entry
                metric = _measure(entry)
                if metric is not None:
                    metrics[node_id] = metric
            merge_statuses(metrics, statuses)
            events.append(
                ev.NodeMetrics(
                    dataflow_id=dataflow_id, metrics=metrics, network=hosted.dataflow.network()
                )
            )
        self._samples = sampled  # the processes gone since are forgotten
        return events


def _watch(pid: int) -> _Sampled | None:
    """Start sampling ``pid`` (None: it is gone already)."""
    try:
        process = psutil.Process(pid)
        process.cpu_percent(interval=None)  # the first call only sets the baseline
    except psutil.Error:
        return None
    return _Sampled(process)


def _measure(entry: _Sampled) -> ev.NodeMetric | None:
    """CPU, memory and storage I/O of one node process (None: it is gone)."""
    process = entry.process
    try:
        with process.oneshot():
            cpu = process.cpu_percent(interval=None)
            memory = process.memory_info().rss / _MIB
            read, write = _io_rates(entry)
    except psutil.Error:
        return None
    return ev.NodeMetric(
        pid=process.pid,
        cpu=round(cpu, 1),
        memory_mb=round(memory, 1),
        disk_read_mb_s=read,
        disk_write_mb_s=write,
    )


def _io_rates(entry: _Sampled) -> tuple[float | None, float | None]:
    """Storage read/write MB/s since the previous sample (None: first sample, or no
    ``io_counters`` on this platform)."""
    try:
        counters = entry.process.io_counters()  # type: ignore[attr-defined]
    except (AttributeError, NotImplementedError, psutil.AccessDenied):
        return None, None
    now = time.monotonic()
    previous, entry.io = entry.io, (now, counters.read_bytes, counters.write_bytes)
    if previous is None or now <= previous[0]:
        return None, None
    elapsed = now - previous[0]
    read = max(0, counters.read_bytes - previous[1]) / _MIB / elapsed
    write = max(0, counters.write_bytes - previous[2]) / _MIB / elapsed
    return round(read, 2), round(write, 2)
