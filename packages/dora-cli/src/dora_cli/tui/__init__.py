"""Textual apps of the ``dora`` command; import them only when a TUI starts."""
