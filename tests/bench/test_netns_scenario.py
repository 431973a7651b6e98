"""The ``netns`` benchmark scenario: ours across two network namespaces, beside bare zenoh.

Needs root and iproute2 (CI has both: see tests/conftest.py); elsewhere it skips with the
reason. Tiny parameters; no timing is asserted, only that every message crossed and every
figure got a value, and that the namespaces are gone afterwards.
"""

import os
import shutil
import subprocess

import pytest
from netns import AcrossMachines
from peer import ours_system

pytestmark = pytest.mark.integration


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@pytest.mark.timeout(240)
def test_split_dataflow_and_bare_zenoh_across_two_namespaces():
    if shutil.which("ip") is None:
        pytest.skip("the `ip` command (iproute2) is not installed")
    if os.geteuid() != 0:
        pytest.skip("creating network namespaces needs root")
    scenario = AcrossMachines(count=5, warmup=1, burst=3)
    with scenario.prepared():
        if scenario.unavailable:
            pytest.skip(scenario.unavailable)
        assert scenario.link is not None
        names = (scenario.link.ns_a, scenario.link.ns_b)
        assert all(name in _namespaces() for name in names)
        floor = scenario.measure_floor()
        runs = {spec.key: scenario.run_one(ours_system(), spec) for spec in scenario.runs()}
    assert not any(name in _namespaces() for name in names)

    for run in runs.values():
        assert run.error is None, run.log_tail
    assert runs["netns_latency"].results["receiver"]["unique"] == 6
    assert runs["netns_burst"].results["receiver"]["unique"] == 3 + 3  # and 3 warm-ups
    measured = scenario.measure(runs)
    assert measured["netns_delivered"].value == 100.0
    for key in ("netns_lat_p50", "netns_lat_p90", "netns_burst_gbps"):
        assert measured[key].invalid is None and measured[key].value > 0, measured[key]
    for key, value in floor.items():
        assert value.invalid is None and value.value > 0, (key, value)
