"""The bounds a dataflow descriptor must stay within, in one place (docs/security.md).

A descriptor is untrusted input: it may come from someone else's repository, a hub entry
or a recording. These bounds make loading it total (a clear :class:`DescriptorError`,
never a crash or a hang) while leaving room for far larger dataflows than any real one.
"""

from __future__ import annotations

#: Largest descriptor text read (a 20,000-node dataflow is about 5 MB).
MAX_TEXT_BYTES = 16 * 1024 * 1024

#: Most YAML nodes (mappings, lists, scalars, keys included) the document may have once
#: every alias is expanded. An alias costs as much as what it points to: this is the
#: bound a "billion laughs" document hits, since every consumer (msgspec, JSON for the
#: coordinator, the daemon) walks the expanded tree.
MAX_EXPANDED_NODES = 2_000_000

#: Most alias uses (``*name``) in one document.
MAX_ALIASES = 10_000

#: Deepest nesting of mappings and lists (the top-level mapping is depth 1). Far above
#: anything a dataflow needs and far below what recursive consumers can take.
MAX_DEPTH = 64

#: Longest excerpt of user input quoted back in an error message (characters).
MAX_QUOTED_CHARS = 80

#: Longest error message (characters), whatever it quotes; a backstop for the above.
MAX_MESSAGE_CHARS = 2_000

#: Linux's ``CPU_SETSIZE``: ``cpu_affinity`` core indexes at or above it cannot be set
#: (the spec says they are skipped with a warning).
CPU_SETSIZE = 1024

#: Longest file or directory name on Linux filesystems (bytes).
MAX_NAME_BYTES = 255
