"""``dora-record-node``: the node ``dora record`` adds to a dataflow.

Environment (set by ``dora record``):

* ``DORA_RECORD_FILE``: where to write the recording (required);
* ``DORA_RECORD_TOPICS``: JSON object, this node's input id -> ``"node/output"`` recorded
  through it (required; checked at start, not mid-run);
* ``DORA_RECORD_DESCRIPTOR_FILE``: the original dataflow file, whose text the header keeps
  (a path, not the text: descriptor ``env`` values go through ``$VAR`` expansion).

Every input becomes one entry; the recording ends cleanly at STOP (Ctrl-C, ``--stop-after``
or every recorded output closed). A killed recorder leaves a readable file up to its last
flush (at most ``FLUSH_EVERY`` seconds old).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from dora_message.constants import ENV_RECORD_DESCRIPTOR_FILE, ENV_RECORD_FILE, ENV_RECORD_TOPICS
from dora_record.errors import ConfigError
from dora_record.format import Header, RecordingError, RecordingWriter

FLUSH_EVERY = 0.5  # seconds between flushes of the buffered file
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def parse_topics(text: str | None) -> dict[str, tuple[str, str]]:
    """``DORA_RECORD_TOPICS`` as input id -> (node, output)."""
    if not text:
        raise ConfigError(f"{ENV_RECORD_TOPICS} is not set")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{ENV_RECORD_TOPICS} is not JSON: {err}") from None
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{ENV_RECORD_TOPICS} must be a non-empty JSON object")
    topics = {}
    for input_id, source in raw.items():
        node, sep, output = source.partition("/") if isinstance(source, str) else ("", "", "")
        if not (sep and node and output):
            raise ConfigError(
                f"{ENV_RECORD_TOPICS}: `{input_id}` maps to {source!r}, expected `node/output`"
            )
        topics[input_id] = (node, output)
    return topics


def timestamp_ns(metadata: dict[str, Any]) -> int:
    """The sender's timestamp of a received message, in Unix nanoseconds."""
    stamp = metadata.get("timestamp")
    if isinstance(stamp, dt.datetime):
        return (stamp - _EPOCH) // _MICROSECOND * 1000
    return 0


def read_descriptor(path: str | None) -> str:
    """The original dataflow's text for the header ('' when unknown or unreadable)."""
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        print(f"dora-record-node: the header keeps no descriptor: {err}", file=sys.stderr)
        return ""


def main() -> None:
    """Entry point of ``dora-record-node``."""
    try:
        path = os.environ.get(ENV_RECORD_FILE)
        if not path:
            raise ConfigError(f"{ENV_RECORD_FILE} is not set")
        topics = parse_topics(os.environ.get(ENV_RECORD_TOPICS))
    except ConfigError as err:
        sys.exit(f"dora-record-node: {err}")

    from dora import Node  # after the checks: a bad environment fails fast

    node = Node()
    start_ns = time.time_ns()
    header = Header(
        start_ns=start_ns,
        dataflow_id=node.dataflow_id(),
        descriptor=read_descriptor(os.environ.get(ENV_RECORD_DESCRIPTOR_FILE)),
    )
    try:
        writer = RecordingWriter(path, header)
    except RecordingError as err:
        sys.exit(f"dora-record-node: {err}")
    last_flush = time.monotonic()
    try:
        for event in node:
            # after STOP the stream still hands out what was queued, then ends: keep it all
            if event["type"] != "INPUT":
                continue
            source = topics.get(event["id"])
            if source is None:
                continue
            metadata = dict(event["metadata"])
            sent_ns = timestamp_ns(metadata)
            metadata.pop("timestamp", None)
            writer.write(
                source[0], source[1], time.time_ns() - start_ns, sent_ns, metadata, event["value"]
            )
            now = time.monotonic()
            if now - last_flush >= FLUSH_EVERY:
                writer.flush()
                last_flush = now
    finally:
        writer.close()
    print(
        f"recording complete: {writer.messages} messages, "
        f"{writer.bytes / (1 << 20):.2f} MiB, {path}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
