"""Arrow shapes described without pyarrow: what a type URN looks like on the wire.

A type definition names an Arrow logical type (``arrow: Float64``) or a ``Struct`` whose
fields are primitives, ``List<T>`` (always LargeList, items nullable and named ``item``)
or references to other struct types. :class:`ArrowType` is the materialised shape, used
to explain struct mismatches field by field and to compare against the text pyarrow
prints for an array's type (``str(array.type)``) at runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "PRIMITIVE_NAMES",
    "ArrowField",
    "ArrowType",
    "is_known_arrow_name",
    "pyarrow_names",
]

#: Arrow names a type definition may use for a primitive (plus ``Struct``).
PRIMITIVE_NAMES: tuple[str, ...] = (
    "Float32",
    "Float64",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "Utf8",
    "LargeBinary",
    "Boolean",
)

# What `str(pyarrow_type)` prints for each primitive. Python code naturally builds
# `string`/`binary` arrays (32-bit offsets), so the large and small variants of those
# two are both accepted: the values are the same, only the offset width differs.
_PYARROW: dict[str, tuple[str, ...]] = {
    "Float32": ("float",),
    "Float64": ("double",),
    "Int8": ("int8",),
    "Int16": ("int16",),
    "Int32": ("int32",),
    "Int64": ("int64",),
    "UInt8": ("uint8",),
    "UInt16": ("uint16",),
    "UInt32": ("uint32",),
    "UInt64": ("uint64",),
    "Utf8": ("string", "large_string"),
    "LargeBinary": ("large_binary", "binary"),
    "Boolean": ("bool",),
}


def is_known_arrow_name(name: str) -> bool:
    """A primitive Arrow name dora understands, or ``Struct``."""
    return name in PRIMITIVE_NAMES or name == "Struct"


def pyarrow_names(primitive: str) -> tuple[str, ...]:
    """The ``str(pyarrow type)`` spellings accepted for an Arrow primitive name."""
    return _PYARROW.get(primitive, ())


@dataclass(frozen=True)
class ArrowField:
    """One field of a struct."""

    name: str
    type: ArrowType
    nullable: bool = True

    def __str__(self) -> str:
        return f"{self.name}: {self.type}" + ("" if self.nullable else " not null")


@dataclass(frozen=True)
class ArrowType:
    """A primitive (``name`` only), ``LargeList`` (``item``) or ``Struct`` (``fields``)."""

    name: str
    item: ArrowField | None = None
    fields: tuple[ArrowField, ...] = ()

    @classmethod
    def large_list(cls, item: ArrowType) -> ArrowType:
        """``LargeList<item>`` with a nullable item field named ``item``, as Arrow does."""
        return cls("LargeList", item=ArrowField("item", item, True))

    @classmethod
    def struct(cls, fields: tuple[ArrowField, ...]) -> ArrowType:
        """A struct of ``fields`` (order kept; comparisons look fields up by name)."""
        return cls("Struct", fields=fields)

    def field(self, name: str) -> ArrowField | None:
        """The struct field called ``name``."""
        return next((f for f in self.fields if f.name == name), None)

    def __str__(self) -> str:
        if self.name == "LargeList" and self.item is not None:
            return f"LargeList<{self.item.type}>"
        if self.name == "Struct":
            return "Struct<" + ", ".join(str(f) for f in self.fields) + ">"
        return self.name
