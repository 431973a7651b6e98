"""Sends SMALL numbered int64 scalars on ``small`` and BIG 1 MiB int64 arrays on ``big``.

The big messages are interleaved (one every SMALL // BIG small ones); each carries its
number in the metadata (``seq``) and in its values: element k of message i is
``i * 1_000_000 + k``. MIXED rounds of every payload kind go on ``mixed`` (see
mixed.py), interleaved too. Exits when done, which closes every output.
"""

import array
import os

import pyarrow as pa
from mixed import mixed_round

from dora import Node

SMALL = int(os.environ.get("SMALL", "2000"))
BIG = int(os.environ.get("BIG", "20"))
MIXED = int(os.environ.get("MIXED", "10"))
ELEMENTS = 128 * 1024  # 1 MiB of int64


def big_array(i: int) -> pa.Array:
    values = array.array("q", range(i * 1_000_000, i * 1_000_000 + ELEMENTS))
    return pa.Array.from_buffers(pa.int64(), ELEMENTS, [None, pa.py_buffer(values.tobytes())])


node = Node()
every = max(1, SMALL // BIG) if BIG else 0
mixed_every = max(1, SMALL // MIXED) if MIXED else 0
sent_big = sent_mixed = 0


def send_mixed(r: int) -> None:
    for k, payload in enumerate(mixed_round(r)):
        node.send_output("mixed", payload, {"seq": r * 10 + k})


for i in range(SMALL):
    node.send_output("small", pa.array([i], pa.int64()), {"seq": i})
    if every and i % every == every - 1 and sent_big < BIG:
        node.send_output("big", big_array(sent_big), {"seq": sent_big})
        sent_big += 1
    if mixed_every and i % mixed_every == 0 and sent_mixed < MIXED:
        send_mixed(sent_mixed)
        sent_mixed += 1
while sent_big < BIG:
    node.send_output("big", big_array(sent_big), {"seq": sent_big})
    sent_big += 1
while sent_mixed < MIXED:
    send_mixed(sent_mixed)
    sent_mixed += 1
print(f"source: sent small={SMALL} big={sent_big}", flush=True)
