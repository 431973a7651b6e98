"""Probe: the node API's per-message cost, two real nodes in one process.

A sender and a receiver node (real sockets, the fake daemon of ``bench/fake_daemon.py``)
exchange 8 B arrays in one thread: ``send_output`` then ``next()``. Prints the median
cost of each call, warm. With ``--count-instructions`` it runs itself twice under
``valgrind --tool=callgrind`` instead and prints instructions per message (send and
receive together): unlike times, that number repeats on this noisy machine, so it shows
whether a change to the hot path made it shorter. ``--count-instructions --batch 100``
counts a burst instead: rounds of 100 sends, then 100 receives. That count varies by about
±2 % from run to run (77.3k to 80.4k for the same code: where the node's background thread
polls changes how frames are batched), so compare a few runs of each version.

With ``--cold-ms GAP`` it sleeps GAP ms before each call instead, so every call runs with
cold caches, as in the benchmark's paced latency runs (on this VM a call after 10 ms asleep
costs several times what it costs warm).

Run from the repo root:
``uv run python bench/probes/hot_path.py [--fresh]
[--count-instructions [--batch N] | --cold-ms GAP]``.
``--fresh`` sends a new array each time (each has its own type object, as in real nodes and
the benchmark's sender); its counts include building that array (about 4k instructions).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from callgrind import instructions

BENCH = Path(__file__).resolve().parents[1]  # for the fake daemon
WARM_UP = 200
COLD_COUNT = 300  # exchanges timed with --cold-ms (each one sleeps twice)


def pair() -> tuple[Any, Any]:
    """A receiving and a sending node, connected through the fake daemon."""
    sys.path.insert(0, str(BENCH))
    from fake_daemon import FakeDaemon

    from dora import Node
    from dora_message.config import InputConfig

    daemon = FakeDaemon(["tx", "rx"])
    configs = daemon.configs(
        {
            "tx": {"outputs": ["out"]},
            "rx": {"inputs": {"in": InputConfig(source="tx/out", queue_size=100_000)}},
        }
    )
    nodes = {}

    def start(node_id: str) -> None:
        node = Node.__new__(Node)
        node._closed = True
        node._start(configs[node_id])  # both must register before either starts
        nodes[node_id] = node

    thread = threading.Thread(target=start, args=("rx",))
    thread.start()
    start("tx")
    thread.join()
    return nodes["rx"], nodes["tx"]


def endpoints() -> tuple[Any, Any, Any, dict[str, Any]]:
    """Receiver, sender, the 8 B array and the metadata every probe message carries."""
    import pyarrow as pa

    rx, tx = pair()
    array = pa.array([1] * 8, type=pa.uint8())
    return rx, tx, array, {"seq": 1, "t_send": 123456789, "size": 8, "warm": False}


FRESH = False  # --fresh: a new array per message (each with its own type object), as
# real nodes send (the benchmark's sender too); counts then include building it


def fresh_array(i: int) -> Any:
    import pyarrow as pa

    return pa.Array.from_buffers(pa.uint8(), 8, [None, pa.py_buffer(bytes([i % 251]) * 8)])


def exchange(count: int, gap_s: float = 0.0) -> tuple[list[int], list[int]]:
    """Per-call times of ``count`` exchanges; with ``gap_s``, each call comes after that
    long asleep (as in the paced benchmark, where caches have gone cold by then)."""
    rx, tx, array, meta = endpoints()
    clock = time.perf_counter_ns
    sends, nexts = [], []
    for i in range(WARM_UP + count):
        if FRESH:
            array = fresh_array(i)
        if gap_s:
            time.sleep(gap_s)
        start = clock()
        tx.send_output("out", array, meta)
        sent = clock()
        if gap_s:
            time.sleep(gap_s)
        asked = clock()
        event = rx.next()
        done = clock()
        assert event is not None and event["type"] == "INPUT", event
        if i >= WARM_UP:
            sends.append(sent - start)
            nexts.append(done - asked)
    return sends, nexts


def batched(count: int, batch: int) -> None:
    """``count`` messages in rounds of ``batch`` sends, then ``batch`` receives (a burst:
    the receiver reads many frames per poll)."""
    rx, tx, array, meta = endpoints()
    for _ in range(WARM_UP // batch + count // batch):
        for _ in range(batch):
            tx.send_output("out", array, meta)
        for _ in range(batch):
            event = rx.next()
            assert event is not None and event["type"] == "INPUT", event


def collected(count: int, batch: int) -> int:
    """Instructions of a whole run with ``count`` messages, counted by callgrind."""
    fresh = ["--fresh"] if FRESH else []
    return instructions([__file__, *fresh, "--messages", str(count), str(batch)])


def main() -> None:
    global FRESH
    args = sys.argv[1:]
    if args[:1] == ["--fresh"]:
        FRESH, args = True, args[1:]
    if args[:1] == ["--messages"]:  # one counted run (child of --count-instructions)
        count, batch = int(args[1]), int(args[2])
        if batch > 1:
            batched(count, batch)
        else:
            exchange(count)
        os._exit(0)  # the fake daemon's threads would otherwise keep the process
    if args[:1] == ["--count-instructions"]:
        batch = int(args[2]) if args[1:2] == ["--batch"] else 1
        small, large = collected(1000, batch), collected(3000, batch)
        print(f"instructions per message (send + receive): {(large - small) // 2000}")
        return
    if args[:1] == ["--cold-ms"]:
        sends, nexts = exchange(COLD_COUNT, float(args[1]) / 1000)
    else:
        sends, nexts = exchange(20000)
    for name, values in (("send_output", sends), ("next", nexts)):
        values.sort()
        print(f"{name:12s} median {values[len(values) // 2] / 1e3:6.2f} us")
    os._exit(0)


if __name__ == "__main__":
    main()
