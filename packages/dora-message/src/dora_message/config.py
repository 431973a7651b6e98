"""What the daemon hands a node at spawn time (env ``DORA_NODE_CONFIG``, JSON)."""

from __future__ import annotations

from typing import Any

import msgspec


class InputConfig(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
    """One input of the node, resolved."""

    source: str
    queue_size: int = 10
    queue_policy: str = "drop_oldest"
    input_timeout: float | None = None


class Receiver(msgspec.Struct, frozen=True, kw_only=True):
    """A node that receives one of our outputs, where it listens, and the token our
    ``Hello`` must carry there (:func:`dora_message.auth.link_token`)."""

    node_id: str
    address: str
    token: str = ""

    def __repr__(self) -> str:  # never print the token
        return f"Receiver(node_id={self.node_id!r}, address={self.address!r})"


class NodeConfig(msgspec.Struct, frozen=True, omit_defaults=True, kw_only=True):
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
    # the node's secret, presented in Register (dora_message.auth.node_secret)
    secret: str = ""
    # sender node -> the token its Hello must carry (dora_message.auth.link_token)
    senders: dict[str, str] = {}
    # accept root's connections besides our own user's (DORA_ALLOW_ROOT_PEERS)
    allow_root_peers: bool = False

    def __repr__(self) -> str:  # never print the secrets
        return f"NodeConfig(dataflow_id={self.dataflow_id!r}, node_id={self.node_id!r})"


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(NodeConfig)


def encode_node_config(config: NodeConfig) -> str:
    """Serialize for the environment."""
    return _encoder.encode(config).decode()


def decode_node_config(text: str) -> NodeConfig:
    """Parse the environment value."""
    return _decoder.decode(text)
