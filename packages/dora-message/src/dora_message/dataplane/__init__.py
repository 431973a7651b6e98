"""The data plane between dora processes, without pyarrow: one core for the node API
and the daemon's bridge alike.

* :mod:`~dora_message.dataplane.framing`: length-prefixed frames, sans-I/O (the one
  parser of the wire format, for data and control connections);
* :mod:`~dora_message.dataplane.sockets`: Unix sockets, reading frames from them and
  passing descriptors (``SCM_RIGHTS``);
* :mod:`~dora_message.dataplane.pool`: shared-memory segments (sealed memfds) of a
  sender, and a receiver's read-only mappings of them;
* :mod:`~dora_message.dataplane.sender`: connections to receivers and the frames a
  sender writes (``Hello``, ``NewSegment`` with its fd, ``Data``, ``DropSegment``,
  ``Closed``), releases read back;
* :mod:`~dora_message.dataplane.receiver`: accepted connections from senders and the
  handling of their frames, releases written back.

The messages themselves are :mod:`dora_message.data_protocol`; ``docs/protocol.md``
describes the wire format. Payloads are bytes here; the node API puts Arrow on top
(``dora._arrow``), the bridge keeps them opaque.
"""
