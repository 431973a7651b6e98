"""An operator that fails on its first input."""


class Operator:
    def on_event(self, dora_event, send_output):
        if dora_event["type"] == "INPUT":
            raise ValueError("operator exploded")
        return 0
