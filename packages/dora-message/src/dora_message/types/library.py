"""Type definitions (the type-package file format) and the embedded standard library.

A type package file reads::

    types:
      <TypeName>:
        arrow: <ArrowName>                       # required
        description: <text>
        params: [{name: <p>, default: <v>}]      # informational only
        fields: [{name: <f>, type: <T>, nullable: true}]   # for Struct
        metadata: [{key: <k>, description: <text>}]        # informational only

As in mainline, keys these structs do not know are ignored. The standard library
(27 types under ``std/``) is declared here as data, so no YAML parser is needed for it.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "STD_TYPES",
    "FieldDef",
    "MetadataDef",
    "TypeDef",
    "TypePackage",
    "TypeParam",
]


class FieldDef(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """A struct field: an Arrow primitive name, ``List<T>`` or a struct type reference."""

    name: str
    type: str
    nullable: bool = True


class TypeParam(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """A declared type parameter; names and defaults are documentation only."""

    name: str
    default: str | None = None


class MetadataDef(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """A metadata key messages of this type are expected to carry (informational)."""

    key: str
    description: str | None = None


class TypeDef(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """One named type."""

    arrow: str
    description: str | None = None
    params: list[TypeParam] = msgspec.field(default_factory=list)
    fields: list[FieldDef] = msgspec.field(default_factory=list)
    metadata: list[MetadataDef] = msgspec.field(default_factory=list)


class TypePackage(msgspec.Struct, frozen=True):
    """A whole type package file."""

    types: dict[str, TypeDef]


def _struct(description: str, fields: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    return {
        "arrow": "Struct",
        "description": description,
        "fields": [{"name": name, "type": kind} for name, kind in fields],
        **extra,
    }


_XYZ = [("x", "Float64"), ("y", "Float64"), ("z", "Float64")]

_PACKAGES: dict[str, dict[str, dict[str, Any]]] = {
    "std/core/v1": {
        "Float32": {"arrow": "Float32", "description": "32-bit float"},
        "Float64": {"arrow": "Float64", "description": "64-bit float"},
        "Int8": {"arrow": "Int8", "description": "8-bit signed integer"},
        "Int16": {"arrow": "Int16", "description": "16-bit signed integer"},
        "Int32": {"arrow": "Int32", "description": "32-bit signed integer"},
        "Int64": {"arrow": "Int64", "description": "64-bit signed integer"},
        "UInt8": {"arrow": "UInt8", "description": "8-bit unsigned integer"},
        "UInt16": {"arrow": "UInt16", "description": "16-bit unsigned integer"},
        "UInt32": {"arrow": "UInt32", "description": "32-bit unsigned integer"},
        "UInt64": {"arrow": "UInt64", "description": "64-bit unsigned integer (timer ticks)"},
        "String": {"arrow": "Utf8", "description": "UTF-8 string"},
        "Bytes": {"arrow": "LargeBinary", "description": "raw bytes (universal sink)"},
        "Bool": {"arrow": "Boolean", "description": "boolean"},
    },
    "std/math/v1": {
        "Vector3": _struct("3D vector", _XYZ),
        "Quaternion": _struct("quaternion", [*_XYZ, ("w", "Float64")]),
        "Pose": _struct("6-DOF pose", [("position", "Vector3"), ("orientation", "Quaternion")]),
        "Transform": _struct(
            "coordinate transform", [("translation", "Vector3"), ("rotation", "Quaternion")]
        ),
    },
    "std/control/v1": {
        "Twist": _struct(
            "linear and angular velocity", [("linear", "Vector3"), ("angular", "Vector3")]
        ),
        "JointState": _struct(
            "joint positions, velocities, efforts",
            [
                ("names", "List<Utf8>"),
                ("positions", "List<Float64>"),
                ("velocities", "List<Float64>"),
                ("efforts", "List<Float64>"),
            ],
        ),
        "Odometry": _struct(
            "pose and twist in a reference frame",
            [("pose", "Pose"), ("twist", "Twist"), ("frame_id", "Utf8")],
        ),
    },
    "std/media/v1": {
        "Image": _struct(
            "raw image",
            [
                ("width", "UInt32"),
                ("height", "UInt32"),
                ("encoding", "Utf8"),
                ("data", "LargeBinary"),
            ],
        ),
        "CompressedImage": {"arrow": "LargeBinary", "description": "JPEG/PNG bytes"},
        "PointCloud": _struct(
            "3D point cloud", [("points", "LargeBinary"), ("width", "UInt32"), ("height", "UInt32")]
        ),
        "AudioFrame": _struct(
            "audio samples",
            [("sample_rate", "UInt32"), ("channels", "UInt32"), ("data", "LargeBinary")],
            params=[{"name": "sample_type", "default": "f32"}],
        ),
    },
    "std/vision/v1": {
        "BoundingBox": _struct(
            "2D bounding box with confidence and label",
            [
                ("x", "Float32"),
                ("y", "Float32"),
                ("width", "Float32"),
                ("height", "Float32"),
                ("confidence", "Float32"),
                ("label", "Utf8"),
            ],
        ),
        "Detection": _struct("object detections", [("boxes", "List<BoundingBox>")]),
        "Segmentation": _struct(
            "pixel-level segmentation mask",
            [
                ("width", "UInt32"),
                ("height", "UInt32"),
                ("num_classes", "UInt32"),
                ("mask", "LargeBinary"),
                ("class_names", "List<Utf8>"),
            ],
        ),
    },
}

#: Every standard type by full URN (``std/core/v1/Float32`` …).
STD_TYPES: dict[str, TypeDef] = {
    f"{prefix}/{name}": msgspec.convert(spec, TypeDef)
    for prefix, package in _PACKAGES.items()
    for name, spec in package.items()
}
