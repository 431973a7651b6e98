"""Dataflow operations behind the CLI's requests: start, stop, restart, logs, destroy.

They combine the sans-I/O state with the daemon links: the state decides, this module
sends the commands and waits for the outcomes (spawn replies, ``dataflow_finished``
events), and wakes whoever waits for a dataflow to be spawned or to end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import msgspec

from dora_coordinator.background import Background
from dora_coordinator.links import Link, Links, connected
from dora_coordinator.logs import LogHub
from dora_coordinator.state import CoordinatorState, Dataflow, StateError, Status
from dora_coordinator.tracing import Span, SpanRecorder
from dora_coordinator.views import daemon_summaries, dataflow_summary, node_infos, node_summaries
from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message import coordinator_to_daemon as to_daemon
from dora_message.common import DataflowResult, LogMessage
from dora_message.daemon_to_coordinator import NodeLogs
from dora_message.log_filter import filter_records, sort_records

log = logging.getLogger(__name__)

STOP_COMMAND_TIMEOUT = 10.0
LOG_READ_TIMEOUT = 30.0


class DataflowOperations:
    """The dataflow lifecycle: what the CLI asks and what the daemons report about it.

    Given the state, the log hub, the connected daemons' links (shared with the server,
    which adds and removes them), a runner for background sends, a tracer, and
    ``on_finished(uuid)``, called when a dataflow ended (the server tells subscribed CLI
    sessions).
    """

    def __init__(
        self,
        state: CoordinatorState,
        hub: LogHub,
        links: Links,
        background: Background,
        tracer: SpanRecorder,
        on_finished: Callable[[str], None],
        spawn_timeout: float = 60.0,
    ) -> None:
        self.state = state
        self.hub = hub
        self.links = links
        self.background = background
        self.tracer = tracer  # spans of these operations, for `dora trace`
        self.on_finished = on_finished
        self.spawn_timeout = spawn_timeout
        self._spawned: dict[str, asyncio.Event] = {}
        self._ended: dict[str, asyncio.Event] = {}

    # ---- helpers ---------------------------------------------------------------

    def _event(self, events: dict[str, asyncio.Event], uuid: str) -> asyncio.Event:
        """The event a waiter awaits; created by waiters only, so none outlives its use."""
        return events.setdefault(uuid, asyncio.Event())

    @staticmethod
    def _wake(events: dict[str, asyncio.Event], uuid: str) -> None:
        event = events.pop(uuid, None)
        if event is not None:
            event.set()

    def dataflow_ended(self, uuid: str) -> None:
        """The state says ``uuid`` is over: wake waiters, tell subscribers."""
        dataflow = self.state.dataflows.get(uuid)
        if dataflow is None:
            return  # already forgotten (finished dataflows are pruned)
        log.info("dataflow %s ended: %s", uuid, dataflow.status)
        self._wake(self._spawned, uuid)
        self._wake(self._ended, uuid)
        self.on_finished(uuid)

    def forget_finished(self) -> None:
        """Prune finished dataflows past the kept number or age (docs/security.md)."""
        for uuid in self.state.prune(time.time()):
            self.hub.forget(uuid)

    def daemon_gone(self, daemon_id: str) -> None:
        """A daemon disconnected: its dataflows wait for it in Recovering."""
        for uuid in self.state.daemon_gone(daemon_id, time.time()):
            log.warning("dataflow %s is recovering: daemon %s is gone", uuid, daemon_id)

    def stopped_reply(self, dataflow: Dataflow) -> rep.DataflowStopped:
        """How the dataflow ended, for the CLI (it may have been pruned since)."""
        record = dataflow.record
        uuid = record.uuid
        result = DataflowResult(dataflow_id=uuid, node_results=list(record.results))
        return rep.DataflowStopped(
            uuid=uuid, status=record.status, result=result, error=record.error
        )

    # ---- start -------------------------------------------------------------------

    def start(self, body: req.StartDataflow) -> rep.DataflowStarted:
        """Record and place the dataflow, then spawn it in the background.

        Traced as ``spawn_dataflow``, which stays open until every daemon answered.
        """
        self.forget_finished()  # a burst of starts stays within the bound between ticks
        span = self.tracer.start("spawn_dataflow", name=body.name or "")
        try:
            with self.tracer.activate(span, finish=False), self.tracer.span("place_nodes") as plan:
                dataflow = self.state.plan_start(
                    body.descriptor,
                    name=body.name,
                    working_dir=body.working_dir,
                    uv=body.uv,
                    now=time.time(),
                )
                plan.record("daemons", len(dataflow.record.placement))
        except BaseException:
            self.tracer.finish(span)
            raise
        span.record("dataflow_id", dataflow.uuid)
        log.info("starting dataflow %s (%s)", dataflow.uuid, dataflow.record.name or "unnamed")
        self.background.run(self._spawn_traced(dataflow, span))
        return rep.DataflowStarted(uuid=dataflow.uuid)

    async def _spawn_traced(self, dataflow: Dataflow, span: Span) -> None:
        with self.tracer.activate(span):
            await self._spawn(dataflow)
            span.record("status", dataflow.status)

    async def _spawn(self, dataflow: Dataflow) -> None:
        record = dataflow.record
        groups = dict(record.placement)
        # a dataflow on several daemons: data crosses over zenoh, the barrier spans them
        spans = groups if len(groups) > 1 else {}
        peers = self.state.peer_endpoints(list(spans)) if spans else {}

        async def spawn_on(daemon_id: str, nodes: list[str]) -> None:
            with self.tracer.span("spawn_on_daemon", daemon_id=daemon_id, nodes=",".join(nodes)):
                link = connected(self.links, daemon_id)
                command = to_daemon.SpawnDataflow(
                    dataflow_id=record.uuid,
                    descriptor=dataflow.descriptor,
                    nodes=nodes,
                    name=record.name,
                    working_dir=record.working_dir,
                    uv=record.uv,
                    placement=spans,
                    peer_endpoints=peers,
                )
                await link.command(command, timeout=self.spawn_timeout)

        with self.tracer.span("wait_for_spawn", daemons=len(groups)):
            outcomes = await asyncio.gather(
                *(spawn_on(daemon_id, nodes) for daemon_id, nodes in groups.items()),
                return_exceptions=True,
            )
        now = time.time()
        failures = [
            (d, o) for d, o in zip(groups, outcomes, strict=True) if isinstance(o, BaseException)
        ]
        if not failures:
            self.state.spawn_succeeded(record.uuid, now)
        else:
            ended = False
            for daemon_id, error in failures:
                ended = self.state.spawn_failed(record.uuid, daemon_id, str(error), now) or ended
            if spans:  # nodes parked in the start barrier elsewhere fail at once
                daemon_id, error = failures[0]
                self.nodes_ready(daemon_id, record.uuid, f"daemon {daemon_id}: {error}")
            for daemon_id in groups:
                if daemon_id not in dict(failures) and daemon_id in self.links:
                    stop = to_daemon.StopDataflow(dataflow_id=record.uuid, force=True)
                    self.background.run(self.links[daemon_id].command(stop, STOP_COMMAND_TIMEOUT))
            if ended:
                self.dataflow_ended(record.uuid)
        self._wake(self._spawned, record.uuid)

    def nodes_ready(self, daemon_id: str, dataflow_id: str, error: str | None) -> None:
        """A daemon's nodes are ready: release the barrier when all daemons are."""
        decided = self.state.nodes_ready(daemon_id, dataflow_id, error)
        if decided is None:
            return
        targets, verdict = decided
        if verdict is None and targets != [daemon_id]:
            log.info("dataflow %s: every daemon is ready, releasing the start", dataflow_id)
        event = to_daemon.BarrierReleased(dataflow_id=dataflow_id, error=verdict)
        for target in targets:
            link = self.links.get(target)
            if link is not None:
                self.background.run(link.send_event(event))

    async def wait_spawned(self, ident: str) -> rep.DataflowSpawned:
        """Answer once the dataflow left Pending."""
        dataflow = self.state.resolve(ident)
        if dataflow.status is Status.PENDING:
            await self._event(self._spawned, dataflow.uuid).wait()
        record = dataflow.record
        return rep.DataflowSpawned(uuid=record.uuid, status=record.status, error=record.error)

    # ---- stop / restart ----------------------------------------------------------

    async def stop(self, ident: str, grace: float | None, force: bool) -> rep.DataflowStopped:
        """Stop the dataflow on every daemon and wait until it has ended."""
        with self.tracer.span("stop_dataflow", dataflow=ident, force=force) as span:
            stopped = await self._stop(ident, grace, force)
            span.record("status", stopped.status)
            return stopped

    async def _stop(self, ident: str, grace: float | None, force: bool) -> rep.DataflowStopped:
        dataflow = self.state.resolve(ident)
        uuid = dataflow.uuid
        if dataflow.status is Status.PENDING:
            await self._event(self._spawned, uuid).wait()
        if dataflow.status is Status.STOPPING and not force:
            pass  # already stopping: just wait for the end
        elif dataflow.active:
            if dataflow.status is Status.STOPPING:
                daemons = [d for d in dataflow.daemons() if d not in dataflow.finished]
            else:
                daemons = self.state.begin_stop(uuid, time.time())
            command = to_daemon.StopDataflow(dataflow_id=uuid, grace_duration=grace, force=force)
            for daemon_id in daemons:
                link = self.links.get(daemon_id)
                if link is not None:
                    self.background.run(link.command(command, STOP_COMMAND_TIMEOUT))
        else:
            raise StateError(f"dataflow {uuid} is not running (it {dataflow.status.lower()})")
        with self.tracer.span("wait_for_end", dataflow_id=uuid):
            await self._event(self._ended, uuid).wait()
        return self.stopped_reply(dataflow)

    async def restart(self, ident: str, grace: float | None, force: bool) -> rep.DataflowRestarted:
        """Stop the dataflow (if it runs) and start a new one from its stored descriptor."""
        with self.tracer.span("restart_dataflow", dataflow=ident, force=force) as span:
            restarted = await self._restart(ident, grace, force)
            span.record("new_dataflow_id", restarted.new_uuid)
            return restarted

    async def _restart(self, ident: str, grace: float | None, force: bool) -> rep.DataflowRestarted:
        old = self.state.resolve(ident)
        if old.active:
            await self.stop(old.uuid, grace, force)
        record = old.record
        started = self.start(
            req.StartDataflow(
                descriptor=old.descriptor,
                name=record.name,
                working_dir=record.working_dir,
                uv=record.uv,
            )
        )
        spawned = await self.wait_spawned(started.uuid)
        if spawned.status == Status.FAILED:
            raise StateError(f"restarted dataflow {started.uuid} failed: {spawned.error}")
        return rep.DataflowRestarted(old_uuid=old.uuid, new_uuid=started.uuid)

    # ---- queries -----------------------------------------------------------------

    def list_dataflows(self) -> rep.DataflowList:
        """Every known dataflow."""
        return rep.DataflowList(
            dataflows=[dataflow_summary(d) for d in self.state.dataflows.values()]
        )

    def details(self, ident: str) -> rep.DataflowDetails:
        """One dataflow with its nodes."""
        dataflow = self.state.resolve(ident, any_status=True)
        return rep.DataflowDetails(
            summary=dataflow_summary(dataflow),
            nodes=node_summaries(dataflow),
            descriptor=dataflow.record.descriptor,
            working_dir=dataflow.record.working_dir,
        )

    def node_info(self) -> rep.NodeInfoList:
        """Every node of every active dataflow with its latest metrics (``dora top``)."""
        return rep.NodeInfoList(nodes=node_infos(self.state))

    def list_daemons(self) -> rep.DaemonList:
        """The connected daemons."""
        return rep.DaemonList(daemons=daemon_summaries(self.state, time.time()))

    async def read_logs(self, ident: str, query: req.LogQuery) -> rep.LogRecords:
        """Read the log files on every daemon of the dataflow and merge them.

        Daemons that are not connected are listed in ``missing``; for their nodes the
        records still buffered here are used instead.
        """
        dataflow = self.state.resolve(ident, any_status=True)
        record = dataflow.record
        merged: list[LogMessage] = []
        missing: list[str] = []

        async def read_from(daemon_id: str, link: Link) -> list[LogMessage]:
            # Only this daemon's nodes: daemons sharing a working dir share out/<uuid>/.
            owned = record.placement.get(daemon_id, [])
            nodes = [n for n in owned if query.nodes is None or n in query.nodes]
            command = to_daemon.ReadLogs(
                dataflow_id=record.uuid,
                working_dir=record.working_dir,
                query=msgspec.structs.replace(query, nodes=nodes),
            )
            result = await link.command(command, LOG_READ_TIMEOUT)
            return result.records if isinstance(result, NodeLogs) else []

        reads = {d: self.links[d] for d in record.placement if d in self.links}
        outcomes = await asyncio.gather(
            *(read_from(d, link) for d, link in reads.items()), return_exceptions=True
        )
        for daemon_id, outcome in zip(reads, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.warning("reading logs on daemon %s failed: %s", daemon_id, outcome)
                missing.append(daemon_id)
            else:
                merged.extend(outcome)
        missing += [d for d in record.placement if d not in reads]
        if missing:
            nodes = {n for d in missing for n in record.placement.get(d, [])}
            merged.extend(r for r in self.hub.buffered(record.uuid) if r.node_id in nodes)
        return rep.LogRecords(records=filter_records(sort_records(merged), query), missing=missing)

    # ---- destroy -----------------------------------------------------------------

    async def destroy(self, grace: float | None, force: bool) -> rep.Destroyed:
        """Stop every dataflow, then tell every daemon to exit."""
        with self.tracer.span("destroy", daemons=len(self.links)):
            return await self._destroy(grace, force)

    async def _destroy(self, grace: float | None, force: bool) -> rep.Destroyed:
        stoppable = [
            d.uuid
            for d in self.state.active_dataflows()
            if d.status is not Status.RECOVERING and all(x in self.links for x in d.daemons())
        ]
        outcomes = await asyncio.gather(
            *(self.stop(uuid, grace, force) for uuid in stoppable), return_exceptions=True
        )
        for uuid, outcome in zip(stoppable, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.warning("stopping dataflow %s during destroy failed: %s", uuid, outcome)
        links = list(self.links.values())
        await asyncio.gather(
            *(link.command(to_daemon.Destroy(), STOP_COMMAND_TIMEOUT) for link in links),
            return_exceptions=True,
        )
        return rep.Destroyed()
