"""The generated dataflows say what the scenarios promise (sizes, warm-ups, queue room)."""

import pytest
import yaml
from flows import write_flow
from runner import RunResult
from scenarios import BURST_WARMUP, Burst, Cpu, FanOut, Latency, build_scenarios, cpu_between


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


def test_cpu_run_samples_dora_run_and_has_the_sender_report(tmp_path):
    (spec,) = Cpu(count=500).runs()
    assert spec.sample_cpu
    nodes = _nodes(tmp_path, spec)
    assert nodes["sender"]["env"]["BENCH_RESULT"] == str(tmp_path / "sender.json")
    assert nodes["sender"]["env"]["BENCH_INTERVALS_MS"] == "0"


def _cpu_run(received: int, acked: bool = True) -> RunResult:
    receiver = {
        "corrupt": 0,
        "errors": [],
        "duplicates": 0,
        "sizes": {"8": {"received": received}},
        "cpu_first_s": 1.00,
        "cpu_done_s": 1.03,  # 30 ms receiving
    }
    sender = {"acked": acked, "cpu_burst_s": 2.00, "cpu_acked_s": 2.02}  # 20 ms sending
    sender |= {"t_burst_ns": 1_000_000_000, "t_acked_ns": 1_100_000_000}
    # `dora run`: 10 ms of CPU over the 100 ms window, sampled every 50 ms from 0.95 s
    samples = [(950_000_000 + i * 50_000_000, 0.5 + i * 0.005) for i in range(5)]
    results = {"receiver": receiver, "sender": sender}
    return RunResult("ours", "cpu_burst", None, 1.0, 0, results=results, cli_cpu=samples)


def test_cpu_per_message_counts_nodes_and_dora_run_over_the_burst_only():
    cpu = Cpu(count=1000)
    measured = cpu.measure({"cpu_burst": _cpu_run(1000)})["cpu_per_msg"]
    assert measured.value == pytest.approx((0.03 + 0.02 + 0.01) / 1000 * 1e6)  # 60 us
    lost = cpu.measure({"cpu_burst": _cpu_run(999)})["cpu_per_msg"]
    assert lost.value is None and "1 of 1000 messages of 8 B missing" in lost.invalid
    assert cpu.measure({"cpu_burst": _cpu_run(1000, acked=False)})["cpu_per_msg"].value is None


def test_cpu_between_interpolates_and_needs_samples_around_the_window():
    samples = [(0, 1.0), (100, 2.0), (200, 2.0)]
    assert cpu_between(samples, 50, 150) == pytest.approx(0.5)
    assert cpu_between(samples, 0, 200) == pytest.approx(1.0)
    assert cpu_between(samples, 50, 250) is None
    assert cpu_between([], 0, 1) is None


def test_quick_is_smaller_than_full():
    quick, full = build_scenarios(quick=True), build_scenarios(quick=False)
    assert [s.name for s in quick] == [s.name for s in full]
    assert len(quick[0].sizes) < len(full[0].sizes)
