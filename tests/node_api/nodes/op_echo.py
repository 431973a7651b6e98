"""A dora-rs style Python operator: forwards input ``in`` to output ``out``."""

from dora import DoraStatus


class Operator:
    def __init__(self):
        self.count = 0

    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT" and dora_event["id"] == "in":
            assert isinstance(self.dataflow_descriptor, dict)
            self.count += 1
            send_output("out", dora_event["value"], dora_event["metadata"])
        return DoraStatus.CONTINUE
