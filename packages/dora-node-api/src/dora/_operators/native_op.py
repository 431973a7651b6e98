"""A shared-library operator, driven through dora-rs's C operator ABI.

Per event the runtime fills one reusable ``RawEvent_t``: an input is exported with the
Arrow C Data Interface (``pa.Array._export_to_c``, zero-copy: the operator reads the
very buffers the node received) into the ``Input_t`` the helpers read; a closed input,
STOP and ERROR map to their fields; the other event types have no C form and are not
delivered. One ctypes call (``dora_operator__call_on_event``) names the operator for the
crash handler, calls ``dora_on_event`` and drops the runtime's hold on the input.

Outputs come back through ``SendOutput_t.call``: the helper library's trampoline calls
:meth:`NativeOperator._on_send` (a ctypes callback; ctypes callbacks cannot return the
``DoraResult_t`` struct themselves), which imports the array (``_import_from_c``, a move,
no copy) and sends it on ``<operator id>/<output id>``.
"""

from __future__ import annotations

import ctypes
import datetime as dt
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from dora._operators import native_abi as abi
from dora._operators.outcome import CONTINUE, STOP_ALL, OperatorFailed
from dora.events import ERROR, INPUT, INPUT_CLOSED, Event
from dora.events import STOP as STOP_EVENT

SendArrayFn = Callable[[str, pa.Array], None]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_SYMBOLS = ("dora_init_operator", "dora_on_event", "dora_drop_operator")
_EMPTY = abi.VecU8(None, 0, 0)
# Every operator lives as long as the process: a library thread may still call the send
# callback (or read its SendOutput_t) after the operator stopped, and the library itself
# is never unloaded either.
_KEEP: list[NativeOperator] = []


def _timestamp_ns(event: Event) -> int:
    stamp = (event.get("metadata") or {}).get("timestamp")
    if not isinstance(stamp, dt.datetime):
        return 0
    return (stamp - _EPOCH) // _MICROSECOND * 1000  # the node clock has µs resolution


class NativeOperator:
    """One shared-library operator of the runtime node."""

    kind = "shared-library"

    def __init__(self, op_id: str, path: str, node_id: str, send: SendArrayFn) -> None:
        self.id = op_id
        self._abi = native = abi.load_abi(node_id)
        self._label = op_id.encode()
        self._send = send
        try:
            self._lib = ctypes.CDLL(path, mode=ctypes.RTLD_LOCAL)
        except OSError as error:
            raise OperatorFailed(f"operator `{op_id}`: cannot load `{path}`: {error}") from None
        functions = {}
        for name in _SYMBOLS:
            try:
                functions[name] = ctypes.cast(getattr(self._lib, name), ctypes.c_void_p).value
            except AttributeError:
                raise OperatorFailed(
                    f"operator `{op_id}`: `{path}` does not export `{name}` (an operator "
                    "exports dora_init_operator, dora_on_event and dora_drop_operator)"
                ) from None
        self._on_event = functions["dora_on_event"]
        self._drop = functions["dora_drop_operator"]
        # the callback, its env and SendOutput_t live as long as the operator
        self._callback = abi.SEND_CALLBACK(self._on_send)
        self._send_env = abi.SendEnv(self._callback, None)
        self._send_output = abi.SendOutput(
            ctypes.addressof(self._send_env), native.trampoline, native.noop, native.noop
        )
        self._send_error: ctypes.Array[ctypes.c_char] | None = None
        # one RawEvent_t, Input_t and result, reused: each event sets what it needs and
        # puts it back to zero after the call (cheaper than building or clearing all)
        self._event = abi.RawEvent()
        self._input = abi.Input()
        self._input_ptr = ctypes.pointer(self._input)
        self._array_at = ctypes.addressof(self._input) + abi.Input.array.offset
        self._schema_at = ctypes.addressof(self._input) + abi.Input.schema.offset
        self._result = abi.OnEventResult()
        self._refs = (
            ctypes.byref(self._event),
            ctypes.byref(self._send_output),
            ctypes.byref(self._result),
        )
        self._ids: dict[str, ctypes.Array[ctypes.c_char]] = {}  # NUL-terminated, kept alive
        init = abi.DoraInitResult()
        native.call_init(functions["dora_init_operator"], self._label, ctypes.byref(init))
        error = native.take_error(init.result)
        if error is not None:
            raise OperatorFailed(f"operator `{op_id}` failed to initialize: {error}")
        self._context = init.operator_context
        self._dropped = False
        _KEEP.append(self)

    def _id_buffer(self, text: str) -> ctypes.Array[ctypes.c_char]:
        buffer = self._ids.get(text)
        if buffer is None:
            buffer = self._ids[text] = ctypes.create_string_buffer(text.encode())
        return buffer

    def on_event(self, event: Event) -> int:
        """Deliver one event (ids already bare); the operator's status."""
        kind = event["type"]
        raw = self._event
        text: ctypes.Array[ctypes.c_char] | None = None
        if kind == INPUT:
            value = event["value"]
            if not isinstance(value, pa.Array):
                value = pa.array(value)
            target = self._input
            target.id = ctypes.addressof(self._id_buffer(event["id"]))
            target.timestamp_ns = _timestamp_ns(event)
            value._export_to_c(self._array_at, self._schema_at)
            raw.input = self._input_ptr
        elif kind == INPUT_CLOSED:
            text = self._id_buffer(event["id"])
            raw.input_closed = abi.VecU8(ctypes.addressof(text), len(text) - 1, len(text))
        elif kind == STOP_EVENT:
            raw.stop = True
        elif kind == ERROR:
            text = ctypes.create_string_buffer(str(event.get("error", "")).encode())
            raw.error = abi.VecU8(ctypes.addressof(text), len(text) - 1, len(text))
        else:
            return CONTINUE  # no C form (NODE_RESTARTED, PARAM_UPDATE, ...)
        event_ref, send_ref, result_ref = self._refs
        try:
            self._abi.call_on_event(
                self._on_event, self._label, event_ref, send_ref, self._context, result_ref
            )
        finally:
            if kind == INPUT:
                raw.input = None  # the call released the input's arrays
            elif kind == INPUT_CLOSED:
                raw.input_closed = _EMPTY
            elif kind == STOP_EVENT:
                raw.stop = False
            else:
                raw.error = _EMPTY
        result = self._result
        error = self._abi.take_error(result.result)
        if error is not None:
            raise OperatorFailed(f"operator `{self.id}` returned an error: {error}")
        status = result.status
        if status > STOP_ALL:
            raise OperatorFailed(f"operator `{self.id}` returned an unknown status {status}")
        return status

    def _on_send(self, _context: int | None, output: Any) -> int | None:
        """SendOutput_t.call, through the trampoline: None on success, else the address of
        an error message (kept until the next send). Never raises: an exception escaping
        a ctypes callback would only be printed."""
        try:
            out = output.contents
            output_id = (out.id or b"").decode()
            base = ctypes.addressof(out)
            array = pa.Array._import_from_c(
                base + abi.Output.array.offset, base + abi.Output.schema.offset
            )
            self._send(output_id, array)
            return None
        except BaseException as error:  # reported to the operator: escaping would only print
            self._send_error = ctypes.create_string_buffer(
                f"sending from operator `{self.id}` failed: {error}".encode()
            )
            return ctypes.addressof(self._send_error)

    def drop(self) -> None:
        """``dora_drop_operator`` (once); raises :class:`OperatorFailed` on its error."""
        if self._dropped:
            return
        self._dropped = True
        result = abi.DoraResult()
        self._abi.call_drop(self._drop, self._label, self._context, ctypes.byref(result))
        error = self._abi.take_error(result)
        if error is not None:
            raise OperatorFailed(f"operator `{self.id}` failed to drop: {error}")
