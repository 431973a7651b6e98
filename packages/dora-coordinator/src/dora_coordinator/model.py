"""The coordinator's data model: dataflow statuses, dataflows, daemons (no logic)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import msgspec

from dora_coordinator.errors import CoordinatorServerError
from dora_coordinator.store import DataflowRecord
from dora_message.daemon_to_coordinator import DataflowFinished, NetworkMetric, NodeMetric
from dora_message.descriptor import Descriptor


class Status(enum.StrEnum):
    """Dataflow statuses as shown to users."""

    PENDING = "Pending"
    RUNNING = "Running"
    STOPPING = "Stopping"
    RECOVERING = "Recovering"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED})


class StateError(CoordinatorServerError):
    """A request the current state cannot satisfy; the message is for the user."""


@dataclass
class Dataflow:
    """A dataflow record plus what only lives while the coordinator runs."""

    record: DataflowRecord
    metrics: dict[str, NodeMetric] = field(default_factory=dict)
    network: dict[str, NetworkMetric] = field(default_factory=dict)  # per daemon, cumulative
    finished: dict[str, DataflowFinished] = field(default_factory=dict)  # per daemon
    unreclaimed: set[str] = field(default_factory=set)  # daemons expected to report back
    recovery_deadline: float | None = None
    # start barrier across daemons: daemon -> error its nodes failed with (None: ready)
    ready: dict[str, str | None] = field(default_factory=dict)
    barrier_released: bool = False
    barrier_error: str | None = None
    # the record's descriptor, typed: given by a start, else read from the record once
    parsed: Descriptor | None = field(default=None, repr=False)

    @property
    def descriptor(self) -> Descriptor:
        """The dataflow's descriptor (what a spawn or a restart sends)."""
        if self.parsed is None:
            try:
                self.parsed = msgspec.convert(self.record.descriptor, Descriptor)
            except msgspec.ValidationError as error:  # adopted from a daemon that sent none
                raise StateError(
                    f"dataflow {self.uuid} has no usable stored descriptor: {error}"
                ) from None
        return self.parsed

    @property
    def uuid(self) -> str:
        """The dataflow id."""
        return self.record.uuid

    @property
    def status(self) -> Status:
        """The current status."""
        return Status(self.record.status)

    @property
    def active(self) -> bool:
        """Not yet Succeeded or Failed."""
        return self.status not in TERMINAL

    def daemons(self) -> list[str]:
        """The daemons that run (or ran) some node of the dataflow."""
        return list(self.record.placement)


@dataclass
class DaemonInfo:
    """A connected daemon."""

    daemon_id: str
    instance_id: str
    machine_id: str | None
    labels: dict[str, str]
    last_seen: float
    zenoh_endpoints: list[str] = field(default_factory=list)  # where other daemons dial it
    zenoh_pending: bool = False  # its session is opening: the endpoints are not known yet


@dataclass
class Reconciliation:
    """What a daemon's status report changed."""

    ended: list[str] = field(default_factory=list)  # dataflows that became terminal
    to_stop: list[str] = field(default_factory=list)  # ended here, still running there
    adopted: list[str] = field(default_factory=list)  # unknown here, now tracked
