"""Sends every case of cases.py on output ``out``, then exits normally."""

from cases import cases

from dora import Node

node = Node()
for _name, data, metadata in cases():
    node.send_output("out", data, metadata)
node.close()
