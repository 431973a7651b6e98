"""The coordinator's state, sans-I/O: dataflows, daemons, statuses, recovery.

No sockets, tasks or clocks here: the server calls these methods when a frame arrives or
a timer fires, passes ``now`` (seconds since the epoch), and carries out the I/O the
return values ask for. Every change of a dataflow record is written through the store
(spec/runtime.md §14.3); a failed write is logged and the coordinator carries on.

Status flow: ``Pending`` (spawning) -> ``Running`` -> ``Stopping`` -> ``Succeeded`` |
``Failed``. ``Recovering`` means a daemon of the dataflow is not connected (the
coordinator restarted, or the daemon went away): when the daemon reconnects and reports
the dataflow, it is ``Running`` again; after ``recovery_timeout`` it is ``Failed``.
"""

from __future__ import annotations

import logging
import uuid as uuid_module

import msgspec

from dora_coordinator.limits import Limits
from dora_coordinator.model import (
    TERMINAL,
    DaemonInfo,
    Dataflow,
    Reconciliation,
    StateError,
    Status,
)
from dora_coordinator.placement import DaemonCandidate, group_by_daemon, place_nodes
from dora_coordinator.retention import expired
from dora_coordinator.start_barrier import record_ready
from dora_coordinator.store import DataflowRecord, Store
from dora_message.common import DataflowResult
from dora_message.daemon_to_coordinator import (
    DataflowFinished,
    NetworkMetric,
    NodeMetric,
    RunningDataflow,
)
from dora_message.descriptor import Descriptor
from dora_message.errors import DescriptorError, DoraError
from dora_message.validate import validate

log = logging.getLogger(__name__)

MAX_MACHINE_ID_BYTES = 256
MAX_LABELS = 64
MAX_LABEL_BYTES = 256

__all__ = [
    "TERMINAL",
    "CoordinatorState",
    "DaemonInfo",
    "Dataflow",
    "Reconciliation",
    "StateError",
    "Status",
]


class CoordinatorState:
    """Dataflows and daemons. Single-threaded: call from one event loop."""

    def __init__(
        self,
        store: Store,
        *,
        recovery_timeout: float = 60.0,
        daemon_timeout: float = 30.0,
        limits: Limits | None = None,
    ) -> None:
        self.store = store
        self.recovery_timeout = recovery_timeout
        self.daemon_timeout = daemon_timeout
        self.limits = limits or Limits()
        self.dataflows: dict[str, Dataflow] = {}
        self.daemons: dict[str, DaemonInfo] = {}

    # ---- startup ---------------------------------------------------------------

    def recover(self, now: float) -> list[str]:
        """Load the store; unfinished dataflows become Recovering. Returns their ids."""
        recovering = []
        for record in self.store.list_dataflows():
            dataflow = Dataflow(record)
            self.dataflows[record.uuid] = dataflow
            if dataflow.active:
                self._recovering(dataflow, set(record.placement), now)
                recovering.append(record.uuid)
        return recovering

    # ---- daemons ---------------------------------------------------------------

    def register_daemon(
        self,
        instance_id: str,
        machine_id: str | None,
        labels: dict[str, str],
        now: float,
        zenoh_endpoints: list[str] | None = None,
        zenoh_pending: bool = False,
    ) -> str:
        """Add a daemon (a same-id daemon is replaced); returns its daemon id."""
        if machine_id is not None and not 0 < len(machine_id.encode()) <= MAX_MACHINE_ID_BYTES:
            raise StateError(f"machine id must be 1 to {MAX_MACHINE_ID_BYTES} bytes long")
        if len(labels) > MAX_LABELS:
            raise StateError(f"a daemon may have at most {MAX_LABELS} labels")
        if any(
            len(k.encode()) > MAX_LABEL_BYTES or len(v.encode()) > MAX_LABEL_BYTES
            for k, v in labels.items()
        ):
            raise StateError(f"label keys and values must be at most {MAX_LABEL_BYTES} bytes long")
        daemon_id = machine_id or f"local-{instance_id[:8]}"
        self.daemons[daemon_id] = DaemonInfo(
            daemon_id,
            instance_id,
            machine_id,
            labels,
            now,
            list(zenoh_endpoints or []),
            zenoh_pending,
        )
        return daemon_id

    def zenoh_listening(self, daemon_id: str, endpoints: list[str]) -> None:
        """The daemon's zenoh session is open and listens on ``endpoints``."""
        daemon = self.daemons.get(daemon_id)
        if daemon is not None:
            daemon.zenoh_endpoints = list(endpoints)
            daemon.zenoh_pending = False

    def zenoh_silent(self, daemon_ids: list[str]) -> None:
        """These daemons did not report their endpoints in time: no registration waits
        for them any more (a late ``zenoh_listening`` still records the endpoints)."""
        for daemon_id in daemon_ids:
            daemon = self.daemons.get(daemon_id)
            if daemon is not None:
                daemon.zenoh_pending = False

    def zenoh_pending(self, instance_id: str = "") -> list[str]:
        """Connected daemons whose zenoh endpoints are not known yet (but the daemon
        ``instance_id``: a daemon registering again does not wait for itself)."""
        return [
            d.daemon_id
            for d in self.daemons.values()
            if d.zenoh_pending and d.instance_id != instance_id
        ]

    def peer_endpoints(
        self, among: list[str] | None = None, exclude: str = ""
    ) -> dict[str, list[str]]:
        """Zenoh endpoints of the connected daemons (or those ``among``) but ``exclude``."""
        wanted = self.daemons if among is None else among
        return {
            d: self.daemons[d].zenoh_endpoints for d in wanted if d in self.daemons and d != exclude
        }

    def daemon_seen(self, daemon_id: str, now: float) -> None:
        """Any frame from the daemon counts as a heartbeat."""
        daemon = self.daemons.get(daemon_id)
        if daemon is not None:
            daemon.last_seen = now

    def daemon_gone(self, daemon_id: str, now: float) -> list[str]:
        """The daemon disconnected; its active dataflows become Recovering."""
        self.daemons.pop(daemon_id, None)
        affected = []
        for dataflow in self.dataflows.values():
            if dataflow.active and daemon_id in dataflow.record.placement:
                if daemon_id in dataflow.finished or dataflow.status is Status.PENDING:
                    continue  # done there already / the spawn reply will fail instead
                self._recovering(dataflow, {daemon_id}, now)
                affected.append(dataflow.uuid)
        return affected

    def silent_daemons(self, now: float) -> list[str]:
        """Daemons not heard from within ``daemon_timeout``: to be disconnected."""
        limit = now - self.daemon_timeout
        return [d.daemon_id for d in self.daemons.values() if d.last_seen < limit]

    def expire_recoveries(self, now: float) -> list[str]:
        """Recovering dataflows past their deadline become Failed; returns their ids."""
        failed = []
        for dataflow in self.dataflows.values():
            deadline = dataflow.recovery_deadline
            if dataflow.status is Status.RECOVERING and deadline is not None and now >= deadline:
                missing = ", ".join(sorted(dataflow.unreclaimed)) or "?"
                error = (
                    f"recovery timeout: daemon(s) {missing} did not report the dataflow "
                    f"within {self.recovery_timeout:g} s"
                )
                self._finish(dataflow, now, error)
                failed.append(dataflow.uuid)
        return failed

    def status_report(
        self,
        daemon_id: str,
        running: list[RunningDataflow],
        finished: list[DataflowFinished],
        now: float,
    ) -> Reconciliation:
        """Reconcile with what a (re)connected daemon runs (spec/runtime.md §14.2)."""
        outcome = Reconciliation()
        reported = set()
        for entry in running:
            reported.add(entry.dataflow_id)
            dataflow = self.dataflows.get(entry.dataflow_id)
            if dataflow is None:
                self._adopt(daemon_id, entry, now)
                outcome.adopted.append(entry.dataflow_id)
            elif not dataflow.active:
                outcome.to_stop.append(entry.dataflow_id)
            else:
                self._reclaim(dataflow, daemon_id, entry.nodes, now)
        for event in finished:
            dataflow = self.dataflows.get(event.dataflow_id)
            if dataflow is not None and dataflow.active:
                reported.add(event.dataflow_id)
                self._reclaim(dataflow, daemon_id, _result_nodes(event), now)
                if self.daemon_finished(daemon_id, event, now):
                    outcome.ended.append(dataflow.uuid)
        for dataflow in list(self.dataflows.values()):
            if (
                dataflow.active
                and dataflow.status is not Status.PENDING
                and daemon_id in dataflow.record.placement
                and daemon_id not in dataflow.finished
                and dataflow.uuid not in reported
            ):
                gone = DataflowFinished(
                    dataflow_id=dataflow.uuid,
                    result=_empty_result(dataflow.uuid),
                    error=f"daemon {daemon_id} no longer runs this dataflow (did it restart?)",
                )
                if self.daemon_finished(daemon_id, gone, now):
                    outcome.ended.append(dataflow.uuid)
        return outcome

    # ---- dataflow lifecycle ----------------------------------------------------

    def plan_start(
        self,
        descriptor: Descriptor,
        *,
        name: str | None,
        working_dir: str | None,
        uv: bool,
        now: float,
    ) -> Dataflow:
        """Check and place a new dataflow, record it as Pending."""
        try:
            validate(descriptor)
        except DescriptorError as error:
            raise StateError(f"invalid dataflow descriptor: {error}") from None
        if name is not None and any(
            d.active and d.record.name == name for d in self.dataflows.values()
        ):
            raise StateError(f"a dataflow named `{name}` is already running")
        candidates = [
            DaemonCandidate(d.daemon_id, d.machine_id, d.labels) for d in self.daemons.values()
        ]
        placement = place_nodes(descriptor, candidates)
        record = DataflowRecord(
            uuid=str(uuid_module.uuid4()),
            status=Status.PENDING,
            descriptor=msgspec.to_builtins(descriptor),  # the store keeps plain data
            name=name,
            working_dir=working_dir,
            uv=uv,
            placement=group_by_daemon(placement),
            created_at=now,
        )
        dataflow = Dataflow(record, parsed=descriptor)
        self.dataflows[record.uuid] = dataflow
        self._save(dataflow, now)
        return dataflow

    def spawn_succeeded(self, uuid: str, now: float) -> None:
        """Every daemon accepted its nodes: Pending -> Running."""
        dataflow = self.dataflows[uuid]
        if dataflow.status is Status.PENDING:
            self._save(dataflow, now, status=Status.RUNNING)

    def spawn_failed(self, uuid: str, daemon_id: str, error: str, now: float) -> bool:
        """A daemon could not spawn its nodes; returns True when the dataflow ended."""
        dataflow = self.dataflows[uuid]
        if dataflow.record.error is None:
            # kept in memory; written with the next change (at the latest when it ends)
            dataflow.record = msgspec.structs.replace(
                dataflow.record, error=f"daemon {daemon_id} could not spawn its nodes: {error}"
            )
        event = DataflowFinished(dataflow_id=uuid, result=_empty_result(uuid), error=error)
        return self.daemon_finished(daemon_id, event, now)

    def begin_stop(self, uuid: str, now: float) -> list[str]:
        """Mark the dataflow Stopping; returns the daemons to tell."""
        dataflow = self.dataflows[uuid]
        if not dataflow.active:
            raise StateError(f"dataflow {uuid} is not running (it {dataflow.status.lower()})")
        if dataflow.status is Status.RECOVERING:
            missing = ", ".join(sorted(dataflow.unreclaimed))
            raise StateError(
                f"dataflow {uuid} is recovering: daemon(s) {missing} must reconnect first"
            )
        self._save(dataflow, now, status=Status.STOPPING)
        return [d for d in dataflow.daemons() if d not in dataflow.finished]

    def daemon_finished(self, daemon_id: str, event: DataflowFinished, now: float) -> bool:
        """A daemon's nodes of the dataflow all exited; True when the dataflow ended."""
        dataflow = self.dataflows.get(event.dataflow_id)
        if dataflow is None or not dataflow.active or daemon_id in dataflow.finished:
            return False
        if daemon_id not in dataflow.record.placement:
            return False
        dataflow.finished[daemon_id] = event
        if all(d in dataflow.finished for d in dataflow.record.placement):
            self._finish(dataflow, now)
            return True
        return False

    def nodes_ready(
        self, daemon_id: str, dataflow_id: str, error: str | None
    ) -> tuple[list[str], str | None] | None:
        """A daemon's nodes subscribed (or failed): see :func:`record_ready`."""
        dataflow = self.dataflows.get(dataflow_id)
        return None if dataflow is None else record_ready(dataflow, daemon_id, error)

    def update_metrics(
        self,
        dataflow_id: str,
        metrics: dict[str, NodeMetric],
        daemon_id: str | None = None,
        network: NetworkMetric | None = None,
    ) -> None:
        """Latest per-node samples and the daemon's cross-daemon traffic (not persisted)."""
        dataflow = self.dataflows.get(dataflow_id)
        if dataflow is not None and dataflow.active:
            dataflow.metrics.update(metrics)
            if daemon_id is not None and network is not None:
                dataflow.network[daemon_id] = network

    # ---- queries ---------------------------------------------------------------

    def resolve(self, ident: str, any_status: bool = False) -> Dataflow:
        """A dataflow by UUID, or by the name of an active dataflow.

        With ``any_status`` a name matches ended dataflows too (the latest one wins).
        """
        if ident in self.dataflows:
            return self.dataflows[ident]
        named = [d for d in self.dataflows.values() if d.active and d.record.name == ident]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise StateError(f"several running dataflows are named `{ident}`; use a UUID")
        ended = [d for d in self.dataflows.values() if d.record.name == ident]
        if any_status and ended:
            return max(ended, key=lambda d: d.record.created_at)
        running = sorted(
            d.record.name for d in self.dataflows.values() if d.active and d.record.name
        )
        hint = f" (running names: {', '.join(running)})" if running else " (see `dora list`)"
        raise StateError(f"no dataflow with UUID or running name `{ident}`{hint}")

    def prune(self, now: float) -> list[str]:
        """Forget finished dataflows beyond the kept number or age (record and params).

        Returns their ids. A record the store cannot delete stays (and is tried again).
        """
        gone = []
        limits = self.limits
        for uuid in expired(
            self.dataflows.values(), now, limits.keep_finished, limits.keep_finished_seconds
        ):
            try:
                self.store.delete_dataflow(uuid)
            except DoraError as error:
                log.error("could not delete finished dataflow %s from the store: %s", uuid, error)
                continue
            del self.dataflows[uuid]
            gone.append(uuid)
        if gone:
            shown = ", ".join(gone[:3]) + (", ..." if len(gone) > 3 else "")
            log.info(
                "forgot %d finished dataflow(s) past the kept number or age: %s", len(gone), shown
            )
        return gone

    def active_dataflows(self) -> list[Dataflow]:
        """Dataflows not yet ended, oldest first."""
        return [d for d in self.dataflows.values() if d.active]

    # ---- internals -------------------------------------------------------------

    def _recovering(self, dataflow: Dataflow, daemons: set[str], now: float) -> None:
        dataflow.unreclaimed |= daemons
        if dataflow.recovery_deadline is None:
            dataflow.recovery_deadline = now + self.recovery_timeout
        if dataflow.status is not Status.RECOVERING:
            self._save(dataflow, now, status=Status.RECOVERING)

    def _reclaim(self, dataflow: Dataflow, daemon_id: str, nodes: list[str], now: float) -> None:
        """``daemon_id`` runs ``nodes`` of the dataflow: rebind them, maybe end recovery."""
        placement = dataflow.record.placement
        owners = {d for d, owned in placement.items() if set(owned) & set(nodes)} - {daemon_id}
        for old in owners:
            # An unnamed daemon gets a new id after a coordinator restart; its nodes move.
            moved = placement.pop(old)
            placement.setdefault(daemon_id, [])
            placement[daemon_id] += [n for n in moved if n not in placement[daemon_id]]
            dataflow.unreclaimed.discard(old)
            if old in dataflow.finished:
                dataflow.finished[daemon_id] = dataflow.finished.pop(old)
        dataflow.unreclaimed.discard(daemon_id)
        if dataflow.status is Status.RECOVERING and not dataflow.unreclaimed:
            dataflow.recovery_deadline = None
            log.info("dataflow %s recovered", dataflow.uuid)
            self._save(dataflow, now, status=Status.RUNNING)
        else:
            self._save(dataflow, now)

    def _adopt(self, daemon_id: str, entry: RunningDataflow, now: float) -> None:
        log.warning("daemon %s runs unknown dataflow %s: tracking it", daemon_id, entry.dataflow_id)
        record = DataflowRecord(
            uuid=entry.dataflow_id,
            status=Status.RUNNING,
            descriptor=msgspec.to_builtins(entry.descriptor) if entry.descriptor else {},
            name=entry.name,
            working_dir=entry.working_dir,
            uv=entry.uv,
            placement={daemon_id: list(entry.nodes)},
            created_at=now,
        )
        dataflow = Dataflow(record, parsed=entry.descriptor)
        self.dataflows[record.uuid] = dataflow
        self._save(dataflow, now)

    def _finish(self, dataflow: Dataflow, now: float, error: str | None = None) -> None:
        """End the dataflow; ``error`` replaces the recorded error (None: keep it, or
        derive one from the daemons' errors and the failed nodes)."""
        results = [r for event in dataflow.finished.values() for r in event.result.node_results]
        errors = [e.error for e in dataflow.finished.values() if e.error]
        if error is None:
            error = dataflow.record.error
        if error is None and errors:
            error = "; ".join(errors)
        failed = error is not None or not all(r.ok for r in results)
        if failed and error is None:
            error = "; ".join(f"{r.node_id}: {r.cause or 'failed'}" for r in results if not r.ok)
        dataflow.recovery_deadline = None
        dataflow.unreclaimed.clear()
        status = Status.FAILED if failed else Status.SUCCEEDED
        self._save(dataflow, now, status=status, error=error, results=results)

    def _save(self, dataflow: Dataflow, now: float, **changes: object) -> None:
        """Replace the (frozen) record with one carrying ``changes`` and write it through."""
        record = dataflow.record = msgspec.structs.replace(
            dataflow.record,
            **changes,
            updated_at=now,
            generation=dataflow.record.generation + 1,
        )
        try:
            self.store.put_dataflow(record)
        except DoraError as error:
            log.error("could not persist dataflow %s: %s", record.uuid, error)


def _empty_result(uuid: str) -> DataflowResult:
    return DataflowResult(dataflow_id=uuid)


def _result_nodes(event: DataflowFinished) -> list[str]:
    return [r.node_id for r in event.result.node_results]
