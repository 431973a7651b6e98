"""docs/protocol.md quotes exact bytes; they must stay the bytes the encoders produce.

Every example frame of the worked-example section is encoded here again and looked up in
the document (whitespace removed), so a protocol change that forgets the specification
fails here rather than misleading another language's implementer.
"""

import re
from pathlib import Path

import pyarrow as pa
import pytest

from dora._arrow import TypeInfo, flat_parts, join_parts
from dora_message.data_protocol import Closed, Data, DropSegment, Hello, NewSegment, Release
from dora_message.data_protocol import data_encoder as data_enc
from dora_message.dataplane.framing import MAX_FRAME, encode_frame
from dora_message.node_protocol import PROTOCOL_VERSION, Register, RegisterReply, Stop, Subscribe
from dora_message.node_protocol import node_encoder as node_enc

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
TS = 1_700_000_000_000_000_000
EIGHT = bytes(range(1, 9))


def _doc_hex() -> str:
    return re.sub(r"\s+", "", DOC.read_text())


def _uint8_buffers(seq: int, with_schema: bool) -> Data:
    info = TypeInfo(pa.uint8())
    layout, parts, _total = flat_parts(pa.array(list(EIGHT), pa.uint8()))
    schema = info.schema_bytes if with_schema else None
    ts = TS + seq - 1
    return Data("out", ts, {"seq": seq}, "buffers", schema, join_parts(parts), layout=layout)


FRAMES = {
    "register": (node_enc, Register("df", "n", PROTOCOL_VERSION, 42, "s3cr3t")),
    "register_reply": (node_enc, RegisterReply(PROTOCOL_VERSION)),
    "subscribe": (node_enc, Subscribe()),
    "stop": (node_enc, Stop()),
    "hello": (data_enc, Hello("df", "n", PROTOCOL_VERSION, "t0k3n")),
    "release": (data_enc, Release([1, 2])),
    "closed": (data_enc, Closed(["out"], True)),
    "data with schema": (data_enc, _uint8_buffers(1, True)),
    "data cached schema": (data_enc, _uint8_buffers(2, False)),
    "data raw": (data_enc, Data("out", TS, {}, "raw", inline=EIGHT)),
    "segment": (data_enc, NewSegment(1, 4 * 1024 * 1024)),
    "data in segment": (data_enc, Data("out", TS, {}, "raw", None, None, 1, 0, 4 << 20, 1)),
    "drop_segment": (data_enc, DropSegment(1)),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_worked_example_bytes_match_the_encoders(name):
    encoder, message = FRAMES[name]
    assert bytes(encode_frame(encoder, message)).hex() in _doc_hex()


def test_schema_bytes_and_constants_match():
    text = _doc_hex()
    assert TypeInfo(pa.uint8()).schema_bytes.hex() in text
    assert f"`{PROTOCOL_VERSION}`" in DOC.read_text()
    assert MAX_FRAME == 64 * 1024 * 1024 and "64MiB" in text
