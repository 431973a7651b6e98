"""Never reads events but dies on SIGTERM like most programs (a clean planned stop)."""

import os
import time

from dora import Node

node = Node()
print(f"deaf: ready pid={os.getpid()}", flush=True)
while True:
    time.sleep(0.05)
