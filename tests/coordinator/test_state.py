"""Sans-I/O tests of the coordinator state: placement, statuses, recovery, heartbeats."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from dora_coordinator.placement import PlacementError
from dora_coordinator.state import CoordinatorState, StateError, Status
from dora_coordinator.store import MemoryStore
from dora_coordinator.zenoh_wait import ZenohWait
from dora_message.common import DataflowResult, NodeResult
from dora_message.daemon_to_coordinator import DataflowFinished, NodeMetric, RunningDataflow
from dora_message.descriptor import Descriptor


def node(node_id: str, inputs: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "path": f"{node_id}.py",
        "inputs": inputs or {},
        "outputs": ["out"],
        **extra,
    }


def descriptor(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": list(nodes)}


def finished(uuid: str, *results: NodeResult, error: str | None = None) -> DataflowFinished:
    return DataflowFinished(
        dataflow_id=uuid,
        result=DataflowResult(dataflow_id=uuid, node_results=list(results)),
        error=error,
    )


def ok(node_id: str) -> NodeResult:
    return NodeResult(node_id=node_id, ok=True, exit_code=0)


@pytest.fixture
def state() -> CoordinatorState:
    return CoordinatorState(MemoryStore(), recovery_timeout=60.0, daemon_timeout=30.0)


def start(
    state: CoordinatorState, desc: dict[str, Any], now: float = 100.0, name: str | None = None
):
    # as the coordinator gets it: decoded into the Descriptor type with the request
    typed = msgspec.convert(desc, Descriptor)
    return state.plan_start(typed, name=name, working_dir="/w", uv=False, now=now)


# ---- placement ---------------------------------------------------------------------


def test_nodes_go_to_the_local_daemon_by_default(state: CoordinatorState) -> None:
    state.register_daemon("aaaa1111", "gpu", {}, 0.0)
    local = state.register_daemon("bbbb2222", None, {}, 0.0)
    dataflow = start(state, descriptor(node("a"), node("b", {"x": "a/out"})))
    assert dataflow.record.placement == {local: ["a", "b"]}
    assert local == "local-bbbb2222"
    assert dataflow.status is Status.PENDING


def test_first_daemon_when_all_have_machine_ids(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    state.register_daemon("i2", "m2", {}, 0.0)
    assert start(state, descriptor(node("a"))).record.placement == {"m1": ["a"]}


def test_machine_and_labels_pick_daemons(state: CoordinatorState) -> None:
    state.register_daemon("i1", "robot", {"arm": "yes"}, 0.0)
    state.register_daemon("i2", "gpu-server", {"gpu": "a100", "zone": "x"}, 0.0)
    desc = descriptor(
        node("camera", _unstable_deploy={"machine": "robot"}),
        node("model", deploy={"labels": {"gpu": "a100"}}),
    )
    placement = start(state, desc).record.placement
    assert placement == {"robot": ["camera"], "gpu-server": ["model"]}


def test_dataflow_level_deploy_is_the_default(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    state.register_daemon("i2", "m2", {}, 0.0)
    desc = {
        **descriptor(node("a"), node("b", deploy={"machine": "m1"})),
        "deploy": {"machine": "m2"},
    }
    assert start(state, desc).record.placement == {"m2": ["a"], "m1": ["b"]}


def test_unknown_machine_is_a_clear_error(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    with pytest.raises(PlacementError, match=r"machine `nowhere`.*connected machine ids: m1"):
        start(state, descriptor(node("a", deploy={"machine": "nowhere"})))
    assert not state.dataflows


def test_missing_labels_and_no_daemon_are_errors(state: CoordinatorState) -> None:
    with pytest.raises(PlacementError, match="no daemon is connected"):
        start(state, descriptor(node("a")))
    state.register_daemon("i1", None, {"gpu": "no"}, 0.0)
    with pytest.raises(PlacementError, match="labels gpu=yes"):
        start(state, descriptor(node("a", deploy={"labels": {"gpu": "yes"}})))


def test_inputs_across_daemons_are_placed_and_peers_known(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0, ["tcp/127.0.0.1:7001"])
    state.register_daemon("i2", "m2", {}, 0.0, ["tcp/127.0.0.1:7002"])
    desc = descriptor(
        node("a", deploy={"machine": "m1"}), node("b", {"x": "a/out"}, deploy={"machine": "m2"})
    )
    dataflow = start(state, desc)
    assert dataflow.record.placement == {"m1": ["a"], "m2": ["b"]}
    assert state.peer_endpoints(exclude="m2") == {"m1": ["tcp/127.0.0.1:7001"]}
    assert state.peer_endpoints(["m2"]) == {"m2": ["tcp/127.0.0.1:7002"]}


def test_start_barrier_waits_for_every_daemon(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    state.register_daemon("i2", "m2", {}, 0.0)
    desc = descriptor(
        node("a", deploy={"machine": "m1"}), node("b", {"x": "a/out"}, deploy={"machine": "m2"})
    )
    uuid = start(state, desc).uuid
    assert state.nodes_ready("m1", uuid, None) is None
    assert state.nodes_ready("elsewhere", uuid, None) is None
    assert state.nodes_ready("m2", uuid, None) == (["m1", "m2"], None)
    # a daemon asking again (it reconnected) gets the verdict alone
    assert state.nodes_ready("m1", uuid, None) == (["m1"], None)


def test_start_barrier_fails_everywhere_on_the_first_error(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    state.register_daemon("i2", "m2", {}, 0.0)
    desc = descriptor(node("a", deploy={"machine": "m1"}), node("b", deploy={"machine": "m2"}))
    uuid = start(state, desc).uuid
    assert state.nodes_ready("m2", uuid, "node b failed") == (["m1", "m2"], "node b failed")
    assert state.nodes_ready("m1", uuid, None) == (["m1"], "node b failed")


def test_invalid_descriptor_and_duplicate_name(state: CoordinatorState) -> None:
    state.register_daemon("i1", None, {}, 0.0)
    with pytest.raises(
        StateError, match=r"invalid dataflow descriptor: .*source node `ghost` does not exist"
    ):
        start(state, descriptor(node("a", inputs={"x": "ghost/out"})))
    start(state, descriptor(node("a")), name="app")
    with pytest.raises(StateError, match="named `app` is already running"):
        start(state, descriptor(node("a")), name="app")


# ---- lifecycle ---------------------------------------------------------------------


def test_start_run_stop_succeed(state: CoordinatorState) -> None:
    daemon = state.register_daemon("i1", None, {}, 0.0)
    dataflow = start(state, descriptor(node("a"), node("b")), name="app")
    state.spawn_succeeded(dataflow.uuid, 101.0)
    assert dataflow.status is Status.RUNNING
    assert state.resolve("app") is dataflow
    assert state.begin_stop(dataflow.uuid, 102.0) == [daemon]
    assert dataflow.status is Status.STOPPING
    assert state.daemon_finished(daemon, finished(dataflow.uuid, ok("a"), ok("b")), 103.0)
    assert dataflow.status is Status.SUCCEEDED
    assert dataflow.record.error is None
    with pytest.raises(StateError, match="no dataflow with UUID or running name `app`"):
        state.resolve("app")
    assert state.resolve("app", any_status=True) is dataflow
    with pytest.raises(StateError, match="is not running"):
        state.begin_stop(dataflow.uuid, 104.0)


def test_failed_node_fails_the_dataflow(state: CoordinatorState) -> None:
    daemon = state.register_daemon("i1", None, {}, 0.0)
    dataflow = start(state, descriptor(node("a"), node("b")))
    state.spawn_succeeded(dataflow.uuid, 101.0)
    bad = NodeResult(node_id="b", ok=False, exit_code=3, cause="exited with exit code 3")
    assert state.daemon_finished(daemon, finished(dataflow.uuid, ok("a"), bad), 102.0)
    assert dataflow.status is Status.FAILED
    assert dataflow.record.error == "b: exited with exit code 3"


def test_dataflow_ends_only_when_every_daemon_finished(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    state.register_daemon("i2", "m2", {}, 0.0)
    desc = descriptor(node("a", deploy={"machine": "m1"}), node("b", deploy={"machine": "m2"}))
    dataflow = start(state, desc)
    state.spawn_succeeded(dataflow.uuid, 101.0)
    assert not state.daemon_finished("m1", finished(dataflow.uuid, ok("a")), 102.0)
    assert dataflow.status is Status.RUNNING
    assert not state.daemon_finished("m1", finished(dataflow.uuid, ok("a")), 102.0)  # duplicate
    assert state.daemon_finished("m2", finished(dataflow.uuid, ok("b")), 103.0)
    assert dataflow.status is Status.SUCCEEDED
    assert [r.node_id for r in dataflow.record.results] == ["a", "b"]


def test_spawn_failure_fails_after_the_other_daemons_end(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    state.register_daemon("i2", "m2", {}, 0.0)
    desc = descriptor(node("a", deploy={"machine": "m1"}), node("b", deploy={"machine": "m2"}))
    dataflow = start(state, desc)
    assert not state.spawn_failed(dataflow.uuid, "m2", "b.py not found", 101.0)
    assert state.daemon_finished("m1", finished(dataflow.uuid, ok("a")), 102.0)
    assert dataflow.status is Status.FAILED
    assert "m2 could not spawn its nodes: b.py not found" in (dataflow.record.error or "")


def test_metrics_are_kept_while_active(state: CoordinatorState) -> None:
    state.register_daemon("i1", None, {}, 0.0)
    dataflow = start(state, descriptor(node("a")))
    state.update_metrics(dataflow.uuid, {"a": NodeMetric(pid=42, cpu=12.5, memory_mb=30.0)})
    assert dataflow.metrics["a"].pid == 42


# ---- daemons, heartbeats, recovery ---------------------------------------------------


def test_silent_daemons_are_found_after_the_timeout(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 100.0)
    state.register_daemon("i2", "m2", {}, 100.0)
    state.daemon_seen("m2", 125.0)
    assert state.silent_daemons(129.0) == []
    assert state.silent_daemons(131.0) == ["m1"]
    assert state.silent_daemons(156.0) == ["m1", "m2"]


def test_machine_id_limits(state: CoordinatorState) -> None:
    with pytest.raises(StateError, match="machine id"):
        state.register_daemon("i1", "x" * 257, {}, 0.0)
    assert state.register_daemon("i1", "x" * 256, {}, 0.0) == "x" * 256
    with pytest.raises(StateError, match="label keys and values"):
        state.register_daemon("i2", None, {"k": "v" * 257}, 0.0)


def test_daemon_loss_recovers_when_it_reports_back(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    dataflow = start(state, descriptor(node("a")))
    state.spawn_succeeded(dataflow.uuid, 101.0)
    assert state.daemon_gone("m1", 110.0) == [dataflow.uuid]
    assert dataflow.status is Status.RECOVERING
    with pytest.raises(StateError, match="recovering"):
        state.begin_stop(dataflow.uuid, 111.0)
    state.register_daemon("i1", "m1", {}, 120.0)
    running = RunningDataflow(dataflow_id=dataflow.uuid, nodes=["a"])
    outcome = state.status_report("m1", [running], [], 120.0)
    assert outcome.ended == [] and outcome.to_stop == []
    assert dataflow.status is Status.RUNNING
    assert state.expire_recoveries(500.0) == []


def test_recovery_times_out(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    dataflow = start(state, descriptor(node("a")))
    state.spawn_succeeded(dataflow.uuid, 101.0)
    state.daemon_gone("m1", 110.0)
    assert state.expire_recoveries(169.0) == []
    assert state.expire_recoveries(170.0) == [dataflow.uuid]
    assert dataflow.status is Status.FAILED
    assert "recovery timeout" in (dataflow.record.error or "")


def test_restart_from_store_reclaims_unnamed_daemon_under_new_id() -> None:
    store = MemoryStore()
    first = CoordinatorState(store)
    old_id = first.register_daemon("instance-1", None, {}, 0.0)
    dataflow = start(first, descriptor(node("a"), node("b")), name="app")
    first.spawn_succeeded(dataflow.uuid, 101.0)
    done = start(first, descriptor(node("c")))
    first.daemon_finished(old_id, finished(done.uuid, ok("c")), 102.0)

    second = CoordinatorState(store)  # the coordinator restarted on the same store
    assert second.recover(200.0) == [dataflow.uuid]
    recovered = second.dataflows[dataflow.uuid]
    assert recovered.status is Status.RECOVERING
    assert second.dataflows[done.uuid].status is Status.SUCCEEDED
    new_id = second.register_daemon("instance-2", None, {}, 201.0)
    running = RunningDataflow(dataflow_id=dataflow.uuid, nodes=["a", "b"])
    second.status_report(new_id, [running], [], 201.0)
    assert recovered.status is Status.RUNNING
    assert recovered.record.placement == {new_id: ["a", "b"]}
    assert store.get_dataflow(dataflow.uuid).status == "Running"  # type: ignore[union-attr]


def test_result_delivered_in_the_report_ends_the_dataflow() -> None:
    store = MemoryStore()
    first = CoordinatorState(store)
    first.register_daemon("i1", "m1", {}, 0.0)
    dataflow = start(first, descriptor(node("a")))
    first.spawn_succeeded(dataflow.uuid, 101.0)
    second = CoordinatorState(store)
    second.recover(200.0)
    second.register_daemon("i1", "m1", {}, 201.0)
    outcome = second.status_report("m1", [], [finished(dataflow.uuid, ok("a"))], 201.0)
    assert outcome.ended == [dataflow.uuid]
    assert second.dataflows[dataflow.uuid].status is Status.SUCCEEDED


def test_daemon_that_no_longer_runs_a_dataflow_fails_it(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    dataflow = start(state, descriptor(node("a")))
    state.spawn_succeeded(dataflow.uuid, 101.0)
    state.register_daemon("i-new", "m1", {}, 150.0)  # the daemon restarted: its nodes died
    outcome = state.status_report("m1", [], [], 150.0)
    assert outcome.ended == [dataflow.uuid]
    assert "no longer runs" in (dataflow.record.error or "")


def test_unknown_running_dataflow_is_adopted_not_forgotten(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    running = RunningDataflow(
        dataflow_id="1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        nodes=["a"],
        name="orphan",
        descriptor=msgspec.convert(descriptor(node("a")), Descriptor),
    )
    outcome = state.status_report("m1", [running], [], 10.0)
    assert outcome.adopted == [running.dataflow_id]
    adopted = state.resolve("orphan")
    assert adopted.status is Status.RUNNING
    assert adopted.record.placement == {"m1": ["a"]}
    assert adopted.descriptor is running.descriptor  # typed, for a restart
    stored = adopted.record.descriptor  # plain data in the store
    assert isinstance(stored, dict) and msgspec.convert(stored, Descriptor) == running.descriptor


def test_a_dataflow_adopted_without_descriptor_refuses_to_give_one(
    state: CoordinatorState,
) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    running = RunningDataflow(dataflow_id="1b4e28ba-2fa1-11d2-883f-0016d3cca427", nodes=["a"])
    state.status_report("m1", [running], [], 10.0)
    with pytest.raises(StateError, match="no usable stored descriptor"):
        _ = state.resolve(running.dataflow_id).descriptor  # a restart's error, not a crash


def test_a_recovered_dataflow_reads_its_stored_descriptor_once(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    started = start(state, descriptor(node("a")))
    recovered = CoordinatorState(state.store)
    recovered.recover(200.0)
    dataflow = recovered.dataflows[started.uuid]
    assert dataflow.parsed is None
    assert dataflow.descriptor == started.descriptor
    assert dataflow.descriptor is dataflow.descriptor


def test_ended_dataflow_still_running_on_a_daemon_is_stopped(state: CoordinatorState) -> None:
    state.register_daemon("i1", "m1", {}, 0.0)
    dataflow = start(state, descriptor(node("a")))
    state.spawn_succeeded(dataflow.uuid, 101.0)
    state.daemon_gone("m1", 110.0)
    state.expire_recoveries(1000.0)
    state.register_daemon("i1", "m1", {}, 1001.0)
    running = RunningDataflow(dataflow_id=dataflow.uuid, nodes=["a"])
    assert state.status_report("m1", [running], [], 1001.0).to_stop == [dataflow.uuid]


def test_a_daemon_silent_about_its_zenoh_endpoints_is_waited_for_once() -> None:
    state = CoordinatorState(MemoryStore())
    state.register_daemon("i-a", "a", {}, 0.0, [], zenoh_pending=True)
    wait = ZenohWait(state, timeout=0.05)

    async def settle_twice() -> float:
        loop = asyncio.get_running_loop()
        await wait.settled("i-b")  # times out: a never reported
        begun = loop.time()
        await wait.settled("i-c")  # a was given up: no second wait
        return loop.time() - begun

    assert asyncio.run(settle_twice()) < 0.05
    assert state.zenoh_pending() == []
    state.zenoh_listening("a", ["tcp/127.0.0.1:7447"])  # a late report still counts
    assert state.peer_endpoints() == {"a": ["tcp/127.0.0.1:7447"]}
