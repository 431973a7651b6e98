"""Ignores STOP (never reads events) and SIGTERM; its subprocess ignores SIGTERM too."""

import os
import signal
import subprocess
import sys
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)

from dora import Node  # noqa: E402

node = Node()
child = subprocess.Popen(
    [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(1000)",
    ]
)
print(f"stubborn: ready pid={os.getpid()} child={child.pid}", flush=True)
while True:
    time.sleep(0.05)
