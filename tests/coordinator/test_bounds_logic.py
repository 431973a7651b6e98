"""The sans-I/O halves of the coordinator's bounds (issue 13 items 3-6), without sockets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dora_coordinator.backlog import FRAME_OVERHEAD, Admission, BacklogPool, ReplyBacklog
from dora_coordinator.bound_flags import SETTINGS
from dora_coordinator.connection_limits import ConnectionLimiter
from dora_coordinator.limits import Limits, LimitsError, limits_from
from dora_coordinator.model import Dataflow
from dora_coordinator.params import ParamError, ParamUsage, check_room, entry_bytes
from dora_coordinator.retention import expired
from dora_coordinator.store import DataflowRecord, MemoryStore, SqliteStore, Store

pytestmark = pytest.mark.timeout(30)

# ---- limits ------------------------------------------------------------------------


def test_defaults_env_and_flags() -> None:
    assert limits_from({}) == Limits()
    env = {"DORA_COORDINATOR_KEEP_FINISHED": "7", "DORA_COORDINATOR_HELLO_TIMEOUT": "2.5"}
    limits = limits_from(env)
    assert (limits.keep_finished, limits.hello_timeout) == (7, 2.5)
    assert limits_from(env, {"keep_finished": "9"}).keep_finished == 9  # a flag beats env
    assert {s.env for s in SETTINGS} == {
        f"DORA_COORDINATOR_{name.upper()}" for name in Limits.__dataclass_fields__
    }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ("abc", "DORA_COORDINATOR_KEEP_FINISHED must be an integer >= 1, got 'abc'"),
        ("0", "DORA_COORDINATOR_KEEP_FINISHED must be an integer >= 1, got '0'"),
        ("1.5", "must be an integer"),
    ],
)
def test_bad_values_name_the_variable(env: str, message: str) -> None:
    with pytest.raises(LimitsError, match=message):
        limits_from({"DORA_COORDINATOR_KEEP_FINISHED": env})


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0.01"])
def test_bad_timeouts(value: str) -> None:
    with pytest.raises(LimitsError, match=r"--hello-timeout must be a number >= 0\.1"):
        limits_from({}, {"hello_timeout": value})


# ---- connections ---------------------------------------------------------------------


def test_per_address_and_total_bounds() -> None:
    limiter = ConnectionLimiter(total=3, per_address=2)
    assert limiter.admit("10.0.0.1") is None
    assert limiter.admit("10.0.0.1") is None
    assert limiter.admit("10.0.0.1") == ("too many connections from 10.0.0.1 (limit 2 per address)")
    assert limiter.admit("10.0.0.2") is None
    assert limiter.admit("10.0.0.3") == "too many connections (limit 3)"
    limiter.release("10.0.0.1")
    assert limiter.open == 2
    assert limiter.admit("10.0.0.3") is None
    limiter.release("10.0.0.9")  # never admitted: nothing to give back
    assert limiter.open == 3


# ---- reply backlog -------------------------------------------------------------------


def test_replies_overflow_and_events_drop() -> None:
    backlog = ReplyBacklog(limit=10_000)
    assert backlog.admit(50_000, droppable=False) is Admission.QUEUE  # alone, any size
    assert backlog.admit(10, droppable=True) is Admission.DROP
    assert backlog.admit(10, droppable=False) is Admission.OVERFLOW
    backlog.written(50_000)
    assert (backlog.queued, backlog.frames, backlog.dropped) == (0, 0, 1)


def test_events_only_use_half_of_the_backlog() -> None:
    backlog = ReplyBacklog(limit=10_000)
    size = 1000 - FRAME_OVERHEAD
    admitted = [backlog.admit(size, droppable=True) for _ in range(8)]
    assert admitted == [Admission.QUEUE] * 5 + [Admission.DROP] * 3
    # replies still fit in the other half
    assert [backlog.admit(size, droppable=False) for _ in range(6)] == (
        [Admission.QUEUE] * 5 + [Admission.OVERFLOW]
    )


def test_the_pool_bounds_all_backlogs_together() -> None:
    pool = BacklogPool(total=3000)
    small, big = ReplyBacklog(10_000, pool), ReplyBacklog(10_000, pool)
    size = 1000 - FRAME_OVERHEAD
    assert small.admit(size, droppable=False) is Admission.QUEUE
    assert [big.admit(size, droppable=False) for _ in range(3)] == (
        [Admission.QUEUE] * 2 + [Admission.POOL_FULL]
    )
    assert pool.queued == 3000 and pool.largest() is big
    big.close()  # its connection is closed: what it held is given back
    assert pool.queued == 1000
    big.written(size)  # a frame that was being sent when it left: not counted twice
    assert pool.queued == 1000
    small.written(size)
    assert (pool.queued, small.queued, small.frames) == (0, 0, 0)
    assert small.admit(size, droppable=True) is Admission.QUEUE  # alone: always
    # events get half of the pool (1500): a second one would make 2000
    assert small.admit(size, droppable=True) is Admission.DROP
    assert small.admit(size, droppable=False) is Admission.QUEUE  # replies get all of it


# ---- retention -----------------------------------------------------------------------


def dataflow(uuid: str, status: str, ended: float) -> Dataflow:
    return Dataflow(DataflowRecord(uuid=uuid, status=status, descriptor={}, updated_at=ended))


def test_the_oldest_finished_go_first_and_active_ones_stay() -> None:
    flows = [
        dataflow("running-old", "Running", 1),
        dataflow("a", "Succeeded", 10),
        dataflow("b", "Failed", 30),
        dataflow("c", "Succeeded", 20),
    ]
    assert expired(flows, now=40, keep=2, max_age=1000) == ["a"]
    assert expired(flows, now=40, keep=1, max_age=1000) == ["a", "c"]
    assert expired(flows, now=40, keep=5, max_age=15) == ["a", "c"]
    assert expired(flows, now=40, keep=5, max_age=1000) == []


# ---- params --------------------------------------------------------------------------


def test_room_for_params() -> None:
    limits = Limits(
        max_params_per_node=2, max_param_bytes_per_node=100, max_param_bytes_per_dataflow=150
    )
    check_room(limits, "n", ParamUsage(1, 50, 50, None), 50)
    with pytest.raises(ParamError, match=r"node `n` already has 2 params \(max 2 per node"):
        check_room(limits, "n", ParamUsage(2, 20, 20, None), 5)
    check_room(limits, "n", ParamUsage(2, 20, 20, 10), 5)  # a replacement adds no param
    with pytest.raises(ParamError, match=r"would take 101 bytes \(max 100 bytes per node"):
        check_room(limits, "n", ParamUsage(1, 51, 51, None), 50)
    check_room(limits, "n", ParamUsage(1, 60, 60, 60), 100)  # the old value is given back
    with pytest.raises(ParamError, match=r"this dataflow would take 160 bytes \(max 150"):
        check_room(limits, "n", ParamUsage(0, 0, 150, None), 10)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.db")
    yield opened
    opened.close()


def test_usage_counts_keys_and_values_in_bytes(store: Store) -> None:
    store.put_node_param("df", "n", "é", b'"abc"')  # a 2-byte key, a 5-byte value
    store.put_node_param("df", "n", "k", b"1")
    store.put_node_param("df", "m", "k", b"22")
    store.put_node_param("other", "n", "k", b"333")
    assert entry_bytes("é", b'"abc"') == 7
    assert store.param_usage("df", "n", "é") == ParamUsage(2, 9, 12, 7)
    assert store.param_usage("df", "n", "new") == ParamUsage(2, 9, 12, None)
    assert store.param_usage("none", "n", "k") == ParamUsage(0, 0, 0, None)
