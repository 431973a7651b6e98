"""Node processes talking to each other through the direct data plane (fake daemon)."""

from __future__ import annotations

import json
import time

import pytest

from dora_message.config import InputConfig
from dora_message.node_protocol import InputClosed, Stop

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def result(proc, timeout: float = 60.0) -> dict:
    return json.loads(proc.expect("RESULT ", timeout))


def test_dora_rs_style_node_forwards_in_order(harness):
    daemon = harness.daemon(["src", "echo", "sink"])
    cfg = daemon.configs(
        {
            "src": {"outputs": ["out"]},
            "echo": {"inputs": {"in": "src/out"}, "outputs": ["out"]},
            "sink": {"inputs": {"in": InputConfig(source="echo/out", queue_size=100)}},
        }
    )
    sink = harness.spawn("sink.py", cfg["sink"])
    echo = harness.spawn("echo.py", cfg["echo"])
    src = harness.spawn("source.py", cfg["src"], COUNT="20", INTERVAL="0.002")
    got = result(sink)
    assert got["counts"] == {"in": 20}
    assert got["disorder"] == 0 and got["last"] == {"in": 19}
    # echo exits when its input closes; the sink then sees INPUT_CLOSED and the stop
    assert got["types"] == [["INPUT", 20], ["INPUT_CLOSED", 1], ["STOP", 1]]
    assert echo.expect("ECHOED ") == "20"
    assert src.wait() == 0 and echo.wait() == 0 and sink.wait() == 0
    assert [m for node, m in daemon.received if node == "src" and type(m).__name__ == "OutputsDone"]


def test_burst_of_50000_keeps_per_output_order(harness):
    daemon = harness.daemon(["src", "sink"])
    room = InputConfig(source="src/out", queue_size=60_000)
    room_b = InputConfig(source="src/b", queue_size=60_000)
    cfg = daemon.configs(
        {"src": {"outputs": ["out", "b"]}, "sink": {"inputs": {"in": room, "b": room_b}}}
    )
    sink = harness.spawn("sink.py", cfg["sink"])
    harness.spawn("source.py", cfg["src"], COUNT="50000", OUTPUTS="out,b")
    got = result(sink)
    assert got["counts"] == {"in": 50_000, "b": 50_000}
    assert got["disorder"] == 0
    assert got["last"] == {"in": 49_999, "b": 49_999}
    assert got["drops"] == {"in": 0, "b": 0}


def test_drop_oldest_keeps_newest_and_counts_drops(harness):
    daemon = harness.daemon(["src", "sink"])
    small = InputConfig(source="src/out", queue_size=2, queue_policy="drop_oldest")
    cfg = daemon.configs({"src": {"outputs": ["out"]}, "sink": {"inputs": {"in": small}}})
    sink = harness.spawn("sink.py", cfg["sink"], SLEEP="0.05")
    harness.spawn("source.py", cfg["src"], COUNT="60")
    got = result(sink)
    received, dropped = got["counts"]["in"], got["drops"]["in"]
    assert received + dropped == 60
    assert dropped > 0
    assert got["last"]["in"] == 59  # the newest message always arrives
    assert got["seqs"]["in"][-2:] == [58, 59]
    assert got["types"][-2:] == [["INPUT_CLOSED", 1], ["STOP", 1]]


@pytest.mark.parametrize("exit_mode", ["crash", "close"])
def test_input_closed_never_overtakes_data(harness, exit_mode):
    daemon = harness.daemon(["src", "sink"])
    room = InputConfig(source="src/out", queue_size=5000)
    cfg = daemon.configs({"src": {"outputs": ["out"]}, "sink": {"inputs": {"in": room}}})
    # the sink is busy while the producer exits and the daemon reports the closed input
    sink = harness.spawn("sink.py", cfg["sink"], START_DELAY="0.5")
    src = harness.spawn("source.py", cfg["src"], COUNT="3000", EXIT=exit_mode)
    sink.expect("READY")
    assert src.wait() == 0
    daemon.send("sink", InputClosed(["in"], "src"))
    got = result(sink)
    assert got["counts"] == {"in": 3000}
    assert got["after_closed"] == 0 and got["disorder"] == 0
    assert got["types"] == [["INPUT", 3000], ["INPUT_CLOSED", 1], ["STOP", 1]]


def test_send_from_a_thread_while_another_waits_in_next(harness):
    daemon = harness.daemon(["src", "sink"])
    room = InputConfig(source="src/out", queue_size=5000)
    cfg = daemon.configs({"src": {"outputs": ["out"]}, "sink": {"inputs": {"in": room}}})
    sink = harness.spawn("sink.py", cfg["sink"])
    src = harness.spawn("source.py", cfg["src"], COUNT="2000", THREAD="1")
    src.expect("SENT")  # the sender thread finished while main sat in next()
    daemon.send("src", Stop())
    assert src.expect("FIRST ") == '"STOP"'
    got = result(sink)
    assert got["counts"] == {"in": 2000} and got["disorder"] == 0


def test_protocol_version_mismatch_names_both_versions(harness):
    daemon = harness.daemon(["n"], protocol_version="dora-py-0")
    cfg = daemon.configs({"n": {}})
    node = harness.spawn("misc.py", cfg["n"], MODE="init")
    message = node.expect("INIT_ERROR ")
    assert "dora-py-0" in message and "dora-py-2" in message
    assert node.wait() == 0


@pytest.mark.parametrize("setting", [None, "0"])
def test_start_up_objects_are_frozen_unless_turned_off(harness, setting):
    daemon = harness.daemon(["n"])
    env = {"MODE": "gc"} if setting is None else {"MODE": "gc", "DORA_GC_FREEZE": setting}
    node = harness.spawn("misc.py", daemon.configs({"n": {}})["n"], **env)
    before, after = map(int, node.expect("FROZEN ").split())
    assert before == 0
    assert (after > 10_000) if setting is None else (after == 0)
    assert node.wait() == 0


def test_register_error_is_raised(harness):
    daemon = harness.daemon(["n"], register_error="node `n` is not part of this dataflow")
    node = harness.spawn("misc.py", daemon.configs({"n": {}})["n"], MODE="init")
    assert "not part of this dataflow" in node.expect("INIT_ERROR ")


def test_control_events_come_first_and_inputs_drain_after_stop(harness):
    from dora_message.node_protocol import (
        InputRecovered,
        NodeFailed,
        NodeRestarted,
        TextInput,
        Tick,
    )

    daemon = harness.daemon(["n"])
    cfg = daemon.configs({"n": {"inputs": {"tick": "dora/timer/millis/10", "log": "dora/logs"}}})
    node = harness.spawn("misc.py", cfg["n"], MODE="events", START_DELAY="1.0")
    node.expect("READY")
    daemon.send("n", Tick(["tick"], 1_700_000_000_000_000_000))
    daemon.send("n", TextInput(["log"], "hello", 1_700_000_000_000_000_000, {"k": 1}))
    daemon.send("n", NodeRestarted("up"))
    daemon.send("n", NodeFailed("up2", "boom", ["tick"]))
    daemon.send("n", InputRecovered(["tick"]))
    daemon.send("n", Stop())
    events = []
    while True:
        line = node.expect("")
        if line == "END":
            break
        if line.startswith("EVENT "):
            events.append(json.loads(line[6:]))
    assert [e["type"] for e in events] == [
        "NODE_RESTARTED",
        "NODE_FAILED",
        "INPUT_RECOVERED",
        "STOP",
        "INPUT",
        "INPUT",
    ]
    assert events[0]["id"] == "up"
    assert events[1]["value"] == {
        "source_node_id": "up2",
        "error": "boom",
        "affected_input_ids": ["tick"],
    }
    assert events[3]["id"] == "MANUAL"
    tick, text = events[4], events[5]
    assert (tick["id"], tick["value_type"], tick["len"]) == ("tick", "null", 0)
    assert (text["id"], text["value_type"], text["pylist"]) == ("log", "string", ["hello"])
    assert text["meta"] == {"k": 1} and text["ts_tz"] == "UTC"


def test_timeout_returns_an_error_event_and_bad_timeouts_raise(harness):
    daemon = harness.daemon(["n"])
    cfg = daemon.configs({"n": {"inputs": {"tick": "dora/timer/millis/10"}}})
    node = harness.spawn("misc.py", cfg["n"], MODE="timeout")
    event = json.loads(node.expect("EVENT "))
    assert event["type"] == "ERROR" and "Receiver timed out" in event["error"]
    assert node.expect("VALUE_ERROR ") and node.expect("VALUE_ERROR ")
    assert node.expect("TRY ") == "null"
    assert node.expect("DRAIN ") == "[]"
    assert node.expect("EMPTY ") == "true"


def test_daemon_gone_stops_node_and_watchdog_kills_it(harness):
    daemon = harness.daemon(["n"])
    cfg = daemon.configs({"n": {"inputs": {"tick": "dora/timer/millis/10"}}})
    node = harness.spawn("misc.py", cfg["n"], MODE="daemon_gone")
    node.expect("READY")
    daemon.disconnect("n")
    event = json.loads(node.expect("EVENT "))
    assert event == {"type": "STOP", "id": "MANUAL"}
    node.expect("STREAM_ENDED")
    # the script ignores the stop and sleeps; the watchdog kills its process group
    assert node.wait(timeout=15) == -9


def test_recv_async(harness):
    from dora_message.node_protocol import Tick

    daemon = harness.daemon(["n"])
    cfg = daemon.configs({"n": {"inputs": {"tick": "dora/timer/millis/10"}}})
    node = harness.spawn("misc.py", cfg["n"], MODE="async")
    node.expect("READY")
    daemon.send("n", Tick(["tick"], 1))
    first = json.loads(node.expect("EVENT "))
    assert (first["type"], first["id"], first["len"]) == ("INPUT", "tick", 0)
    second = json.loads(node.expect("EVENT "))
    assert second["type"] == "ERROR" and "Receiver timed out" in second["error"]


def test_logging_lines_are_structured_json(harness):
    daemon = harness.daemon(["n"])
    node = harness.spawn("misc.py", daemon.configs({"n": {}})["n"], MODE="log")
    node.expect("LOGGED")
    assert node.wait() == 0
    records = [json.loads(line) for line in node.stdout if line.startswith("{")]
    by_message = {r["message"]: r for r in records}
    hello = by_message["hello"]
    assert hello["level"] == "info" and hello["node_id"] == "n"
    assert hello["target"] == "my.target" and hello["fields"] == {"a": "1", "n": "2"}
    assert hello["timestamp"].endswith("Z")
    assert by_message["careful"]["level"] == "warn"
    bridged = by_message["via logging 5"]
    assert bridged["level"] == "warn" and bridged["target"] == "user.module"
    assert bridged["fields"]["line"].isdigit()  # a string, as the daemon expects
    # an explicit node.log_debug() is emitted (as dora-rs does); stdlib logging.debug is
    # not unless somebody asks for the node's debug records (DORA_NODE_LOG_LEVEL)
    assert by_message["method debug"]["level"] == "debug"
    assert "dropped" not in by_message


def test_introspection(harness):
    daemon = harness.daemon(["n"])
    spec = InputConfig(source="dora/timer/millis/10", queue_size=3)
    cfg = daemon.configs({"n": {"inputs": {"a": "x/y", "b": spec}, "outputs": ["o"]}})
    node = harness.spawn("misc.py", cfg["n"], MODE="info")
    info = json.loads(node.expect("INFO "))
    assert info["dataflow_id"] == daemon.dataflow_id
    assert info["descriptor"] == {"nodes": [{"id": "n"}]}
    assert info["config"] == {
        "inputs": {
            "a": "x/y",
            "b": {"source": "dora/timer/millis/10", "queue_size": 3, "queue_policy": "drop_oldest"},
        },
        "outputs": ["o"],
    }
    assert (info["is_restart"], info["restart_count"], info["timestamp_tz"]) == (False, 0, "UTC")
    assert node.wait() == 0


def test_close_outputs_closes_the_inputs_of_a_live_producer(harness):
    from dora_message.node_protocol import CloseOutputs

    daemon = harness.daemon(["src", "sink"])
    cfg = daemon.configs({"src": {"outputs": ["out"]}, "sink": {"inputs": {"in": "src/out"}}})
    sink = harness.spawn("sink.py", cfg["sink"])
    src = harness.spawn("source.py", cfg["src"], COUNT="5", EXIT="close_outputs")
    src.expect("CLOSED_OUTPUTS")
    got = result(sink)  # the sink ends while the producer is still running
    assert src.proc.poll() is None
    assert got["counts"] == {"in": 5}
    assert got["types"] == [["INPUT", 5], ["INPUT_CLOSED", 1], ["STOP", 1]]
    daemon.wait_for(
        lambda received: any(
            node == "src" and isinstance(msg, CloseOutputs) and msg.outputs == ["out"]
            for node, msg in received
        ),
        10,
    )
    daemon.send("src", Stop())
    assert src.wait() == 0


def test_send_output_raw_small_samples(harness):
    daemon = harness.daemon(["src", "sink"])
    room = InputConfig(source="src/out", queue_size=100)
    cfg = daemon.configs({"src": {"outputs": ["out"]}, "sink": {"inputs": {"in": room}}})
    sink = harness.spawn("sink.py", cfg["sink"])
    harness.spawn("source.py", cfg["src"], COUNT="10", ELEMENTS="1", PAYLOAD="raw")
    got = result(sink)
    assert got["counts"] == {"in": 10} and got["disorder"] == 0


def test_restartable_producer_leaves_closing_to_the_daemon(harness):
    daemon = harness.daemon(["src", "sink"])
    cfg = daemon.configs(
        {
            "src": {"outputs": ["out"], "descriptor": {"restart_policy": "always"}},
            "sink": {"inputs": {"in": "src/out"}},
        }
    )
    sink = harness.spawn("misc.py", cfg["sink"], MODE="poll_events")
    src = harness.spawn("source.py", cfg["src"], COUNT="3")
    assert src.wait() == 0  # a normal exit, but the daemon may restart it
    exited = time.time()
    inputs = []
    while True:  # until the sink timed out waiting, after the producer was gone
        event = json.loads(sink.expect("EVENT "))
        assert event["type"] in ("INPUT", "ERROR"), event  # no INPUT_CLOSED of its own
        if event["type"] == "INPUT":
            inputs.append(event["pylist"][0])
        elif event["t"] > exited + 0.05:
            break
    assert inputs == [0, 1, 2]
    daemon.send("sink", InputClosed(["in"], "src"))  # the daemon decided: no restart
    event = json.loads(sink.expect("EVENT "))
    assert (event["type"], event["id"]) == ("INPUT_CLOSED", "in")
    event = json.loads(sink.expect("EVENT "))
    assert (event["type"], event["id"]) == ("STOP", "ALL_INPUTS_CLOSED")
