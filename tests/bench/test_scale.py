"""The scale and floor scenarios: their dataflows, the floor table, and tiny real runs.

The real runs go through ours only (a chain of 5, fans of 3), through the same entry point
as the benchmark; nothing about timing is asserted, only that every row gets a measured
value and that every message was delivered.
"""

import subprocess
import sys
from pathlib import Path

import bare
import idle_chain
import pytest
import yaml
from floor import SmallFloor
from floor_report import build_floor_lines, render_floor_markdown
from floored import FloorRow, FloorTarget
from flows import write_flow
from peer import ours_system
from run import every_scenario
from runner import RunResult, run_flow
from scale import Chain, FanIn, FanOut, build_scale_scenarios
from scenarios import FigureDef, Measured

RUN_PY = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def _nodes(tmp_path, spec):
    flow = yaml.safe_load(write_flow(tmp_path, spec).read_text())
    return {node["id"]: node for node in flow["nodes"]}


def test_chain_links_source_relays_and_sink_with_room_for_every_message(tmp_path):
    (spec,) = Chain(length=5, count=10, warmup=2, start_budget_s=5).runs()
    nodes = _nodes(tmp_path, spec)
    assert list(nodes) == ["source", "relay000", "relay001", "relay002", "sink"]
    assert nodes["relay000"]["inputs"]["data"]["source"] == "source/data"
    assert nodes["relay002"]["inputs"]["data"]["source"] == "relay001/data"
    assert nodes["sink"]["inputs"]["data"] == {"source": "relay002/data", "queue_size": 22}
    assert nodes["source"]["inputs"] == {"ack_sink": {"source": "sink/done"}}
    assert nodes["sink"]["env"]["BENCH_EXPECT"] == "12"
    assert nodes["source"]["env"]["BENCH_INTERVALS_MS"] == "20.0"  # 50 Hz
    # every relay knows how many messages come, to time its CPU from the first to the last
    assert nodes["relay001"]["env"]["BENCH_EXPECT"] == "12"
    assert nodes["relay001"]["env"]["BENCH_RESULT"] == str(tmp_path / "relay001.json")


def test_chain_sets_its_hop_beside_the_bare_pair_target_and_the_bare_chain():
    chain = Chain(length=5, count=10, warmup=2, start_budget_s=5)
    rows = [(row.figure, row.floor.key, row.target) for row in chain.floor_rows()]
    assert ("chain_hop_p50", "floor_hop_p50", FloorTarget("<= 2x floor", 2.0)) in rows
    assert ("chain_hop_p50", "floor_chain_hop_p50", None) in rows
    assert ("chain_relay_cpu", "floor_chain_relay_cpu", None) in rows
    figures = {fig.key for fig in chain.figures()} | {fig.key for fig in chain.floor_figures()}
    assert {row[0] for row in rows} | {row[1] for row in rows} <= figures


def test_fan_in_gives_the_sink_one_input_per_sender(tmp_path):
    (spec,) = FanIn(width=3, count=4, warmup=1, start_budget_s=5).runs()
    nodes = _nodes(tmp_path, spec)
    sink = nodes["sink"]
    assert set(sink["inputs"]) == {"in0", "in1", "in2"}
    assert sink["inputs"]["in2"]["source"] == "sender02/data"
    assert sink["env"]["BENCH_SENDERS"] == "3" and sink["env"]["BENCH_EXPECT"] == "5"
    for i in range(3):
        assert nodes[f"sender0{i}"]["inputs"] == {"ack_sink": {"source": "sink/done"}}


def test_chain_fan_and_scale_timeout_options_reach_the_scenarios():
    chain, fan_out, fan_in = build_scale_scenarios(True, chain=7, fan=4, start_budget_s=12.0)
    assert chain.length == 7 and fan_out.width == fan_in.width == 4
    assert len(chain.nodes()) == 7 and len(fan_in.runs()[0].nodes) == 4 + 1
    for scenario in (chain, fan_out, fan_in):
        (spec,) = scenario.runs()
        assert 12.0 < spec.expected_s < 12.0 + 1.0, scenario.name  # limit + 23 quick sends
    defaults = build_scale_scenarios(True, chain=None, fan=20, start_budget_s=None)
    assert all(s.runs()[0].expected_s > 30.0 for s in defaults)  # quick default: 30 s


def test_full_chain_warms_up_past_its_start_up_stall():
    chain, fan_out, _ = build_scale_scenarios(False, chain=None, fan=20, start_budget_s=None)
    assert chain.warmup * 20.0 / 1000 >= 2.0  # 2 s of its 50 Hz before measuring
    assert fan_out.warmup == 5  # the fans keep theirs


def test_chain_of_one_node_is_refused():
    with pytest.raises(ValueError, match="at least 2 nodes"):
        Chain(length=1, count=1, warmup=0, start_budget_s=1)


TWICE = FloorTarget("<= 2x floor", 2.0)


def _line(ours, floor, better="lower", target=TWICE):
    fig = FigureDef("x", "x", "us", better)
    row = FloorRow("x", FigureDef("f", "floor", "us", better), target)
    measured = {"ours": {"x": [Measured(v) if v else Measured(None, "lost") for v in ours]}}
    floors = {"f": [Measured(v) for v in floor]}
    return build_floor_lines([fig], [row], measured, floors)[0]


def test_floor_status_is_judged_on_the_median_ratio():
    assert _line([300.0, 150.0, 180.0], [100.0]).status == "met"  # 180 / 100
    assert _line([300.0, 250.0, 210.0], [100.0]).status == "NOT met"  # 250 / 100
    assert _line([150.0], [100.0]).ratio(_line([150.0], [100.0]).ours) == pytest.approx(1.5)
    throughput = FloorTarget(">= 0.8x bare", 0.8)
    assert _line([0.9], [1.0], "higher", throughput).status == "met"
    assert _line([0.7], [1.0], "higher", throughput).status == "NOT met"


def test_a_bad_repetition_or_a_missing_system_never_meets_a_floor_target():
    assert _line([150.0, None], [100.0]).status == "NOT met (ours INVALID)"
    assert _line([], [100.0]).status == "NOT met (ours not run)"
    markdown = render_floor_markdown([_line([150.0], [100.0])])
    assert "| x | floor | 150 us | 100 us | 1.50x | <= 2x floor | met | not run | - |" in markdown


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_bare_pair_measures_every_message_of_every_size():
    lat = bare.pair_latency([8, 65536], [5, 4], [1, 1], interval_ms=2.0)
    assert sorted(lat) == [8, 65536]
    assert len(lat[8]) == 5 and len(lat[65536]) == 4  # warm-ups left out
    assert all(v > 0 for values in lat.values() for v in values)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_bare_chain_delivers_every_message_through_each_relay_and_times_their_cpu():
    floor = bare.chain(4, 8, 6, 1, interval_ms=2.0, start_timeout_s=30)
    assert len(floor.lat_ns) == 6 and all(v > 0 for v in floor.lat_ns)  # warm-up left out
    assert len(floor.relay_cpu_s) == 2 and all(v > 0 for v in floor.relay_cpu_s)


def test_bare_chain_needs_a_relay():
    with pytest.raises(ValueError, match="a sender, a relay and a receiver"):
        bare.chain(2, 8, 1, 0, interval_ms=2.0, start_timeout_s=1)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_bare_start_floor_reports_time_and_pss_of_the_processes():
    seconds, pss = bare.start_and_pss(3, timeout_s=50)
    assert seconds > 0
    assert 1 << 20 < pss < 1 << 30  # a Python process with pyarrow: megabytes, not bytes


@pytest.mark.timeout(30)
def test_bare_start_floor_gives_up_on_a_process_that_never_gets_ready(tmp_path):
    silent = tmp_path / "python"
    silent.write_text("#!/bin/sh\nread line\n")  # says nothing until its stdin closes
    silent.chmod(0o755)
    with pytest.raises(bare.FloorError, match="2 bare processes took over 1 s"):
        bare.start_and_pss(2, timeout_s=1.0, python=silent)


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_chain_run_of_ours_delivers_through_every_relay_and_samples_pss():
    # 50 messages at 50 Hz: a second of sending, so the PSS sampler (every 0.5 s) sees
    # the chain running even when its nodes start in a few ms (forked)
    chain = Chain(length=5, count=50, warmup=1, start_budget_s=30)
    (spec,) = chain.runs()
    run = chain.run_one(ours_system(), spec, allowance_s=20.0)
    assert run.error is None, run.log_tail
    assert run.results["sink"]["unique"] == 51 and run.results["sink"]["corrupt"] == 0
    measured = chain.measure({"chain": run})
    assert measured["chain_delivered"].value == 100.0
    keys = ("chain_first", "chain_hop_p50", "chain_e2e_p50", "chain_pss", "chain_pss_nodes")
    for key in (*keys, "chain_relay_cpu"):
        assert measured[key].invalid is None and measured[key].value > 0, (key, measured[key])
    assert {run.results[r]["forwarded"] for r in chain.relay_ids()} == {51}
    hop, e2e = measured["chain_hop_p50"].value, measured["chain_e2e_p50"].value
    assert hop == pytest.approx(e2e / 4)  # 5 nodes: 4 hops


@pytest.mark.integration
@pytest.mark.timeout(240)
def test_entry_point_runs_the_scale_and_floor_rows_for_ours(tmp_path):
    out = tmp_path / "bench.md"
    only = [arg for name in ("chain", "fanout20", "fanin20", "floor") for arg in ("--only", name)]
    args = ["--quick", *only, "--chain", "5", "--fan", "3", "--systems", "ours"]
    proc = subprocess.run(
        [sys.executable, str(RUN_PY), *args, "--markdown", str(out)],
        capture_output=True,
        text=True,
        timeout=220,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    markdown = out.read_text()
    assert "FAILED" not in markdown and "INVALID" not in markdown, markdown
    rows = {line.split("|")[1].strip(): line for line in markdown.splitlines() if "|" in line}
    for label in ("chain 5: delivered", "fan-out 1->3 delivered", "fan-in 3->1 delivered"):
        assert "| 100.0 % | not run |" in rows[label], rows[label]
    floor_table = markdown.split("## Against the floor (same run)")[1]
    for label in (
        "chain 5: launch -> first message at the end",
        "chain 5: PSS per node, whole tree",
        "chain 5: latency per hop p50",
        "chain 5: CPU per relay per message",
        "floor run: latency p50 8 B",
        "floor run: latency p50 64 KB",
        "fan-out 1->3 8 B at 100 Hz p50",
    ):
        line = next(x for x in floor_table.splitlines() if x.startswith(f"| {label} |"))
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        ours, floor, ratio = cells[2], cells[3], cells[4]
        assert ours[0].isdigit() and floor[0].isdigit() and ratio.endswith("x"), line


def test_small_floor_keys_do_not_collide_with_the_latency_scenario():
    scenario = SmallFloor(count=5, warmup=1)
    keys = {fig.key for fig in scenario.figures()}
    assert keys == {
        "floor_lat_p50_8",
        "floor_lat_p90_8",
        "floor_lat_p50_65536",
        "floor_lat_p90_65536",
    }
    assert {row.figure for row in scenario.floor_rows()} == keys
    assert [row.target is not None for row in scenario.floor_rows()] == [True, False, True, False]


def test_every_figure_of_a_run_has_its_own_label():
    # the report's per-repetition list is keyed by label: two figures of one name would
    # show one's repetitions under the other's median
    for quick in (True, False):
        labels = [f.label for s in every_scenario(quick, None, 20, None) for f in s.figures()]
        assert len(labels) == len(set(labels)), sorted(x for x in labels if labels.count(x) > 1)


def test_fan_out_names_every_receiver(tmp_path):
    (spec,) = FanOut(width=3, count=4, warmup=1, start_budget_s=5).runs()
    nodes = _nodes(tmp_path, spec)
    assert {"receiver00", "receiver01", "receiver02"} <= set(nodes)
    assert nodes["sender"]["env"]["BENCH_INTERVALS_MS"] == "10.0"  # 100 Hz


def _sink(lat_ns, unique, first_recv_ns=2_000_000_000):
    sizes = {"8": {"received": len(lat_ns), "lat_ns": lat_ns}}
    return {
        "corrupt": 0,
        "errors": [],
        "duplicates": 0,
        "unique": unique,
        "first_recv_ns": first_recv_ns,
        "sizes": sizes,
    }


def test_chain_that_never_delivered_says_so_for_every_figure():
    chain = Chain(length=4, count=3, warmup=1, start_budget_s=5)
    sink = {**_sink([], 0), "first_recv_ns": None}
    run = RunResult("peer", "chain", "timed out after 45 s and was killed", 45.2, 0, {"sink": sink})
    measured = chain.measure({"chain": run})
    assert {m.value for m in measured.values()} == {None}
    reason = measured["chain_first"].invalid
    assert "no message through the chain within 45 s" in reason and "timed out" in reason


def test_chain_that_lost_messages_keeps_first_message_and_hints_at_the_delivered():
    chain = Chain(length=4, count=3, warmup=1, start_budget_s=5)
    run = RunResult("peer", "chain", None, 9.0, 1_000_000_000, {"sink": _sink([3_000_000], 2)})
    measured = chain.measure({"chain": run})
    assert measured["chain_first"].value == pytest.approx(1000.0)  # launch -> first: 1 s
    assert measured["chain_delivered"].value == pytest.approx(50.0)  # 2 of 4
    hop = measured["chain_hop_p50"]
    assert hop.value is None and "2 of 3 messages of 8 B missing" in hop.invalid
    assert "end-to-end p50 of the 1 delivered: 3.0 ms" in hop.invalid


def _relay(forwarded, cpu_first=None, cpu_last=None, first_at=1):
    return {
        "forwarded": forwarded,
        "cpu_first_at": first_at,
        "cpu_first_s": cpu_first,
        "cpu_last_s": cpu_last,
    }


def test_chain_cpu_per_relay_is_the_median_relay_over_its_messages():
    chain = Chain(length=5, count=3, warmup=1, start_budget_s=5)
    relays = {
        "relay000": _relay(4, 1.0, 1.0003),  # 300 us over the 3 messages after the first
        "relay001": _relay(4, 2.0, 2.0006),
        "relay002": _relay(4, 0.5, 0.5009),
    }
    lat = [4_000_000, 8_000_000, 12_000_000]
    run = RunResult("ours", "chain", None, 3.0, 0, {"sink": _sink(lat, 4), **relays})
    assert chain.measure({"chain": run})["chain_relay_cpu"].value == pytest.approx(200.0)
    run.results["relay001"] = _relay(2, 2.0)  # never saw the last message: no figure
    cpu = chain.measure({"chain": run})["chain_relay_cpu"]
    assert cpu.value is None and "relay001 forwarded 2 of 4" in cpu.invalid


def test_chain_per_hop_latency_is_end_to_end_over_hops():
    chain = Chain(length=5, count=3, warmup=1, start_budget_s=5)
    lat = [4_000_000, 8_000_000, 12_000_000]
    run = RunResult("ours", "chain", None, 3.0, 0, {"sink": _sink(lat, 4)})
    measured = chain.measure({"chain": run})
    assert measured["chain_e2e_p50"].value == pytest.approx(8000.0)
    assert measured["chain_hop_p50"].value == pytest.approx(2000.0)  # 4 hops
    assert measured["chain_delivered"].value == 100.0
    assert "never saw all 5 nodes" in measured["chain_pss"].invalid  # no samples taken


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_fan_out_to_25_receivers_starts_every_node_and_delivers():
    """Many nodes spawned at once (ours forks them from its fork server): none refused,
    none stuck waiting for room on the server's socket."""
    fan = FanOut(width=25, count=3, warmup=1, start_budget_s=30)
    (spec,) = fan.runs()
    run = run_flow(ours_system(), spec, allowance_s=20.0)
    assert run.error is None, run.log_tail
    measured = fan.measure({fan.name: run})
    assert measured["fanout20_delivered"].value == 100.0
    assert measured["fanout20_p50"].invalid is None


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_idle_chain_probe_measures_the_cpu_of_every_node_of_the_chain():
    cpu = idle_chain.measure(ours_system(), length=3, rate=200.0, window_s=1.0)
    assert cpu.nodes == 3  # the source and two relays, not the CLI or the fork server
    assert cpu.node_cpu_per_s > 0 and cpu.window_s >= 1.0


def test_idle_chain_links_a_paced_source_to_relays():
    source, *relays = idle_chain.chain_nodes(3, rate=0.0)
    assert source.script == "paced_source.py" and source.env == {"BENCH_RATE": "0.0"}
    assert [r.inputs["data"]["source"] for r in relays] == ["source/data", "relay000/data"]
