"""Quick benchmark (not a test): latency and burst rate between two node processes.

Run: ``.venv/bin/python -m tests.node_api.bench_latency`` from the repo root.
"""

from __future__ import annotations

import json
import sys

from bench.fake_daemon import FakeDaemon
from dora_message.config import InputConfig
from tests.node_api.node_process import NodeProcess

CASES = [
    ("8 B @100 Hz", {"COUNT": "300", "SIZE": "8", "INTERVAL": "0.01"}),
    ("64 KB @100 Hz", {"COUNT": "300", "SIZE": "65536", "INTERVAL": "0.01"}),
    ("4 MB @100 Hz", {"COUNT": "200", "SIZE": str(4 << 20), "INTERVAL": "0.01"}),
    ("4 MB fresh @20 Hz", {"COUNT": "60", "SIZE": str(4 << 20), "INTERVAL": "0.05", "FRESH": "1"}),
    ("16 MB @20 Hz", {"COUNT": "60", "SIZE": str(16 << 20), "INTERVAL": "0.05"}),
    ("8 B burst", {"COUNT": "100000", "SIZE": "8"}),
    ("64 KB burst", {"COUNT": "1000", "SIZE": "65536"}),
    ("4 MB burst", {"COUNT": "300", "SIZE": str(4 << 20)}),
]


def run(env: dict[str, str]) -> dict:
    daemon = FakeDaemon(["tx", "rx"])
    queue = InputConfig(source="tx/out", queue_size=1_000_000)
    cfg = daemon.configs({"tx": {"outputs": ["out"]}, "rx": {"inputs": {"in": queue}}})
    rx = NodeProcess("bench_receiver.py", cfg["rx"], {})
    tx = NodeProcess("bench_sender.py", cfg["tx"], env)
    try:
        return json.loads(rx.expect("RESULT ", timeout=120))
    finally:
        tx.kill()
        rx.kill()
        daemon.close()


def main() -> None:
    only = sys.argv[1:]
    for name, env in CASES:
        if only and not any(o in name for o in only):
            continue
        r = run(env)
        print(
            f"{name:16s} p50 {r['p50_us']:9.1f} us  p90 {r['p90_us']:9.1f} us  "
            f"rate {r['rate_msg_s']:10.0f} msg/s  ({r['rate_msg_s'] * int(env['SIZE']) / 1e9:.2f}"
            f" GB/s)  count {r['count']}  rx cpu {r['cpu_s']:.2f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
