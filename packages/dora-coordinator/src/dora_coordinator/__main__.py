"""``python -m dora_coordinator``: run the coordinator in the foreground."""

from dora_coordinator.entry import main

main()
