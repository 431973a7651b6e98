"""Small behaviours of one node, selected by MODE; prints lines the tests look for."""

import asyncio
import json
import logging
import math
import os
import sys
import time

from dora import Node

MODE = os.environ["MODE"]


def describe(event):
    out = {"type": event["type"]}
    if "id" in event:
        out["id"] = event["id"]
    if event["type"] == "INPUT":
        value = event["value"]
        out["value_type"] = str(value.type)
        out["len"] = len(value)
        out["pylist"] = value.to_pylist()
        meta = dict(event["metadata"])
        out["ts_tz"] = str(meta.pop("timestamp").tzinfo)
        out["meta"] = meta
    if event["type"] == "NODE_FAILED":
        out["value"] = event["value"]
    if event["type"] == "ERROR":
        out["error"] = event["error"]
    return out


if MODE == "gc":
    import gc

    before = gc.get_freeze_count()
    Node()
    print(f"FROZEN {before} {gc.get_freeze_count()}", flush=True)
    sys.exit(0)

if MODE == "init":
    try:
        Node()
    except RuntimeError as err:
        print("INIT_ERROR " + str(err), flush=True)
    sys.exit(0)

node = Node()
print("READY", flush=True)

if MODE == "events":
    time.sleep(float(os.environ.get("START_DELAY", "0")))
    for event in node:
        print("EVENT " + json.dumps(describe(event)), flush=True)
    print("END", flush=True)
elif MODE == "poll_events":
    while True:
        event = node.next(timeout=0.2)
        if event is None:
            break
        print("EVENT " + json.dumps({**describe(event), "t": time.time()}), flush=True)
    print("END", flush=True)
elif MODE == "timeout":
    print("EVENT " + json.dumps(describe(node.next(timeout=0.05))), flush=True)
    for bad in (-1.0, math.nan):
        try:
            node.next(timeout=bad)
        except ValueError as err:
            print("VALUE_ERROR " + str(err), flush=True)
    print("TRY " + json.dumps(node.try_recv()), flush=True)
    print("DRAIN " + json.dumps(node.drain()), flush=True)
    print("EMPTY " + json.dumps(node.is_empty()), flush=True)
elif MODE == "daemon_gone":
    for event in node:
        print("EVENT " + json.dumps(describe(event)), flush=True)
    print("STREAM_ENDED", flush=True)
    time.sleep(60)  # ignore the stop: the watchdog must end us
elif MODE == "log":
    node.log("info", "hello", target="my.target", fields={"a": "1", "n": 2})
    node.log_debug("method debug")
    node.log_warn("careful")
    logging.getLogger("user.module").warning("via logging %s", 5)
    logging.debug("dropped")
    print("LOGGED", flush=True)
elif MODE == "async":

    async def main():
        first = await node.recv_async(timeout=10)
        print("EVENT " + json.dumps(describe(first)), flush=True)
        second = await node.recv_async(timeout=0.05)
        print("EVENT " + json.dumps(describe(second)), flush=True)

    asyncio.run(main())
elif MODE == "info":
    print(
        "INFO "
        + json.dumps(
            {
                "dataflow_id": node.dataflow_id(),
                "descriptor": node.dataflow_descriptor(),
                "config": node.node_config(),
                "is_restart": node.is_restart(),
                "restart_count": node.restart_count(),
                "timestamp_tz": str(node.timestamp().tzinfo),
            }
        ),
        flush=True,
    )
node.close()
node.close()  # idempotent
