"""gen_trainer.files — durable file writes, whole-line appends, write errors in words, the
checkpoint completeness marker, and JSON written exactly as JavaScript writes it.

Mirrors runtime/files.ts and runtime/checkpoint-marker.ts (a helper module of the runtime; the
programs themselves use checkpoint.py, logging.py and run.py). What must stay identical:
  - a durable write is: write a temporary sibling ``<path>.tmp-<pid>``, fsync, rename over the
    target; a failed write removes its partial file; ``<path>.tmp-<digits>`` files a killed
    writer left are removed by the next write of the same file;
  - metrics.jsonl is appended in whole lines (one write; cut back to its old length if the
    write fails part-way), and a torn tail (a last line without its newline, or not JSON, or
    NUL bytes) is dropped before a resumed run appends;
  - a write the system refuses becomes a UserError with exit code 74 (EX_IOERR) whose message
    names the file, the cause in words (the same table as files.ts) and the last complete
    checkpoint to resume from;
  - checkpoint.json (the marker) lists every file with its size; ``checkpoint_problem`` gives
    the same reasons as checkpointProblem;
  - ``js_json`` is JSON.stringify (compact, or indented by 2 with ``indent=2``): numbers as
    JavaScript's Number#toString writes them (1 not 1.0, 1e-7, 1e+21), NaN and ±Infinity as null,
    non-ASCII characters unescaped, array-index keys ("0", "12") first in numeric order as a
    JavaScript object orders them; ``sorted_json`` is files.ts's sortedJson (keys sorted at
    every depth, 2-space indent, a final newline), as HF writes trainer_state.json;
  - paths are joined as Node's path.join (``node_join``), so a checkpoint's path in metrics.jsonl
    and trainer_state.json is the string the TypeScript program writes.
"""
from __future__ import annotations

import errno as _errno
import json
import math
import os
import posixpath
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Optional, Union

from .run import UserError

# The exit code of a program stopped by a failed write: EX_IOERR of sysexits.h.
WRITE_ERROR_EXIT_CODE = 74

MARKER = "checkpoint.json"

# Write errors by errno name: the cause in words, and what to do about it (as files.ts).
WRITE_ERRORS = {
    "ENOSPC": ("the disk is full", "Free some space on that disk (or pass --output-dir on another disk)"),
    "EDQUOT": ("the disk quota is exceeded", "Free some space within your quota (or pass --output-dir on another disk)"),
    "EFBIG": ("the file is larger than the file system allows", "Pass --output-dir on another file system"),
    "EIO": ("the disk reported an input/output error", "Check the disk (or pass --output-dir on another disk)"),
    "EROFS": ("the file system is read-only", "Pass --output-dir on a writable disk"),
    "EACCES": ("permission is denied", "Make the folder writable (or pass --output-dir to a writable one)"),
    "EPERM": ("the operation is not permitted", "Make the folder writable (or pass --output-dir to a writable one)"),
    "EMFILE": ("this process has too many open files", "Raise the open-file limit (ulimit -n)"),
    "ENFILE": ("the system has too many open files", "Close other programs or raise the system's open-file limit"),
    "ENOENT": ("its folder no longer exists", "Check that nothing removes the output folder during the run"),
    "ENOTDIR": ("a part of the path is not a folder", "Check the output folder (or pass --output-dir to another one)"),
    "ESTALE": ("the network file handle went stale", "Check the network file system (or pass --output-dir on a local disk)"),
}


# ---------------------------------------------------------------------------------------------
# Paths as Node writes them


def node_join(*parts: str) -> str:
    """Node's path.join on POSIX: joins the non-empty parts with "/" and normalizes the result
    ("." and ".." resolved, repeated slashes collapsed, a trailing slash kept); "" gives "."."""
    joined = "/".join(str(p) for p in parts if str(p) != "")
    if joined == "":
        return "."
    trailing = joined.endswith("/")
    normal = posixpath.normpath(joined)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    if trailing and normal != "/":
        normal += "/"
    return normal


# ---------------------------------------------------------------------------------------------
# Numbers and JSON as JavaScript writes them


def _shortest_digits(x: float):
    """The digits and decimal-point position n of the shortest round-trip form of x > 0 (what
    both repr and ECMAScript's Number::toString pick): x = 0.d1d2...dk × 10^n."""
    sign, digits, exponent = Decimal(repr(x)).as_tuple()
    text = "".join(str(d) for d in digits).lstrip("0")
    stripped = text.rstrip("0")
    exponent += len(text) - len(stripped)
    return stripped, exponent + len(stripped)


def js_number(value: Union[int, float]) -> str:
    """String(value) in JavaScript: 1 for 1.0, 0.1, 1e-7, 1.5e+21, NaN, Infinity, -Infinity."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) < 10**21:
            return str(value)
        value = float(value)
    x = float(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    digits, n = _shortest_digits(abs(x))
    k = len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        body = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + body


def js_to_fixed(value: float, fraction_digits: int) -> str:
    """Number#toFixed: the exact value rounded half away from zero (JavaScript picks the larger n)."""
    x = float(value)
    if not math.isfinite(x) or abs(x) >= 1e21:
        return js_number(x)
    quantum = Decimal(1).scaleb(-fraction_digits)
    text = format(Decimal(abs(x)).quantize(quantum, rounding=ROUND_HALF_UP), "f")
    return ("-" if x < 0 else "") + text  # -0.00001 → "-0.0000", -0 → "0.0000", as JavaScript


def js_to_exponential(value: float, fraction_digits: int) -> str:
    """Number#toExponential: d.ddde±x from the exact value, ties rounded away from zero."""
    x = float(value)
    if not math.isfinite(x):
        return js_number(x)
    sign = "-" if x < 0 else ""
    a = Decimal(abs(x))
    if a == 0:
        return sign + "0" + ("." + "0" * fraction_digits if fraction_digits else "") + "e+0"
    e = a.adjusted()
    mantissa = (a.scaleb(-e)).quantize(Decimal(1).scaleb(-fraction_digits), rounding=ROUND_HALF_UP)
    if mantissa >= 10:  # 9.9996 → 10.000: one more digit of exponent
        e += 1
        mantissa = (a.scaleb(-e)).quantize(Decimal(1).scaleb(-fraction_digits), rounding=ROUND_HALF_UP)
    return f"{sign}{format(mantissa, 'f')}e{'+' if e >= 0 else '-'}{abs(e)}"


_INDEX_KEY = re.compile(r"^(0|[1-9][0-9]*)$")


def _js_key_order(keys):
    """The order of a JavaScript object's own keys: array indices ascending, then insertion order."""
    index = [k for k in keys if _INDEX_KEY.match(k) and int(k) < 2**32 - 1]
    other = [k for k in keys if not (_INDEX_KEY.match(k) and int(k) < 2**32 - 1)]
    return sorted(index, key=int) + other


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _js_string(text: str) -> str:
    """A JSON string as JSON.stringify writes it: only quotes, backslashes and control characters
    escaped (\\u00XX in lowercase hex), lone surrogates as \\udXXX."""
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def _plain(value: Any) -> Any:
    """A torch/numpy scalar as a Python number (anything with .item() and no length)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes, dict, list, tuple)):
        try:
            return value.item()
        except (ValueError, RuntimeError):
            return value.tolist()
    return value


def js_json(value: Any, indent: Optional[int] = None) -> str:
    """JSON.stringify(value) (or JSON.stringify(value, null, indent)): see the module docstring."""

    def write(v: Any, depth: int) -> Optional[str]:
        v = _plain(v)
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, (int, float)):
            if isinstance(v, float) and not math.isfinite(v):
                return "null"
            return js_number(v)
        if isinstance(v, str):
            return _js_string(v)
        pad = "\n" + " " * (indent * (depth + 1)) if indent else ""
        close = "\n" + " " * (indent * depth) if indent else ""
        if isinstance(v, dict):
            by_key = {str(k): x for k, x in v.items()}
            items = []
            for key in _js_key_order(list(by_key)):
                text = write(by_key[key], depth + 1)
                if text is None:  # undefined and functions are left out, as JavaScript does
                    continue
                items.append(_js_string(key) + (": " if indent else ":") + text)
            if not items:
                return "{}"
            return "{" + pad + ("," + pad).join(items) + close + "}"
        if isinstance(v, (list, tuple)):
            if not v:
                return "[]"
            items = [write(x, depth + 1) or "null" for x in v]
            return "[" + pad + ("," + pad).join(items) + close + "]"
        if callable(v):
            return None
        raise TypeError(f"js_json cannot write {type(v).__name__}")

    out = write(value, 0)
    return "null" if out is None else out


def _utf16_key(text: str):
    return text.encode("utf-16-be")


def sorted_json(value: Any) -> str:
    """files.ts's sortedJson: keys sorted (by UTF-16 code units, as Array#sort) at every depth,
    2-space indent, a final newline."""

    def sort(v: Any) -> Any:
        v = _plain(v)
        if isinstance(v, (list, tuple)):
            return [sort(x) for x in v]
        if isinstance(v, dict):
            return {k: sort(v[k]) for k in sorted(v.keys(), key=lambda k: _utf16_key(str(k)))}
        return v

    return js_json(sort(value), indent=2) + "\n"


def js_parse(text: Union[str, bytes]) -> Any:
    """JSON.parse: strict JSON (no NaN or Infinity literals, which Python's json would accept)."""

    def reject(name: str):
        raise ValueError(f"Unexpected token {name[0]} in JSON")

    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    return json.loads(text, parse_constant=reject)


def _parses_as_json(text: str) -> bool:
    try:
        js_parse(text)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# The completeness marker


def checkpoint_problem(dir: str) -> Optional[str]:
    """Why ``dir`` is not a complete checkpoint, or None if it is (checkpointProblem)."""
    marker_path = os.path.join(dir, MARKER)
    if not os.path.exists(marker_path):
        return f"it has no {MARKER} (the completeness marker), so it was not written completely"
    try:
        with open(marker_path, "rb") as f:
            marker = js_parse(f.read())
    except (ValueError, OSError):
        return f"its {MARKER} is not valid JSON"
    files = marker.get("files") if isinstance(marker, dict) else None
    for name, size in (files or {}).items() if isinstance(files, dict) else []:
        path = os.path.join(dir, name)
        if not os.path.exists(path):
            return f"{name} is missing"
        actual = os.stat(path).st_size
        if actual != size:
            return f"{name} has {actual} bytes but {MARKER} records {js_number(size) if isinstance(size, (int, float)) else js_json(size)}"
    return None


_CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")


def latest_complete_checkpoint(output_dir: str) -> Optional[str]:
    """The newest complete checkpoint-<step> folder in ``output_dir`` (by step), or None."""
    try:
        names = os.listdir(output_dir)
    except OSError:
        return None
    best = None
    for name in names:
        match = _CHECKPOINT_NAME.match(name)
        if not match or (best and int(match.group(1)) <= best[0]):
            continue
        dir = node_join(output_dir, name)
        try:
            if checkpoint_problem(dir) is None:
                best = (int(match.group(1)), dir)
        except OSError:
            pass  # unreadable: not a checkpoint to resume from
    return best[1] if best else None


# ---------------------------------------------------------------------------------------------
# Write errors


def is_system_error(error: BaseException) -> bool:
    """Whether ``error`` is an error of a system call (an OSError with an errno)."""
    return isinstance(error, OSError) and isinstance(error.errno, int) and error.errno in _errno.errorcode


def write_failure(path: str, error: BaseException, output_dir: str, failed: Optional[str] = None) -> BaseException:
    """The UserError (exit 74) for a failed write of ``path``, or ``error`` itself when it is not a
    system error (a bug keeps its traceback). Raise what it returns: ``raise write_failure(...) from error``."""
    if isinstance(error, UserError) or not is_system_error(error):
        return error
    if failed is None:
        failed = f"cannot write {path}"
    code = _errno.errorcode[error.errno]
    known = WRITE_ERRORS.get(code)
    cause = f"{known[0]} ({code})" if known else f"the system refused it ({error.strerror or error})"
    remedy = known[1] if known else "Fix the cause (or pass --output-dir on another disk)"
    latest = latest_complete_checkpoint(output_dir)
    follow = (
        f"then continue with --resume {latest}, the last complete checkpoint"
        if latest
        else "then run it again (there is no complete checkpoint to resume from yet)"
    )
    return UserError(f"{failed}: {cause}. {remedy}, {follow}.", WRITE_ERROR_EXIT_CODE)


def remove_quietly(path: str) -> None:
    """Removes a file or folder that a failed write left, if it can; never raises."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.remove(path)
    except OSError:
        pass  # the next write or resume removes it (temporaries are never taken for results)


# ---------------------------------------------------------------------------------------------
# Writes


def write_file_durable(path: str, data: Union[str, bytes, bytearray, memoryview]) -> int:
    """Writes ``data`` to ``path`` and fsyncs it; returns the bytes written. A failed write
    removes the partial file and raises the system error."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    f = open(path, "wb")
    try:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    except BaseException:
        try:
            f.close()
        except OSError:
            pass
        remove_quietly(path)
        raise
    f.close()
    return len(payload)


def remove_stale_temporaries(path: str) -> None:
    """Removes ``<path>.tmp-<pid>`` files that a killed writer of ``path`` left behind."""
    folder = os.path.dirname(path) or "."
    prefix = os.path.basename(path) + ".tmp-"
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        rest = name[len(prefix):]
        if name.startswith(prefix) and rest.isdigit() and rest.isascii():
            try:
                os.remove(os.path.join(folder, name))
            except FileNotFoundError:
                pass


def write_file_atomic(path: str, data: Union[str, bytes]) -> None:
    """Temporary sibling, fsync, rename: a reader sees the old file or the new one, never half."""
    remove_stale_temporaries(path)
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        write_file_durable(temporary, data)
        os.rename(temporary, path)
    except BaseException:
        remove_quietly(temporary)
        raise


def append_whole(path: str, text: str) -> None:
    """Appends ``text`` (whole lines) in one write; a write that fails part-way is cut back to the
    file's previous length, so it never ends in a torn line. Raises the system error."""
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    before = -1
    try:
        before = os.fstat(fd).st_size
        written = os.write(fd, data)
        while written < len(data):  # a short write: the rest, or the error
            written += os.write(fd, data[written:])
    except BaseException:
        if before >= 0:
            try:
                os.ftruncate(fd, before)
            except OSError:
                pass  # the torn tail is dropped when the log is next opened to append
        try:
            os.close(fd)
        except OSError:
            pass
        raise
    os.close(fd)


def drop_torn_tail(path: str) -> int:
    """Cuts a JSON-lines file back to its last whole line (a last line without its newline, or
    that is not JSON, is dropped, NUL bytes included). Only shrinks the file. Returns the bytes dropped."""
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        data = f.read()
    end = len(data)
    while end > 0:
        newline = data.rfind(b"\n", 0, end)
        if newline == end - 1:
            start = data.rfind(b"\n", 0, end - 1) + 1 if end >= 2 else 0
            line = data[start:end - 1].decode("utf-8", errors="replace")
            if line.strip() == "" or _parses_as_json(line):
                break
            end = start
        else:
            end = newline + 1  # no newline at the end: torn
    if end < len(data):
        os.truncate(path, end)
    return len(data) - end
