"""Connects, then crashes at once, every time; prints when it starts and when it dies."""

import sys
import time

print(f"crasher: start t={time.time():.6f}", flush=True)

from dora import Node  # noqa: E402

node = Node()
count = node.restart_count()
print(f"crasher: connected restart={count}", flush=True)
print(f"crasher: exit t={time.time():.6f}", flush=True)
sys.stderr.write(f"crasher: something broke in run {count}\n")
raise RuntimeError(f"boom {count}")
