"""The core's small parts: the stop ladder, finish graces, parameter memory, the
stopping state, the start verdict."""

from __future__ import annotations

import signal

from dora_daemon.core import actions as act
from dora_daemon.core.finish_graces import Due, FinishGraces
from dora_daemon.core.ladder import Ladder
from dora_daemon.core.outbox import Outbox
from dora_daemon.core.params import ParamMemory
from dora_daemon.core.start_verdict import StartVerdict
from dora_daemon.core.stopping import Stopping
from dora_daemon.core.supervised import Supervised
from dora_daemon.results import Kill
from dora_message.node_protocol import STOP_RESTART, ParamDeleted, ParamUpdate, Stop


def test_ladder_signals_sigterm_after_the_grace_and_sigkill_half_a_grace_later() -> None:
    ladder = Ladder.start(now=10.0, grace=2.0)
    assert ladder.next_deadline() == 12.0
    assert ladder.due(11.9) == []
    assert ladder.due(12.0) == [signal.SIGTERM]
    assert ladder.due(12.5) == []  # each rung once
    assert ladder.next_deadline() == 13.0
    assert ladder.due(13.0) == [signal.SIGKILL]
    assert ladder.done and ladder.next_deadline() is None


def test_a_late_look_at_the_ladder_climbs_both_rungs_in_order() -> None:
    ladder = Ladder.start(now=0.0, grace=1.0)
    assert ladder.due(100.0) == [signal.SIGTERM, signal.SIGKILL]


def test_finish_graces_arm_once_and_fall_due_once() -> None:
    graces = FinishGraces(default_grace=5.0)
    graces.arm("a", node_grace=None, now=1.0)
    graces.arm("b", node_grace=1.0, now=2.0)
    graces.arm("a", node_grace=None, now=4.0)  # already armed: unchanged
    assert graces.next_deadline() == 3.0
    assert graces.due(3.0) == [Due("b", 1.0)]
    assert graces.due(6.0) == [Due("a", 5.0)]
    assert graces.due(100.0) == [] and graces.next_deadline() is None
    graces.arm("a", node_grace=None, now=200.0)  # fell due once: never again
    assert graces.next_deadline() is None


def test_finish_graces_off_by_default_unless_a_node_sets_one() -> None:
    graces = FinishGraces(default_grace=None)
    graces.arm("quiet", node_grace=None, now=0.0)
    graces.arm("strict", node_grace=2.0, now=0.0)
    graces.forget("strict")
    assert graces.next_deadline() is None


def test_param_memory_replays_what_is_set_now() -> None:
    memory = ParamMemory()
    memory.remember("n", ParamUpdate(key="b", value_json="1"))
    memory.remember("n", ParamUpdate(key="a", value_json="2"))
    memory.remember("n", ParamUpdate(key="b", value_json="3"))
    memory.remember("n", ParamDeleted(key="a"))
    assert memory.replay("n") == [ParamUpdate(key="b", value_json="3")]
    assert memory.replay("other") == []


def running(*node_ids: str) -> dict[str, Supervised]:
    return {n: Supervised(tracker=None, health_timeout=None, running=True) for n in node_ids}


def test_stopping_climbs_the_dataflow_ladder_then_kills_for_the_grace() -> None:
    out = Outbox()
    nodes = running("a", "b")
    stopping = Stopping(out, nodes, grace=2.0)
    stopping.stop_dataflow(now=0.0, force=False, grace=None, node_ids=["a", "b", "dyn"])
    assert out.take() == [act.Send(n, Stop()) for n in ("a", "b", "dyn")]
    stopping.stop_dataflow(now=1.0, force=False, grace=None, node_ids=["a", "b"])
    assert out.take() == [] and stopping.deadlines() == [2.0]  # asked once
    nodes["b"].running = False
    stopping.tick(2.0)
    assert out.take() == [act.Signal("a", signal.SIGTERM)]
    stopping.tick(3.0)
    assert out.take() == [act.Signal("a", signal.SIGKILL)]
    assert stopping.kill_reason("a") is Kill.GRACE and stopping.kill_reason("b") is Kill.NONE


def test_a_forced_stop_kills_at_once_and_the_first_reason_is_kept() -> None:
    out = Outbox()
    stopping = Stopping(out, running("a"), grace=2.0)
    stopping.blame("a", Kill.FINISH)
    stopping.stop_dataflow(now=0.0, force=True, grace=None, node_ids=["a"])
    assert out.take() == [act.Signal("a", signal.SIGKILL)]
    assert stopping.requested and stopping.force and stopping.deadlines() == []
    assert stopping.kill_reason("a") is Kill.FINISH
    stopping.forget("a")  # a new incarnation
    assert stopping.kill_reason("a") is Kill.NONE


def test_one_nodes_ladder_starts_once_until_it_is_done() -> None:
    out = Outbox()
    nodes = running("a")
    stopping = Stopping(out, nodes, grace=2.0)
    stopping.stop_one("a", nodes["a"], 1.0, restart=True, now=0.0)
    stopping.stop_one("a", nodes["a"], 9.0, restart=True, now=0.5)
    assert out.take() == [act.Send("a", Stop(scope=STOP_RESTART))] * 2
    assert stopping.deadlines() == [1.0]  # the first ladder stands
    stopping.tick(1.5)  # a late look: both rungs, in order
    assert out.take() == [act.Signal("a", signal.SIGTERM), act.Signal("a", signal.SIGKILL)]
    assert stopping.kill_reason("a") is Kill.GRACE


def test_the_start_verdict_blames_the_first_failure_and_cascades_to_subscribers() -> None:
    verdict = StartVerdict(["crasher", "sink", "late"])
    assert verdict.exited("late", returncode=0, subscribed=False) is None  # clean: no blame
    assert verdict.exited("crasher", returncode=1, subscribed=False) is None
    assert verdict.culprit == "crasher"
    verdict.barrier.exited("crasher", clean=False, error="crasher failed")
    assert verdict.exited("sink", returncode=1, subscribed=True) == "crasher"
    verdict.spawn_failed("sink")  # decided already: the culprit stays
    assert verdict.culprit == "crasher"
