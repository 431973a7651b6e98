"""The core's small parts: the stop ladder, finish graces, parameter memory."""

from __future__ import annotations

import signal

from dora_daemon.core.finish_graces import Due, FinishGraces
from dora_daemon.core.ladder import Ladder
from dora_daemon.core.params import ParamMemory
from dora_message.node_protocol import ParamDeleted, ParamUpdate


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
