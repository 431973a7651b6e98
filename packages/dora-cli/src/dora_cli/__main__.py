"""``python -m dora_cli``."""

from dora_cli.main import main

main()
