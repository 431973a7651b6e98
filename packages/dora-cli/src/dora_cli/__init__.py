"""dora_cli."""
