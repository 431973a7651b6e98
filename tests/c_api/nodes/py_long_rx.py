"""Checks c_long_tx.c's messages against long_names.h's table (keep the two in step):
every value, the parameters (or their absence), the order of the rounds per input
`n<L>`, and that each input closed after its last round."""

from dora import Node

LENS = [1, 31, 32, 39, 40, 41, 42, 255, 256, 1000]
ROUNDS = 16
SHM_SIZE = 5000
CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_."
COPY, INLINE_SAMPLE, SHM_SAMPLE, ARROW = range(4)
INT64_MAX = 2**63 - 1


def name(length: int) -> str:
    return "".join(
        "/" if i % 16 == 8 and i + 1 < length else CHARS[(i + length) % len(CHARS)]
        for i in range(length)
    )


def byte(length: int, round_: int, i: int) -> int:
    return (length * 31 + round_ * 7 + i) & 0xFF


def expected_value(length: int, round_: int) -> list[int]:
    if round_ % 4 == ARROW:
        return [length, -round_ * 1000, INT64_MAX - round_]
    size = SHM_SIZE + round_ if round_ % 4 == SHM_SAMPLE else 1 + (length + round_) % 300
    return [byte(length, round_, i) for i in range(size)]


def expected_params(length: int, round_: int) -> dict[str, object]:
    if (round_ // 4) % 2 == 0:
        return {}
    return {
        "round": round_,
        "name": name(length),
        "half": round_ * 0.5,
        "odd": round_ % 2 == 1,
        "blob": bytes(byte(length, round_, i) for i in range(round_ + 1)),
    }


node = Node()
next_round = dict.fromkeys(LENS, 0)
closed: dict[int, bool] = {}
received = 0
wrong = 0
for event in node:
    if event["type"] not in ("INPUT", "INPUT_CLOSED"):
        continue
    length = int(event["id"][1:])
    if event["type"] == "INPUT_CLOSED":
        closed[length] = next_round[length] == ROUNDS
        continue
    round_ = next_round[length]
    next_round[length] += 1
    received += 1
    meta = {k: v for k, v in event["metadata"].items() if k != "timestamp"}
    value = event["value"]
    want_type = "int64" if round_ % 4 == ARROW else "uint8"
    if (
        round_ >= ROUNDS
        or str(value.type) != want_type
        or value.to_pylist() != expected_value(length, round_)
        or meta != expected_params(length, round_)
    ):
        wrong += 1
        print(f"py_long_rx: n{length} round {round_} differs: {sorted(meta)}", flush=True)
for length in LENS:
    if not closed.get(length):
        wrong += 1
        print(f"py_long_rx: n{length} not closed after its {ROUNDS} rounds", flush=True)
print(f"py_long_rx: {received} messages, {wrong} wrong", flush=True)
