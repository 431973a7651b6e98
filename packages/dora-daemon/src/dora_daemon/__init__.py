"""dora_daemon."""
