"""`dora coordinator`, `dora daemon`, `dora system status`, `dora doctor` and a token from
`dora up --token-file` to a daemon and the CLI, as a user runs them: real processes on
127.0.0.1, killed by PID at the end."""

from __future__ import annotations

import contextlib
import json
import stat
from pathlib import Path

import psutil
import pytest

from dora_cli.client import Target, call
from dora_message import cli_to_coordinator as cli
from tests.cli.helpers import dora_coordinator, dora_daemon, env_for
from tests.coordinator.helpers import Proc, refused_port, wait_until
from tests.procs import run_dora, wait_gone

pytestmark = pytest.mark.integration


def no_token_env(tmp_path: Path) -> dict[str, str]:
    """An environment in which the CLI finds no token unless the test gives one: no
    DORA_AUTH_TOKEN, a config dir of its own (the default token file lives there)."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    return {"DORA_AUTH_TOKEN": "", "XDG_CONFIG_HOME": str(config), "HOME": str(tmp_path)}


@pytest.mark.timeout(120)
def test_dora_coordinator_and_dora_daemon_serve_the_cli(tmp_path: Path, procs: list[Proc]) -> None:
    env = no_token_env(tmp_path)
    port = dora_coordinator(procs, env=env)
    cli_env = {**env, "DORA_COORDINATOR_PORT": str(port)}

    # a coordinator alone: `dora list` is served, `dora system status` reports no daemon
    listed = run_dora(["list"], env=cli_env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["UUID", "Name", "Status", "Nodes", "CPU", "Memory"]
    alone = run_dora(["system", "status"], env=cli_env)
    assert "✓ Coordinator: Running" in alone.stdout
    assert f"Address: 127.0.0.1:{port}" in alone.stdout
    assert "✓ Daemon: Running" not in alone.stdout

    _, daemon_id = dora_daemon(procs, port, "--machine-id", "robot-a", env=env)
    assert daemon_id == "robot-a"
    status = run_dora(["system", "status"], env=cli_env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "✓ Coordinator: Running" in status.stdout
    assert "✓ Daemon: Running" in status.stdout
    assert "Active dataflows: 0" in status.stdout
    as_json = run_dora(["status", "--format", "json"], env=cli_env)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["daemon"]["status"] == "running"
    daemons = call(Target(port=port), cli.ListDaemons()).daemons
    assert [d.daemon_id for d in daemons] == ["robot-a"]

    # a dataflow placed through these two commands runs to its end
    flow = tmp_path / "once.yml"
    (tmp_path / "once.py").write_text(
        "from dora import Node\n"
        "node = Node()\n"
        "print('once: ran on the foreground daemon', flush=True)\n"
    )
    flow.write_text("nodes:\n  - id: once\n    path: once.py\n")
    run = run_dora(["start", str(flow), "--attach"], env=cli_env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    log = next((tmp_path / "out").glob("*/log_once.jsonl")).read_text()
    assert "once: ran on the foreground daemon" in log


@pytest.mark.timeout(120)
def test_doctor_names_its_checks_and_what_it_found(tmp_path: Path, procs: list[Proc]) -> None:
    env = no_token_env(tmp_path)
    port = dora_coordinator(procs, env=env)
    cli_env = {**env, "DORA_COORDINATOR_PORT": str(port)}
    good = tmp_path / "good.yml"
    good.write_text("nodes:\n  - id: a\n    path: a.py\n")
    (tmp_path / "a.py").write_text("")

    # coordinator up, no daemon yet: the daemon check fails, so does the command
    no_daemon = run_dora(["doctor"], env=cli_env)
    assert no_daemon.returncode == 1
    assert f"PASS  Coordinator: reachable at 127.0.0.1:{port}" in no_daemon.stdout
    assert "FAIL  Daemon: not connected" in no_daemon.stdout
    assert "1 check(s) failed" in no_daemon.stderr

    dora_daemon(procs, port, "--machine-id", "doc-daemon", env=env)
    healthy = run_dora(["doctor", "--dataflow", str(good)], env=cli_env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    for check in (
        "PASS  CLI version: ",
        "Shared memory: ",
        "uv: ",
        f"PASS  Coordinator: reachable at 127.0.0.1:{port}",
        "PASS  Daemon: connected",
        "PASS  Connected machines: 1",
        "doc-daemon (heartbeat: ",
        "PASS  Dataflows: 0 running, 0 failed, 0 total",
        f"PASS  Dataflow validation: {good} OK",
        "PASS  All checks passed",
    ):
        assert check in healthy.stdout, healthy.stdout
    assert "FAIL" not in healthy.stdout

    # the coordinator gone: flagged, and a broken descriptor is named with its error
    procs[0].kill()
    wait_until(
        lambda: run_dora(["list"], env=cli_env).returncode != 0, what="the coordinator to go"
    )
    bad = tmp_path / "bad.yml"
    bad.write_text("nodes:\n  - id: a\n")
    missing = run_dora(["doctor", "--dataflow", str(bad)], env=cli_env)
    assert missing.returncode == 1
    assert f"FAIL  Coordinator: not reachable at 127.0.0.1:{port} (run `dora up`)" in (
        missing.stdout
    )
    assert f"FAIL  Dataflow validation: {bad} FAILED: " in missing.stdout
    assert "2 check(s) failed" in missing.stderr
    assert "All checks passed" not in missing.stdout
    assert "Traceback" not in missing.stdout + missing.stderr


@pytest.mark.timeout(120)
def test_a_token_is_required_end_to_end(tmp_path: Path, procs: list[Proc]) -> None:
    env = no_token_env(tmp_path)
    token_file = tmp_path / "token"
    port = dora_coordinator(procs, "--token-file", str(token_file), env=env)
    token = token_file.read_text().strip()
    assert len(token) >= 32 and token_file.stat().st_mode & 0o077 == 0
    cli_env = {**env, "DORA_COORDINATOR_PORT": str(port)}

    # the CLI: no token and a wrong one are refused, the right one is served
    for given in ("", "wrong-" + token[6:]):
        refused = run_dora(["list"], env={**cli_env, "DORA_AUTH_TOKEN": given})
        assert refused.returncode == 1
        assert f"the coordinator at 127.0.0.1:{port} refused our token" in refused.stderr
        assert token not in refused.stdout + refused.stderr
    served = run_dora(["list"], env={**cli_env, "DORA_AUTH_TOKEN": token})
    assert served.returncode == 0, served.stderr
    # ... also from the default token file, the place `dora up --auth` writes it
    default = Path(env["XDG_CONFIG_HOME"]) / "dora" / ".dora-token"
    default.parent.mkdir()
    default.write_text(token + "\n")
    default.chmod(0o600)
    assert run_dora(["list"], env=cli_env).returncode == 0
    default.unlink()

    # a daemon with a wrong token never registers; with the right file it does
    wrong_file = tmp_path / "wrong-token"
    wrong_file.write_text("not-the-token\n")
    wrong_file.chmod(0o600)
    intruder = Proc(
        "dora_cli",
        ["daemon", "--coordinator-port", str(port), "--token-file", str(wrong_file)],
        env=env,
    )
    procs.append(intruder)
    intruder.wait_for_line("the coordinator refused our token (401)", timeout=30)
    assert intruder.proc.wait(timeout=30) != 0  # a refusal is final: it exits
    _, daemon_id = dora_daemon(
        procs, port, "--machine-id", "trusted", "--token-file", str(token_file), env=env
    )
    assert daemon_id == "trusted"
    daemons = call(Target(port=port, token=token), cli.ListDaemons()).daemons
    assert [d.daemon_id for d in daemons] == ["trusted"]
    assert not any("registered with the coordinator" in line for line in intruder.lines)


@pytest.mark.timeout(120)
def test_dora_up_auth_token_reaches_the_daemon_and_the_cli(tmp_path: Path) -> None:
    # `dora up` serves a fixed port (no port 0; its PID files are keyed on the port): a
    # port free an instant ago is released for it, as in test_distributed
    with refused_port() as port:
        pass
    env = {**no_token_env(tmp_path), **env_for(port, tmp_path / "state")}
    token_file = Path(env["XDG_CONFIG_HOME"]) / "dora" / ".dora-token"
    started: list[psutil.Process] = []
    extra: list[Proc] = []
    try:
        up = run_dora(["up", "--auth"], env=env)
        started = [psutil.Process(int(p.read_text())) for p in (tmp_path / "state").glob("*.pid")]
        assert up.returncode == 0, up.stderr
        assert "started dora coordinator" in up.stderr
        assert "started dora daemon" in up.stderr  # its daemon got in with the token
        assert len(started) == 2
        token = token_file.read_text().strip()
        assert len(token) >= 32 and stat.S_IMODE(token_file.stat().st_mode) == 0o600

        # the CLI presents the token from the default file; a wrong one is refused
        status = run_dora(["system", "status"], env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "✓ Daemon: Running" in status.stdout
        wrong = run_dora(["list"], env={**env, "DORA_AUTH_TOKEN": "x" * len(token)})
        assert wrong.returncode == 1
        assert "refused our token" in wrong.stderr
        assert run_dora(["list"], env={**env, "DORA_AUTH_TOKEN": token}).returncode == 0

        # another daemon: refused without the token, admitted with the file
        bare = Proc("dora_cli", ["daemon", "--coordinator-port", str(port)], env=env)
        extra.append(bare)
        bare.wait_for_line("the coordinator refused our token (401)", timeout=30)
        _, second = dora_daemon(
            extra, port, "--machine-id", "second", "--token-file", str(token_file), env=env
        )
        daemons = call(Target(port=port, token=token), cli.ListDaemons()).daemons
        assert second == "second" and len(daemons) == 2
        assert "second" in {d.daemon_id for d in daemons}

        down = run_dora(["down"], env=env)  # presents the token too
        assert down.returncode == 0, down.stderr
        assert not wait_gone(started, timeout=30)
    finally:
        for proc in extra:
            proc.kill()
        for process in started:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
