"""Receives the sender's numbers and says which `dora` it ran with."""

import dora
from dora import Node


def main() -> None:
    values = []
    for event in Node():
        if event["type"] == "INPUT":
            values.extend(event["value"].to_pylist())
    print(f"venv-receiver: got {values} using {dora.__file__}")
