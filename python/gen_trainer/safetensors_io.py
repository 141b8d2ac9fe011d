"""gen_trainer.safetensors_io — reading and writing the safetensors format, without the
`safetensors` package (torch only).

Mirrors runtime/safetensors.ts. What must stay identical (so that either program reads the
other's files, and the same tensors and metadata give the same bytes):
  - the layout: bytes 0..8 the header length N (unsigned 64-bit little-endian); then N bytes of
    UTF-8 JSON, padded with spaces so that 8+N is a multiple of 8:
    {"__metadata__":{…strings…},"<name>":{"dtype":"F32","shape":[2,3],"data_offsets":[b,e]},…}
    (compact JSON as JSON.stringify writes it, __metadata__ first, tensors in the given order);
    then the little-endian data, each tensor where the previous one ended;
  - only F32 (torch.float32) and I32 (torch.int32), the dtypes of tfjs;
  - decoding validates what runtime/safetensors.ts validates (header length, UTF-8, JSON object,
    metadata strings, dtype, shape, data_offsets in range and of the right size, tensors tiling
    the buffer exactly) and raises SafetensorsError with the same messages, naming the file;
  - a file is written and fsynced before it is closed; a failed write removes the partial file
    and raises the system error (callers turn it into a message: files.write_failure).

``write_safetensors(path, tensors, metadata)`` takes a dict of torch tensors (any device; they are
copied to the CPU); ``read_safetensors(path)`` returns ``(tensors, metadata)``: CPU tensors in the
file's order and the ``__metadata__`` strings.
"""
from __future__ import annotations

import errno as _errno
import os
import struct
import sys
from typing import Dict, Mapping, Optional, Tuple

import torch

from .files import js_json, js_number, write_file_durable

__all__ = [
    "SafetensorsError",
    "encode_safetensors",
    "decode_safetensors",
    "write_safetensors",
    "read_safetensors",
]


class SafetensorsError(Exception):
    """Any problem with a safetensors file or with tensors given to the encoder."""


DTYPE_SIZE = {"F32": 4, "I32": 4}
TORCH_DTYPE = {"F32": torch.float32, "I32": torch.int32}
# The other dtypes of the format, to tell "unsupported" from "not a dtype at all".
OTHER_DTYPES = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "U32", "F64", "I64", "U64"]
# The Rust reader refuses larger headers (it guards against reading a huge JSON).
MAX_HEADER_BYTES = 100_000_000
LITTLE_ENDIAN = sys.byteorder == "little"


def _element_count(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _shape_text(shape) -> str:
    """`${shape}` of a JavaScript array: its items joined by commas."""
    return ",".join(js_number(d) if isinstance(d, (int, float)) and not isinstance(d, bool) else js_json(d) for d in shape)


def _dtype_of(name: str, t: torch.Tensor) -> str:
    if t.dtype == torch.float32:
        return "F32"
    if t.dtype == torch.int32:
        return "I32"
    raise SafetensorsError(
        f'tensor "{name}" has dtype {str(t.dtype).replace("torch.", "")}; only float32 and int32 tensors can be saved '
        "(cast it with t.float() or t.int())."
    )


def _tensor_bytes(t: torch.Tensor, dtype: str, target: bytearray, position: int) -> None:
    """Copies the values of ``t`` (contiguous, CPU) into ``target`` at ``position``, little-endian."""
    n = t.numel()
    if n == 0:
        return
    if LITTLE_ENDIAN:
        view = torch.frombuffer(target, dtype=TORCH_DTYPE[dtype], count=n, offset=position)
        view.copy_(t.reshape(-1))
        return
    code = "f" if dtype == "F32" else "i"
    target[position:position + 4 * n] = struct.pack(f"<{n}{code}", *t.reshape(-1).tolist())


# ---------------------------------------------------------------------------------------------
# Encoding


def encode_safetensors(tensors: Mapping[str, torch.Tensor], metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """Serializes tensors (in key order) and optional string metadata into safetensors bytes."""
    header: Dict[str, object] = {}
    if metadata is not None:
        for key, value in metadata.items():
            if not isinstance(value, str):
                raise SafetensorsError(f'safetensors metadata "{key}" must be a string, got {type(value).__name__}; convert it with str(value).')
        header["__metadata__"] = dict(metadata)
    prepared = []
    offset = 0
    for name, t in tensors.items():
        if name == "__metadata__":
            raise SafetensorsError('"__metadata__" is reserved by the safetensors format and cannot name a tensor.')
        if not torch.is_tensor(t):
            raise SafetensorsError(f'tensor "{name}": expected a torch.Tensor, got {type(t).__name__}.')
        dtype = _dtype_of(name, t)
        data = t.detach().to("cpu").contiguous()
        shape = list(data.shape)
        end = offset + data.numel() * DTYPE_SIZE[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, end]}
        prepared.append((data, dtype))
        offset = end
    # Compact JSON, then spaces up to the next multiple of 8 (so the buffer is 8-byte aligned).
    json_bytes = js_json(header).encode("utf-8")
    header_length = -(-(8 + len(json_bytes)) // 8) * 8 - 8
    out = bytearray(8 + header_length + offset)
    out[0:8] = struct.pack("<Q", header_length)
    out[8:8 + len(json_bytes)] = json_bytes
    out[8 + len(json_bytes):8 + header_length] = b" " * (header_length - len(json_bytes))
    position = 8 + header_length
    for data, dtype in prepared:
        _tensor_bytes(data, dtype, out, position)
        position += data.numel() * DTYPE_SIZE[dtype]
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Decoding


def _is_safe_integer(v) -> bool:
    """Number.isSafeInteger for a value parsed from JSON."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return abs(v) <= 2**53 - 1
    if isinstance(v, float):
        return v.is_integer() and abs(v) <= 2**53 - 1
    return False


def _type_name(v) -> str:
    return "string" if isinstance(v, str) else "number" if isinstance(v, (int, float)) and not isinstance(v, bool) else "boolean" if isinstance(v, bool) else "object"


def decode_safetensors(data: bytes, file_name: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Parses and validates safetensors bytes; ``file_name`` is only used in error messages."""

    def fail(problem: str):
        raise SafetensorsError(f"{file_name}: {problem}")

    if len(data) < 8:
        fail(f"the file has only {len(data)} bytes, fewer than the 8-byte header length of a safetensors file; it is truncated or not a safetensors file (write it again).")
    (claimed,) = struct.unpack("<Q", bytes(data[0:8]))
    if claimed > len(data) - 8:
        fail(f"the header claims {claimed} bytes but the file has only {len(data) - 8} after the 8-byte length; the file is truncated or not a safetensors file (write it again).")
    header_length = claimed
    if header_length > MAX_HEADER_BYTES:
        fail(f"the header has {header_length} bytes, more than the {MAX_HEADER_BYTES} the safetensors readers accept.")
    try:
        text = bytes(data[8:8 + header_length]).decode("utf-8")
    except UnicodeDecodeError:
        fail("the header is not valid UTF-8; the file is damaged or not a safetensors file.")
    if text.startswith("\ufeff"):  # TextDecoder drops a byte-order mark
        text = text[1:]
    if not text.startswith("{"):
        fail('the header does not start with "{"; the file is damaged or not a safetensors file.')
    from .files import js_parse

    try:
        header = js_parse(text)
    except ValueError as error:
        fail(f"the header is not valid JSON ({error}); the file is damaged or not a safetensors file.")
    if not isinstance(header, dict):
        fail("the header is not a JSON object.")

    buffer_start = 8 + header_length
    buffer_length = len(data) - buffer_start
    metadata: Dict[str, str] = {}
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            if not isinstance(info, dict):
                fail('"__metadata__" must be an object of strings.')
            for key, value in info.items():
                if not isinstance(value, str):
                    fail(f'"__metadata__"."{key}" must be a string, got {js_json(value)}.')
                metadata[key] = value
            continue
        where = f'tensor "{name}"'
        if not isinstance(info, dict):
            fail(f"{where}: the entry must be an object with dtype, shape and data_offsets.")
        missing = [k for k in ("dtype", "shape", "data_offsets") if k not in info]
        if missing:
            fail(f"{where}: the entry has no {', '.join(missing)}.")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in ("F32", "I32"):
            if isinstance(dtype, str) and dtype in OTHER_DTYPES:
                fail(f"{where}: dtype {dtype} is not supported; only F32 and I32 can be loaded into TensorFlow.js. Convert it before saving (in torch: tensor.float()).")
            fail(f"{where}: {js_json(dtype)} is not a safetensors dtype.")
        if not isinstance(shape, list) or not all(_is_safe_integer(d) and d >= 0 for d in shape):
            fail(f"{where}: shape {js_json(shape)} must be an array of non-negative integers.")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_safe_integer(o) and o >= 0 for o in offsets):
            fail(f"{where}: data_offsets {js_json(offsets)} must be two non-negative integers [begin, end].")
        shape = [int(d) for d in shape]
        begin, end = int(offsets[0]), int(offsets[1])
        if begin > end:
            fail(f"{where}: data_offsets [{begin}, {end}] end before they begin.")
        if end > buffer_length:
            fail(f"{where}: data_offsets [{begin}, {end}] are out of range: the data buffer has only {buffer_length} bytes (the file is truncated).")
        size = DTYPE_SIZE[dtype]
        count = _element_count(shape)
        if end - begin != count * size:
            fail(f"{where}: data_offsets [{begin}, {end}] span {end - begin} bytes but shape [{_shape_text(shape)}] of {dtype} needs {count} × {size} = {count * size}.")
        entries.append((name, dtype, shape, begin, end))

    # The tensors must tile the buffer exactly: no gap, no overlap, nothing left over.
    expected = 0
    for name, _dtype, _shape, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin < expected:
            fail(f'tensor "{name}": data_offsets [{begin}, {end}] overlap the previous tensor, which ends at {expected}.')
        if begin > expected:
            fail(f'tensor "{name}": data_offsets [{begin}, {end}] leave a gap: the previous tensor ends at {expected}; the data must be contiguous.')
        expected = end
    if expected != buffer_length:
        fail(f"the tensors cover {expected} bytes of the {buffer_length}-byte data buffer; the remaining {buffer_length - expected} bytes belong to no tensor (the file is damaged).")

    tensors: Dict[str, torch.Tensor] = {}
    for name, dtype, shape, begin, end in entries:
        tensors[name] = _read_tensor(data, buffer_start + begin, end - begin, dtype, shape)
    return tensors, metadata


def _read_tensor(data, position: int, byte_length: int, dtype: str, shape) -> torch.Tensor:
    """A fresh CPU tensor from little-endian bytes (a copy, never a view of the file's buffer)."""
    n = byte_length // DTYPE_SIZE[dtype]
    if n == 0:
        return torch.zeros(shape, dtype=TORCH_DTYPE[dtype])
    chunk = bytearray(data[position:position + byte_length])
    if LITTLE_ENDIAN:
        return torch.frombuffer(chunk, dtype=TORCH_DTYPE[dtype]).clone().reshape(shape)
    code = "f" if dtype == "F32" else "i"
    return torch.tensor(struct.unpack(f"<{n}{code}", bytes(chunk)), dtype=TORCH_DTYPE[dtype]).reshape(shape)


# ---------------------------------------------------------------------------------------------
# Files


def write_safetensors(path: str, tensors: Mapping[str, torch.Tensor], metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes tensors to ``path`` and fsyncs before closing, so that a following rename (done by
    the caller, for atomic replacement) never exposes a half-written file after a crash. A write
    that fails (a full disk) removes the partial file and raises the system error."""
    write_file_durable(path, encode_safetensors(tensors, metadata))


def _node_message(error: OSError, path: str) -> str:
    """The message Node gives a failed open: "ENOENT: no such file or directory, open 'x'"."""
    code = _errno.errorcode.get(error.errno or 0)
    if code is None:
        return str(error)
    return f"{code}: {(error.strerror or '').lower()}, open '{path}'"


def read_safetensors(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    """Reads and validates a safetensors file; any problem (a missing file too) is a SafetensorsError."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise SafetensorsError(f"{path}: cannot be read ({_node_message(error, path)}).") from error
    return decode_safetensors(data, path)
