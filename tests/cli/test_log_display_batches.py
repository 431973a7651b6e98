"""An attached CLI prints a batch of node records with one write and one flush."""

from __future__ import annotations

import io

from dora_cli.log_display import LogDisplay
from dora_cli.log_lines import format_log
from tests.log_records import log_record

DF = "0193a3b4-0000-7000-8000-000000000002"


class CountingStream(io.StringIO):
    """A non-terminal text stream that counts writes and flushes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0
        self.flushes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


class GoneReader(CountingStream):
    """A stream whose reader went away (``dora start --attach | head -1``)."""

    def write(self, text: str) -> int:
        self.writes += 1
        raise BrokenPipeError


def test_a_batch_is_one_write_and_one_flush_of_the_records_that_pass() -> None:
    stream, notes = CountingStream(), CountingStream()
    display = LogDisplay("info", "pretty", overrides={"noisy": "error"}, stream=stream, notes=notes)
    records = [
        log_record(DF, message="first"),
        log_record(DF, message="too fine", level="debug"),
        log_record(DF, message="noisy info", node_id="noisy"),
        log_record(DF, message="noisy error", node_id="noisy", level="error"),
        log_record(DF, message="last", level="warn"),
    ]
    display.show_all(records)
    shown = [records[0], records[3], records[4]]
    assert stream.getvalue() == "".join(format_log(r, "pretty") + "\n" for r in shown)
    assert (stream.writes, stream.flushes) == (1, 1)


def test_a_batch_where_nothing_passes_writes_nothing() -> None:
    stream = CountingStream()
    display = LogDisplay("error", "compact", stream=stream, notes=CountingStream())
    display.show_all([log_record(DF), log_record(DF, level="debug")])
    display.show_all([])
    assert (stream.getvalue(), stream.writes, stream.flushes) == ("", 0, 0)


def test_one_record_is_shown_as_a_batch_of_one() -> None:
    stream = CountingStream()
    display = LogDisplay("stdout", "json", stream=stream, notes=CountingStream())
    display.show(log_record(DF, message="alone"))
    assert stream.getvalue() == format_log(log_record(DF, message="alone"), "json") + "\n"
    assert (stream.writes, stream.flushes) == (1, 1)


def test_a_gone_reader_silences_the_display_instead_of_raising() -> None:
    stream = GoneReader()
    display = LogDisplay("stdout", "pretty", stream=stream, notes=CountingStream())
    display.show_all([log_record(DF), log_record(DF, message="second")])
    assert display.closed
    display.show_all([log_record(DF, message="later")])  # no error, and no second try
    assert stream.writes == 1


def test_dora_logs_prints_a_long_history_in_chunks_of_whole_lines() -> None:
    from dora_cli.commands.logs import _CHUNK, _show

    stream = CountingStream()
    display = LogDisplay("info", "compact", stream=stream, notes=CountingStream())
    records = [log_record(DF, message=f"line {i}") for i in range(2 * _CHUNK + 1)]
    _show(display, records)
    assert stream.getvalue() == "".join(format_log(r, "compact") + "\n" for r in records)
    assert stream.writes == 3
