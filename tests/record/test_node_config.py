"""The recorder's and the replay node's settings from their environment."""

from __future__ import annotations

import datetime as dt

import pytest

from dora_record import record_node, replay_node


def test_recorder_topics_are_checked_at_start() -> None:
    assert record_node.parse_topics('{"a___o": "a/o", "m___x___y": "m/x/y"}') == {
        "a___o": ("a", "o"),
        "m___x___y": ("m", "x/y"),
    }
    for text, needle in [
        (None, "not set"),
        ("[1]", "non-empty JSON object"),
        ("{}", "non-empty JSON object"),
        ("{nope", "not JSON"),
        ('{"i": "no-slash"}', "expected `node/output`"),
        ('{"i": 3}', "expected `node/output`"),
    ]:
        with pytest.raises(record_node.ConfigError, match=needle):
            record_node.parse_topics(text)


def test_recorded_timestamp_is_the_senders_in_nanoseconds() -> None:
    stamp = dt.datetime(2026, 12, 2, 0, 0, 1, 500, tzinfo=dt.UTC)
    expected = int(dt.datetime(2026, 12, 2, tzinfo=dt.UTC).timestamp()) * 10**9 + 10**9 + 500_000
    assert record_node.timestamp_ns({"timestamp": stamp}) == expected
    assert record_node.timestamp_ns({}) == 0


def test_replay_settings() -> None:
    config = replay_node.parse_config(
        {"DORA_REPLAY_FILE": "r.adorec", "DORA_REPLAY_NODE": "cam", "DORA_REPLAY_LOOP": "1"}
    )
    assert config == replay_node.ReplayConfig("r.adorec", "cam", speed=1.0, loop=True)
    config = replay_node.parse_config(
        {"DORA_REPLAY_FILE": "r", "DORA_REPLAY_NODE": "c", "DORA_REPLAY_SPEED": "0.5"}
    )
    assert config.speed == 0.5 and not config.loop
    for env, needle in [
        ({"DORA_REPLAY_NODE": "c"}, "DORA_REPLAY_FILE is not set"),
        ({"DORA_REPLAY_FILE": "r"}, "DORA_REPLAY_NODE is not set"),
        (
            {"DORA_REPLAY_FILE": "r", "DORA_REPLAY_NODE": "c", "DORA_REPLAY_SPEED": "fast"},
            "is not a number",
        ),
    ]:
        with pytest.raises(replay_node.ConfigError, match=needle):
            replay_node.parse_config(env)
