"""Sends 30 frames of 16 MB (2048 x 2048 x 4 bytes), each filled with its frame number."""

import pyarrow as pa

from dora import Node

HEIGHT, WIDTH, CHANNELS = 2048, 2048, 4
SIZE = HEIGHT * WIDTH * CHANNELS

node = Node()
frame = 0
for event in node:
    if event["type"] == "INPUT":
        fill = pa.py_buffer(bytes([frame % 256]) * SIZE)
        pixels = pa.Array.from_buffers(pa.uint8(), SIZE, [None, fill])
        node.send_output(
            "image",
            pixels,
            {"frame": frame, "height": HEIGHT, "width": WIDTH, "encoding": "rgba8"},
        )
        frame += 1
        if frame == 30:
            break
