"""``dora-replay-node``: sends one node's recorded outputs again, paced as recorded.

Environment (set by ``dora replay``):

* ``DORA_REPLAY_FILE``: the recording (required);
* ``DORA_REPLAY_NODE``: whose messages to send (required);
* ``DORA_REPLAY_SPEED``: ``2`` twice as fast, ``0.5`` half, ``0`` (or less) unpaced
  (default 1);
* ``DORA_REPLAY_LOOP``: ``true`` or ``1`` to start over after the last message.

Each message is sent at its recorded offset from the start of the pass divided by the
speed (an absolute schedule: a late send does not delay the ones after it). Every replay
node of a run starts at about the same time, so their relative timing is kept. STOP ends
the replay at once. A message that does not decode (or cannot be read at all) is skipped
with a warning and counted; a stream that cannot be read to its end is replayed up to
there with a warning; a pass in which every message was skipped is an error (a damaged
recording). Damage never ends in a traceback.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dora_message.constants import (
    ENV_REPLAY_FILE,
    ENV_REPLAY_LOOP,
    ENV_REPLAY_NODE,
    ENV_REPLAY_SPEED,
)
from dora_record.errors import ConfigError
from dora_record.format import Recording, RecordingError, open_recording

if TYPE_CHECKING:
    from dora import Node


@dataclass(frozen=True)
class ReplayConfig:
    file: str
    node_id: str
    speed: float = 1.0
    loop: bool = False


def parse_config(environ: Mapping[str, str]) -> ReplayConfig:
    """The replay settings from the environment."""
    file = environ.get(ENV_REPLAY_FILE)
    node_id = environ.get(ENV_REPLAY_NODE)
    if not file:
        raise ConfigError(f"{ENV_REPLAY_FILE} is not set")
    if not node_id:
        raise ConfigError(f"{ENV_REPLAY_NODE} is not set")
    text = environ.get(ENV_REPLAY_SPEED, "1")
    try:
        speed = float(text)
    except ValueError:
        raise ConfigError(f"{ENV_REPLAY_SPEED}={text!r} is not a number") from None
    loop = environ.get(ENV_REPLAY_LOOP, "").strip().lower() in ("true", "1")
    return ReplayConfig(file=file, node_id=node_id, speed=speed, loop=loop)


@dataclass
class PassResult:
    sent: int = 0
    skipped: int = 0
    stopped: bool = False


def wait_until(node: Node, due: float) -> bool:
    """Wait until monotonic time ``due``, listening for STOP; True if the replay must end."""
    while True:
        remaining = due - time.monotonic()
        if remaining <= 0:
            return False
        event = node.next(timeout=remaining)
        if event is None or event.get("type") == "STOP":
            return True
        # other events (and the ERROR of a timeout) are not ours to act on


def stop_pending(node: Node) -> bool:
    """Whether a STOP is already waiting (other waiting events are dropped), never blocking."""
    while True:
        event = node.try_recv()
        if event is None:
            return False
        if event.get("type") == "STOP":
            return True


def replay_pass(node: Node, recording: Recording, config: ReplayConfig) -> PassResult:
    """Send this node's recorded messages once."""
    result = PassResult()
    start = time.monotonic()
    for entry in recording.entries(config.node_id):
        if config.speed > 0:
            result.stopped = wait_until(node, start + entry.offset_ns / 1e9 / config.speed)
        else:
            result.stopped = stop_pending(node)
        if result.stopped:
            return result
        if entry.error is not None or entry.value is None:
            print(f"dora-replay-node[{config.node_id}]: skipped {entry.error}", file=sys.stderr)
            result.skipped += 1
            continue
        try:
            node.send_output(entry.output_id, entry.value, entry.parameters or None)
        except (TypeError, ValueError) as err:
            # decoded, yet not sendable (parameters of a type the sender refuses): damage
            print(
                f"dora-replay-node[{config.node_id}]: skipped a message of "
                f"`{entry.output_id}`: {err}",
                file=sys.stderr,
            )
            result.skipped += 1
            continue
        result.sent += 1
    if recording.truncated:
        for problem in recording.problems:
            print(f"dora-replay-node[{config.node_id}]: warning: {problem}", file=sys.stderr)
    return result


def main() -> None:
    """Entry point of ``dora-replay-node``."""
    try:
        config = parse_config(os.environ)
        recording = open_recording(config.file)
    except (ConfigError, RecordingError) as err:
        sys.exit(f"dora-replay-node: {err}")

    from dora import Node  # after the checks: a bad environment fails fast

    node = Node()
    label = f"dora-replay-node[{config.node_id}]"
    while True:
        try:
            result = replay_pass(node, recording, config)
        except RecordingError as err:  # gone or replaced since the last pass (--loop)
            sys.exit(f"{label}: {err}")
        print(
            f"{label}: replayed {result.sent} messages ({result.skipped} skipped)",
            file=sys.stderr,
        )
        if result.stopped:
            return
        if result.skipped and not result.sent:
            sys.exit(f"{label}: every message failed to decode: the recording is damaged")
        if not config.loop or not result.sent:
            return
        if stop_pending(node):
            return
        print(f"{label}: looping...", file=sys.stderr)


if __name__ == "__main__":
    main()
