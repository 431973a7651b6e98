"""What the daemon hands a node at spawn time (env ``DORA_NODE_CONFIG``, JSON).

Linux caps one environment string at 128 KiB (``MAX_ARG_STRLEN``) and a process's
arguments and environment together at about 2 MB, and exec fails with E2BIG past them.
So the config stays small whatever the size of the dataflow: it carries the whole
descriptor only while the config fits in :data:`INLINE_CONFIG_BYTES`; past that its
``dataflow_descriptor`` holds the top-level keys and this node's own entry, which is
everything the node API reads from it, and ``descriptor_file`` names a file (``0600``,
in the run's ``out/<dataflow-uuid>/`` folder) with the whole descriptor, read on demand.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

#: The largest config that carries the whole dataflow descriptor (bytes, encoded).
INLINE_CONFIG_BYTES: Final = 64 * 1024

#: The largest config at all: what remains of ``MAX_ARG_STRLEN`` (128 KiB for
#: ``DORA_NODE_CONFIG=...`` and its NUL) with room to spare. Only what is the node's
#: own can take a trimmed config there: its descriptor entry (huge ``env:`` values) or
#: its connections (thousands of inputs or readers).
MAX_CONFIG_BYTES: Final = 120 * 1024


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
    # the whole descriptor, or (see descriptor_file) its top level and this node's entry
    dataflow_descriptor: dict[str, Any] = {}
    # set when dataflow_descriptor is trimmed: the file holding the whole one (JSON)
    descriptor_file: str = ""
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
