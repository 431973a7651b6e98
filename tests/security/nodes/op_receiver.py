"""The operator-runtime receiver: prints every number it receives; anything else (a
forged message), and every non-input event, is printed too."""

import os

print(f"receiver: start pid={os.getpid()}", flush=True)


class Operator:
    def on_event(self, dora_event, send_output):
        kind = dora_event["type"]
        if kind == "INPUT":
            value = dora_event["value"]
            if len(value) == 8 and not dora_event["metadata"].get("forged"):
                n = int.from_bytes(bytes(value.to_pylist()), "little")
                print(f"receiver: got n={n}", flush=True)
            else:
                print(f"receiver: FORGED {value.type} {dora_event['metadata']}", flush=True)
        else:
            print(f"receiver: EVENT {kind} {dora_event.get('id', '')}", flush=True)
        return 0
