"""Loading hostile descriptors: bounds, typed errors, capped quotes (issue 13, items 7-9)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
import yaml

from dora_message import cli_to_coordinator as req
from dora_message import node_protocol as node
from dora_message.descriptor_limits import (
    MAX_ALIASES,
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_MESSAGE_CHARS,
    MAX_TEXT_BYTES,
)
from dora_message.errors import DescriptorError, ProtocolError
from dora_message.load import load_descriptor, parse_descriptor, parse_descriptor_with_warnings
from dora_message.param_checks import param_key_problem, param_value_problem
from dora_message.quote import cap_message, excerpt
from dora_message.safe_decode import MalformedMessage
from dora_message.sources import parse_input_source
from dora_message.yaml_bounds import YamlTooLarge, check_bounds

NODE = "nodes:\n  - id: a\n    path: a.py\n"


def refused(text: str, file: str = "df.yml") -> DescriptorError:
    with pytest.raises(DescriptorError) as info:
        parse_descriptor(text, file, environ={})
    return info.value


def bomb(levels: int, fanout: int) -> str:
    lines = ["nodes:", "  - id: bridge", "    ros2:", "      l0: &l0 [x]"]
    for level in range(1, levels + 1):
        lines.append(f"      l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * fanout)}]")
    return "\n".join(lines) + "\n"


# ---- item 7: bounds on the expanded document ------------------------------------------


@pytest.mark.timeout(30)
def test_expanded_size_counts_each_alias_in_full() -> None:
    root = yaml.compose("a: &x [1, 2]\nb: [*x, *x]\n")
    # mapping, 2 keys, list [1, 2] (3), list of two aliases to it (1 + 3 + 3)
    assert check_bounds(root) == 1 + 2 + 3 + 7


@pytest.mark.timeout(30)
def test_alias_bomb_is_refused_at_load_with_its_place() -> None:
    err = refused(bomb(9, 10))
    assert "once its aliases are expanded" in err.message
    assert str(MAX_EXPANDED_NODES) in err.message
    assert err.path.startswith("nodes[0].ros2.l")
    assert "docs/security.md" in err.message


@pytest.mark.timeout(30)
def test_a_few_aliases_are_fine() -> None:
    text = bomb(3, 3).replace("    ros2:", "    ros2:") + ""
    descriptor = parse_descriptor(text, environ={})
    assert descriptor.nodes[0].ros2 is not None


@pytest.mark.timeout(30)
def test_too_many_alias_uses_are_refused() -> None:
    refs = ", ".join(["*a"] * (MAX_ALIASES + 1))
    err = refused(f"nodes:\n  - id: r\n    ros2:\n      a: &a x\n      b: [{refs}]\n")
    assert f"more than {MAX_ALIASES} aliases" in err.message


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "text",
    ["nodes:\n  - id: r\n    ros2: &a {x: *a}\n", "nodes: &a [*a]\n", "&a {nodes: [*a]}\n"],
    ids=["mapping", "list", "root"],
)
def test_self_referencing_aliases_are_refused(text: str) -> None:
    assert "an alias refers to a node that contains it" in refused(text).message


@pytest.mark.timeout(30)
def test_nesting_is_bounded_flow_and_block() -> None:
    ok = "nodes:\n  - id: r\n    ros2:\n      p: " + "[" * 50 + "]" * 50 + "\n"
    parse_descriptor(ok, environ={})
    flow = "nodes:\n  - id: r\n    ros2:\n      p: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    assert f"nested deeper than {MAX_DEPTH} levels" in refused(flow).message
    block = "nodes:\n  - id: r\n    ros2:\n      p:\n" + "".join(
        "  " * (i + 4) + "-\n" for i in range(MAX_DEPTH)
    )
    err = refused(block)
    assert f"nested deeper than {MAX_DEPTH} levels" in err.message
    assert err.path.startswith("nodes[0].ros2.p[0][0]")


@pytest.mark.timeout(30)
def test_depth_reached_through_aliases_is_bounded() -> None:
    # each level is shallow, but aliases stack them
    lines = ["nodes:", "  - id: r", "    ros2:", "      l0: &l0 [x]"]
    lines += [f"      l{i}: &l{i} [*l{i - 1}]" for i in range(1, MAX_DEPTH + 1)]
    err = refused("\n".join(lines) + "\n")
    assert "once its aliases are expanded" in err.message


@pytest.mark.timeout(30)
def test_check_bounds_limits_are_parameters() -> None:
    root = yaml.compose("[[1, 2], [3]]")
    assert check_bounds(root) == 6
    with pytest.raises(YamlTooLarge, match="more than 5 values"):
        check_bounds(root, max_nodes=5)
    with pytest.raises(YamlTooLarge, match="deeper than 1 levels"):
        check_bounds(root, max_depth=1)


@pytest.mark.timeout(60)
def test_text_size_is_bounded_before_parsing(tmp_path: Path) -> None:
    text = NODE + "# " + "x" * MAX_TEXT_BYTES + "\n"
    assert f"{MAX_TEXT_BYTES}-byte limit" in refused(text).message
    path = tmp_path / "big.yml"
    path.write_text(text)
    with pytest.raises(DescriptorError, match="byte limit"):
        load_descriptor(path)


# ---- item 8: typed errors, naming the place ---------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("text", "path", "phrase"),
    [
        ("nodes:\n  - id: !!int m\n    path: a.py\n", "nodes[0].id", "`m` is not a valid !!int"),
        (NODE + "    restart_delay: !!float x\n", "nodes[0].restart_delay", "!!float"),
        (NODE + "    description: !!bool maybe\n", "nodes[0].description", "accepted spellings"),
        (NODE + "    description: !!timestamp 2020-99-99\n", "nodes[0].description", "month"),
        (NODE + "    description: !!timestamp\n", "nodes[0].description", "form of one"),
        ("nodes:\n  - id: !!float\n", "nodes[0].id", "!!float"),
        ("nodes:\n  - id: !!int\n", "nodes[0].id", "!!int"),
        (NODE + "    env: {!!int x: 1}\n", "nodes[0].env.x", "!!int"),
    ],
    ids=["int", "float", "bool", "timestamp", "empty timestamp", "empty float", "empty int", "key"],
)
def test_bad_explicit_tags_name_the_place(text: str, path: str, phrase: str) -> None:
    err = refused(text)
    assert err.path == path
    assert phrase in err.message and "(line " in err.message


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "text",
    ["nodes: !!set [a]\n", "nodes: !!omap [a]\n", "nodes: !!pairs [a]\n", "nodes: !nope x\n"],
)
def test_tags_on_the_wrong_kind_of_value_are_yaml_errors(text: str) -> None:
    assert refused(text).message.startswith("invalid YAML at line 1")


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("source", "phrase"),
    [
        ("dora/timer/hz/1e-320", "1e-320 Hz is slower than 1 tick per"),
        ("dora/timer/hz/5e-324", "Hz is slower than"),
        ("dora/timer/hz/1e-11", "Hz is slower than"),
        ("dora/timer/millis/" + "9" * 5000, "is too large"),
    ],
)
def test_timer_extremes_are_value_errors(source: str, phrase: str) -> None:
    with pytest.raises(ValueError, match=phrase):
        parse_input_source(source)
    err = refused(NODE + f"    inputs:\n      t: {source}\n")
    assert err.path == "nodes[0].inputs.t"


@pytest.mark.timeout(30)
def test_slowest_representable_hz_timer_still_parses() -> None:
    assert parse_input_source("dora/timer/hz/1e-10").interval_ns == 10**19


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "module", ["x" * 300 + ".yml", "x" * 256 + "/m.yml", "é" * 128 + ".yml"], ids=str.__len__
)
def test_module_names_longer_than_a_file_name_are_named(tmp_path: Path, module: str) -> None:
    err = refused(f"nodes:\n  - id: m\n    module: {module}\n", str(tmp_path / "df.yml"))
    assert err.path == "nodes[0].module"
    assert "longer than 255 bytes" in err.message


@pytest.mark.timeout(30)
def test_cpu_affinity_beyond_cpu_setsize_warns() -> None:
    _, warnings = parse_descriptor_with_warnings(
        NODE + "    cpu_affinity: [0, 1023, 1024, 99999999999999999999]\n", environ={}
    )
    skipped = [w for w in warnings if "it is skipped" in w]
    assert [w.split(":")[0] for w in skipped] == [
        "nodes[0].cpu_affinity[2]",
        "nodes[0].cpu_affinity[3]",
    ]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("key", "problem"),
    [("", "param key is empty"), ("a\x01", "control characters"), ("a\x1b[2J", "control")],
)
def test_param_keys_empty_or_with_control_characters(key: str, problem: str) -> None:
    assert problem in (param_key_problem(key) or "")
    assert "\x1b" not in (param_key_problem(key) or "")


@pytest.mark.timeout(30)
def test_param_values_are_bounded_in_depth() -> None:
    assert param_key_problem("gain_2") is None
    assert param_value_problem({"a": [[1]]}) is None
    deep: object = 1
    for _ in range(65):
        deep = [deep]
    assert "nested deeper than 64 levels" in (param_value_problem(deep) or "")


@pytest.mark.timeout(30)
def test_coordinator_param_checks_use_them() -> None:
    from dora_coordinator.params import ParamError, check_key, check_value

    with pytest.raises(ParamError, match="empty"):
        check_key("")
    with pytest.raises(ParamError, match="control characters"):
        check_key("k\x07")
    with pytest.raises(ParamError, match="nested deeper"):
        check_value(b"[" * 100 + b"]" * 100)
    with pytest.raises(ParamError, match="invalid JSON value"):
        check_value(b"[" * 20_000 + b"]" * 20_000)  # msgspec's own recursion limit


@pytest.mark.timeout(30)
def test_decoders_raise_malformed_message_which_old_callers_still_catch() -> None:
    # the descriptor is typed; a ros2 section is free-form JSON, where depth is unbounded
    deep = '{"id":1,"request":{"type":"start","descriptor":{"nodes":[{"id":"a","ros2":{"n":'
    deep += "[" * 5000 + "]" * 5000
    with pytest.raises(MalformedMessage, match="nested too deeply") as info:
        req.decode_request(deep + "}}]}}}")
    assert isinstance(info.value, ProtocolError)
    assert isinstance(info.value, msgspec.ValidationError | msgspec.DecodeError)
    with pytest.raises(MalformedMessage):
        node.to_node_decoder.decode(
            b"\x95\xaatext_input\x91\xa2in\xa1t\x01\x81\xa1p" + b"\x91" * 5000
        )
    with pytest.raises(msgspec.DecodeError):
        node.to_daemon_decoder.decode(b"\xff")


# ---- item 9: quoted input is capped ----------------------------------------------------


@pytest.mark.timeout(30)
def test_excerpt_cuts_and_escapes() -> None:
    assert excerpt("abc") == "abc"
    assert excerpt("a\x1b[2J\n") == "a\\x1b[2J\\x0a"
    long = excerpt("x" * 1000)
    assert long.startswith("x" * 80) and long.endswith("… (920 more characters)")
    assert excerpt(10**5000).startswith("<int too large")
    assert cap_message("line1\nline2") == "line1\nline2"


@pytest.mark.timeout(30)
def test_huge_ids_are_quoted_capped() -> None:
    node_id = "n" * 1_000_000 + "!"
    err = refused(f"nodes:\n  - id: {node_id}\n    path: a.py\n")
    assert "… (" in err.message and len(str(err)) < 500
    dup = refused("nodes:\n" + f"  - id: {node_id[:-1]}\n    path: a.py\n" * 2)
    assert "duplicate node id" in dup.message and len(str(dup)) < 500
    missing = refused(NODE + f"    inputs:\n      x: {'q' * 1_000_000}/out\n")
    assert "does not exist" in missing.message and len(str(missing)) < 500


@pytest.mark.timeout(30)
def test_every_descriptor_error_is_capped() -> None:
    err = DescriptorError("x" * 100_000, "nodes[0]." + "k" * 10_000, "f.yml")
    assert len(err.message) <= MAX_MESSAGE_CHARS + 40
    assert len(str(err)) < MAX_MESSAGE_CHARS + 400
    assert err.path.endswith("k" * 10_000)  # kept whole, to find the YAML line


@pytest.mark.timeout(30)
def test_warnings_are_capped() -> None:
    name = "BAD NAME" + "x" * 100_000
    # an explicit key (`? `): implicit keys are limited to 1024 characters
    text = NODE + f"    env:\n      ? {name}\n      : 1\n"
    _, warnings = parse_descriptor_with_warnings(text, environ={})
    assert warnings and all(len(w) <= MAX_MESSAGE_CHARS + 40 for w in warnings)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("types: !!int x\n", "!!int"),
        ("types:\n  a: &a [*a]\n", "never ends"),
        ("", "the file is empty"),
    ],
    ids=["tag", "cycle", "empty"],
)
def test_user_type_files_are_read_with_the_same_bounds(
    tmp_path: Path, text: str, phrase: str
) -> None:
    from dora_message.types.registry import TypeRegistry

    (tmp_path / "types").mkdir()
    (tmp_path / "types" / "bad.yml").write_text(text)
    with pytest.raises(DescriptorError, match="failed to load user types") as info:
        TypeRegistry().load_dir(tmp_path / "types")
    assert phrase in info.value.message


@pytest.mark.timeout(30)
@pytest.mark.parametrize("path", sorted(Path(__file__).parent.glob("fixtures/*.yml")))
def test_loader_reads_what_pyyaml_reads(path: Path) -> None:
    from dora_message.yaml_load import load_yaml_mapping

    text = path.read_text()
    assert load_yaml_mapping(text, None) == yaml.safe_load(text)


@pytest.mark.timeout(30)
def test_loader_resolves_scalars_as_pyyaml() -> None:
    from dora_message.yaml_load import load_yaml_mapping

    words = ["yes", "No", "on", "OFF", "~", "null", "0x1f", "1_000", "1:20", "-1.5e3", ".inf",
             "2020-01-01", "2020-01-01 10:00:00", "true", "y", "n", "plain", "a b",
             "'q'", '"7"', "'007'", "é", "camera/image", "dora/timer/millis/5"]  # fmt: skip
    text = "base: &b {k: 1}\nmerged: {<<: *b, own: 2}\n" + "".join(
        f"k{i}: {word}\n" for i, word in enumerate(words)
    )
    assert load_yaml_mapping(text, None) == yaml.safe_load(text)
