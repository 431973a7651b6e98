"""The CPU figure from a real run of ours: node reports and outside samples line up.

No timing is asserted: only that a real burst yields the marks, samples around the
burst and a figure built from them.
"""

import pytest
from peer import ours_system
from runner import run_flow
from scenarios import Cpu, cpu_between

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


def test_cpu_of_a_real_burst_is_measured_over_the_burst_window(tmp_path):
    scenario = Cpu(count=300)
    (spec,) = scenario.runs()
    run = run_flow(ours_system(), spec, workdir=tmp_path, allowance_s=20.0)
    assert run.error is None, run.log_tail
    sender, receiver = run.results["sender"], run.results["receiver"]
    assert sender["acked"] is True
    assert sender["t_burst_ns"] <= receiver["first_recv_ns"] <= sender["t_acked_ns"]
    assert receiver["cpu_done_s"] >= receiver["cpu_first_s"]
    assert sender["cpu_acked_s"] >= sender["cpu_burst_s"]

    times = [t for t, _ in run.cli_cpu]
    cpus = [c for _, c in run.cli_cpu]
    assert times == sorted(times) and cpus == sorted(cpus)  # cumulative, in time order
    assert cpu_between(run.cli_cpu, sender["t_burst_ns"], sender["t_acked_ns"]) is not None

    measured = scenario.measure({"cpu_burst": run})["cpu_per_msg"]
    assert measured.invalid is None and measured.value > 0
