"""The type registry: standard types, user types from ``types/``, lookups and shapes.

Resolution is exact URN first, then the URN with its parameters stripped. Short names
(``Vector3``) are accepted inside struct field definitions only, and only when exactly
one registered URN ends in ``/<name>``. Reading a ``types/`` folder is the only I/O.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from dora_message.errors import DescriptorError
from dora_message.quote import excerpt
from dora_message.types.arrow import PRIMITIVE_NAMES, ArrowField, ArrowType
from dora_message.types.library import STD_TYPES, TypeDef, TypePackage
from dora_message.types.urn import edit_distance, parse_urn, short_name

__all__ = ["MAX_TYPE_DEPTH", "TypeRegistry"]

#: Limit on nested ``List<…>``/struct references and on the ``types/`` walk.
MAX_TYPE_DEPTH = 8


class TypeRegistry:
    """Known types by full URN; starts with the standard library."""

    def __init__(self, types: dict[str, TypeDef] | None = None) -> None:
        self.types: dict[str, TypeDef] = dict(STD_TYPES if types is None else types)

    def insert(self, urn: str, definition: TypeDef) -> None:
        """Register (or overwrite) one type."""
        self.types[urn] = definition

    def resolve(self, urn: str) -> TypeDef | None:
        """The definition of ``urn`` (parameters ignored), or ``None``."""
        found = self.types.get(urn)
        if found is not None:
            return found
        parsed = parse_urn(urn)
        if parsed is not None and parsed.base != urn:
            return self.types.get(parsed.base)
        return None

    def resolve_short_name(self, name: str) -> TypeDef | None:
        """The one type whose URN ends in ``/<name>``; ``None`` if none or ambiguous."""
        matches = [d for urn, d in self.types.items() if urn.endswith(f"/{name}")]
        return matches[0] if len(matches) == 1 else None

    def suggest(self, urn: str) -> str | None:
        """A registered URN whose short name is within edit distance 2 of ``urn``'s.

        Candidates in the same package prefix win over closer ones elsewhere.
        """
        target = short_name(urn).lower()
        prefix = urn.split("[", 1)[0].rpartition("/")[0]
        best: tuple[int, str] | None = None
        for candidate in sorted(self.types):
            distance = edit_distance(target, short_name(candidate).lower())
            if distance > 2:
                continue
            score = distance + (0 if candidate.rpartition("/")[0] == prefix else 100)
            if best is None or score < best[0]:
                best = (score, candidate)
        return best[1] if best else None

    def primitive(self, urn: str) -> ArrowType | None:
        """The Arrow primitive ``urn`` stands for (``None`` for structs and unknowns)."""
        definition = self.resolve(urn)
        if definition is None or definition.arrow not in PRIMITIVE_NAMES:
            return None
        return ArrowType(definition.arrow)

    def schema(self, urn: str) -> ArrowType | None:
        """The struct shape of ``urn`` with every field materialised.

        Fail closed: if any field cannot be resolved the whole schema is ``None``, so a
        partial shape never hides a mismatch.
        """
        definition = self.resolve(urn)
        if definition is None:
            return None
        return self._struct_of(definition, 0)

    def _struct_of(self, definition: TypeDef, depth: int) -> ArrowType | None:
        if not definition.fields:
            return None
        fields = []
        for field in definition.fields:
            shape = self._field_type(field.type, depth + 1)
            if shape is None:
                return None
            fields.append(ArrowField(field.name, shape, field.nullable))
        return ArrowType.struct(tuple(fields))

    def _field_type(self, text: str, depth: int) -> ArrowType | None:
        if depth > MAX_TYPE_DEPTH:
            return None
        text = text.strip()
        if text in PRIMITIVE_NAMES:
            return ArrowType(text)
        if text.startswith("List<") and text.endswith(">"):
            item = self._field_type(text[5:-1], depth + 1)
            return ArrowType.large_list(item) if item is not None else None
        definition = self.resolve(text) or self.resolve_short_name(text)
        if definition is None:
            return None
        # A reference to a non-struct type (e.g. std/core/v1/Float64) has no fields and
        # therefore no shape here, as in mainline.
        return self._struct_of(definition, depth)

    def load_dir(self, directory: str | os.PathLike[str]) -> int:
        """Register every type of the ``types/`` folder ``directory``; return how many.

        ``types/acme/sensors/v1.yml`` defines ``acme/sensors/v1/<Name>``. Only ``.yml``
        files count, symlinked folders are not entered, the walk stops at depth 8, a
        top-level ``std`` folder is refused and any unreadable file is an error.
        """
        root = Path(directory)
        if not root.is_dir():
            return 0
        count = 0
        for file in _walk(root):
            relative = file.relative_to(root)
            parent = relative.parent.as_posix()
            if parent == "std" or parent.startswith("std/"):
                raise DescriptorError(
                    f'user types cannot use the "std/" prefix: {file} '
                    "(the std/ namespace is reserved for the standard library)"
                )
            prefix = relative.with_suffix("").as_posix()
            for name, definition in _read_package(file).types.items():
                self.types[f"{prefix}/{name}"] = definition
                count += 1
        return count


def _walk(root: Path) -> list[Path]:
    """``.yml`` files under ``root``, sorted so that overwrites are deterministic."""
    found: list[Path] = []
    for current, dirs, files in os.walk(root):  # followlinks=False: symlinked dirs skipped
        depth = len(Path(current).relative_to(root).parts)
        if depth + 1 >= MAX_TYPE_DEPTH:
            dirs.clear()
        dirs.sort()
        found += [Path(current, name) for name in sorted(files) if name.endswith(".yml")]
    return found


def _read_package(file: Path) -> TypePackage:
    # The descriptor's loader: bounded (aliases, depth, size) and total, like the dataflow.
    from dora_message.yaml_load import load_yaml_mapping

    try:
        text = file.read_text(encoding="utf-8")
        if not text.strip():
            raise DescriptorError("the file is empty")
        return msgspec.convert(load_yaml_mapping(text, None), TypePackage)
    except (OSError, UnicodeDecodeError, msgspec.ValidationError, DescriptorError) as err:
        detail = excerpt(str(err).replace("\n", " "), 500)
        raise DescriptorError(f"failed to load user types: {file}: {detail}") from None
