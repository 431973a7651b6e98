"""Test node: sends COUNT sequence-numbered messages on its outputs.

Env: COUNT, ELEMENTS (uint64 elements per message; element 0 is the sequence number),
PAYLOAD (arrow | bytes | raw), INTERVAL (seconds between sends), OUTPUTS (comma list),
EXIT (close | crash | wait_stop | close_outputs),
THREAD (1: send from a thread while main is in next()),
WAIT_RELEASE (1: before each send, wait until at most one message is still held by the
receivers, so the number of shared-memory segments needed is deterministic).
"""

import json
import os
import threading
import time

import pyarrow as pa

from dora import Node

COUNT = int(os.environ.get("COUNT", "10"))
ELEMENTS = int(os.environ.get("ELEMENTS", "1"))
PAYLOAD = os.environ.get("PAYLOAD", "arrow")
INTERVAL = float(os.environ.get("INTERVAL", "0"))
OUTPUTS = os.environ.get("OUTPUTS", "out").split(",")
EXIT = os.environ.get("EXIT", "close")

node = Node()
base = pa.array(range(ELEMENTS), type=pa.uint64()) if ELEMENTS > 1 else None


def message(seq: int):
    if base is None:
        arr = pa.array([seq], type=pa.uint64())
    else:
        arr = pa.concat_arrays([pa.array([seq], type=pa.uint64()), base[1:]])
    if PAYLOAD == "bytes":
        return arr.buffers()[1].to_pybytes()[: ELEMENTS * 8]
    return arr


def wait_release() -> None:
    deadline = time.monotonic() + 10
    while node._pool.stats()["busy_messages"] > 1 and time.monotonic() < deadline:
        time.sleep(0.001)


def send_all() -> None:
    for seq in range(COUNT):
        if os.environ.get("WAIT_RELEASE") == "1":
            wait_release()
        for output in OUTPUTS:
            if PAYLOAD == "raw":
                with node.send_output_raw(output, ELEMENTS * 8, {"seq": seq}) as buf:
                    buf[:8] = seq.to_bytes(8, "little")
            else:
                node.send_output(output, message(seq), {"seq": seq})
        if INTERVAL:
            time.sleep(INTERVAL)


if os.environ.get("THREAD") == "1":

    def send_then_report() -> None:
        send_all()
        print("SENT", flush=True)

    sender = threading.Thread(target=send_then_report)
    sender.start()
    first = node.next()  # blocks in next() while the other thread sends
    sender.join()
    print("FIRST " + json.dumps(first["type"] if first else None), flush=True)
else:
    send_all()
print("STATS " + json.dumps(node._pool.stats()), flush=True)
if EXIT == "crash":
    os._exit(0)
if EXIT == "close_outputs":
    node.close_outputs(OUTPUTS)
    node.send_output(OUTPUTS[0], message(COUNT))  # ignored: the output is closed
    print("CLOSED_OUTPUTS", flush=True)
    EXIT = "wait_stop"
if EXIT == "wait_stop":
    for event in node:
        if event["type"] == "STOP":
            break
node.close()
