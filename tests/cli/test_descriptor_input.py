"""Hostile descriptors and inputs through the real commands (issue 13, items 7-9).

Each input below once ended in a traceback, a crash or a multi-gigabyte expansion; now
the command exits 1 with one clear error naming the place, or (cpu_affinity) warns and
runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dora_message import cli_to_coordinator as cli
from tests.coordinator.bounds import ask, control, coordinator_any_port
from tests.coordinator.helpers import refused_port
from tests.procs import run_dora

pytestmark = pytest.mark.integration

NODE = "nodes:\n  - id: a\n    path: a.py\n"

# 10 levels of 10 aliases: 10^10 elements once expanded, 1 KB of YAML (the bomb)
ALIAS_BOMB = (
    "nodes:\n  - id: bridge\n    ros2:\n      l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"      l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 10))
)

BAD = {
    "alias bomb": (ALIAS_BOMB, ["nodes[0].ros2.l", "once its aliases are expanded"]),
    "self alias": ("nodes:\n  - id: r\n    ros2: &a {x: *a}\n", ["nodes[0].ros2", "never ends"]),
    "deep value": (
        "nodes:\n  - id: r\n    ros2:\n      p: " + "[" * 100 + "]" * 100 + "\n",
        ["nodes[0].ros2.p[0]", "nested deeper than 64 levels"],
    ),
    "int tag": ("nodes:\n  - id: !!int m\n    path: a.py\n", ["nodes[0].id", "`m`", "!!int"]),
    "float tag": (
        NODE + "    restart_delay: !!float soon\n",
        ["nodes[0].restart_delay", "`soon`", "!!float"],
    ),
    "bool tag": (NODE + "    description: !!bool maybe\n", ["nodes[0].description", "!!bool"]),
    "timestamp tag": (
        NODE + "    description: !!timestamp 2020-99-99\n",
        ["nodes[0].description", "!!timestamp", "month must be in 1..12"],
    ),
    "set of nodes": ("nodes: !!set [a]\n", ["line 1", "expected a mapping"]),
    "subnormal hz": (
        NODE + "    inputs:\n      t: dora/timer/hz/1e-320\n",
        ["nodes[0].inputs.t", "1e-320 Hz is slower than"],
    ),
    "long module name": (
        "nodes:\n  - id: m\n    module: " + "x" * 300 + ".yml\n",
        ["nodes[0].module", "longer than 255 bytes"],
    ),
}


def _refused(result, phrases: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(BAD))
def test_validate_refuses_with_the_place(tmp_path: Path, name: str) -> None:
    text, phrases = BAD[name]
    flow = tmp_path / "dataflow.yml"
    flow.write_text(text)
    _refused(run_dora(["validate", str(flow)], cwd=tmp_path), phrases)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["run", "start"])
def test_alias_bomb_never_reaches_a_coordinator_or_daemon(tmp_path: Path, command: str) -> None:
    flow = tmp_path / "dataflow.yml"
    flow.write_text(ALIAS_BOMB)
    assert len(ALIAS_BOMB) < 1100
    # nothing listens on this port: the refusal must come before any connection
    with refused_port() as port:
        env = {"DORA_COORDINATOR_PORT": str(port)}
        result = run_dora([command, str(flow)], cwd=tmp_path, env=env)
    _refused(result, ["once its aliases are expanded"])
    assert "dora up" not in result.stderr


@pytest.mark.timeout(120)
def test_huge_node_id_is_quoted_capped(tmp_path: Path) -> None:
    node_id = "n" * 5_000_000 + "!"
    flow = tmp_path / "dataflow.yml"
    flow.write_text(f"nodes:\n  - id: {node_id}\n    path: a.py\n")
    result = run_dora(["validate", str(flow)], cwd=tmp_path)
    _refused(result, ["nodes[0].id", "invalid node id `nnnn", "more characters)", "'!'"])
    assert len(result.stderr) < 2_000, len(result.stderr)


@pytest.mark.timeout(120)
def test_control_characters_in_ids_are_shown_escaped(tmp_path: Path) -> None:
    flow = tmp_path / "dataflow.yml"
    flow.write_text('nodes:\n  - id: "a\\e[2J"\n    path: a.py\n')
    result = run_dora(["validate", str(flow)], cwd=tmp_path)
    _refused(result, ["invalid node id `a\\x1b[2J`"])
    assert "\x1b" not in result.stderr


@pytest.mark.timeout(120)
def test_cpu_affinity_beyond_cpu_setsize_is_skipped_and_the_node_runs(tmp_path: Path) -> None:
    (tmp_path / "show.py").write_text(
        "import os\nprint('affinity', sorted(os.sched_getaffinity(0)), flush=True)\n"
    )
    flow = tmp_path / "dataflow.yml"
    core = min(os.sched_getaffinity(0))  # one this test may use
    flow.write_text(
        "nodes:\n  - id: show\n    path: show.py\n"
        f"    cpu_affinity: [99999999999999999999, {core}]\n"
    )
    validated = run_dora(["validate", str(flow)], cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr
    assert "cpu_affinity[0]" in validated.stderr and "it is skipped" in validated.stderr
    result = run_dora(["run", str(flow)], cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert f"affinity [{core}]" in result.stdout + result.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        ("[99999999999999999999999999]", "no Arrow array holds these values"),
        ("[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
        ("[" * 100 + "]" * 100, "nested deeper than 64 levels"),
    ],
    ids=["huge int", "5000 deep", "100 deep"],
)
def test_topic_pub_refuses_bad_json_before_connecting(data: str, phrase: str) -> None:
    with refused_port() as port:
        result = run_dora(["topic", "pub", "a/out", data], env={"DORA_COORDINATOR_PORT": str(port)})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "invalid JSON data" in result.stderr and phrase in result.stderr, result.stderr


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("key", "value", "phrase"),
    [
        ("", "1", "param key is empty"),
        ("a\x01\x1b[2J", "1", "contains control characters"),
        ("k", "[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
        ("k", "[" * 100 + "]" * 100, "nested deeper than 64 levels"),
    ],
    ids=["empty key", "control key", "5000 deep", "100 deep"],
)
def test_param_set_refuses_before_connecting(key: str, value: str, phrase: str) -> None:
    with refused_port() as port:
        env = {"DORA_COORDINATOR_PORT": str(port)}
        result = run_dora(["param", "set", "node", key, value], env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert phrase in result.stderr, result.stderr
    assert "\x1b" not in result.stderr


@pytest.mark.timeout(120)
def test_coordinator_answers_bad_descriptors_over_the_control_plane() -> None:
    """Not through the CLI (which refuses first): a client sending them as is."""
    subnormal = {"nodes": [{"id": "a", "path": sys.executable,
                            "inputs": {"t": "dora/timer/hz/1e-320"}}]}  # fmt: skip
    with coordinator_any_port() as (proc, port), control(port) as ws:
        reply = ask(ws, 2, cli.StartDataflow(descriptor=subnormal))
        assert reply.error is not None
        assert "invalid dataflow descriptor" in reply.error and "1e-320" in reply.error
        assert "internal" not in reply.error
        deep = '{"id":3,"request":{"type":"start","descriptor":{"nodes":' + "[" * 5000
        ws.send(deep + "]" * 5000 + "}}}")
        reply = ask(ws, 4, cli.ListDataflows())  # still serving this connection
        assert reply.error is None, reply
        log = "\n".join(proc.output())
        assert "Traceback" not in log and "RecursionError" not in log, log


@pytest.mark.timeout(150)
def test_cpu_affinity_beyond_cpu_setsize_through_dora_start(
    tmp_path: Path, coordinated: dict[str, str]
) -> None:
    """Once: `dora start` said started, then Failed, while the daemon said finished (ok)."""
    (tmp_path / "show.py").write_text("print('ran', flush=True)\n")
    flow = tmp_path / "dataflow.yml"
    flow.write_text(
        "nodes:\n  - id: show\n    path: show.py\n    cpu_affinity: [99999999999999999999]\n"
    )
    result = run_dora(["start", str(flow), "--attach"], cwd=tmp_path, env=coordinated)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "it is skipped" in result.stderr
    assert "Failed" not in result.stdout + result.stderr
    assert "show: ran" in result.stdout + result.stderr
    listed = run_dora(["list"], env=coordinated)
    assert "Succeeded" in listed.stdout, listed.stdout + listed.stderr
