"""The dynamic-node bootstrap's answers, sans I/O (``dora_daemon.dynamic.answer``)."""

from __future__ import annotations

import pytest

from dora_daemon.dynamic import DynamicError, answer, listen_port, set_listen_port
from dora_message.config import NodeConfig, decode_node_config


class Host:
    def __init__(self, dataflow_id: str, nodes: list[str], refuse: str | None = None) -> None:
        self.dataflow_id = dataflow_id
        self._nodes = nodes
        self._refuse = refuse

    def dynamic_node_ids(self) -> list[str]:
        return self._nodes

    def dynamic_config(self, node_id: str) -> NodeConfig:
        if self._refuse:
            raise DynamicError(self._refuse)
        return NodeConfig(
            dataflow_id=self.dataflow_id,
            node_id=node_id,
            daemon_address="\0d",
            listen_address="\0l",
            dynamic=True,
        )


@pytest.mark.timeout(10)
def test_answers() -> None:
    one, two = Host("df-1", ["cam"]), Host("df-2", ["cam", "arm"])
    config = decode_node_config(answer([one], "cam")["config"])
    assert (config.dataflow_id, config.node_id, config.dynamic) == ("df-1", "cam", True)
    assert answer([one, two], "ghost") == {
        "error": "no running dataflow here has a dynamic node `ghost` "
        "(dynamic nodes here: `arm`, `cam`)"
    }
    assert "ambiguous" in answer([one, two], "cam")["error"]
    assert answer([], "x")["error"].endswith("(dynamic nodes here: none)")
    assert answer([one], None) == {"error": "the request names no node id"}
    busy = Host("df-3", ["cam"], refuse="dynamic node `cam` is already connected")
    assert answer([busy], "cam") == {"error": "dynamic node `cam` is already connected"}


@pytest.mark.timeout(10)
def test_listen_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DORA_DAEMON_LOCAL_LISTEN_PORT", raising=False)
    assert listen_port() == 53291
    monkeypatch.setenv("DORA_DAEMON_LOCAL_LISTEN_PORT", "0")
    assert listen_port() == 0
    monkeypatch.setenv("DORA_DAEMON_LOCAL_LISTEN_PORT", "nope")
    assert listen_port() == 53291
    set_listen_port(4242)
    try:
        assert listen_port() == 4242
    finally:
        set_listen_port(None)
