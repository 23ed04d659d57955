"""Read the named metadata entries of a .tflite flatbuffer without TensorFlow.

A TFLite model is a flatbuffer whose root table ``Model`` has ``buffers`` (field 4)
and ``metadata`` (field 6, a vector of ``{name: string, buffer: uint}``). This module
walks just those fields with ``struct``, so the runtime needs no flatbuffers package.
"""
from __future__ import annotations

import struct
from typing import Dict

from .errors import ModelError

_MODEL_BUFFERS, _MODEL_METADATA = 4, 6
_METADATA_NAME, _METADATA_BUFFER = 0, 1
_BUFFER_DATA = 0


def _u32(buf: bytes, pos: int) -> int:
    return struct.unpack_from("<I", buf, pos)[0]


def _field_pos(buf: bytes, table: int, field: int) -> int:
    """Absolute position of a table field, or 0 when the field is absent."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    vt_size = struct.unpack_from("<H", buf, vtable)[0]
    slot = 4 + 2 * field
    if slot + 2 > vt_size:
        return 0
    off = struct.unpack_from("<H", buf, vtable + slot)[0]
    return table + off if off else 0


def _deref(buf: bytes, pos: int) -> int:
    return pos + _u32(buf, pos)


def _vector(buf: bytes, table: int, field: int) -> list:
    """Positions of the elements (offsets dereferenced) of a vector-of-tables field."""
    pos = _field_pos(buf, table, field)
    if not pos:
        return []
    vec = _deref(buf, pos)
    return [_deref(buf, vec + 4 + 4 * i) for i in range(_u32(buf, vec))]


def _bytes_field(buf: bytes, table: int, field: int) -> bytes:
    pos = _field_pos(buf, table, field)
    if not pos:
        return b""
    vec = _deref(buf, pos)
    return bytes(buf[vec + 4: vec + 4 + _u32(buf, vec)])


def read_metadata_entries(model: bytes) -> Dict[str, bytes]:
    """All ``name -> bytes`` metadata entries of a .tflite model."""
    if len(model) < 8 or model[4:8] != b"TFL3":
        raise ModelError("not a TFLite model (no TFL3 identifier)")
    try:
        root = _deref(model, 0)
        buffers = _vector(model, root, _MODEL_BUFFERS)
        entries = {}
        for meta in _vector(model, root, _MODEL_METADATA):
            name = _bytes_field(model, meta, _METADATA_NAME).decode("utf-8", "replace")
            idx_pos = _field_pos(model, meta, _METADATA_BUFFER)
            idx = _u32(model, idx_pos) if idx_pos else 0
            if idx < len(buffers):
                entries[name] = _bytes_field(model, buffers[idx], _BUFFER_DATA)
        return entries
    except (struct.error, IndexError) as exc:
        raise ModelError(f"corrupt TFLite flatbuffer: {exc}") from None
