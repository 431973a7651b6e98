"""The dataflow core without processes, sockets or clocks: events in, actions out."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from dora_daemon.core import DataflowCore, NodeControlError
from dora_daemon.core import actions as act
from dora_daemon.core import events as ev
from dora_daemon.dynamic import DynamicError
from dora_daemon.resolve import resolve_dataflow
from dora_daemon.results import exited_before_init
from dora_message.node_protocol import (
    STOP_NODE,
    InputClosed,
    NodeFailed,
    NodeRestarted,
    ParamUpdate,
    Stop,
)
from tests.daemon.helpers import descriptor

GRACE = 4.0


def core_for(tmp_path: Path, nodes: list[dict[str, Any]], **options: Any) -> DataflowCore:
    """A core over a resolved dataflow whose node files exist but never run."""
    for node in nodes:
        if node.get("path", "").endswith(".py"):
            (tmp_path / node["path"]).write_text("")
    resolved = resolve_dataflow(
        descriptor(nodes),
        tmp_path,
        dataflow_id="flow",
        daemon_address="\0test",
        host_env={},
        parent_pid=1,
    )
    settings: dict[str, Any] = {"grace": GRACE, "finish_grace": None} | options
    return DataflowCore(resolved, dataflow_id="flow", **settings)


def started(core: DataflowCore, now: float = 0.0) -> list[act.Action]:
    """Start the core and report every node spawned."""
    actions = core.handle(ev.Start(now))
    for action in actions:
        if isinstance(action, act.Spawn):
            core.handle(ev.Spawned(action.node_id))
    return actions


def exited(core: DataflowCore, node_id: str, code: int, now: float) -> list[act.Action]:
    return core.handle(ev.Exited(node_id, code, now, subscribed=True, stderr_tail=["boom"]))


def sends(actions: list[act.Action], node_id: str, kind: type) -> list[Any]:
    return [
        a.message
        for a in actions
        if isinstance(a, act.Send) and a.node_id == node_id and isinstance(a.message, kind)
    ]


def signals(actions: list[act.Action]) -> list[tuple[str, int]]:
    return [(a.node_id, a.signum) for a in actions if isinstance(a, act.Signal)]


def reports(actions: list[act.Action]) -> dict[str, Any]:
    return {a.result.node_id: a.result for a in actions if isinstance(a, act.Report)}


CRASHER = {
    "id": "crasher",
    "path": "crasher.py",
    "outputs": ["value"],
    "restart_policy": "on-failure",
    "max_restarts": 2,
    "restart_delay": 0.5,
}
SINK = {"id": "sink", "path": "sink.py", "inputs": {"value": "crasher/value"}}


def test_on_failure_restarts_after_the_backoff_then_gives_up(tmp_path: Path) -> None:
    core = core_for(tmp_path, [CRASHER, SINK])
    assert [a for a in started(core) if isinstance(a, act.Spawn)] == [
        act.Spawn("crasher"),
        act.Spawn("sink"),
    ]

    first = exited(core, "crasher", 1, now=10.0)
    assert sends(first, "sink", NodeRestarted) == [NodeRestarted(source_node="crasher")]
    assert act.ClearGroup("crasher") in first
    assert not any(isinstance(a, act.Spawn) for a in first)  # the backoff comes first
    assert core.next_deadline() == 10.5
    assert core.node_statuses({}, {})["crasher"].status == "Restarting"
    assert core.handle(ev.Tick(10.4)) == []
    again = core.handle(ev.Tick(10.5))
    assert again[0] == act.Reconnect("crasher")
    assert again[-1] == act.Spawn("crasher", restart_count=1)
    core.handle(ev.Spawned("crasher"))

    exited(core, "crasher", 1, now=20.0)
    assert core.next_deadline() == 21.0  # the delay doubles
    assert core.handle(ev.Tick(21.0))[-1] == act.Spawn("crasher", restart_count=2)
    core.handle(ev.Spawned("crasher"))

    third = exited(core, "crasher", 1, now=30.0)
    (result,) = reports(third).values()
    assert not result.ok and result.cause == "exited with exit code 1"
    assert result.stderr_tail == ["boom"]
    assert act.CloseChannel("crasher", clean=False, error=_before_init("crasher")) in third
    failed = sends(third, "sink", NodeFailed)
    assert failed and failed[0].affected_input_ids == ["value"]
    closed = sends(third, "sink", InputClosed)
    assert closed == [InputClosed(input_ids=["value"], source_node="crasher")]
    # NodeFailed goes out before InputClosed: the receiver learns why first
    order = [a for a in third if isinstance(a, act.Send) and a.node_id == "sink"]
    assert isinstance(order[0].message, NodeFailed)
    assert core.node_statuses({}, {})["crasher"].status == "Failed"
    assert core.node_statuses({}, {})["crasher"].restarts == 2
    assert core.next_deadline() is None


def _before_init(node_id: str) -> str:
    return exited_before_init(node_id, 1, ["boom"])


def test_a_clean_exit_under_on_failure_ends_the_node(tmp_path: Path) -> None:
    core = core_for(tmp_path, [CRASHER, SINK])
    started(core)
    actions = exited(core, "crasher", 0, now=1.0)
    assert reports(actions)["crasher"].ok
    assert not any(isinstance(a, act.Spawn) for a in actions)
    assert not core.all_ended
    assert reports(exited(core, "sink", 0, now=2.0))["sink"].ok
    assert core.all_ended


def test_the_stop_ladder_signals_only_after_the_grace(tmp_path: Path) -> None:
    core = core_for(tmp_path, [CRASHER, SINK])
    started(core, now=0.0)
    stop = core.handle(ev.StopRequested(now=100.0))
    assert sends(stop, "crasher", Stop) == [Stop()] and sends(stop, "sink", Stop) == [Stop()]
    assert signals(stop) == []
    assert core.handle(ev.Tick(100.0 + GRACE - 0.01)) == []
    term = core.handle(ev.Tick(100.0 + GRACE))
    assert signals(term) == [("crasher", signal.SIGTERM), ("sink", signal.SIGTERM)]
    # a node that exits meanwhile gets nothing more, and its planned exit is no failure
    assert reports(exited(core, "sink", -signal.SIGTERM, now=100.0 + GRACE))["sink"].ok
    kill = core.handle(ev.Tick(100.0 + GRACE * 1.5))
    assert signals(kill) == [("crasher", signal.SIGKILL)]
    result = reports(exited(core, "crasher", -signal.SIGKILL, now=107.0))["crasher"]
    assert not result.ok and "did not stop within the grace period" in (result.cause or "")
    assert core.all_ended
    # stopping disabled restarts: the failed node was not respawned
    assert core.next_deadline() is None


def test_a_forced_stop_kills_at_once_and_kills_late_spawns(tmp_path: Path) -> None:
    core = core_for(tmp_path, [CRASHER, SINK])
    core.handle(ev.Start(0.0))
    assert signals(core.handle(ev.Spawned("crasher"))) == []
    forced = core.handle(ev.StopRequested(now=1.0, force=True))
    assert signals(forced) == [("crasher", signal.SIGKILL)]
    assert signals(core.handle(ev.Spawned("sink"))) == [("sink", signal.SIGKILL)]
    result = reports(exited(core, "crasher", -signal.SIGKILL, now=1.1))["crasher"]
    assert result.cause == "killed by a forced stop (signal 9 (SIGKILL))"


def test_stopping_cuts_a_backoff_short(tmp_path: Path) -> None:
    core = core_for(tmp_path, [CRASHER, SINK])
    started(core)
    exited(core, "crasher", 1, now=1.0)
    assert core.next_deadline() == 1.5
    stop = core.handle(ev.StopRequested(now=1.2))
    result = reports(stop)["crasher"]
    assert not result.ok  # its last exit stands: it failed
    assert not any(isinstance(a, act.Spawn) for a in stop)


def test_node_restart_runs_its_own_ladder_and_restarts_whatever_the_policy(
    tmp_path: Path,
) -> None:
    core = core_for(tmp_path, [{**CRASHER, "restart_policy": "never"}, SINK])
    started(core)
    asked = core.handle(ev.RestartRequested("crasher", now=5.0, grace=2.0))
    assert [type(m) for m in sends(asked, "crasher", Stop)] == [Stop]
    assert sends(asked, "sink", Stop) == []
    assert signals(core.handle(ev.Tick(7.0))) == [("crasher", signal.SIGTERM)]
    back = exited(core, "crasher", -signal.SIGTERM, now=7.5)
    assert back[-1] == act.Spawn("crasher", restart_count=1)  # at once: no backoff
    assert core.next_deadline() is None  # the old ladder went with the old process


def test_node_stop_is_a_planned_stop_and_refuses_a_second_command(tmp_path: Path) -> None:
    core = core_for(tmp_path, [CRASHER, SINK])
    started(core)
    asked = core.handle(ev.NodeStopRequested("crasher", now=1.0, grace=None))
    assert sends(asked, "crasher", Stop) == [Stop(scope=STOP_NODE)]
    with pytest.raises(NodeControlError, match="is stopping"):
        core.handle(ev.RestartRequested("crasher", now=1.1))
    result = reports(exited(core, "crasher", 1, now=2.0))["crasher"]
    assert not result.ok  # exit code 1 is still a failure, but no restart follows
    assert core.next_deadline() is None
    with pytest.raises(NodeControlError, match="not running any more"):
        core.handle(ev.NodeStopRequested("crasher", now=3.0))
    with pytest.raises(NodeControlError, match="no node `ghost` runs here"):
        core.handle(ev.RestartRequested("ghost", now=3.0))


def test_finish_grace_stops_a_node_that_outlives_its_inputs(tmp_path: Path) -> None:
    core = core_for(
        tmp_path,
        [
            {"id": "source", "path": "source.py", "outputs": ["value"]},
            SINK
            | {
                "inputs": {"value": "source/value"},
                "finish_grace_secs": 3.0,
            },
        ],
    )
    started(core)
    ended = core.handle(ev.Exited("source", 0, 10.0, subscribed=True))
    assert sends(ended, "sink", InputClosed) == [
        InputClosed(input_ids=["value"], source_node="source")
    ]
    assert core.next_deadline() == 13.0
    stop = core.handle(ev.Tick(13.0))
    assert sends(stop, "sink", Stop) == [Stop(scope=STOP_NODE)]
    assert core.handle(ev.Tick(13.0 + GRACE)) == [act.Signal("sink", signal.SIGTERM)]
    result = reports(exited(core, "sink", -signal.SIGTERM, now=18.0))["sink"]
    assert not result.ok and "finish_grace_secs" in (result.cause or "")


def test_a_failed_start_fails_the_barrier_and_stops_the_dataflow(tmp_path: Path) -> None:
    core = core_for(tmp_path, [{**CRASHER, "restart_policy": "never"}, SINK])
    started(core)
    core.barrier.subscribed("sink")
    early = core.handle(ev.Exited("crasher", 2, 1.0, subscribed=False, stderr_tail=["oops"]))
    closing = [a for a in early if isinstance(a, act.CloseChannel)]
    assert closing and not closing[0].clean
    # the control server decides the barrier with that error and reports it
    assert core.barrier.exited("crasher", clean=False, error=closing[0].error)
    stop = core.handle(ev.BarrierDecided(core.barrier.error, now=1.0))
    assert sends(stop, "sink", Stop) == [Stop()]
    result = reports(exited(core, "sink", 1, now=2.0))["sink"]
    assert result.cause == "cascading failure (exit code 1) after node crasher failed to start"


def test_a_released_barrier_starts_the_timers(tmp_path: Path) -> None:
    core = core_for(tmp_path, [CRASHER, SINK])
    started(core)
    assert not core.barrier.subscribed("crasher")
    assert core.barrier.subscribed("sink")
    assert core.handle(ev.BarrierDecided(None, now=1.0)) == [act.StartTimers()]


def test_the_health_check_kills_a_silent_live_node(tmp_path: Path) -> None:
    core = core_for(tmp_path, [CRASHER | {"health_check_timeout": 2.0}, SINK])
    started(core)
    assert core.health_interval is not None
    assert core.handle(ev.HealthSweep(5.0, {"crasher": 4.0, "sink": 0.0})) == []
    swept = core.handle(ev.HealthSweep(7.0, {"crasher": 4.0}))
    assert signals(swept) == [("crasher", signal.SIGKILL)]
    back = exited(core, "crasher", -signal.SIGKILL, now=7.1)
    assert core.fault_counters.health_check_kills == 1
    assert not reports(back)  # on-failure: the killed node restarts after its backoff


def test_parameters_reach_the_next_incarnation(tmp_path: Path) -> None:
    core = core_for(tmp_path, [CRASHER, SINK])
    started(core)
    core.remember("crasher", ParamUpdate(key="gain", value_json="2"))
    exited(core, "crasher", 1, now=1.0)
    late = ParamUpdate(key="mode", value_json='"fast"')
    assert core.held_for_restart("crasher", late)
    respawn = core.handle(ev.Tick(1.5))
    assert sends(respawn, "crasher", ParamUpdate) == [
        ParamUpdate(key="gain", value_json="2"),
        late,
    ]


def test_a_spawn_failure_fails_the_node_and_tells_its_receivers(tmp_path: Path) -> None:
    core = core_for(tmp_path, [CRASHER, SINK])
    core.handle(ev.Start(0.0))
    core.handle(ev.Spawned("sink"))
    failed = core.handle(ev.SpawnFailed("crasher", "failed to spawn node crasher: ENOENT", 0.1))
    result = reports(failed)["crasher"]
    assert not result.ok and result.cause == "failed to spawn node crasher: ENOENT"
    assert act.CloseChannel("crasher", clean=False, error=result.cause) in failed
    assert sends(failed, "sink", NodeFailed)[0].error == result.cause
    assert sends(failed, "sink", InputClosed) == [
        InputClosed(input_ids=["value"], source_node="crasher")
    ]
    # a node parked in the barrier then fails as a cascade of the culprit
    core.barrier.exited("crasher", clean=False, error=result.cause)
    after = core.handle(ev.Exited("sink", 1, 1.0, subscribed=True))
    assert "after node crasher failed to start" in (reports(after)["sink"].cause or "")


def test_a_dynamic_node_leaves_and_joins_again(tmp_path: Path) -> None:
    core = core_for(
        tmp_path,
        [
            {"id": "panel", "path": "dynamic", "outputs": ["cmd"]},
            {**SINK, "inputs": {"value": "panel/cmd"}},
        ],
    )
    started(core)
    assert core.dynamic_node_ids() == ["panel"]
    assert core.node_statuses({}, {})["panel"].status == "Waiting"
    config = core.join_dynamic("panel", connected=False)
    assert config.node_id == "panel"
    assert core.node_statuses({}, {"panel": 77})["panel"].pid == 77
    core.remember("panel", ParamUpdate(key="mode", value_json="1"))
    left = core.handle(ev.Disconnected("panel"))
    assert left[0] == act.Reconnect("panel")
    assert sends(left, "panel", ParamUpdate) == [ParamUpdate(key="mode", value_json="1")]
    assert sends(left, "sink", InputClosed) == []  # its receivers keep their inputs open
    assert core.node_statuses({}, {})["panel"].status == "Left"
    with pytest.raises(DynamicError, match="already connected"):
        core.join_dynamic("panel", connected=True)
    core.handle(ev.StopRequested(now=5.0))
    with pytest.raises(DynamicError, match="is stopping"):
        core.join_dynamic("panel", connected=False)
