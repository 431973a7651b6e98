"""Checks that squares arrive in order and prints them."""

from dora import Node

node = Node()
expected = 0
for event in node:
    if event["type"] == "INPUT":
        value = event["value"].to_pylist()[0]
        assert value == expected * expected, f"expected {expected * expected}, got {value}"
        print(f"receiver: {expected}^2 = {value}")
        expected += 1
    elif event["type"] == "STOP":
        print(f"receiver: stopping ({event['id']})")
print(f"receiver: got {expected} squares in order")
