"""Benchmark relay: forwards every message on input ``data`` to output ``data`` unchanged.

The links of the scale chain (source -> relays -> sink): value and metadata (``seq``,
``t_send``, ``size``, ``warm``) go on as they came, so the sink measures end-to-end latency
from the source's send time. It ends when its input closes or on STOP.
"""

from dora import Node


def main() -> None:
    node = Node()
    for event in node:
        kind = event["type"]
        if kind == "INPUT":
            node.send_output("data", event["value"], event["metadata"])
        elif kind in ("STOP", "INPUT_CLOSED"):
            break


main()
