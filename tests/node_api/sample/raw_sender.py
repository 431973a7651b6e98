"""Walks through send_output_raw's buffer contract for one size (argv[1]); prints
``contract: <check> ok`` per check that held, sends the samples the sink checks."""

import contextlib
import gc
import pickle
import sys

from dora import Node

SIZE = int(sys.argv[1])
node = Node()


def check(name: str, held: bool) -> None:
    print(f"contract: {name} {'ok' if held else 'BROKEN'}", flush=True)


def refuses(call, error: type[BaseException], *words: str) -> bool:
    try:
        call()
    except error as err:
        return all(word in str(err) for word in words)
    return False


for event in node:  # the first tick: everything below runs inside a live dataflow
    if event["type"] == "INPUT":
        break
# 1: as_buffer is one cached object; as_memoryview is fresh every call
sample = node.send_output_raw("out", SIZE, {"n": 1})
buffer = sample.as_buffer()
check("as_buffer-cached", sample.as_buffer() is buffer)
first, second = sample.as_memoryview(), sample.as_memoryview()
check("as_memoryview-fresh", first is not second)
check("refused-2-views", refuses(sample.send, RuntimeError, "2 buffer view(s)", "view #1"))
first.release()
check("refused-1-view", refuses(sample.send, RuntimeError, "1 buffer view(s)", "view #2"))
second.release()
# an exporter made from a view (as numpy.asarray(view) is) keeps it open
view = sample.as_memoryview()
exporter = pickle.PickleBuffer(view)
check("refused-exporter-of-view", refuses(sample.send, RuntimeError, "still open"))
del exporter
view.release()
# ...and one made from the cached buffer (numpy.frombuffer(buffer))
exporter = pickle.PickleBuffer(buffer)
check("refused-exporter-of-buffer", refuses(sample.send, RuntimeError, "as_buffer()"))
del exporter
view = memoryview(buffer)
check("refused-memoryview-of-buffer", refuses(sample.send, RuntimeError, "as_buffer()"))
view.release()
dropped = sample.as_memoryview()
del dropped  # dropping a view closes it, as releasing does
sample.as_buffer()[:3] = b"one"
sample.send()
check("sent-once", refuses(sample.send, RuntimeError, "already been sent"))
check("as_buffer-after-send", refuses(sample.as_buffer, RuntimeError, "already been sent"))
check("view-after-send", refuses(sample.as_memoryview, RuntimeError, "already been sent"))
check("cached-buffer-dead", refuses(lambda: memoryview(buffer), (BufferError, ValueError)))

# 2: dropping an unsent sample while its buffer is alive is safe
sample = node.send_output_raw("out", SIZE)
kept = sample.as_buffer()
del sample
gc.collect()
with contextlib.suppress(BufferError, ValueError):
    memoryview(kept)
check("drop-with-buffer-alive", True)
del kept

# 3: a `with` body that raises sends nothing, propagates, leaves the sample sendable
sample = node.send_output_raw("out", SIZE, {"n": 2})
try:
    with sample as buf:
        memoryview(buf)[:3] = b"two"
        raise KeyError("inside")
except KeyError:
    check("with-raise-propagates", True)
sample.send()
check("sendable-after-with-raise", True)

# 4: a clean `with` sends; a view left open makes it fail, and the sample stays
with node.send_output_raw("out", SIZE, {"n": 3}) as buf:
    memoryview(buf)[:5] = b"three"
sample = node.send_output_raw("out", SIZE, {"n": 4})
leak = None


def leaky() -> None:
    global leak
    with sample as buf:
        memoryview(buf)[:4] = b"four"
        leak = memoryview(buf)


check("with-open-view-fails", refuses(leaky, RuntimeError, "Failed to send", "still open"))
leak.release()
sample.send()
check("sendable-after-failed-with", True)
print("contract: done", flush=True)
