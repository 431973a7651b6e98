"""ctypes mirror of the C operator ABI (operator_types.h) and of the helper library's
insides (csrc/operator/operator_internal.h), loaded once per process.

The helper library ``libdora_operator_api_c.so`` is loaded with ``RTLD_GLOBAL`` before
any operator: an operator built as dora-rs builds them (``-shared`` without linking the
helper library, its ``dora_read_data`` & co. left undefined) then finds the helpers in
the process, and one linked against it (``dora c-api --operator --libs``) gets this very
copy (same soname), so both share one crash handler. Operators themselves are loaded
``RTLD_LOCAL``: two operators may export the same three symbols.
"""

from __future__ import annotations

import ctypes
import functools
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint64,
    c_void_p,
)


class ArrowSchema(Structure):
    _fields_ = [
        ("format", c_void_p),
        ("name", c_void_p),
        ("metadata", c_void_p),
        ("flags", c_int64),
        ("n_children", c_int64),
        ("children", c_void_p),
        ("dictionary", c_void_p),
        ("release", c_void_p),
        ("private_data", c_void_p),
    ]


class ArrowArray(Structure):
    _fields_ = [
        ("length", c_int64),
        ("null_count", c_int64),
        ("offset", c_int64),
        ("n_buffers", c_int64),
        ("n_children", c_int64),
        ("buffers", c_void_p),
        ("children", c_void_p),
        ("dictionary", c_void_p),
        ("release", c_void_p),
        ("private_data", c_void_p),
    ]


class VecU8(Structure):
    _fields_ = [("ptr", c_void_p), ("len", c_size_t), ("cap", c_size_t)]


class DoraResult(Structure):
    # Vec_uint8_t *: a plain address, so that the common check (NULL) builds no object
    _fields_ = [("error", c_void_p)]


class DoraInitResult(Structure):
    _fields_ = [("result", DoraResult), ("operator_context", c_void_p)]


class OnEventResult(Structure):
    _fields_ = [("result", DoraResult), ("status", c_uint8)]


class Input(Structure):
    _fields_ = [
        ("id", c_void_p),
        ("timestamp_ns", c_uint64),
        ("array", ArrowArray),
        ("schema", ArrowSchema),
        ("shared", c_void_p),
    ]


class RawEvent(Structure):
    _fields_ = [
        ("input", POINTER(Input)),
        ("input_closed", VecU8),
        ("stop", c_bool),
        ("error", VecU8),
    ]


class Output(Structure):
    _fields_ = [("id", c_char_p), ("array", ArrowArray), ("schema", ArrowSchema)]


# const char *(*)(void *context, struct Output *output): NULL, or an error message
SEND_CALLBACK = CFUNCTYPE(c_void_p, c_void_p, POINTER(Output))


class SendEnv(Structure):
    _fields_ = [("send", SEND_CALLBACK), ("context", c_void_p)]


class SendOutput(Structure):
    _fields_ = [
        ("env_ptr", c_void_p),
        ("call", c_void_p),
        ("release", c_void_p),
        ("retain", c_void_p),
    ]


class NativeAbi:
    """The helper library's entry points, typed."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        self.path = path
        for name, struct in (
            ("input", Input),
            ("output", Output),
            ("raw_event", RawEvent),
            ("send_output", SendOutput),
        ):
            size_of = getattr(lib, f"dora_operator__sizeof_{name}")
            size_of.restype = c_size_t
            if size_of() != ctypes.sizeof(struct):
                raise RuntimeError(
                    f"{path}: struct sizes differ from the runtime's mirror ({name}: "
                    f"{size_of()} != {ctypes.sizeof(struct)}); rebuild the operator library"
                )
        self.runtime_init = lib.dora_operator__runtime_init
        self.runtime_init.argtypes = [c_char_p]
        self.runtime_init.restype = c_int
        self.call_init = lib.dora_operator__call_init
        self.call_init.argtypes = [c_void_p, c_char_p, POINTER(DoraInitResult)]
        self.call_init.restype = None
        self.call_on_event = lib.dora_operator__call_on_event
        self.call_on_event.argtypes = [
            c_void_p,
            c_char_p,
            POINTER(RawEvent),
            POINTER(SendOutput),
            c_void_p,
            POINTER(OnEventResult),
        ]
        self.call_on_event.restype = None
        self.call_drop = lib.dora_operator__call_drop
        self.call_drop.argtypes = [c_void_p, c_char_p, c_void_p, POINTER(DoraResult)]
        self.call_drop.restype = None
        self.input_release = lib.dora_operator__input_release
        self.input_release.argtypes = [POINTER(Input)]
        self.input_release.restype = None
        self.free_result_error = lib.dora_free_result_error
        self.free_result_error.argtypes = [DoraResult]
        self.free_result_error.restype = None
        self.trampoline = ctypes.cast(lib.dora_operator__send_trampoline, c_void_p).value
        self.noop = ctypes.cast(lib.dora_operator__noop, c_void_p).value
        self._lib = lib

    def take_error(self, result: DoraResult) -> str | None:
        """The message of a failed result (then freed), or None on success."""
        if not result.error:
            return None
        vec = VecU8.from_address(result.error)
        text = ctypes.string_at(vec.ptr, vec.len).decode(errors="replace") if vec.ptr else ""
        self.free_result_error(result)
        return text or "(empty error message)"


@functools.cache
def load_abi(node_id: str) -> NativeAbi:
    """The helper library (compiled into the per-user cache on first use), with the crash
    handler installed for ``node_id``."""
    try:
        import dora_node_api_c
    except ImportError:
        raise RuntimeError(
            "shared-library operators need the dora-node-api-c package (the C operator "
            "helper library); install it next to dora-node-api"
        ) from None
    abi = NativeAbi(str(dora_node_api_c.library("operator")))
    if abi.runtime_init(node_id.encode()) != 0:
        raise RuntimeError("cannot install the operator crash handler (sigaction failed)")
    return abi
