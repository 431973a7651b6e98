"""Unit tests of dora_daemon.resolve: commands, env, routes, timers, operator naming, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dora_daemon.commands import NodeKind
from dora_daemon.resolve import ResolvedDataflow, node_address, resolve_dataflow
from dora_message.auth import link_token
from dora_message.config import InputConfig, Receiver, decode_node_config
from dora_message.constants import ENV_NODE_CONFIG, ENV_OPERATORS
from dora_message.errors import DescriptorError
from tests.daemon.helpers import descriptor

DF = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def flow(tmp_path: Path) -> Path:
    for name in ("a.py", "b.py", "op.py"):
        (tmp_path / name).write_text("")
    return tmp_path


def resolve(
    flow: Path, nodes: list[dict[str, Any]], host_env: dict[str, str] | None = None, **kw: Any
) -> ResolvedDataflow:
    root = kw.pop("root", {})
    return resolve_dataflow(
        descriptor(nodes, **root),
        flow,
        dataflow_id=DF,
        daemon_address="\0dora-daemon-test",
        host_env=host_env or {"PATH": "/usr/bin"},
        parent_pid=4242,
        python="/py",
        **kw,
    )


def test_routes_point_every_output_at_its_receivers(flow: Path) -> None:
    out = resolve(
        flow,
        [
            {"id": "a", "path": "a.py", "outputs": ["x", "y"]},
            {"id": "b", "path": "b.py", "inputs": {"in1": "a/x", "in2": "a/x", "other": "a/y"}},
            {"id": "c", "path": "b.py", "inputs": {"in": {"source": "a/x", "queue_size": 3}}},
        ],
    )
    routes = out.nodes["a"].config.routes
    key = out.key
    to_b = Receiver(node_id="b", address=node_address(DF, "b"), token=link_token(key, "a", "b"))
    to_c = Receiver(node_id="c", address=node_address(DF, "c"), token=link_token(key, "a", "c"))
    assert routes == {"x": [to_b, to_c], "y": [to_b]}
    # each receiver knows the token its sender presents, and nothing else
    assert out.nodes["b"].config.senders == {"a": link_token(key, "a", "b")}
    assert out.nodes["a"].config.senders == {}
    assert out.consumers[("a", "x")] == {"b": ["in1", "in2"], "c": ["in"]}
    assert out.nodes["c"].config.inputs == {"in": InputConfig(source="a/x", queue_size=3)}
    assert out.nodes["b"].config.listen_address == f"\0dora-{DF}-b"
    assert out.nodes["b"].config.routes == {}


def test_timers_group_inputs_per_interval_and_node(flow: Path) -> None:
    out = resolve(
        flow,
        [
            {
                "id": "a",
                "path": "a.py",
                "inputs": {
                    "t1": "dora/timer/millis/100",
                    "t2": "dora/timer/hz/10",
                    "slow": "dora/timer/secs/1",
                },
            },
            {"id": "b", "path": "b.py", "inputs": {"tick": "dora/timer/millis/100"}},
        ],
    )
    assert out.timers == {
        100_000_000: {"a": ["t1", "t2"], "b": ["tick"]},
        1_000_000_000: {"a": ["slow"]},
    }
    assert out.nodes["a"].config.inputs["t1"].source == "dora/timer/millis/100"


def test_python_and_executable_commands(flow: Path) -> None:
    (flow / "tool").write_text("#!/bin/sh\n")
    out = resolve(
        flow,
        [
            {"id": "a", "path": "a.py", "args": "--name 'two words' -v"},
            {"id": "b", "path": "./tool", "args": ["x", "y z"]},
            {"id": "c", "path": "sleep", "args": "1"},
        ],
    )
    assert out.nodes["a"].argv == ("/py", "-u", str(flow / "a.py"), "--name", "two words", "-v")
    assert out.nodes["b"].argv == (str(flow / "tool"), "x", "y z")
    assert out.nodes["c"].argv == ("sleep", "1")  # bare name: looked up on PATH at exec
    assert all(n.cwd == flow.resolve() for n in out.nodes.values())
    uv = resolve(flow, [{"id": "a", "path": "a.py"}], uv=True)
    assert uv.nodes["a"].argv == ("uv", "run", "python", "-u", str(flow / "a.py"))


def test_env_merge_order_and_injected_variables(flow: Path) -> None:
    host = {"PATH": "/usr/bin", "HOME_THING": "from-host", "LD_PRELOAD": "evil.so"}
    out = resolve(
        flow,
        [
            {
                "id": "a",
                "path": "a.py",
                "env": {
                    "SHARED": "node",
                    "FLAG": True,
                    "NUM": 3,
                    "HOSTED": {"__dora_env": "HOME_THING"},
                    "DORA_NODE_CONFIG": "hijack",
                    "LD_PRELOAD": "x.so",
                },
            },
            {"id": "b", "path": "b.py"},
        ],
        host_env=host,
        root={"env": {"SHARED": "global", "ONLY_GLOBAL": 1.5}},
    )
    env = out.nodes["a"].env
    assert env["SHARED"] == "node"
    assert env["ONLY_GLOBAL"] == "1.5"
    assert env["FLAG"] == "true"
    assert env["NUM"] == "3"
    assert env["HOSTED"] == "from-host"
    assert env["PATH"] == "/usr/bin"
    assert "LD_PRELOAD" not in env  # scrubbed from the host and dropped from the descriptor
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["DORA_RUN_PARENT_PID"] == "4242"
    config = decode_node_config(env[ENV_NODE_CONFIG])
    assert config.node_id == "a" and config.dataflow_id == DF
    assert config.daemon_address == "\0dora-daemon-test"
    assert config.dataflow_descriptor["nodes"][0]["id"] == "a"
    assert out.nodes["b"].env["SHARED"] == "global"
    assert any("DORA_NODE_CONFIG" in w for w in out.warnings)
    assert any("LD_PRELOAD" in w for w in out.warnings)


def test_missing_host_variable_is_an_error(flow: Path) -> None:
    with pytest.raises(DescriptorError, match="NOPE") as info:
        resolve(flow, [{"id": "a", "path": "a.py", "env": {"X": {"__dora_env": "NOPE"}}}])
    assert info.value.path == "nodes[0].env.X"


def test_single_operator_node_naming(flow: Path) -> None:
    out = resolve(
        flow,
        [
            {
                "id": "rt",
                "operator": {
                    "python": "op.py",
                    "inputs": {"tick": "dora/timer/millis/10", "data": "a/x"},
                    "outputs": ["out", "other"],
                    "send_stdout_as": "prints",
                },
            },
            {"id": "a", "path": "a.py", "outputs": ["x"]},
            {
                "id": "b",
                "path": "b.py",
                "inputs": {"short": "rt/out", "long": "rt/op/other", "p": "rt/prints"},
            },
        ],
    )
    rt = out.nodes["rt"]
    assert rt.kind is NodeKind.OPERATOR
    assert rt.argv == ("/py", "-u", "-c", "import dora; dora.start_runtime()")
    assert json.loads(rt.env[ENV_OPERATORS]) == [{"id": "op", "python": str(flow / "op.py")}]
    assert set(rt.config.inputs) == {"op/tick", "op/data"}
    assert rt.config.outputs == ["op/out", "op/other"]
    assert set(rt.config.routes) == {"op/out", "op/other", "op/prints"}
    assert rt.send_stdout_as == "op/prints"
    assert out.timers == {10_000_000: {"rt": ["op/tick"]}}
    assert out.consumers[("a", "x")] == {"rt": ["op/data"]}
    b_inputs = out.nodes["b"].config.inputs
    assert b_inputs["short"].source == "rt/op/out"
    assert b_inputs["long"].source == "rt/op/other"
    assert b_inputs["p"].source == "rt/op/prints"


def test_operators_list_with_one_operator_uses_its_id(flow: Path) -> None:
    out = resolve(
        flow,
        [{"id": "rt", "operators": [{"id": "det", "python": "op.py", "outputs": ["o"]}]}],
    )
    assert out.nodes["rt"].config.outputs == ["det/o"]


def test_several_operators_python_and_shared_library_share_one_runtime(flow: Path) -> None:
    (flow / "build").mkdir()
    (flow / "build" / "libcounter.so").write_bytes(b"")
    (flow / "plain.so").write_bytes(b"")
    out = resolve(
        flow,
        [
            {
                "id": "rt",
                "operators": [
                    {
                        "id": "py",
                        "python": "op.py",
                        "inputs": {"tick": "dora/timer/millis/10", "n": "rt/c/count"},
                        "outputs": ["doubled"],
                        "send_stdout_as": "prints",
                    },
                    {
                        "id": "c",
                        "shared-library": "build/counter",
                        "inputs": {"tick": "dora/timer/millis/10", "d": "rt/py/doubled"},
                        "outputs": ["count"],
                    },
                    {"id": "raw", "shared-library": "plain.so", "outputs": ["count"]},
                ],
            },
            {"id": "b", "path": "b.py", "inputs": {"c": "rt/c/count", "p": "rt/py/prints"}},
        ],
        uv=True,
    )
    rt = out.nodes["rt"]
    assert rt.kind is NodeKind.OPERATOR
    assert rt.argv == ("uv", "run", "python", "-u", "-c", "import dora; dora.start_runtime()")
    assert json.loads(rt.env[ENV_OPERATORS]) == [
        {"id": "py", "python": str(flow / "op.py")},
        {"id": "c", "shared-library": str(flow / "build" / "libcounter.so")},
        {"id": "raw", "shared-library": str(flow / "plain.so")},
    ]
    assert set(rt.config.inputs) == {"py/tick", "py/n", "c/tick", "c/d"}
    assert rt.config.outputs == ["py/doubled", "c/count", "raw/count"]
    assert rt.send_stdout_as == "py/prints"
    assert out.timers == {10_000_000: {"rt": ["py/tick", "c/tick"]}}
    assert out.consumers[("rt", "c/count")] == {"rt": ["py/n"], "b": ["c"]}
    assert out.consumers[("rt", "py/doubled")] == {"rt": ["c/d"]}
    assert out.consumers[("rt", "py/prints")] == {"b": ["p"]}
    assert out.nodes["b"].config.inputs["c"].source == "rt/c/count"


def test_a_runtime_node_without_python_operators_runs_on_the_daemons_interpreter(
    flow: Path,
) -> None:
    (flow / "libop.so").write_bytes(b"")
    out = resolve(flow, [{"id": "rt", "operator": {"shared-library": "op"}}], uv=True)
    assert out.nodes["rt"].argv[:2] == ("/py", "-u")


def test_several_operators_need_the_operator_in_their_address(flow: Path) -> None:
    nodes = [
        {"id": "rt", "operators": [{"id": "p", "python": "op.py", "outputs": ["o"]}]},
        {"id": "b", "path": "b.py", "inputs": {"o": "rt/o"}},
    ]
    with pytest.raises(DescriptorError, match="node `rt` has no output `o`"):
        resolve(flow, nodes)


def test_logs_subscribers_and_stdout_routes(flow: Path) -> None:
    out = resolve(
        flow,
        [
            {"id": "a", "path": "a.py", "send_stdout_as": "raw", "send_logs_as": "structured"},
            {
                "id": "b",
                "path": "b.py",
                "inputs": {
                    "all": "dora/logs",
                    "warn_a": "dora/logs/WARN/a",
                    "raw": "a/raw",
                    "st": "a/structured",
                },
            },
        ],
    )
    subs = {(s.input_id, s.level, s.source_node) for s in out.log_subscribers}
    assert subs == {("all", None, None), ("warn_a", "warn", "a")}
    assert out.consumers[("a", "raw")] == {"b": ["raw"]}
    assert out.nodes["a"].send_logs_as == "structured"


def test_dynamic_nodes_are_not_spawned(flow: Path) -> None:
    out = resolve(flow, [{"id": "d", "path": "dynamic"}, {"id": "a", "path": "a.py"}])
    assert out.nodes["d"].kind is NodeKind.DYNAMIC
    assert out.nodes["d"].config.dynamic
    assert out.static_nodes == ["a"]


def test_shell_nodes_need_permission(flow: Path) -> None:
    nodes = [{"id": "sh1", "path": "shell", "args": "echo hi | cat"}]
    with pytest.raises(DescriptorError, match=r"sh1.*--allow-shell-nodes") as info:
        resolve(flow, nodes)
    assert info.value.path == "nodes[0].path"
    out = resolve(flow, nodes, allow_shell_nodes=True)
    assert out.nodes["sh1"].argv == ("sh", "-c", "echo hi | cat")
    assert out.nodes["sh1"].kind is NodeKind.SHELL


@pytest.mark.parametrize(
    ("nodes", "message", "path"),
    [
        (
            [{"id": "a", "path": "a.py", "args": "'open"}],
            "`a`: cannot split `args`",
            "nodes[0].args",
        ),
        ([{"id": "a", "path": "missing.py"}], "missing.py` does not exist", "nodes[0].path"),
        (
            [{"id": "a", "path": "a.py", "inputs": {"i": "ghost/out"}}],
            "source node `ghost` does not exist",
            "nodes[0].inputs.i",
        ),
        (
            [
                {"id": "a", "path": "a.py", "outputs": ["x"]},
                {"id": "b", "path": "b.py", "inputs": {"i": "a/y"}},
            ],
            "node `a` has no output `y`",
            "nodes[1].inputs.i",
        ),
        (
            [{"id": "a", "path": "a.py", "inputs": {"i": "dora/timer/millis/0"}}],
            "greater than zero",
            "nodes[0].inputs.i",
        ),
        (
            [{"id": "rt", "operator": {"shared-library": "build/x"}}],
            r"node `rt`: operator `op`: shared library `.*/build/libx.so` does not exist",
            "nodes[0].operator.shared-library",
        ),
        (
            [{"id": "rt", "operators": [{"id": "w", "wasm": "x.wasm"}]}],
            "operator `w`: wasm operators are not supported",
            "nodes[0].operators[0]",
        ),
        (
            [
                {
                    "id": "rt",
                    "operators": [
                        {"id": "o1", "python": {"source": "op.py", "conda_env": "one"}},
                        {"id": "o2", "python": {"source": "op.py", "conda_env": "two"}},
                    ],
                }
            ],
            "different conda environments",
            "nodes[0].operators[0]",
        ),
    ],
)
def test_errors_name_the_node_and_place(
    flow: Path, nodes: list[dict[str, Any]], message: str, path: str
) -> None:
    with pytest.raises(DescriptorError, match=message) as info:
        resolve(flow, nodes)
    assert info.value.path == path


def test_long_node_ids_still_fit_an_abstract_socket_name() -> None:
    address = node_address(DF, "n" * 200)
    assert address.startswith("\0dora-" + DF)
    assert len(address.encode()) <= 108
    assert node_address(DF, "n" * 200) != node_address(DF, "m" * 200)


def test_fetched_sources_set_working_dir_and_path(flow: Path, tmp_path_factory: Any) -> None:
    clone = tmp_path_factory.mktemp("clone")
    (clone / "node.py").write_text("")
    downloaded = clone / "tool-bin"
    downloaded.write_text("")
    out = resolve(
        flow,
        [
            {"id": "g", "path": "node.py", "git": "https://example.invalid/repo.git"},
            {"id": "u", "path": "https://example.invalid/tool-bin"},
        ],
        sources={"g": (clone, "node.py"), "u": (flow, str(downloaded))},
    )
    assert out.nodes["g"].cwd == clone
    assert out.nodes["g"].argv == ("/py", "-u", str(clone / "node.py"))
    assert out.nodes["u"].cwd == flow
    assert out.nodes["u"].argv == (str(downloaded),)


def test_zero_copy_threshold_comes_from_the_environment(flow: Path) -> None:
    nodes = [{"id": "a", "path": "a.py", "outputs": ["x"]}]
    assert resolve(flow, nodes).nodes["a"].config.zero_copy_threshold == 4096
    env = {"PATH": "/usr/bin", "DORA_ZERO_COPY_THRESHOLD": "64KB"}
    assert resolve(flow, nodes, env).nodes["a"].config.zero_copy_threshold == 65536
    with pytest.raises(DescriptorError, match="DORA_ZERO_COPY_THRESHOLD"):
        resolve(flow, nodes, {"DORA_ZERO_COPY_THRESHOLD": "lots"})
