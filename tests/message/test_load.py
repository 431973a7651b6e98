"""Loading descriptors: seed examples, env expansion, YAML errors, warnings."""

from __future__ import annotations

from pathlib import Path

import pytest

from dora_message.descriptor import Descriptor, HostEnv, InputSpec
from dora_message.errors import DescriptorError
from dora_message.load import (
    expand_env_vars,
    load_descriptor,
    load_descriptor_with_warnings,
    parse_descriptor,
    parse_descriptor_with_warnings,
)
from dora_message.sources import TimerSource, parse_input_source

FIXTURES = Path(__file__).parent / "fixtures"
SEED_FILES = sorted(FIXTURES.glob("*.yml"))


def test_sources_example() -> None:
    flow, warnings = load_descriptor_with_warnings(FIXTURES / "seed_sources.yml")
    assert warnings == []
    url, branch, tag, rev = flow.nodes
    assert (url.id, url.path, url.git) == ("from-url", "https://example.com/node.zip", None)
    assert (branch.git, branch.branch, branch.tag, branch.rev) == (
        "https://github.com/org/repo.git",
        "main",
        None,
        None,
    )
    assert branch.build == "cargo build --release"
    assert (tag.tag, tag.branch, rev.rev) == ("v1.0", None, "abc123")
    assert rev.inputs == {"data": "from-url/out"}


def test_timers_example() -> None:
    flow, warnings = load_descriptor_with_warnings(FIXTURES / "seed_timers.yml")
    assert warnings == []
    (ticker,) = flow.nodes
    timers = {name: parse_input_source(source) for name, source in ticker.inputs.items()}
    assert timers == {
        "tick": TimerSource(interval_ns=100_000_000),
        "slow": TimerSource(interval_ns=1_000_000_000),
        "fast": TimerSource(interval_ns=round(1e9 / 30)),
    }


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.stem)
def test_every_fixture_loads(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST_VAR", "from-host")
    descriptor = load_descriptor(path)
    assert isinstance(descriptor, Descriptor)
    assert descriptor.nodes
    assert all(node.kind is not None for node in descriptor.nodes)


def test_minimal() -> None:
    flow, warnings = load_descriptor_with_warnings(FIXTURES / "seed_minimal.yml")
    assert warnings == []
    assert [n.id for n in flow.nodes] == ["sender", "receiver"]
    assert flow.nodes[1].inputs == {"message": "sender/message"}
    assert flow.nodes[0].kind == "standard"


def test_complete_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST_VAR", "from-host")
    flow, warnings = load_descriptor_with_warnings(FIXTURES / "seed_complete.yml")
    node = flow.nodes[0]
    assert flow.health_check_interval == 5.0
    assert flow.debug_settings.publish_all_messages_to_zenoh is True
    assert node.env == {"MY_VAR": "value", "FROM_ENV": "from-host"}
    assert node.inputs["sensor_data"] == InputSpec(
        source="sensor/frames", queue_size=10, queue_policy="drop_oldest", input_timeout=5.0
    )
    assert node.restart_policy == "on-failure"
    assert node.max_log_size == "50MB"
    assert node.placement is not None and node.placement.machine == "A"
    # The seed routes stdout/logs to outputs it does not declare: warned, not refused.
    assert warnings == [
        "nodes[0].send_stdout_as: node `my-node`: `raw_output` is not listed in outputs, "
        "so no node can subscribe to it; add `raw_output` to outputs",
        "nodes[0].send_logs_as: node `my-node`: `log_entries` is not listed in outputs, "
        "so no node can subscribe to it; add `log_entries` to outputs",
    ]


def test_operators_example() -> None:
    flow = load_descriptor(FIXTURES / "seed_operators.yml")
    detector, runtime = flow.nodes[0], flow.nodes[1]
    assert detector.kind == "operator"
    assert detector.operator is not None and detector.operator.python == "detect.py"
    assert runtime.kind == "operators"
    assert [op.id for op in runtime.operators or []] == ["preprocessor", "analyzer"]
    assert runtime.operators is not None
    assert runtime.operators[0].shared_library == "../../target/debug/libpreprocess"


def test_deploy_example() -> None:
    flow = load_descriptor(FIXTURES / "seed_deploy.yml")
    machines = [n.placement.machine for n in flow.nodes if n.placement]
    assert machines == ["robot-arm", "gpu-server"]


def test_mainline_keys() -> None:
    flow, warnings = load_descriptor_with_warnings(FIXTURES / "mainline_keys.yml")
    # the debug setting opens the dataflow to `dora topic`: acted on, so not warned about
    assert warnings == []
    assert flow.debug_settings.enable_debug_inspection is True
    assert [n.kind for n in flow.nodes] == [
        "standard",
        "operator",
        "standard",
        "standard",
        "ros2",
        "standard",
    ]
    # the module node was expanded into its inner node at load time
    assert flow.nodes[-1].id == "nav.planner"


def test_remote_distribute_is_said_to_have_no_effect() -> None:
    text = (
        "deploy: {distribute: http}\nnodes:\n  - id: a\n    path: a.py\n"
        "    _unstable_deploy: {machine: m, distribute: scp}\n"
        "  - id: b\n    path: b.py\n    deploy: {distribute: local}\n"
    )
    _, warnings = parse_descriptor_with_warnings(text)
    assert warnings == [
        "deploy.distribute: `http`: has no effect in this implementation "
        "(every daemon builds its own nodes)",
        "nodes[0]._unstable_deploy.distribute: node `a`: `scp`: has no effect in this "
        "implementation (every daemon builds its own nodes)",
    ]


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DescriptorError) as info:
        load_descriptor(tmp_path / "nope.yml")
    assert info.value.file == str(tmp_path / "nope.yml")
    assert "not found" in info.value.message


def test_error_str_names_file_path_and_line(tmp_path: Path) -> None:
    flow = tmp_path / "df.yml"
    flow.write_text("nodes:\n  - id: camera\n    path: c.py\n    ouputs: [x]\n")
    with pytest.raises(DescriptorError) as info:
        load_descriptor(flow)
    assert str(info.value) == (
        f"{flow}: nodes[0].ouputs: node `camera`: unknown key `ouputs`; "
        "did you mean `outputs`? (line 4)"
    )


def test_validation_errors_get_lines() -> None:
    text = "nodes:\n  - id: a\n    path: a.py\n    inputs:\n      x: ghost/out\n"
    with pytest.raises(DescriptorError) as info:
        parse_descriptor(text)
    assert info.value.path == "nodes[0].inputs.x"
    assert info.value.message.endswith("(line 5)")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("nodes:\n  - id: a\n   path: [\n", "invalid YAML at line 3, column 4"),
        ("nodes: [a, b\n", "invalid YAML at line 2"),
        ("nodes:\n  - id: a\n\tpath: x\n", "invalid YAML at line 3"),
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("- id: a\n", "top level must be a mapping with a `nodes:` key, got a list"),
        ("just text\n", "top level must be a mapping"),
        ("nodes:\n  - id: a\n    path: x\n    path: y\n", "duplicate key `path` (line 4)"),
    ],
)
def test_yaml_level_errors(text: str, phrase: str) -> None:
    with pytest.raises(DescriptorError) as info:
        parse_descriptor(text, "df.yml")
    assert phrase in info.value.message
    assert info.value.file == "df.yml"


def test_merge_keys_are_not_duplicates() -> None:
    # A key overriding a merged one is not a duplicate.
    text = (
        "nodes:\n  - &first {id: a, path: a.py, restart_policy: never}\n"
        "  - <<: *first\n    id: b\n    restart_policy: always\n"
    )
    flow = parse_descriptor(text)
    assert [(n.id, n.restart_policy) for n in flow.nodes] == [("a", "never"), ("b", "always")]


ENV_FLOW = """\
env:
  GLOBAL: ${ROOT_VAR}
nodes:
  - id: cam
    path: cam.py
    env:
      PLAIN: "value"
      DOLLAR: $MY_VAR
      BRACED: "pre-${MY_VAR}-post"
      DEFAULTED: "${UNSET_VAR:-fallback}"
      PRICE: "costs $5"
      NUMBER: 42
      FLAG: true
      FROM_HOST:
        __dora_env: HOST_VAR
"""


def test_env_expansion() -> None:
    environ = {"ROOT_VAR": "root", "MY_VAR": "mine", "HOST_VAR": "host"}
    flow = parse_descriptor(ENV_FLOW, environ=environ)
    assert flow.env == {"GLOBAL": "root"}
    assert flow.nodes[0].env == {
        "PLAIN": "value",
        "DOLLAR": "mine",
        "BRACED": "pre-mine-post",
        "DEFAULTED": "fallback",
        "PRICE": "costs $5",
        "NUMBER": 42,
        "FLAG": True,
        "FROM_HOST": "host",
    }


def test_env_expansion_uses_process_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"ROOT_VAR": "r", "MY_VAR": "m", "HOST_VAR": "h"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("UNSET_VAR", raising=False)
    flow = parse_descriptor(ENV_FLOW)
    assert flow.nodes[0].env is not None
    assert flow.nodes[0].env["FROM_HOST"] == "h"
    assert flow.nodes[0].env["DOLLAR"] == "m"


def test_missing_dollar_var_is_an_error() -> None:
    with pytest.raises(DescriptorError) as info:
        parse_descriptor(ENV_FLOW, environ={"ROOT_VAR": "r", "HOST_VAR": "h"})
    assert info.value.path == "nodes[0].env.DOLLAR"
    assert "node `cam`" in info.value.message
    assert "`MY_VAR`" in info.value.message


def test_missing_global_var_is_an_error() -> None:
    with pytest.raises(DescriptorError) as info:
        parse_descriptor(ENV_FLOW, environ={"MY_VAR": "m", "HOST_VAR": "h"})
    assert info.value.path == "env.GLOBAL"
    assert "`ROOT_VAR`" in info.value.message


def test_missing_host_var_names_node_and_key() -> None:
    with pytest.raises(DescriptorError) as info:
        parse_descriptor(ENV_FLOW, environ={"ROOT_VAR": "r", "MY_VAR": "m"})
    assert info.value.path == "nodes[0].env.FROM_HOST"
    assert "node `cam`" in info.value.message
    assert "`HOST_VAR` is not set" in info.value.message
    assert info.value.message.endswith("(line 14)")


def test_dora_env_parses_as_host_env_struct() -> None:
    # Before expansion the struct form is HostEnv; after loading it is the host value.
    import msgspec

    raw = {"nodes": [{"id": "a", "path": "x", "env": {"K": {"__dora_env": "V"}}}]}
    assert msgspec.convert(raw, Descriptor).nodes[0].env == {"K": HostEnv(dora_env="V")}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$A", "1"),
        ("${A}", "1"),
        ("$A$B", "12"),
        ("${A}x", "1x"),
        ("$Ax", None),
        ("${NOPE:-d}", "d"),
        ("${A:-d}", "1"),
        ("$", "$"),
        ("a$", "a$"),
        ("$1", "$1"),
        ("${}", "${}"),
        ("no vars", "no vars"),
    ],
)
def test_expand_env_vars(value: str, expected: str | None) -> None:
    environ = {"A": "1", "B": "2"}
    if expected is None:
        with pytest.raises(KeyError):
            expand_env_vars(value, environ)
    else:
        assert expand_env_vars(value, environ) == expected


def test_reserved_env_names_are_dropped_with_warnings() -> None:
    text = (
        "env:\n  LD_PRELOAD: evil.so\n  KEEP: 1\n"
        "nodes:\n  - id: a\n    path: a.py\n    env:\n"
        "      DORA_NODE_CONFIG: x\n      'BAD NAME': y\n      'A=B': z\n      OK: v\n"
    )
    flow, warnings = parse_descriptor_with_warnings(text)
    assert flow.env == {"KEEP": 1}
    assert flow.nodes[0].env == {"OK": "v"}
    assert warnings == [
        "env.LD_PRELOAD: `LD_PRELOAD` is reserved for dora; it is ignored",
        "nodes[0].env.DORA_NODE_CONFIG: node `a`: `DORA_NODE_CONFIG` is reserved for dora; "
        "it is ignored",
        'nodes[0].env["BAD NAME"]: node `a`: `BAD NAME` is not a valid environment variable '
        "name; it is ignored",
        'nodes[0].env["A=B"]: node `a`: `A=B` is not a valid environment variable name; '
        "it is ignored",
    ]


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        (
            "nodes:\n  - id: a\n    operator:\n      python: x.py\n      ouputs: [o]\n",
            "nodes[0].operator: node `a`: unknown key `ouputs` is ignored; did you mean `outputs`?",
        ),
        (
            "nodes:\n  - id: a\n    path: a.py\n    outputs: [o, o]\n",
            "nodes[0].outputs[1]: node `a`: output `o` is listed twice",
        ),
        (
            "nodes:\n  - id: a\n    path: a.py\n    outputs: [o]\n"
            "  - id: b\n    path: b.py\n    inputs:\n      i: {source: a/o, queue_size: 0}\n",
            "nodes[1].inputs.i.queue_size: node `b`: queue_size 0 is treated as 1",
        ),
        ("nodes: []\n", "nodes: the dataflow has no nodes"),
        (
            "nodes:\n  - id: a\n    operator:\n      python: x.py\n      send_logs_as: logs\n",
            "nodes[0].operator.send_logs_as: node `a`: `logs` is not listed in outputs, "
            "so no node can subscribe to it; add `logs` to outputs",
        ),
    ],
)
def test_warnings(text: str, warning: str) -> None:
    _, warnings = parse_descriptor_with_warnings(text)
    assert warnings == [warning]


def test_single_operator_outputs_reachable_both_ways() -> None:
    text = (
        "nodes:\n  - id: det\n    operator:\n      python: d.py\n      outputs: [bbox]\n"
        "  - id: sink\n    path: s.py\n    inputs:\n      a: det/bbox\n      b: det/op/bbox\n"
    )
    flow = parse_descriptor(text)
    assert flow.nodes[1].inputs == {"a": "det/bbox", "b": "det/op/bbox"}


def test_self_loops_and_cycles_are_allowed() -> None:
    text = (
        "nodes:\n  - id: a\n    path: a.py\n    outputs: [o]\n    inputs:\n      me: a/o\n"
        "      other: b/o\n  - id: b\n    path: b.py\n    outputs: [o]\n"
        "    inputs:\n      back: a/o\n"
    )
    flow, warnings = parse_descriptor_with_warnings(text)
    assert warnings == []
    assert [n.id for n in flow.nodes] == ["a", "b"]
    assert flow.nodes[0].inputs == {"me": "a/o", "other": "b/o"}
    assert flow.nodes[1].inputs == {"back": "a/o"}
