"""Benchmark node: prints latency percentiles and throughput when the stream ends."""

import json
import resource
import time

from dora import Node

node = Node()
lat: list[int] = []
first = last = None
count = 0
nbytes = 0
for event in node:
    if event["type"] == "INPUT":
        now = time.time_ns()
        lat.append(now - event["metadata"]["t"])
        if first is None:
            first = time.perf_counter()
        last = time.perf_counter()
        count += 1
        nbytes += len(event["value"])
lat_sorted = sorted(lat[20:] if len(lat) > 100 else lat)
usage = resource.getrusage(resource.RUSAGE_SELF)


def pct(p: float) -> float:
    return lat_sorted[min(len(lat_sorted) - 1, int(len(lat_sorted) * p))] / 1000


print(
    "RESULT "
    + json.dumps(
        {
            "count": count,
            "p50_us": pct(0.5),
            "p90_us": pct(0.9),
            "p99_us": pct(0.99),
            "rate_msg_s": count / (last - first) if count > 1 and last > first else 0,
            "bytes": nbytes,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "drops": node.drop_counts(),
        }
    ),
    flush=True,
)
node.close()
