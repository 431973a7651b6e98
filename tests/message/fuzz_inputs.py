"""Hypothesis strategies for the fuzz tests: descriptor YAML and control-plane frames.

Each strategy mixes well-formed shapes (so that the fuzzing reaches validation, not only
the YAML parser) with the kinds of damage found by hand in issue 13: explicit tags with
values they cannot hold, aliases, deep nesting, huge numbers, subnormal timer rates,
control characters, long names.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import yaml
from hypothesis import strategies as st

from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message import coordinator_to_daemon as c2d
from dora_message import daemon_to_coordinator as d2c
from dora_message import data_protocol as data
from dora_message import inter_daemon as inter
from dora_message import node_protocol as node

NODE_KEYS = [
    "id", "path", "operator", "operators", "ros2", "module", "params", "args", "env",
    "inputs", "outputs", "build", "git", "branch", "tag", "rev", "hub", "path_sha256",
    "restart_policy", "max_restarts", "restart_delay", "health_check_timeout",
    "finish_grace_secs", "min_log_level", "send_stdout_as", "max_log_size",
    "max_rotated_files", "cpu_affinity", "deploy", "_unstable_deploy", "queue_size",
    "shared_memory_pool_size", "output_types", "pattern", "description",
]  # fmt: skip
TOP_KEYS = ["nodes", "env", "health_check_interval", "strict_types", "debug", "deploy", "name"]
WEIRD_WORDS = [
    "", "a", "x.yml", "../x.yml", "/abs", "dora", "dora/timer/hz/1e-320", "dora/timer/hz/0",
    "dora/timer/millis/0", "dora/timer/millis/" + "9" * 30, "dora/timer/secs/1",
    "dora/timer/hz/1e308", "dora/timer/nanos/1", "dora/logs/warn/a", "a/out", "a/op/out",
    "on-failure", "always", "never", "50MB", "1K", "-1", "nan", ".inf", "\x00", "\x1b[2J",
    "a\x01", "x" * 300, "x" * 300 + "/m.yml", "$HOME", "${X:-d}", "${UNSET}", "é", "\ud7ff",
]  # fmt: skip
TAGS = ["!!int", "!!float", "!!bool", "!!timestamp", "!!set", "!!binary", "!!str", "!!null",
        "!!omap", "!!pairs", "!!map", "!!seq", "!custom", "!!python/object"]  # fmt: skip
YAML_TOKENS = [
    "nodes:", "\n", "  ", "- ", "id: ", "path: ", "inputs:", "outputs:", "ros2:", ": ",
    "&a ", "*a", "&b ", "*b", "[", "]", "{", "}", ",", "'", '"', "#", "|", ">", "? ",
    "<<: ", "---", "...", "%YAML 1.1", "!!set ", "!!int ", "!!bool ", "!!float ",
    "!!timestamp ", "dora/timer/hz/", "1e-320", "99999999999999999999", "-", "~", "null",
]  # fmt: skip


def scalars() -> st.SearchStrategy[Any]:
    """Values a descriptor field may be given, sensible or not."""
    return st.one_of(
        st.sampled_from(WEIRD_WORDS),
        st.text(max_size=20),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([5e-324, 1e-320, 1e308, -0.0]),
        st.booleans(),
        st.none(),
    )


def values() -> st.SearchStrategy[Any]:
    """Scalars, lists and mappings of them, a few levels deep."""
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.sampled_from(NODE_KEYS) | st.text(max_size=6), inner, max_size=4),
        ),
        max_leaves=12,
    )


@st.composite
def descriptor_like(draw: st.DrawFn) -> dict[str, Any]:
    """A mapping shaped like a descriptor: mostly known keys, some nonsense."""
    nodes = []
    for _ in range(draw(st.integers(0, 4))):
        keys = draw(st.lists(st.sampled_from(NODE_KEYS), max_size=6, unique=True))
        node = {key: draw(values()) for key in keys}
        if draw(st.booleans()):
            node["id"] = draw(st.sampled_from(["a", "b", "c"]) | scalars())
        if draw(st.booleans()):
            node["path"] = "n.py"
        if draw(st.booleans()):
            node["inputs"] = draw(
                st.dictionaries(st.sampled_from(["x", "t", "in"]), values(), max_size=3)
            )
        nodes.append(node)
    doc: dict[str, Any] = {"nodes": nodes}
    for key in draw(st.lists(st.sampled_from(TOP_KEYS[1:]), max_size=2, unique=True)):
        doc[key] = draw(values())
    return doc


@st.composite
def damaged(draw: st.DrawFn, text: str) -> str:
    """``text`` with a tag, an anchor or an alias spliced in, or a character replaced."""
    if not text:
        return text
    at = draw(st.integers(0, len(text) - 1))
    splice = draw(st.sampled_from([*TAGS, "&a", "*a", "&a [*a]", "\t", "\x00", "'"]))
    how = draw(st.sampled_from(["insert", "insert_space", "replace"]))
    if how == "insert":
        return text[:at] + splice + text[at:]
    if how == "insert_space":
        return text[:at] + splice + " " + text[at:]
    return text[:at] + draw(st.characters()) + text[at + 1 :]


@st.composite
def alias_bomb(draw: st.DrawFn) -> str:
    """Levels of lists of aliases to the previous level, under ``ros2:``."""
    levels = draw(st.integers(1, 12))
    fanout = draw(st.integers(1, 12))
    lines = ["nodes:", "  - id: bridge", "    ros2:", "      l0: &l0 [x, y]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * fanout)
        lines.append(f"      l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def deep_yaml() -> st.SearchStrategy[str]:
    """Flow or block nesting from a few levels to well past every bound."""
    depth = st.integers(1, 3000)
    flow = depth.map(lambda d: "nodes:\n  - id: a\n    ros2:\n      p: " + "[" * d + "]" * d + "\n")
    block = st.integers(1, 200).map(
        lambda d: (
            "nodes:\n  - id: a\n    ros2:\n" + "".join("  " * (i + 3) + "- \n" for i in range(d))
        )
    )
    return flow | block


def descriptor_texts() -> st.SearchStrategy[str]:
    """Descriptor YAML texts, from well-formed to garbage."""
    dumped = descriptor_like().map(lambda doc: yaml.safe_dump(doc, allow_unicode=True))
    return st.one_of(
        dumped,
        dumped.flatmap(damaged),
        alias_bomb(),
        deep_yaml(),
        st.lists(st.sampled_from(YAML_TOKENS), max_size=40).map("".join),
        st.text(max_size=200),
    )


# ---- control-plane frames ---------------------------------------------------------------


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.integers(-(2**63), 2**63 - 1)
        | st.floats(allow_nan=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=16,
    )


DEEP = "@@deep@@"  # where a deeply nested value goes in a frame template
_DETAILS = rep.DataflowDetails(
    summary=rep.DataflowSummary(uuid="u", status="running"), descriptor={"nodes": DEEP}
)
# Per channel: real frames, the first of which has DEEP in a free-form (`Any`) field.
SAMPLE_FRAMES: dict[str, list[bytes]] = {
    "cli_to_coordinator": [
        req.encode_request(2, req.StartDataflow(descriptor={"nodes": DEEP})).encode(),
        req.encode_request(1, req.Hello(protocol_version="1")).encode(),
        req.encode_request(3, req.ListDataflows()).encode(),
    ],
    "coordinator_to_cli": [
        rep.encode_frame(rep.Reply(id=2, result=_DETAILS)).encode(),
        rep.encode_frame(rep.Reply(id=1, result=rep.DataflowList(dataflows=[]))).encode(),
    ],
    "coordinator_to_daemon": [
        c2d.encode_frame(
            c2d.CommandFrame(
                id=1, command=c2d.SpawnDataflow(dataflow_id="d", descriptor={"n": DEEP}, nodes=[])
            )
        ).encode(),
        c2d.encode_frame(c2d.EventFrame(event=c2d.Heartbeat())).encode(),
    ],
    "daemon_to_coordinator": [
        d2c.encode_frame(
            d2c.EventFrame(
                event=d2c.StatusReport(
                    running=[d2c.RunningDataflow(dataflow_id="d", nodes=[], descriptor={"n": DEEP})]
                )
            )
        ).encode(),
        d2c.encode_frame(d2c.EventFrame(event=d2c.Heartbeat())).encode(),
    ],
    "node_to_daemon": [
        node.node_encoder.encode(node.NodeLog("info", DEEP)),
        node.node_encoder.encode(node.Register("df", "n", node.PROTOCOL_VERSION, 1)),
        node.node_encoder.encode(node.CloseOutputs(["out"])),
    ],
    "daemon_to_node": [
        node.node_encoder.encode(node.TextInput(["in"], "t", 1, {"p": DEEP})),
        node.node_encoder.encode(node.Stop()),
    ],
    # the data plane: node to node (or to a daemon's bridge), daemon to daemon over zenoh
    "sender_to_receiver": [
        data.data_encoder.encode(data.Data("out", 1, {"p": DEEP}, "raw", None, b"x")),
        data.data_encoder.encode(data.Closed(["out"], True)),
    ],
    "inter_daemon": [
        inter.inter_daemon_encoder.encode(inter.RemoteData("out", 1, {"p": DEEP}, "raw", b"x")),
        inter.inter_daemon_encoder.encode(inter.RemoteClosed("out")),
    ],
    "injection_report": [
        msgspec.msgpack.encode(inter.InjectionReport(delivered=["a"], waiting=["b"])),
        msgspec.msgpack.encode(inter.InjectionReport(not_listening=["c"], error="stopping")),
    ],
}
JSON_CHANNELS = ("cli_to_coordinator", "coordinator_to_cli", "coordinator_to_daemon",
                 "daemon_to_coordinator")  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, frame: bytes) -> bytes:
    """``frame`` with a few bytes flipped, cut or repeated."""
    data = bytearray(frame)
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["flip", "cut", "dup"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


def deep_json(channel: str) -> st.SearchStrategy[bytes]:
    """A structurally valid frame whose free-form part (``Any``) nests very deeply."""
    template = SAMPLE_FRAMES[channel][0]
    if channel in JSON_CHANNELS:
        marker = json.dumps(DEEP).encode()
        return st.integers(100, 5000).map(lambda d: template.replace(marker, b"[" * d + b"]" * d))
    marker = msgspec.msgpack.encode(DEEP)
    # msgpack: a one-element array (0x91) per level around nil
    return st.integers(100, 5000).map(lambda d: template.replace(marker, b"\x91" * d + b"\xc0"))


def frames(channel: str) -> st.SearchStrategy[bytes | str]:
    """Input for the decoder of ``channel``: garbage, damaged real frames, deep nesting."""
    samples = SAMPLE_FRAMES[channel]
    options: list[st.SearchStrategy[Any]] = [
        st.binary(max_size=200),
        st.sampled_from(samples).flatmap(mutated),
        deep_json(channel),
    ]
    if channel in JSON_CHANNELS:
        options.append(json_values().map(lambda v: json.dumps(v)))
        options.append(
            st.dictionaries(
                st.sampled_from(["id", "kind", "type", "request", "reply", "event"]),
                json_values(),
                max_size=4,
            ).map(json.dumps)
        )
    else:
        options.append(json_values().map(lambda v: msgspec.msgpack.encode(v)))
    return st.one_of(*options)
