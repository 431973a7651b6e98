"""Property-based fuzzing of descriptor loading and of every control-message decoder
(and the two data-plane decoders whose messages carry free-form parameters).

The property (issue 13 item 8): whatever the input, only the project's typed errors come
out — :class:`DescriptorError` from descriptor loading, :class:`ProtocolError` (the
decoders' ``MalformedMessage``) from decoders, ``ValueError`` from the input-source
grammar, whose callers turn it into a located ``DescriptorError`` — and each input
finishes within a bound.

The CI runs use a fixed seed (``derandomize=True``) and a modest budget; the ``fuzz``
marker (deselected by default, ``uv run pytest -m fuzz``) runs 10,000 examples each.
The per-example bound is hypothesis' ``deadline``, set generously: it catches a hang or
an expansion blow-up (seconds to minutes), not a slow machine (inputs take milliseconds).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dora_message import cli_to_coordinator as req
from dora_message import coordinator_to_cli as rep
from dora_message import coordinator_to_daemon as c2d
from dora_message import daemon_to_coordinator as d2c
from dora_message import data_protocol as data
from dora_message import inter_daemon as inter
from dora_message import node_protocol as node
from dora_message.dataplane.framing import FrameBuffer
from dora_message.errors import DescriptorError, ProtocolError
from dora_message.load import parse_descriptor_with_warnings
from dora_message.sources import parse_input_source
from tests.message.fuzz_inputs import descriptor_texts, frames

_COMMON: dict[str, Any] = {
    "database": None,  # nothing written to .hypothesis/
    "deadline": timedelta(seconds=5),
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
CI = settings(max_examples=100, derandomize=True, **_COMMON)
LONG = settings(max_examples=10_000, **_COMMON)

DECODERS: dict[str, Callable[[Any], object]] = {
    "cli_to_coordinator": req.decode_request,
    "coordinator_to_cli": rep.decode_frame,
    "coordinator_to_daemon": c2d.decode_frame,
    "daemon_to_coordinator": d2c.decode_frame,
    "node_to_daemon": node.to_daemon_decoder.decode,
    "daemon_to_node": node.to_node_decoder.decode,
    "sender_to_receiver": data.to_receiver_decoder.decode,
    "inter_daemon": inter.inter_daemon_decoder.decode,
    "injection_report": inter.injection_report_decoder.decode,
}


@pytest.fixture(scope="module")
def flow_dir() -> Iterator[Path]:
    """An empty folder for the descriptor's `file`: `module:` paths resolve inside it."""
    with tempfile.TemporaryDirectory(prefix="dora-fuzz-") as name:
        yield Path(name)


def check_descriptor(text: str, folder: Path) -> None:
    try:
        parse_descriptor_with_warnings(text, str(folder / "dataflow.yml"), environ={})
    except DescriptorError as err:
        assert str(err)  # it can be shown
        assert len(err.message) <= 2_100  # quoted input is capped (item 9)


def check_decoder(channel: str, frame: bytes | str) -> None:
    with contextlib.suppress(ProtocolError):  # anything else fails the test
        DECODERS[channel](frame)


def check_frame_buffer(chunks: list[bytes]) -> None:
    buffer = FrameBuffer(max_frame=1024)
    try:
        for chunk in chunks:
            buffer.feed(chunk)
            for body in buffer:
                assert len(body) <= 1024
    except ProtocolError:
        pass


def check_source(text: str) -> None:
    try:
        parse_input_source(text)
    except ValueError as err:
        assert str(err)


def source_texts() -> st.SearchStrategy[str]:
    units = st.sampled_from(["secs", "millis", "micros", "nanos", "hz", "weeks", ""])
    amounts = st.one_of(
        st.integers(-5, 2**80).map(str),
        st.floats().map(repr),
        st.sampled_from(["1e-320", "5e-324", "1e308", "inf", "nan", "0x10", "9" * 5000]),
        st.text(max_size=10),
    )
    timers = st.builds(lambda u, a: f"dora/timer/{u}/{a}", units, amounts)
    logs = st.builds(lambda t: f"dora/logs/{t}", st.text(max_size=20))
    return st.one_of(timers, logs, st.text(max_size=50))


# ---- CI budget, fixed seed -------------------------------------------------------------


@pytest.mark.timeout(600)
@CI
@given(text=descriptor_texts())
# found by the long run: pyyaml's constructors assume a non-empty value
@example(text="!!timestamp")
@example(text="nodes:\n  - id: !!float\n")
@example(text="nodes: !!int\n")
def test_descriptor_loading_raises_only_descriptor_errors(flow_dir: Path, text: str) -> None:
    check_descriptor(text, flow_dir)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("channel", sorted(DECODERS))
@CI
@given(data=st.data())
def test_control_decoders_raise_only_protocol_errors(channel: str, data: st.DataObject) -> None:
    check_decoder(channel, data.draw(frames(channel)))


@pytest.mark.timeout(300)
@CI
@given(chunks=st.lists(st.binary(max_size=64), max_size=20))
def test_frame_buffer_raises_only_protocol_errors(chunks: list[bytes]) -> None:
    check_frame_buffer(chunks)


@pytest.mark.timeout(300)
@CI
@given(text=source_texts())
def test_input_sources_raise_only_value_errors(text: str) -> None:
    check_source(text)


# ---- the larger budget: `uv run pytest -m fuzz` ----------------------------------------


@pytest.mark.fuzz
@pytest.mark.timeout(7200)
@LONG
@given(text=descriptor_texts())
def test_fuzz_descriptor_loading(flow_dir: Path, text: str) -> None:
    check_descriptor(text, flow_dir)


@pytest.mark.fuzz
@pytest.mark.timeout(7200)
@pytest.mark.parametrize("channel", sorted(DECODERS))
@LONG
@given(data=st.data())
def test_fuzz_control_decoders(channel: str, data: st.DataObject) -> None:
    check_decoder(channel, data.draw(frames(channel)))


@pytest.mark.fuzz
@pytest.mark.timeout(3600)
@LONG
@given(chunks=st.lists(st.binary(max_size=64), max_size=20))
def test_fuzz_frame_buffer(chunks: list[bytes]) -> None:
    check_frame_buffer(chunks)


@pytest.mark.fuzz
@pytest.mark.timeout(3600)
@LONG
@given(text=source_texts())
def test_fuzz_input_sources(text: str) -> None:
    check_source(text)
