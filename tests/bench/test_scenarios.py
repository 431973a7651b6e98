"""The generated dataflows say what the scenarios promise (sizes, warm-ups, queue room)."""

import yaml
from flows import write_flow
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


def test_cpu_baseline_and_burst_differ_only_in_count(tmp_path):
    base, burst = Cpu(count=500).runs()
    base_env = _nodes(tmp_path, base)["sender"]["env"]
    burst_env = _nodes(tmp_path, burst)["sender"]["env"]
    assert base_env["BENCH_COUNTS"] == "1" and burst_env["BENCH_COUNTS"] == "500"
    differing = {k for k in base_env if base_env[k] != burst_env[k]}
    assert differing <= {"BENCH_COUNTS", "BENCH_ACK_TIMEOUT_S"}


def test_quick_is_smaller_than_full():
    quick, full = build_scenarios(quick=True), build_scenarios(quick=False)
    assert [s.name for s in quick] == [s.name for s in full]
    assert len(quick[0].sizes) < len(full[0].sizes)
