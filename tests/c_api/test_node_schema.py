"""The C library's Arrow IPC schema reader and writer against pyarrow: every flat type
parses to the right C Data Interface format and is written back byte-compatible (pyarrow
reads it as the same type); nested and dictionary types are named; garbage is an error;
the committed schema templates are what the generator script makes with this pyarrow."""

from __future__ import annotations

import importlib.util
import random
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest

from tests.c_api.conftest import CompileC, library_includes
from tests.c_api.helpers import mutated

pytestmark = pytest.mark.integration

SCRIPT = Path(__file__).parents[2] / "packages/dora-node-api-c/scripts/gen_schema_templates.py"

FLAT = [
    (pa.null(), "n"),
    (pa.bool_(), "b"),
    (pa.int8(), "c"),
    (pa.uint8(), "C"),
    (pa.int16(), "s"),
    (pa.uint16(), "S"),
    (pa.int32(), "i"),
    (pa.uint32(), "I"),
    (pa.int64(), "l"),
    (pa.uint64(), "L"),
    (pa.float16(), "e"),
    (pa.float32(), "f"),
    (pa.float64(), "g"),
    (pa.binary(), "z"),
    (pa.large_binary(), "Z"),
    (pa.string(), "u"),
    (pa.large_string(), "U"),
    (pa.binary(16), "w:16"),
    (pa.date32(), "tdD"),
    (pa.date64(), "tdm"),
    (pa.time32("s"), "tts"),
    (pa.time32("ms"), "ttm"),
    (pa.time64("us"), "ttu"),
    (pa.time64("ns"), "ttn"),
    (pa.timestamp("s"), "tss:"),
    (pa.timestamp("ms", tz="UTC"), "tsm:UTC"),
    (pa.timestamp("ns", tz="Europe/Paris"), "tsn:Europe/Paris"),
    (pa.duration("s"), "tDs"),
    (pa.duration("us"), "tDu"),
]
NESTED = [
    (pa.list_(pa.int32()), "list"),
    (pa.large_list(pa.int32()), "large list"),
    (pa.struct([("a", pa.int8())]), "struct"),
    (pa.map_(pa.string(), pa.int8()), "map"),
    (pa.dictionary(pa.int32(), pa.string()), "dictionary<values=string>"),
    (pa.decimal128(10, 2), "decimal"),
]


def schema_hex(arrow_type: pa.DataType) -> str:
    return pa.schema([pa.field("data", arrow_type)]).serialize().to_pybytes().hex()


@pytest.fixture(scope="module")
def probe(compile_c: CompileC) -> Path:
    return compile_c(
        ["schema_probe.c"], "schema_probe", library_includes("node"), link="sources-node"
    )


def run(probe: Path, *hexes: str) -> list[str]:
    result = subprocess.run([probe, *hexes], capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def test_flat_types_parse_and_write_back(probe: Path) -> None:
    lines = run(probe, *(schema_hex(t) for t, _ in FLAT))
    for (arrow_type, fmt), line in zip(FLAT, lines, strict=True):
        got_fmt, _name, written = line.split("|")
        assert got_fmt == fmt, (arrow_type, line)
        if fmt == "tsn:Europe/Paris":
            assert written == "-"  # no template: sending it from C is refused
            continue
        back = pa.ipc.read_schema(pa.py_buffer(bytes.fromhex(written)))
        assert back.field(0).type == arrow_type, (arrow_type, back)
        assert back.field(0).name == "data" and back.field(0).nullable


def test_nested_and_dictionary_types_are_named(probe: Path) -> None:
    lines = run(probe, *(schema_hex(t) for t, _ in NESTED))
    for (arrow_type, name), line in zip(NESTED, lines, strict=True):
        assert line == f"-|{name}|-", (arrow_type, line)


def test_garbage_is_an_error(probe: Path) -> None:
    good = schema_hex(pa.int32())
    cases = ["", "ffffffff", "ffffffff7f000000", good[:40], "00" * 64, good[:16] + "ff" * 40]
    for line in run(probe, *(c or "00" for c in cases)):
        assert line.startswith(("parse-error", "-|")), line


def test_committed_templates_match_pyarrow() -> None:
    spec = importlib.util.spec_from_file_location("gen_schema_templates", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = module.OUT.read_text().splitlines()
    fresh = module.render().splitlines()
    # the header names the pyarrow version it was made with: compare everything else
    assert [line for line in fresh if "pyarrow" not in line] == [
        line for line in committed if "pyarrow" not in line
    ]


def test_mutated_schemas_under_asan(compile_c: CompileC) -> None:
    """Bit flips and truncations of real schema messages: the flatbuffer reader stays in
    bounds (AddressSanitizer/UBSan would abort) and answers every one."""
    flags = [
        *library_includes("node"),
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all",
        "-g",
    ]
    probe = compile_c(["schema_probe.c"], "schema_probe_asan", flags, link="sources-node")
    rng = random.Random(1234)
    seeds = [bytes.fromhex(schema_hex(t)) for t, _ in FLAT + NESTED]
    cases = [mutated(rng, seeds, flips=4, cut=0.2, keep=8).hex() for _ in range(3000)]
    for start in range(0, len(cases), 300):
        batch = cases[start : start + 300]
        result = subprocess.run([probe, *batch], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr[-3000:]
        assert len(result.stdout.splitlines()) == len(batch)
