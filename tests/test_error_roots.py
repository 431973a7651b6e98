"""Every error a package raises on purpose sits under dora's root, one name each.

`DoraError` (dora_message.errors) is the root; the daemon, the coordinator's parts, the
CLI and dora-record hang their errors under it (`DaemonError`, `CliError`, `RecordError`),
so a caller can catch dora's refusals without catching bugs. The exceptions below are
deliberate and say why.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter

import pytest

from dora_message.errors import DoraError

pytestmark = pytest.mark.timeout(60)

# dora_node_api_c is not scanned: it depends on no Python package, so its BuildError
# cannot be a DoraError.
PACKAGES = ("dora_message", "dora", "dora_daemon", "dora_coordinator", "dora_cli", "dora_record")

OUTSIDE_THE_ROOT = {
    # dora-rs raises RuntimeError when a node cannot start: programs catch that
    "dora._daemon_protocol.StartupError",
    # the operator host's own control flow, caught where it is raised
    "dora._operators.outcome.OperatorFailed",
    # a spawn the fork server could not take: the daemon execs the node instead
    "dora_daemon.forkserver.NotForked",
    # a private marker of the YAML loader
    "dora_message.yaml_load._BadValue",
}


def _error_classes() -> list[type[BaseException]]:
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            if info.name.endswith(("__main__", "forkserver_main")):
                continue  # entry scripts: importing them runs them
            importlib.import_module(info.name)

    def below(cls: type[BaseException]) -> list[type[BaseException]]:
        found = []
        for sub in cls.__subclasses__():
            found.append(sub)
            found.extend(below(sub))
        return found

    return sorted(
        {cls for cls in below(BaseException) if cls.__module__.split(".")[0] in PACKAGES},
        key=lambda cls: f"{cls.__module__}.{cls.__qualname__}",
    )


ERRORS = _error_classes()


def test_the_scan_finds_the_roots() -> None:
    names = {cls.__name__ for cls in ERRORS}
    assert {"DoraError", "DaemonError", "CliError", "RecordError", "DescriptorError"} <= names


def test_every_error_is_a_dora_error() -> None:
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in ERRORS
        if not issubclass(cls, DoraError)
        and f"{cls.__module__}.{cls.__qualname__}" not in OUTSIDE_THE_ROOT
    ]
    assert not outside, outside
    # each exception is still there and still outside (a stale entry would excuse a new
    # class of the same name silently)
    names = {f"{cls.__module__}.{cls.__qualname__}": cls for cls in ERRORS}
    stale = [n for n in OUTSIDE_THE_ROOT if n not in names or issubclass(names[n], DoraError)]
    assert not stale, stale


def test_no_error_name_is_defined_twice() -> None:
    twice = [name for name, n in Counter(cls.__name__ for cls in ERRORS).items() if n > 1]
    assert not twice, [
        f"{cls.__module__}.{cls.__name__}" for cls in ERRORS if cls.__name__ in twice
    ]
