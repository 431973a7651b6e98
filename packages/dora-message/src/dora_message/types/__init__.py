"""Type annotations of dataflow ports: the standard library, user types, checks.

Public API:

* :func:`parse_urn`, :func:`types_match` — URN syntax ``std/<cat>/v<N>/<Name>[k=v,...]``;
* :class:`TypeRegistry` — standard types, ``types/`` folders, lookups, Arrow shapes;
* :class:`CompatibilityGraph` — exact / wildcard-parameter / widening / ``type_rules``;
* :func:`check_types`, :func:`analyze_types` — the static checks of ``dora validate``;
* :func:`check_arrow_type`, :func:`runtime_type_check_mode` — the runtime check hook.
"""

from dora_message.types.arrow import ArrowField, ArrowType
from dora_message.types.check import (
    Inference,
    TypeReport,
    TypeWarning,
    analyze_types,
    check_types,
    struct_difference,
)
from dora_message.types.compat import (
    BUILTIN_WIDENING,
    BYTES,
    PATTERN_KEYS,
    TIMER_TYPE,
    CompatibilityGraph,
)
from dora_message.types.library import STD_TYPES, FieldDef, TypeDef
from dora_message.types.registry import TypeRegistry
from dora_message.types.runtime import (
    ENV_RUNTIME_TYPE_CHECK,
    PATTERN_METADATA_KEYS,
    check_arrow_type,
    is_exempt,
    runtime_type_check_mode,
)
from dora_message.types.urn import ParsedUrn, parse_urn, short_name, types_match

__all__ = [
    "BUILTIN_WIDENING",
    "BYTES",
    "ENV_RUNTIME_TYPE_CHECK",
    "PATTERN_KEYS",
    "PATTERN_METADATA_KEYS",
    "STD_TYPES",
    "TIMER_TYPE",
    "ArrowField",
    "ArrowType",
    "CompatibilityGraph",
    "FieldDef",
    "Inference",
    "ParsedUrn",
    "TypeDef",
    "TypeRegistry",
    "TypeReport",
    "TypeWarning",
    "analyze_types",
    "check_arrow_type",
    "check_types",
    "is_exempt",
    "parse_urn",
    "runtime_type_check_mode",
    "short_name",
    "struct_difference",
    "types_match",
]
