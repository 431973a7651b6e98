"""Checks every inverted frame: byte i of frame f must be 255 - (i + f) % 256, and the
array must be a view of shared memory (its buffer lies in a memfd mapping of this process),
not a copy. Prints `checker: N frames intact, N in shared memory` at the end."""

import pyarrow as pa

from dora import Node

SIZE = 1024 * 1024
INVERTED = bytes(255 - b for b in range(256)) * (SIZE // 256)  # frame 0, inverted


def memfd_ranges() -> list[tuple[int, int]]:
    """The address ranges of this process's memfd mappings (dora's shared memory)."""
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            if "/memfd:" in line:
                begin, end = line.split()[0].split("-")
                ranges.append((int(begin, 16), int(end, 16)))
    return ranges


node = Node()
frames = intact = shared = 0
for event in node:
    if event["type"] != "INPUT":
        continue
    pixels = event["value"]
    meta = event["metadata"]
    shift = meta["frame"] % 256
    expected = INVERTED[shift:] + INVERTED[:shift]
    data = pixels.buffers()[1]
    address = data.address + pixels.offset
    frames += 1
    if len(pixels) == SIZE and pixels.null_count == 0:
        intact += data[pixels.offset : pixels.offset + SIZE].equals(pa.py_buffer(expected))
    in_shm = any(begin <= address < end for begin, end in memfd_ranges())
    shared += in_shm and meta["cxx_zero_copy"]
    if not in_shm or not meta["cxx_zero_copy"]:
        print(f"checker: frame {meta['frame']} was copied (cxx: {meta['cxx_zero_copy']})")
print(f"checker: {frames} frames, {intact} intact, {shared} in shared memory end to end")
