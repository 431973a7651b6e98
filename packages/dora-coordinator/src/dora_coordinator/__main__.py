"""``python -m dora_coordinator``: the same command as ``dora coordinator`` (see
:mod:`dora_coordinator.command`); ``dora up`` starts the coordinator this way."""

from dora_coordinator.command import coordinator

coordinator(prog_name="dora-coordinator")
