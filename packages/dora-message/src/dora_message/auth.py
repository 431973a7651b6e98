"""The secrets of one dataflow run on one daemon (sans-I/O).

The daemon draws a random key per dataflow run and keeps it to itself. From it, it
derives what each node presents (docs/protocol.md §3.1):

* ``node_secret(key, node)``: the node's secret, sent in ``Register``; the daemon
  recomputes it, so a process that did not get the node's environment cannot register
  as the node;
* ``link_token(key, sender, receiver)``: what ``sender`` sends in its ``Hello`` to
  ``receiver``. Both ends get it in their config (the sender per receiver, the
  receiver per sender), so a receiver checks who connects without knowing the key,
  and knowing one link's token gives nothing about another link or a node's secret.

All of them travel only inside ``DORA_NODE_CONFIG`` (readable in ``/proc/<pid>/environ``
by the same user and root only) and in handshake frames on sockets whose peers were
checked with ``SO_PEERCRED``: never in a socket name, an argv or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_BYTES = 32


def new_key() -> bytes:
    """A fresh dataflow-run key."""
    return secrets.token_bytes(KEY_BYTES)


def _derive(key: bytes, *parts: str) -> str:
    # NUL cannot occur in a node id written in YAML, so the parts cannot run together
    message = "\0".join(parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def node_secret(key: bytes, node_id: str) -> str:
    """The secret ``node_id`` presents to its daemon (hex, 64 characters)."""
    return _derive(key, "dora-node", node_id)


def link_token(key: bytes, sender: str, receiver: str) -> str:
    """The token ``sender`` presents in its ``Hello`` to ``receiver``."""
    return _derive(key, "dora-link", sender, receiver)


def secret_matches(given: str, expected: str | None) -> bool:
    """Constant-time comparison; an empty or unknown expected secret never matches."""
    if not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
