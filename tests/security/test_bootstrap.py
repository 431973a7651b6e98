"""The dynamic-node bootstrap (TCP on loopback, no SO_PEERCRED) hands a config, and so
a node's secret, only to a process of the daemon's own user."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.procs import DoraProcess
from tests.security import attacks

pytestmark = pytest.mark.integration

DYNAMIC = Path(__file__).parents[1] / "node_api" / "dynamic"
JOIN_PORT = re.compile(r"dynamic nodes join on 127\.0\.0\.1:(\d+)")


@pytest.mark.timeout(60)
def test_another_user_gets_no_config_from_the_bootstrap(tmp_path: Path) -> None:
    who = attacks.nobody()
    if who is None:
        pytest.skip("switching to another uid needs root (the test runs unprivileged)")
    for name in ("flow.yml", "talker.py", "joiner.py"):
        shutil.copy(DYNAMIC / name, tmp_path / name)
    dora = DoraProcess(
        ["run", str(tmp_path / "flow.yml")], env={"DORA_DAEMON_LOCAL_LISTEN_PORT": "0"}
    )
    try:
        notice = dora.wait_for_line("waits for dynamic node(s) `dyn`")
        port = int(JOIN_PORT.search(notice).group(1))  # type: ignore[union-attr]
        stranger = attacks.run_as(who, attacks.bootstrap, port, "dyn")
        assert stranger["uid"] == who[0]
        assert not stranger["got_config"], stranger
        assert "runs as uid" in stranger["error"], stranger
        # our own user still gets it
        own = attacks.run_as(None, attacks.bootstrap, port, "dyn")
        assert own["got_config"], own
    finally:
        dora.kill_tree()
