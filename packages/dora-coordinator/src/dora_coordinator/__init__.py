"""dora_coordinator: the control plane across machines."""
