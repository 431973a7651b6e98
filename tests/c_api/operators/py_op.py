"""The Python operator of the mixed runtime node: on `tick` it sends "word N" on `words`
(the C operator echoes it back); on `ticks` (the C operator's output) it sends
"py saw <text>" on `seen`. PY_STOP_ALL_AFTER=N makes it return STOP_ALL on its N-th
tick."""

import os

from dora import DoraStatus


class Operator:
    def __init__(self):
        self.ticks = 0
        self.limit = int(os.environ.get("PY_STOP_ALL_AFTER", "0"))

    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "STOP":
            print("py_op got STOP", flush=True)
        if dora_event["type"] != "INPUT":
            return DoraStatus.CONTINUE
        if dora_event["id"] == "tick":
            self.ticks += 1
            send_output("words", f"word {self.ticks}".encode())
            if self.limit and self.ticks >= self.limit:
                print("py_op returns STOP_ALL", flush=True)
                return DoraStatus.STOP_ALL
        elif dora_event["id"] == "ticks":
            text = bytes(dora_event["value"].to_pylist()).decode()
            send_output("seen", f"py saw {text}".encode(), dora_event["metadata"])
        return DoraStatus.CONTINUE
