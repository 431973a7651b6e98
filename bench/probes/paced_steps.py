"""Probe: where a paced small message's latency goes, step by step, in two processes.

A sender and a receiver node (real sockets, the fake daemon of ``bench/fake_daemon.py``),
each in its own forked process, exchange UInt8 arrays (8 B unless ``--size``) paced like
the benchmark's latency runs (10 ms apart). Per message it takes four clocks (``time.time_ns``):

* ``t_send``: just before ``send_output`` (the benchmark's start);
* ``sent``: when ``send_output`` returned (the sender's share);
* ``woke``: when the receiver's ``epoll.poll`` returned (the wake-up);
* ``event``: when ``next()`` returned the event (the receiver's share).

and prints the p50 and p90 of each step: send, wake-up, receive, total. The receiver's clock comes
from a thin proxy around the node's epoll object (one Python call per poll, a few µs cold
at most: the receive step is slightly overstated). ``--pyarrow-floor`` adds what building
the event's value costs cold on its own (``py_buffer`` + ``Array.from_buffers``).

Run from the repo root: ``uv run python bench/probes/paced_steps.py [--count 300]
[--interval-ms 10] [--size 8]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmark's modules
from stats import median, percentile

WARM_UP = 20


class _TimedEpoll:
    """The node's epoll object, recording when each poll returned with events."""

    def __init__(self, epoll: Any, stamps: list[int]) -> None:
        self._epoll = epoll
        self._stamps = stamps

    def poll(self, timeout: float = -1) -> list[tuple[int, int]]:
        events = self._epoll.poll(timeout)
        if events:
            self._stamps.append(time.time_ns())
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._epoll, name)


def _node(config: Any) -> Any:
    from dora import Node

    node = Node.__new__(Node)
    node._closed = True
    node._start(config)
    return node


def _receiver(config: Any, total: int, out: int) -> None:
    node = _node(config)
    wakes: list[int] = []
    node._poller._epoll = _TimedEpoll(node._poller._epoll, wakes)
    rows = []
    while len(rows) < total:
        del wakes[:]
        event = node.next()
        done = time.time_ns()
        if event is None or event["type"] != "INPUT":
            continue
        woke = wakes[-1] if wakes else done
        rows.append((event["metadata"]["seq"], event["metadata"]["t_send"], woke, done))
    os.write(out, json.dumps(rows).encode())
    os.close(out)
    os._exit(0)


def _sender(config: Any, total: int, interval_s: float, size: int, out: int) -> None:
    import pyarrow as pa

    node = _node(config)
    array = pa.array([1] * size, type=pa.uint8())
    time.sleep(0.2)  # the receiver is connected and waiting
    sent = []
    due = time.monotonic()
    for seq in range(total):
        due += interval_s
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        meta = {"seq": seq, "t_send": time.time_ns(), "size": size, "warm": seq < WARM_UP}
        node.send_output("out", array, meta)
        sent.append(time.time_ns())
    os.write(out, json.dumps(sent).encode())
    os.close(out)
    time.sleep(0.5)
    os._exit(0)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def steps(count: int, interval_s: float, size: int = 8) -> dict[str, tuple[float, float]]:
    """p50 and p90 of each step in µs, over ``count`` paced messages."""
    from fake_daemon import FakeDaemon

    from dora_message.config import InputConfig

    total = WARM_UP + count
    daemon = FakeDaemon(["tx", "rx"])
    configs = daemon.configs(
        {
            "tx": {"outputs": ["out"]},
            # room for every message: a late receiver must not drop any (it waits for all)
            "rx": {"inputs": {"in": InputConfig(source="tx/out", queue_size=total)}},
        }
    )
    pids, pipes = [], {}
    for name in ("rx", "tx"):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            if name == "rx":
                _receiver(configs["rx"], total, w)
            else:
                _sender(configs["tx"], total, interval_s, size, w)
        os.close(w)
        pids.append(pid)
        pipes[name] = r
    results: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda n=n: results.__setitem__(n, _read_all(pipes[n])))
        for n in pipes
    ]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join(timeout=60 + total * interval_s)
    for pid in pids:
        os.waitpid(pid, 0)
    daemon.close()
    sent = json.loads(results["tx"])
    rows = [r for r in json.loads(results["rx"]) if r[0] >= WARM_UP]
    parts: dict[str, list[float]] = {"send": [], "wake-up": [], "receive": [], "total": []}
    for seq, t_send, woke, done in rows:
        parts["send"].append(sent[seq] - t_send)
        parts["wake-up"].append(woke - sent[seq])
        parts["receive"].append(done - woke)
        parts["total"].append(done - t_send)
    return {
        name: (percentile(values, 50) / 1e3, percentile(values, 90) / 1e3)
        for name, values in parts.items()
    }


def pyarrow_floor(count: int, interval_s: float) -> float:
    """p50 in µs of building an 8 B UInt8Array from received bytes, after a paced sleep."""
    import pyarrow as pa

    uint8 = pa.uint8()
    data = bytes(8)
    times = []
    for _ in range(count):
        time.sleep(interval_s)
        start = time.perf_counter_ns()
        pa.Array.from_buffers(uint8, 8, [None, pa.py_buffer(data)])
        times.append(time.perf_counter_ns() - start)
    return median(times) / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--interval-ms", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=8, help="payload bytes (UInt8)")
    parser.add_argument("--pyarrow-floor", action="store_true")
    args = parser.parse_args()
    interval_s = args.interval_ms / 1000
    for name, (p50, p90) in steps(args.count, interval_s, args.size).items():
        print(f"{name:8s} p50 {p50:7.1f} us  p90 {p90:7.1f} us")
    if args.pyarrow_floor:
        print(f"pyarrow value alone (cold) p50 {pyarrow_floor(args.count, interval_s):7.1f} us")


if __name__ == "__main__":
    main()
