"""Suite-wide hooks.

Under ``DORA_CI_STRICT_SKIPS=1`` (``.ci/run`` sets it), a skip in one of the test files
below is a failure: CI installs what they need (iproute2, Chromium), so a skip there means
a test CI is counted on did not run. Elsewhere (a laptop without Chromium, say) they skip.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

MUST_RUN_IN_CI = {
    "tests/distributed/test_netns.py": "iproute2; the suite must run as root to create namespaces",
    "tests/bench/test_netns_scenario.py": "iproute2; the suite must run as root",
    "tests/authoring/test_render_chromium.py": "headless Chromium at /usr/bin/chromium",
}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    strict = os.environ.get("DORA_CI_STRICT_SKIPS") == "1"
    if not (strict and report.skipped) or hasattr(report, "wasxfail"):
        return report
    path = item.path.relative_to(item.config.rootpath).as_posix()
    needs = MUST_RUN_IN_CI.get(path)
    if needs is None:
        return report
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = (
        f"{item.nodeid} was skipped under DORA_CI_STRICT_SKIPS=1, where it must run "
        f"(.ci/run installs {needs}): {reason}"
    )
    return report
