"""One module per ``dora`` subcommand."""
