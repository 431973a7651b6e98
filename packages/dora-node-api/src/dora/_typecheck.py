"""Run-time type checks of sent data (``DORA_RUNTIME_TYPE_CHECK=warn|error``).

Checks each message sent on an output annotated in ``output_types`` against its type URN.
Off by default: then nothing here is imported on the send path.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from dora_message.config import NodeConfig
from dora_message.constants import ENV_RUNTIME_TYPE_CHECK

logger = logging.getLogger(__name__)


class OutputTypeCheck:
    """Compares sent Arrow types with the node's ``output_types``."""

    def __init__(self, mode: str, urns: dict[str, str]) -> None:
        from dora_message.types import check_arrow_type, is_exempt

        self.mode = mode
        self.urns = urns
        self._check = check_arrow_type
        self._exempt = is_exempt
        self._warned: set[str] = set()

    @classmethod
    def from_config(cls, config: NodeConfig) -> OutputTypeCheck | None:
        """The check this node needs, or ``None`` when it is off or nothing is annotated."""
        raw = os.environ.get(ENV_RUNTIME_TYPE_CHECK)
        if not raw:
            return None
        from dora_message.types import runtime_type_check_mode

        mode = runtime_type_check_mode(raw)
        urns = _output_urns(config)
        if mode == "off" or not urns:
            return None
        return cls(mode, urns)

    def check(self, output_id: str, data: Any, metadata: dict[str, Any] | None) -> None:
        """Warn about (or, in ``error`` mode, raise on) data that does not fit the URN."""
        urn = self.urns.get(output_id)
        if urn is None or (metadata and self._exempt(metadata)):
            return
        arrow_type = "uint8" if isinstance(data, bytes | bytearray | memoryview) else str(data.type)
        problem = self._check(urn, arrow_type)
        if problem is None:
            return
        message = f"output `{output_id}` is annotated `{urn}` but sent `{arrow_type}`: {problem}"
        if self.mode == "error":
            raise TypeError(message)
        if output_id not in self._warned:
            self._warned.add(output_id)
            logger.warning("%s", message)


def _output_urns(config: NodeConfig) -> dict[str, str]:
    """``output id -> type URN`` of this node (operator outputs carry their prefix)."""
    for node in config.dataflow_descriptor.get("nodes", []):
        if node.get("id") != config.node_id:
            continue
        urns = dict(node.get("output_types") or {})
        operators = list(node.get("operators") or [])
        if node.get("operator"):
            operators.append({"id": "op", **node["operator"]})
        for operator in operators:
            prefix = operator.get("id") or "op"
            for output, urn in (operator.get("output_types") or {}).items():
                urns[f"{prefix}/{output}"] = urn
        return urns
    return {}
