"""Names and numbers more than one component must agree on, written once.

Default ports (the Rust mainline's: a user's `--port 6013` means the same to both), and
every `DORA_*` environment variable a component reads or sets, grouped by who reads it.
`dora-node-api-c` is the one exception: it depends on no Python package, and its build
cache variable (`DORA_C_API_CACHE`) is spelled in its own `_build.py`.
"""

from __future__ import annotations

from typing import Final

# ---- ports -------------------------------------------------------------------------
DEFAULT_COORDINATOR_PORT: Final = 6013
"""Where the coordinator listens for the CLI and the daemons (`/api/control`, `/api/daemon`)."""
DEFAULT_DYNAMIC_NODE_PORT: Final = 53291
"""Where a daemon listens on 127.0.0.1 for dynamic nodes (`path: dynamic`) joining."""
LOCALHOST: Final = "127.0.0.1"

# ---- `dora topic pub` ----------------------------------------------------------------
MAX_INJECT_WAIT_S: Final = 600.0
"""The longest a daemon waits for a reader of a `dora topic pub` message that does not
listen yet (the CLI's `--timeout` is bounded by it)."""

# ---- the CLI and the servers ---------------------------------------------------------
ENV_COORDINATOR_ADDR: Final = "DORA_COORDINATOR_ADDR"
ENV_COORDINATOR_PORT: Final = "DORA_COORDINATOR_PORT"
ENV_COORDINATOR_INTERFACE: Final = "DORA_COORDINATOR_INTERFACE"
ENV_AUTH_TOKEN: Final = "DORA_AUTH_TOKEN"
ENV_STATE_DIR: Final = "DORA_STATE_DIR"
ENV_LOG_LEVEL: Final = "DORA_LOG_LEVEL"
ENV_LOG_FORMAT: Final = "DORA_LOG_FORMAT"
ENV_LOG_FILTER: Final = "DORA_LOG_FILTER"
ENV_ALLOW_SHELL_NODES: Final = "DORA_ALLOW_SHELL_NODES"
ENV_DAEMON_LOCAL_LISTEN_PORT: Final = "DORA_DAEMON_LOCAL_LISTEN_PORT"
ENV_MACHINE_ID: Final = "DORA_MACHINE_ID"
ENV_DAEMON_ID: Final = "DORA_DAEMON_ID"
ENV_CACHE_DIR: Final = "DORA_CACHE_DIR"
ENV_FINISH_DRAIN_GRACE_SECS: Final = "DORA_FINISH_DRAIN_GRACE_SECS"
ENV_ZERO_COPY_THRESHOLD: Final = "DORA_ZERO_COPY_THRESHOLD"
ENV_ALLOW_ROOT_PEERS: Final = "DORA_ALLOW_ROOT_PEERS"
ENV_FORK_SERVER: Final = "DORA_FORK_SERVER"
"""`0` keeps `dora run` from forking Python nodes from a warm interpreter."""
ENV_FORK_SERVER_ROOM: Final = "DORA_FORK_SERVER_ROOM"

# ---- zenoh (the daemon's mesh to other machines) --------------------------------------
ENV_ZENOH_LISTEN: Final = "DORA_ZENOH_LISTEN"
ENV_ZENOH_LISTEN_EXTRA: Final = "DORA_ZENOH_LISTEN_EXTRA"
ENV_ZENOH_CONNECT: Final = "DORA_ZENOH_CONNECT"
ENV_ZENOH_MULTICAST: Final = "DORA_ZENOH_MULTICAST"
ENV_ZENOH_CONFIG_OVERLAY: Final = "DORA_ZENOH_CONFIG_OVERLAY"

# ---- set by the daemon for each node ---------------------------------------------------
ENV_NODE_CONFIG: Final = "DORA_NODE_CONFIG"
ENV_NODE_LOG_LEVEL: Final = "DORA_NODE_LOG_LEVEL"
ENV_RUNTIME_CONFIG: Final = "DORA_RUNTIME_CONFIG"
ENV_RUN_PARENT_PID: Final = "DORA_RUN_PARENT_PID"
ENV_OPERATORS: Final = "DORA_OPERATORS"
ENV_OPERATOR: Final = "DORA_OPERATOR"
"""One Python operator: read by the runtime for older spawners, no longer set."""

# ---- read by nodes -------------------------------------------------------------------
ENV_RUNTIME_TYPE_CHECK: Final = "DORA_RUNTIME_TYPE_CHECK"
ENV_GC_FREEZE: Final = "DORA_GC_FREEZE"

# ---- record and replay nodes ------------------------------------------------------------
ENV_RECORD_FILE: Final = "DORA_RECORD_FILE"
ENV_RECORD_TOPICS: Final = "DORA_RECORD_TOPICS"
ENV_RECORD_DESCRIPTOR_FILE: Final = "DORA_RECORD_DESCRIPTOR_FILE"
ENV_REPLAY_PREFIX: Final = "DORA_REPLAY_"
ENV_REPLAY_FILE: Final = "DORA_REPLAY_FILE"
ENV_REPLAY_NODE: Final = "DORA_REPLAY_NODE"
ENV_REPLAY_SPEED: Final = "DORA_REPLAY_SPEED"
ENV_REPLAY_LOOP: Final = "DORA_REPLAY_LOOP"

# ---- environment a descriptor may not set ------------------------------------------------
SET_BY_DAEMON: Final = frozenset(
    {
        ENV_NODE_CONFIG,
        ENV_RUNTIME_CONFIG,
        ENV_ZENOH_LISTEN,
        ENV_ZENOH_LISTEN_EXTRA,
        ENV_ZENOH_CONNECT,
        ENV_ZENOH_MULTICAST,
        ENV_RUN_PARENT_PID,
        ENV_OPERATOR,
        ENV_OPERATORS,
    }
)
"""Control-plane variables the daemon sets for each node itself (spec/descriptor.md §7)."""
HIJACKING: Final = frozenset(
    {"LD_PRELOAD", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", ENV_AUTH_TOKEN, ENV_ALLOW_SHELL_NODES}
)
"""Variables that would let a descriptor hijack the loader or the daemon's privileges."""
RESERVED_ENV_NAMES: Final = (
    SET_BY_DAEMON
    | HIJACKING
    | {"ZENOH_CONFIG", ENV_ZENOH_CONFIG_OVERLAY, "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"}
)
"""Names a descriptor's `env:` may not set (`dora validate` and the daemon refuse them)."""
