"""dora_message."""
