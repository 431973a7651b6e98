"""First run: handles a few ticks, then hangs in its own code. Later runs: healthy."""

import time

from dora import Node

node = Node()
restart = node.restart_count()
print(f"hung: start restart={restart}", flush=True)
ticks = 0
for event in node:
    if event["type"] == "INPUT":
        ticks += 1
        if restart == 0 and ticks == 5:
            print(f"hung: stuck t={time.time():.6f}", flush=True)
            time.sleep(1000)  # stuck in user code: no call into dora any more
print("hung: stopped", flush=True)
