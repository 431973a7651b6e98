"""Unit tests of the sans-I/O input scheduler."""

from __future__ import annotations

from dora._scheduler import Scheduler, effective_cap


def drain(s: Scheduler) -> list:
    out = []
    while (entry := s.pop()) is not None:
        out.append(entry if isinstance(entry, tuple) else (entry["type"], entry.get("id")))
    return out


def test_effective_caps():
    assert effective_cap(10, "drop_oldest") == 10
    assert effective_cap(0, "drop_oldest") == 1
    assert effective_cap(3, "backpressure") == 100
    assert effective_cap(50, "backpressure") == 500


def test_drop_oldest_keeps_the_newest_and_counts():
    s = Scheduler({"a": (2, "drop_oldest")})
    for i in range(5):
        s.push_input("a", i)
    assert s.drop_counts() == {"a": 3}
    assert drain(s) == [("a", 3), ("a", 4)]


def test_backpressure_cap_drops_oldest_past_ten_times_queue_size():
    s = Scheduler({"a": (1, "backpressure")})
    for i in range(150):
        s.push_input("a", i)
    assert s.drop_counts() == {"a": 50}
    got = drain(s)
    assert got[0] == ("a", 50) and got[-1] == ("a", 149) and len(got) == 100


def test_round_robin_least_recently_served():
    s = Scheduler({"a": (10, "drop_oldest"), "b": (10, "drop_oldest")})
    for i in range(3):
        s.push_input("a", f"a{i}")
    s.push_input("b", "b0")
    assert drain(s) == [("a", "a0"), ("b", "b0"), ("a", "a1"), ("a", "a2")]


def test_control_events_go_first():
    s = Scheduler({"a": (10, "drop_oldest")})
    s.push_input("a", 1)
    s.push_event({"kind": "dora", "type": "NODE_RESTARTED", "id": "up"})
    assert drain(s) == [("NODE_RESTARTED", "up"), ("a", 1)]


def test_input_closed_is_queued_behind_its_data_then_all_inputs_closed_stop():
    s = Scheduler({"a": (10, "drop_oldest"), "b": (10, "drop_oldest")})
    s.push_input("a", 1)
    s.push_input("a", 2)
    s.close_input("a")
    assert s.push_input("a", 3) is False  # nothing after the close
    s.close_input("b")
    assert drain(s) == [
        ("a", 1),
        ("INPUT_CLOSED", "b"),
        ("a", 2),
        ("INPUT_CLOSED", "a"),
        ("STOP", "ALL_INPUTS_CLOSED"),
    ]
    assert s.ended


def test_close_is_never_dropped_by_the_queue_policy():
    s = Scheduler({"a": (1, "drop_oldest")})
    s.push_input("a", 1)
    s.close_input("a")
    assert drain(s) == [("a", 1), ("INPUT_CLOSED", "a"), ("STOP", "ALL_INPUTS_CLOSED")]


def test_after_stop_only_queued_inputs_then_end():
    s = Scheduler({"a": (10, "drop_oldest")})
    s.push_input("a", 1)
    s.push_event({"kind": "dora", "type": "STOP", "id": "MANUAL"})
    s.push_event({"kind": "dora", "type": "STOP", "id": "MANUAL"})  # deduplicated
    assert s.pop() == {"kind": "dora", "type": "STOP", "id": "MANUAL"}
    assert s.push_input("a", 2) is False
    assert not s.ended
    assert s.pop() == ("a", 1)
    assert s.ended and s.pop() is None


def test_stop_with_nothing_queued_ends_at_once():
    s = Scheduler({})
    s.push_event({"kind": "dora", "type": "STOP", "id": "MANUAL"})
    assert s.pop()["type"] == "STOP"
    assert s.ended


def test_node_without_inputs_gets_no_all_inputs_closed_stop():
    s = Scheduler({})
    assert s.pop() is None and not s.ended


def test_protected_messages_are_evicted_last():
    s = Scheduler({"a": (2, "drop_oldest")})
    s.push_input("a", "req", protected=True)
    s.push_input("a", "x")
    s.push_input("a", "y")
    assert drain(s) == [("a", "req"), ("a", "y")]
    assert s.drop_counts() == {"a": 1}


def test_incoming_plain_message_is_dropped_when_queue_is_all_protected():
    s = Scheduler({"a": (1, "drop_oldest")})
    s.push_input("a", "req", protected=True)
    assert s.push_input("a", "x") is False
    assert drain(s) == [("a", "req")]


def test_flush_discards_older_unprotected_messages():
    s = Scheduler({"a": (10, "drop_oldest")})
    s.push_input("a", 1)
    s.push_input("a", "req", protected=True)
    s.push_input("a", 2)
    s.push_input("a", 3, flush=True)
    assert drain(s) == [("a", "req"), ("a", 3)]
    assert s.drop_counts() == {"a": 0}


def test_reopen_after_restart_accepts_data_again():
    s = Scheduler({"a": (10, "drop_oldest"), "b": (10, "drop_oldest")})
    s.close_input("a")
    assert s.pop() == {"kind": "dora", "type": "INPUT_CLOSED", "id": "a"}
    s.reopen_input("a")
    assert s.push_input("a", 7)
    assert s.is_open("a")
    assert drain(s) == [("a", 7)]


def test_unknown_input_is_ignored_and_end_discards():
    s = Scheduler({"a": (10, "drop_oldest")})
    assert s.push_input("zzz", 1) is False
    s.push_input("a", 1)
    s.end()
    assert s.pop() is None and s.ended and s.is_empty()


def test_what_never_comes_out_is_counted_per_input():
    # a node leaving to be restarted reports these (UnreadInputs)
    s = Scheduler({"a": (10, "drop_oldest"), "b": (10, "drop_oldest")})
    s.push_input("a", 1)
    s.push_input("a", 2)
    s.push_input("b", 3)
    assert s.pop() == ("a", 1)
    s.close_input("b")  # markers are not messages
    s.end()
    s.push_input("a", 4)  # arrives after the end
    s.push_run("a", [5, 6])
    assert s.discarded_counts() == {"a": 4, "b": 1}
    assert s.drop_counts() == {"a": 0, "b": 0}  # not the queue policy's drops


def test_non_input_queue_is_bounded_but_keeps_stop():
    s = Scheduler({})
    s.push_event({"kind": "dora", "type": "STOP", "id": "MANUAL"})
    for i in range(1000):
        s.push_event({"kind": "dora", "type": "INPUT_RECOVERED", "id": str(i)})
    assert s.drop_counts() == {"dora.non_input_event": 1}
    assert s.pop()["type"] == "STOP"  # the STOP survived...
    rest = drain(s)
    assert rest[0] == ("INPUT_RECOVERED", "1") and len(rest) == 999  # ...the oldest other went


def test_passive_inputs_do_not_keep_the_node_open():
    # exit_when_nodes_finish: a timer input does not hold off ALL_INPUTS_CLOSED
    s = Scheduler({"data": (10, "drop_oldest"), "tick": (10, "drop_oldest")}, passive=["tick"])
    s.push_input("tick", "t")
    s.close_input("data")
    assert drain(s) == [
        ("INPUT_CLOSED", "data"),
        ("STOP", "ALL_INPUTS_CLOSED"),
        ("tick", "t"),
    ]
    assert s.ended


def test_without_passive_inputs_a_timer_keeps_the_node_open():
    s = Scheduler({"data": (10, "drop_oldest"), "tick": (10, "drop_oldest")})
    s.close_input("data")
    assert drain(s) == [("INPUT_CLOSED", "data")]
    assert not s.ended


def test_a_run_of_plain_messages_queues_like_single_pushes():
    s = Scheduler({"a": (3, "drop_oldest"), "b": (10, "drop_oldest")})
    s.push_run("b", ["b0", "b1"])
    s.push_run("a", [1, 2])
    s.push_run("a", [3, 4])  # over the cap: the oldest goes, as one by one
    assert s.drop_counts()["a"] == 1
    s.close_input("a")
    s.push_run("a", [5])  # nothing after the close
    got = [s.pop() for _ in range(6)]
    assert [e for e in got if isinstance(e, tuple) and e[0] == "a"] == [
        ("a", 2),
        ("a", 3),
        ("a", 4),
    ]
    assert [e for e in got if isinstance(e, tuple) and e[0] == "b"] == [("b", "b0"), ("b", "b1")]
    assert got[-1]["type"] == "INPUT_CLOSED"
