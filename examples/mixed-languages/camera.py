"""Sends FRAMES frames of 1 MiB (uint8), frame f holding byte (i + f) % 256 at index i.

Each frame is written straight into a shared-memory sample (`send_output_raw`), so it
is never copied on the way out.
"""

from dora import Node

SIZE = 1024 * 1024
FRAMES = 20
RAMP = bytes(range(256)) * (SIZE // 256)  # frame 0; frame f is RAMP rotated by f

node = Node()
frame = 0
for event in node:
    if event["type"] != "INPUT" or event["id"] != "tick":
        continue
    with node.send_output_raw("frame", SIZE, {"frame": frame}) as buffer:
        shift = frame % 256
        buffer[: SIZE - shift] = RAMP[shift:]
        buffer[SIZE - shift :] = RAMP[:shift]
    frame += 1
    if frame == FRAMES:
        break
print(f"camera: sent {frame} frames of {SIZE} bytes")
