"""What keeps ``dora --help``, ``--version`` and shell completion quick, beyond lazy imports.

Two costs of a short run are the interpreter's, not the command's:

* the cyclic garbage collector runs again and again while modules are imported (each pass
  walks the young objects; importing click and a command module makes tens of thousands
  of them and no garbage), so imports run with it paused and what they made is then
  counted as old (:class:`collection_paused`);
* at exit the interpreter collects once more and tears every module down, which only
  frees memory the OS takes back anyway; a run that only printed help, a version or
  completion candidates ends at once instead (:func:`exit_at_once`).
"""

from __future__ import annotations

# gc, os and sys only: importing this must cost nothing before the pause starts
import gc
import os
import sys


class collection_paused:  # lower case: read as a function, `with collection_paused():`
    """Pause the cyclic garbage collector for a block of imports (if it was running).

    At the end, the objects made meanwhile go to the oldest generation, where they would
    end up anyway (modules, classes, functions live as long as the process): otherwise
    the first young collections after the pause would walk them all, a millisecond or
    more. ``gc.freeze()`` then ``gc.unfreeze()`` does that move, unless something else
    froze objects before (it expects them to stay frozen).
    """

    def __enter__(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc_info: object) -> None:
        if not self._was_enabled:
            return
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()


def exit_at_once(code: int) -> None:
    """End the process with ``code`` now: flush stdout and stderr, skip the shutdown.

    Only for runs that did nothing but print (help, version, completion candidates): no
    atexit handler or finalizer of theirs has work left. If a flush fails (a closed
    pipe), this returns and the caller exits the usual way, which reports it as before.
    """
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return
    os._exit(code)
