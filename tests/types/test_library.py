"""URN parsing, the standard library, user type folders and the runtime check hook."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from dora_message.errors import DescriptorError
from dora_message.types import (
    STD_TYPES,
    CompatibilityGraph,
    TypeDef,
    TypeRegistry,
    check_arrow_type,
    is_exempt,
    parse_urn,
    runtime_type_check_mode,
    types_match,
)


@pytest.mark.parametrize(
    ("urn", "parsed"),
    [
        ("std/core/v1/Float32", ("std/core/v1/Float32", {})),
        ("x/AudioFrame[sample_type=f32]", ("x/AudioFrame", {"sample_type": "f32"})),
        ("x/T[ a = 1 , b=2 ]", ("x/T", {"a": "1", "b": "2"})),
        ("x/T[", None),
        ("x/T[]", None),
        ("x/T[=1]", None),
        ("x/T[a=]", None),
        ("x/T[a]", None),
        ("[a=1]", None),
        ("", None),
    ],
)  # fmt: skip
def test_parse_urn(urn: str, parsed: tuple[str, dict[str, str]] | None) -> None:
    result = parse_urn(urn)
    assert (tuple(result) if result is not None else None) == parsed


def test_types_match_rules() -> None:
    assert types_match("std/media/v1/Image[encoding=jpeg]", "std/media/v1/Image")
    assert types_match("x/T[a=1]", "x/T[b=2]")
    assert not types_match("std/media/v1/Image[encoding=jpeg]", "std/media/v1/Image[encoding=png]")
    assert not types_match("std/core/v1/Int32", "std/core/v1/Int64")
    assert types_match("x/T[", "x/T[") and not types_match("x/T[", "x/T")


def test_standard_library_has_the_27_types() -> None:
    assert len(STD_TYPES) == 27
    assert sum(urn.startswith("std/core/v1/") for urn in STD_TYPES) == 13
    registry = TypeRegistry()
    primitives = {urn: str(registry.primitive(urn)) for urn in STD_TYPES if registry.primitive(urn)}
    assert primitives["std/core/v1/String"] == "Utf8"
    assert primitives["std/core/v1/Bytes"] == "LargeBinary"
    assert primitives["std/media/v1/CompressedImage"] == "LargeBinary"
    assert len(primitives) == 14  # 13 core types + CompressedImage
    structs = {urn: registry.schema(urn) for urn in STD_TYPES if urn not in primitives}
    assert all(schema is not None for schema in structs.values()), structs


@pytest.mark.parametrize(
    ("urn", "shape"),
    [
        ("std/math/v1/Vector3", "Struct<x: Float64, y: Float64, z: Float64>"),
        ("std/math/v1/Pose", "Struct<position: Struct<x: Float64, y: Float64, z: Float64>, "
         "orientation: Struct<x: Float64, y: Float64, z: Float64, w: Float64>>"),
        ("std/control/v1/JointState", "Struct<names: LargeList<Utf8>, positions: "
         "LargeList<Float64>, velocities: LargeList<Float64>, efforts: LargeList<Float64>>"),
        ("std/media/v1/Image", "Struct<width: UInt32, height: UInt32, encoding: Utf8, "
         "data: LargeBinary>"),
        ("std/media/v1/AudioFrame[sample_type=i16]", "Struct<sample_rate: UInt32, "
         "channels: UInt32, data: LargeBinary>"),
        ("std/vision/v1/Detection", "Struct<boxes: LargeList<Struct<x: Float32, y: Float32, "
         "width: Float32, height: Float32, confidence: Float32, label: Utf8>>>"),
        ("std/vision/v1/Segmentation", "Struct<width: UInt32, height: UInt32, num_classes: "
         "UInt32, mask: LargeBinary, class_names: LargeList<Utf8>>"),
    ],
)  # fmt: skip
def test_struct_shapes(urn: str, shape: str) -> None:
    assert str(TypeRegistry().schema(urn)) == shape


def test_widening_edges() -> None:
    graph = CompatibilityGraph()
    core = "std/core/v1/"
    assert graph.is_compatible(core + "UInt8", core + "UInt64")
    assert graph.is_compatible(core + "Int32", core + "Int64")
    assert not graph.is_compatible(core + "UInt16", core + "UInt32")
    assert not graph.is_compatible(core + "Int64", core + "Int32")
    assert graph.is_compatible("std/media/v1/Image", core + "Bytes")
    chain = CompatibilityGraph([("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")])
    assert chain.is_compatible("a", "d") and not chain.is_compatible("a", "e")


def test_suggestions_prefer_the_same_package() -> None:
    registry = TypeRegistry()
    assert registry.suggest("std/media/v1/Imag") == "std/media/v1/Image"
    assert registry.suggest("std/core/v1/float32") == "std/core/v1/Float32"
    assert registry.suggest("std/core/v1/Xyzzy") is None


def test_short_names_resolve_only_when_unique(tmp_path: Path) -> None:
    types = tmp_path / "types"
    types.mkdir()
    (types / "acme.yml").write_text(
        "types:\n  Vector3:\n    arrow: Struct\n    fields: [{name: a, type: Float32}]\n"
        "  Holder:\n    arrow: Struct\n    fields: [{name: v, type: Vector3}]\n"
        "  Exact:\n    arrow: Struct\n    fields: [{name: v, type: std/math/v1/Vector3}]\n"
        "  Prim:\n    arrow: Struct\n    fields: [{name: v, type: std/core/v1/Float64}]\n"
    )
    registry = TypeRegistry()
    assert registry.load_dir(types) == 4
    assert registry.schema("acme/Holder") is None  # `Vector3` is now ambiguous
    assert (
        str(registry.schema("acme/Exact"))
        == "Struct<v: Struct<x: Float64, y: Float64, z: Float64>>"
    )
    assert registry.schema("acme/Prim") is None  # non-struct references fail closed
    assert registry.schema("std/control/v1/Twist") is None  # std types lost `Vector3` too


def test_user_type_folder_rules(tmp_path: Path) -> None:
    types = tmp_path / "types"
    (types / "acme" / "sensors").mkdir(parents=True)
    (types / "acme" / "sensors" / "v1.yml").write_text("types:\n  Foo: {arrow: Float64}\n")
    (types / "acme" / "ignored.yaml").write_text("types:\n  Bar: {arrow: Float64}\n")
    deep = types.joinpath(*[f"d{i}" for i in range(8)])
    deep.mkdir(parents=True)
    (deep / "deep.yml").write_text("types:\n  TooDeep: {arrow: Float64}\n")
    (types / "d0" / "ok.yml").write_text("types:\n  Shallow: {arrow: Float64}\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "linked.yml").write_text("types:\n  Linked: {arrow: Float64}\n")
    os.symlink(outside, types / "link")
    registry = TypeRegistry()
    assert registry.load_dir(types) == 2
    assert registry.resolve("acme/sensors/v1/Foo") is not None
    assert registry.resolve("d0/ok/Shallow") is not None
    assert registry.resolve("acme/ignored/Bar") is None
    assert not any(urn.endswith("/TooDeep") or urn.endswith("/Linked") for urn in registry.types)


def test_user_types_cannot_use_std(tmp_path: Path) -> None:
    (tmp_path / "types" / "std").mkdir(parents=True)
    (tmp_path / "types" / "std" / "mine.yml").write_text("types:\n  X: {arrow: Float64}\n")
    with pytest.raises(DescriptorError, match='user types cannot use the "std/" prefix'):
        TypeRegistry().load_dir(tmp_path / "types")


@pytest.mark.parametrize("text", ["types: [\n", "types:\n  X: {description: no arrow}\n", "x: 1\n"])
def test_broken_user_type_files_are_errors(tmp_path: Path, text: str) -> None:
    (tmp_path / "types").mkdir()
    (tmp_path / "types" / "bad.yml").write_text(text)
    with pytest.raises(DescriptorError) as info:
        TypeRegistry().load_dir(tmp_path / "types")
    assert info.value.message.startswith(
        f"failed to load user types: {tmp_path / 'types' / 'bad.yml'}: "
    )


PYARROW = {
    "Float32": pa.float32(), "Float64": pa.float64(), "Int8": pa.int8(), "Int16": pa.int16(),
    "Int32": pa.int32(), "Int64": pa.int64(), "UInt8": pa.uint8(), "UInt16": pa.uint16(),
    "UInt32": pa.uint32(), "UInt64": pa.uint64(), "String": pa.string(),
    "Bytes": pa.large_binary(), "Bool": pa.bool_(),
}  # fmt: skip


@pytest.mark.parametrize("name", list(PYARROW))
def test_runtime_check_accepts_the_declared_arrow_type(name: str) -> None:
    urn = f"std/core/v1/{name}"
    assert check_arrow_type(urn, str(pa.array([], type=PYARROW[name]).type)) is None
    wrong = pa.float64() if name != "Float64" else pa.float32()
    problem = check_arrow_type(urn, str(wrong))
    assert problem is not None and urn in problem and str(wrong) in problem


def test_runtime_check_details() -> None:
    assert check_arrow_type("std/core/v1/String", str(pa.array(["a"]).type)) is None
    assert check_arrow_type("std/core/v1/String", "large_string") is None
    assert check_arrow_type("std/core/v1/Bytes", str(pa.array([b"x"]).type)) is None
    assert check_arrow_type("std/media/v1/CompressedImage", "large_binary") is None
    assert check_arrow_type("std/core/v1/Float64", "list<item: double>") is not None
    # structs, unknown URNs and parameters: nothing to judge or judged by the base
    assert check_arrow_type("std/media/v1/Image", "int64") is None
    assert check_arrow_type("acme/Unknown", "int64") is None
    assert check_arrow_type("std/core/v1/Int64[unit=m]", "int64") is None
    registry = TypeRegistry()  # user registries are accepted too
    registry.insert("acme/Meters", TypeDef(arrow="Float64"))
    assert check_arrow_type("acme/Meters", "int64", registry) is not None


@pytest.mark.parametrize(
    ("value", "mode"),
    [(None, "off"), ("", "off"), ("warn", "warn"), ("1", "warn"), ("true", "warn"),
     ("on", "warn"), ("WARN", "warn"), ("error", "error"), ("0", "off"), ("nope", "off")],
)  # fmt: skip
def test_runtime_mode(value: str | None, mode: str) -> None:
    assert runtime_type_check_mode(value) == mode


def test_pattern_metadata_is_exempt() -> None:
    assert is_exempt({"request_id": "1"})
    assert is_exempt(["goal_status"])
    assert not is_exempt({"step": 1})
