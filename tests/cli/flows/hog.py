"""A node whose load the test controls: it holds 160 MiB, keeps a core busy and never
reads its inputs, so they wait in its queue. Writes `hog.ready` once the memory is held."""

from pathlib import Path

from dora import Node

node = Node()
ballast = b"\x01" * (160 * 1024 * 1024)  # written, so resident
Path("hog.ready").write_text(str(len(ballast)))
while True:
    sum(range(10_000))
