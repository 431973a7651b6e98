"""The generated dataflows say what the scenarios promise (sizes, warm-ups, queue room)."""

import pytest
import yaml
from flows import write_flow
from runner import RunResult
from scenarios import BURST_WARMUP, Burst, Cpu, FanOut, Latency, build_scenarios


def _nodes(tmp_path, spec):
    flow = yaml.safe_load(write_flow(tmp_path, spec).read_text())
    return {node["id"]: node for node in flow["nodes"]}


def test_burst_has_warmups_and_queue_room(tmp_path):
    (spec,) = Burst({8: 1000}).runs()
    nodes = _nodes(tmp_path, spec)
    env = nodes["sender"]["env"]
    assert env["BENCH_WARMUPS"] == str(BURST_WARMUP) and env["BENCH_INTERVALS_MS"] == "0"
    assert nodes["receiver"]["inputs"]["data"]["queue_size"] >= 1000 + BURST_WARMUP
    assert nodes["receiver"]["env"]["BENCH_EXPECT"] == str(1000 + BURST_WARMUP)


def test_latency_paces_by_size(tmp_path):
    (spec,) = Latency([8, 64 * 1024, 4 << 20], small_count=5, large_count=3, warmup=2).runs()
    env = _nodes(tmp_path, spec)["sender"]["env"]
    assert env["BENCH_INTERVALS_MS"] == "10.0,10.0,50.0"
    assert env["BENCH_COUNTS"] == "5,5,3" and env["BENCH_WARMUPS"] == "2,2,2"


def test_every_receiver_acks_to_the_sender_and_writes_a_result(tmp_path):
    (spec,) = FanOut(count=4, warmup=1).runs()
    nodes = _nodes(tmp_path, spec)
    receivers = [n for n in nodes if n.startswith("receiver")]
    assert len(receivers) == 4
    assert set(nodes["sender"]["inputs"]) == {f"ack_{r}" for r in receivers}
    assert nodes["sender"]["env"]["BENCH_ACKS"] == ",".join(f"ack_{r}" for r in receivers)
    for r in receivers:
        assert nodes[r]["env"]["BENCH_RESULT"] == str(tmp_path / f"{r}.json")


def test_cpu_bursts_differ_only_in_count(tmp_path):
    small, large = Cpu(small=500, large=1500).runs()
    small_env = _nodes(tmp_path, small)["sender"]["env"]
    large_env = _nodes(tmp_path, large)["sender"]["env"]
    assert small_env["BENCH_COUNTS"] == "500" and large_env["BENCH_COUNTS"] == "1500"
    differing = {k for k in small_env if small_env[k] != large_env[k]}
    assert differing <= {"BENCH_COUNTS", "BENCH_ACK_TIMEOUT_S"}


def _burst_run(key: str, received: int, cpu_s: float) -> RunResult:
    receiver = {"corrupt": 0, "errors": [], "duplicates": 0, "sizes": {"8": {"received": received}}}
    return RunResult("ours", key, None, 1.0, 0, cpu_s, results={"receiver": receiver})


def test_cpu_per_message_is_the_slope_between_the_bursts():
    cpu = Cpu(small=1000, large=3000)
    runs = {"cpu_small": _burst_run("cpu_small", 1000, 0.50)}
    runs["cpu_large"] = _burst_run("cpu_large", 3000, 0.54)
    assert cpu.measure(runs)["cpu_per_msg"].value == pytest.approx(20.0)
    runs["cpu_large"] = _burst_run("cpu_large", 2999, 0.54)  # one message lost: no figure
    assert cpu.measure(runs)["cpu_per_msg"].value is None


def test_cpu_needs_two_distinct_counts():
    with pytest.raises(ValueError):
        Cpu(small=3000, large=3000)


def test_quick_is_smaller_than_full():
    quick, full = build_scenarios(quick=True), build_scenarios(quick=False)
    assert [s.name for s in quick] == [s.name for s in full]
    assert len(quick[0].sizes) < len(full[0].sizes)
