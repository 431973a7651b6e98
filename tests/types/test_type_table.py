"""A table of type situations: each dataflow gives exactly the expected warnings.

Every case lists the warnings as ``(check, node label, port, phrase)``; the test fails
on any missing or extra warning, on a wrong place and on a missing phrase.
"""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec
import pytest

from dora_message.load import parse_descriptor
from dora_message.types import analyze_types
from dora_message.types import check as check_module

INT, F, B = "std/core/v1/Int64", "std/core/v1/Float64", "std/core/v1/Bytes"


def edge(producer: str, consumer: str | None, extra: str = "") -> str:
    """`src` outputs `out` typed ``producer``; `dst` reads it, expecting ``consumer``."""
    wanted = f"    input_types:\n      x: {consumer}\n" if consumer else ""
    return (
        f"{extra}nodes:\n"
        f"  - id: src\n    path: s.py\n    outputs: [out]\n"
        f"    output_types:\n      out: {producer}\n"
        f"  - id: dst\n    path: d.py\n    inputs:\n      x: src/out\n{wanted}"
    )


def untyped_edge(consumer: str, extra: str = "") -> str:
    return (
        f"{extra}nodes:\n  - id: src\n    path: s.py\n    outputs: [out]\n"
        f"  - id: dst\n    path: d.py\n    inputs:\n      x: src/out\n"
        f"    input_types:\n      x: {consumer}\n"
    )


def timer(consumer: str) -> str:
    return (
        "nodes:\n  - id: dst\n    path: d.py\n    inputs:\n      tick: dora/timer/millis/10\n"
        f"    input_types:\n      tick: {consumer}\n"
    )


USER_TYPES = {
    "acme/sensors/v1.yml": (
        "types:\n"
        "  Reading:\n    arrow: Struct\n    fields:\n"
        "      - {name: temperature, type: Float32}\n      - {name: humidity, type: Float32}\n"
        "  Celsius:\n    arrow: Struct\n    fields:\n      - {name: temperature, type: Float64}\n"
        "  Kelvin:\n    arrow: Struct\n    fields:\n      - {name: kelvin, type: Float32}\n"
        "  Tagged:\n    arrow: Struct\n    params: [{name: a}, {name: b}]\n"
        "    fields:\n      - {name: v, type: Float64}\n"
        "  Meters:\n    arrow: Float64\n"
    ),
    "units.yml": "types:\n  Seconds:\n    arrow: Float64\n",
}

Expected = list[tuple[str, str, str | None, str]]
CASES: dict[str, tuple[str, Expected]] = {
    "exact match": (edge(INT, INT), []),
    "widening one hop": (edge("std/core/v1/Float32", F), []),
    "widening two hops": (edge("std/core/v1/UInt8", "std/core/v1/UInt64"), []),
    "narrowing is a mismatch": (
        edge(F, "std/core/v1/Float32"),
        [("mismatch", "dst", "x", 'upstream src/out declares "std/core/v1/Float64"')],
    ),
    "no int8 widening": (
        edge("std/core/v1/Int8", INT),
        [("mismatch", "dst", "x", "type_rules: [{from: std/core/v1/Int8, to: std/core/v1/Int64}]")],
    ),
    "no int to float": (
        edge(INT, F),
        [("mismatch", "dst", "x", 'but expected "std/core/v1/Float64"')],
    ),
    "anything into Bytes": (edge("std/media/v1/Image", B), []),
    "Bytes is not an Image": (
        edge(B, "std/media/v1/Image"),
        [
            (
                "mismatch",
                "dst",
                "x",
                'declares "std/core/v1/Bytes", but expected "std/media/v1/Image"',
            )
        ],
    ),
    "parameter wildcard": (
        edge("std/media/v1/AudioFrame[sample_type=f32]", "std/media/v1/AudioFrame"),
        [],
    ),
    "parameter mismatch": (
        edge(
            "std/media/v1/AudioFrame[sample_type=f32]", "std/media/v1/AudioFrame[sample_type=i16]"
        ),
        [("mismatch", "dst", "x", "make the parameter(s) sample_type agree")],
    ),
    "disjoint parameters agree": (
        edge("acme/sensors/v1/Tagged[a=1]", "acme/sensors/v1/Tagged[b=2]"),
        [],
    ),
    "inference is not a warning": (edge(INT, None), []),
    "user type exact": (edge("acme/sensors/v1/Reading", "acme/sensors/v1/Reading"), []),
    "user type from a top-level file": (edge("units/Seconds", "units/Seconds"), []),
    "struct field type mismatch": (
        edge("acme/sensors/v1/Reading", "acme/sensors/v1/Celsius"),
        [
            (
                "mismatch",
                "dst",
                "x",
                '(field "temperature" type mismatch: expected Float64, got Float32)',
            )
        ],
    ),
    "struct missing field": (
        edge("acme/sensors/v1/Reading", "acme/sensors/v1/Kelvin"),
        [("mismatch", "dst", "x", '(missing field "kelvin")')],
    ),
    "std struct explained": (
        edge("std/control/v1/Twist", "std/math/v1/Vector3"),
        [("mismatch", "dst", "x", '(missing field "x")')],
    ),
    "primitive user types get no field detail": (
        edge("acme/sensors/v1/Meters", "units/Seconds"),
        [("mismatch", "dst", "x", 'but expected "units/Seconds"; hint:')],
    ),
    "output_types key not an output": (
        "nodes:\n  - id: cam\n    path: c.py\n    outputs: [frame]\n"
        "    output_types:\n      framez: std/media/v1/Image\n",
        [("output-key", "cam", "framez", 'not found in outputs list; hint: did you mean "frame"?')],
    ),
    "input_types key not an input": (
        "nodes:\n  - id: a\n    path: a.py\n    input_types:\n      ghost: std/core/v1/Int64\n",
        [("input-key", "a", "ghost", 'add "ghost" to the inputs of the node')],
    ),
    "unknown URN with suggestion": (
        edge("std/vision/v1/BoundingBx", None),
        [("unknown-type", "src", "out", '(did you mean "std/vision/v1/BoundingBox"?)')],
    ),
    "unknown URN without suggestion": (
        edge(INT, "acme/nothing/v1/Zzzzzz"),
        [("unknown-type", "dst", "x", "define it in a .yml file under types/")],
    ),
    "malformed parameters": (
        edge("std/media/v1/AudioFrame[sample_type=]", None),
        [("unknown-type", "src", "out", "parameters are written")],
    ),
    "output_metadata key not an output": (
        "nodes:\n  - id: srv\n    path: s.py\n    outputs: [response]\n"
        "    output_metadata:\n      respons: [request_id]\n",
        [("metadata-key", "srv", "respons", 'did you mean "response"?')],
    ),
    "metadata and pattern shorthand are fine": (
        "nodes:\n  - id: srv\n    path: s.py\n    pattern: action-server\n    outputs: [result]\n"
        "    output_metadata:\n      result: [goal_id, goal_status]\n",
        [],
    ),
    "timer is UInt64": (timer("std/core/v1/UInt64"), []),
    "timer into Bytes": (timer(B), []),
    "timer into UInt32": (
        timer("std/core/v1/UInt32"),
        [("timer", "dst", "tick", 'timer provides "std/core/v1/UInt64"')],
    ),
    "type_rules add an edge": (
        edge(
            "acme/sensors/v1/Reading",
            "acme/sensors/v1/Celsius",
            "type_rules:\n  - {from: acme/sensors/v1/Reading, to: acme/sensors/v1/Celsius}\n",
        ),
        [],
    ),
    "type_rules chains stop after three hops": (
        edge(
            "units/Seconds",
            "acme/sensors/v1/Meters",
            "type_rules:\n  - {from: units/Seconds, to: std/core/v1/Int8}\n"
            "  - {from: std/core/v1/Int8, to: std/core/v1/Int16}\n"
            "  - {from: std/core/v1/Int16, to: std/core/v1/Int32}\n"
            "  - {from: std/core/v1/Int32, to: acme/sensors/v1/Meters}\n",
        ),
        [("mismatch", "dst", "x", 'but expected "acme/sensors/v1/Meters"')],
    ),
    "type_rules chains of three hops work": (
        edge(
            "units/Seconds",
            "std/core/v1/Int32",
            "type_rules:\n  - {from: units/Seconds, to: std/core/v1/Int8}\n"
            "  - {from: std/core/v1/Int8, to: std/core/v1/Int16}\n"
            "  - {from: std/core/v1/Int16, to: std/core/v1/Int32}\n",
        ),
        [],
    ),
    "parameterised rule targets never match": (
        edge(
            "units/Seconds",
            "acme/sensors/v1/Tagged[a=1]",
            "type_rules:\n  - {from: units/Seconds, to: 'acme/sensors/v1/Tagged[a=1]'}\n",
        ),
        [("mismatch", "dst", "x", "Tagged[a=1]")],
    ),
    "untyped upstream is fine without strict": (untyped_edge(INT), []),
    "untyped upstream under strict_types": (
        untyped_edge(INT, "strict_types: true\n"),
        [("untyped-upstream", "dst", "x", "add `output_types: {out: std/core/v1/Int64}`")],
    ),
    "strict does not repeat an unknown upstream type": (
        edge("acme/nothing/v1/Zzzzzz", INT, "strict_types: true\n"),
        [("unknown-type", "src", "out", "unknown type")],
    ),
    "logs inputs are never checked": (
        "nodes:\n  - id: a\n    path: a.py\n    inputs:\n      l: dora/logs\n"
        "    input_types:\n      l: std/core/v1/UInt8\n",
        [],
    ),
    "single operator short and long references": (
        "nodes:\n  - id: rt\n    operator:\n      python: op.py\n      outputs: [o]\n"
        "      output_types: {o: std/core/v1/Int32}\n"
        "  - id: a\n    path: a.py\n    inputs: {short: rt/o, long: rt/op/o}\n"
        "    input_types: {short: std/core/v1/Int64, long: std/core/v1/Bool}\n",
        [("mismatch", "a", "long", 'upstream rt/op/o declares "std/core/v1/Int32"')],
    ),
    "multi operator labels": (
        "nodes:\n  - id: rt\n    operators:\n"
        "      - id: pre\n        python: p.py\n        outputs: [o]\n"
        "        output_types: {o: std/core/v1/String, z: std/core/v1/Bool}\n"
        "      - id: post\n        python: q.py\n        inputs: {i: rt/pre/o}\n"
        "        input_types: {i: std/core/v1/Bool}\n",
        [
            ("output-key", "rt/pre", "z", "output_types key"),
            ("mismatch", "rt/post", "i", 'upstream rt/pre/o declares "std/core/v1/String"'),
        ],
    ),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name, text in USER_TYPES.items():
        target = tmp_path / "types" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tmp_path


def checks_the_checker_can_emit() -> set[str]:
    """The ``check`` argument of every ``self.warn(...)`` call in the type checker."""
    source = Path(check_module.__file__).read_text()
    return {
        call.args[2].value
        for call in ast.walk(ast.parse(source))
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "warn"
        and len(call.args) >= 3
        and isinstance(call.args[2], ast.Constant)
    }


def test_every_check_is_produced_by_a_case(project: Path) -> None:
    # run the table: every check the checker has must come out of some dataflow (`pattern`
    # cannot be written in YAML, test_unknown_pattern_is_reported builds it)
    produced = {"pattern"}
    for text, _ in CASES.values():
        descriptor = parse_descriptor(text, str(project / "dataflow.yml"), environ={})
        produced |= {w.check for w in analyze_types(descriptor, project).warnings}
    emitted = checks_the_checker_can_emit()
    assert len(emitted) >= 8, emitted  # the AST walk found the warn calls
    assert produced == emitted


@pytest.mark.parametrize("name", list(CASES))
def test_type_situation(name: str, project: Path) -> None:
    text, expected = CASES[name]
    descriptor = parse_descriptor(text, str(project / "dataflow.yml"), environ={})
    report = analyze_types(descriptor, project)
    assert report.user_types == 6
    got = [(w.check, w.node, w.port) for w in report.warnings]
    assert got == [(check, node, port) for check, node, port, _ in expected], report.warnings
    for warning, (_, node, _, phrase) in zip(report.warnings, expected, strict=True):
        assert phrase in str(warning), str(warning)
        assert str(warning).startswith(f'node "{node}": ')
        assert warning.fix or "did you mean" in warning.message


def test_inference_is_reported() -> None:
    descriptor = parse_descriptor(edge(INT, None), environ={})
    report = analyze_types(descriptor)
    assert [str(i) for i in report.inferred] == [
        "inferred std/core/v1/Int64 on dst/x (from src/out)"
    ]


def test_strict_argument_overrides_the_file() -> None:
    descriptor = parse_descriptor(untyped_edge(INT), environ={})
    assert analyze_types(descriptor).warnings == []
    (warning,) = analyze_types(descriptor, strict=True).warnings
    assert str(warning).startswith(
        'node "dst": input "x" expects type "std/core/v1/Int64" but upstream src/out has no '
        "type annotation"
    )


def test_unknown_pattern_is_reported() -> None:
    # The YAML schema already refuses unknown patterns; built descriptors are checked too.
    descriptor = parse_descriptor("nodes:\n  - id: a\n    path: a.py\n", environ={})
    odd = msgspec.structs.replace(descriptor.nodes[0], pattern="pub-sub")  # type: ignore[arg-type]
    descriptor = msgspec.structs.replace(descriptor, nodes=[odd])
    (warning,) = analyze_types(descriptor).warnings
    assert warning.check == "pattern"
    assert 'unknown pattern "pub-sub", expected one of: service-server' in str(warning)


def test_module_inner_annotations_are_checked(tmp_path: Path) -> None:
    (tmp_path / "m.yml").write_text(
        "module: {name: m, inputs: [n], outputs: [o]}\n"
        "nodes:\n  - id: inner\n    path: i.py\n    inputs: {n: _mod/n}\n"
        "    input_types: {n: std/core/v1/Bool}\n    outputs: [o]\n"
    )
    flow = tmp_path / "dataflow.yml"
    flow.write_text(
        edge(INT, None).replace(
            "  - id: dst", "  - id: m\n    module: m.yml\n    inputs: {n: src/out}\n  - id: dst"
        )
    )
    from dora_message.load import load_descriptor

    report = analyze_types(load_descriptor(flow), tmp_path)
    assert [(w.check, w.node, w.port) for w in report.warnings] == [("mismatch", "m.inner", "n")]
