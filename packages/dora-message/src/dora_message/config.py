"""What the daemon hands a node at spawn time (env ``DORA_NODE_CONFIG``, JSON)."""

from __future__ import annotations

from typing import Any

import msgspec


class InputConfig(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One input of the node, resolved."""

    source: str
    queue_size: int = 10
    queue_policy: str = "drop_oldest"
    input_timeout: float | None = None


class Receiver(msgspec.Struct, kw_only=True):
    """A node that receives one of our outputs, and where it listens."""

    node_id: str
    address: str


class NodeConfig(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Everything a node needs to join its dataflow."""

    dataflow_id: str
    node_id: str
    daemon_address: str
    listen_address: str
    inputs: dict[str, InputConfig] = {}
    outputs: list[str] = []
    routes: dict[str, list[Receiver]] = {}
    dataflow_descriptor: dict[str, Any] = {}
    restart_count: int = 0
    zero_copy_threshold: int = 4096
    dynamic: bool = False


ENV_NODE_CONFIG = "DORA_NODE_CONFIG"

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(NodeConfig)


def encode_node_config(config: NodeConfig) -> str:
    """Serialize for the environment."""
    return _encoder.encode(config).decode()


def decode_node_config(text: str) -> NodeConfig:
    """Parse the environment value."""
    return _decoder.decode(text)
