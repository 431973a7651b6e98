"""How the daemon starts the Python operator runtime."""

import dora

dora.start_runtime()
