"""gen_trainer.logging — what a run reports, and where.

Mirrors runtime/logging.ts. What must stay identical (so that `gen-trainer report` and any reader
of metrics.jsonl or trainer_state.json treat a Python run as a TypeScript one):
  - every train and eval entry goes to ``history`` (HF's log_history) as ``{**values, "step": n}``;
  - metrics.jsonl: one JSON object per line, ``{"type": …, **entry}`` for train and eval,
    ``{"type": …, "step": n, **fields}`` for other events (sample, save, diverged, summary), written
    as JSON.stringify writes it (files.js_json: NaN and ±Infinity as null, 1 not 1.0); each line
    appended whole (files.append_whole); a log opened to append first drops a torn tail; a failed
    write is a UserError with exit code 74;
  - console lines: ``step 1/1000 | loss 2.6724 | learning_rate 3.000e-5 | … | eta 1m05s`` (epoch
    left out; integers as they are, |x| < 1e-3 or ≥ 1e5 as toExponential(3), else toFixed(4)),
    ``[step 200] eval: eval_loss 1.2345 | …``, events' own lines, ``trained to step N in 12s``;
    on a terminal a progress bar ``[#####---------------] `` is redrawn in place;
  - resume_from(step, history) keeps the checkpoint's history and cuts metrics.jsonl back to the
    entries up to ``step``;
  - summary's train_runtime: seconds since the log was created, rounded to 3 decimals.
With GEN_TRAINER_TRACE_TENSORS=1 each train entry also records rss_mb and open_fds (Linux), as the
TypeScript runtime does (it adds num_tensors, tfjs's live tensors, which torch has no counterpart of).
"""
from __future__ import annotations

import math
import os
import sys
import time
from typing import Any, Dict, List, Mapping, Optional, Union

from .files import append_whole, drop_torn_tail, js_json, js_number, js_parse, js_to_exponential, js_to_fixed, node_join, remove_quietly, write_failure

LogValue = Union[int, float, str]


def _value(v: Any) -> Any:
    """A tensor (or numpy) scalar as a Python number; anything else as it is."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        return v.item()
    return v


def _is_integer(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    return isinstance(v, float) and math.isfinite(v) and v.is_integer()


def format_value(value: LogValue) -> str:
    """logging.ts's format(): how a console line writes a value."""
    value = _value(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_integer(value):
        return js_number(value)
    a = abs(float(value))
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return js_to_exponential(value, 3)
    return js_to_fixed(value, 4)


def _js_round(x: float) -> int:
    """Math.round: halves go up."""
    return math.floor(x + 0.5)


def duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = _js_round(seconds)
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class TrainingLog:
    """The run's log: ``history`` (HF's log_history), metrics.jsonl and the console."""

    def __init__(self, output_dir: str, console: bool, jsonl: bool, max_steps: int, append: bool = False):
        self.output_dir = output_dir
        self.console = console
        self.jsonl = jsonl
        self.max_steps = max_steps
        self.append_mode = append
        self.history: List[Dict[str, Any]] = []
        self.jsonl_path = node_join(output_dir, "metrics.jsonl")
        try:
            self.tty = bool(sys.stdout.isatty())
        except (AttributeError, ValueError):
            self.tty = False
        self.started_at = time.perf_counter()
        self.start_step = 0
        self.progress_shown = False
        self.progress_fields = ""
        self.last_draw = -math.inf
        self.trace = os.environ.get("GEN_TRAINER_TRACE_TENSORS") == "1"
        try:
            os.makedirs(output_dir, exist_ok=True)
            if jsonl and not append:
                with open(self.jsonl_path, "wb"):
                    pass
            elif jsonl:
                # A resumed run appends: first drop a last line torn by a kill or a full disk.
                drop_torn_tail(self.jsonl_path)
        except BaseException as error:
            failure = write_failure(self.jsonl_path, error, output_dir)
            if failure is error:
                raise
            raise failure from None

    def resume_from(self, step: int, history: List[Dict[str, Any]]) -> None:
        """Continues the log of a run resumed at ``step``: the history saved with its checkpoint,
        and metrics.jsonl cut back to the events up to that step (later ones were of lost work)."""
        self.history[:] = list(history)
        self.start_step = step
        if not self.jsonl or not os.path.exists(self.jsonl_path):
            return
        with open(self.jsonl_path, "rb") as f:
            data = f.read()
        kept_lines = []
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                entry = js_parse(line)
            except ValueError:
                continue  # a line torn by the kill
            at = entry.get("step") if isinstance(entry, dict) else None
            if isinstance(at, (int, float)) and not isinstance(at, bool) and at <= step:
                kept_lines.append(line + b"\n")
        kept = b"".join(kept_lines)
        temporary = f"{self.jsonl_path}.tmp-{os.getpid()}"
        try:
            # Usually the kept lines are the file's beginning: cutting needs no space (a full disk).
            if data.startswith(kept):
                os.truncate(self.jsonl_path, len(kept))
            else:
                with open(temporary, "wb") as f:
                    f.write(kept)
                os.rename(temporary, self.jsonl_path)
        except BaseException as error:
            remove_quietly(temporary)
            failure = write_failure(self.jsonl_path, error, self.output_dir)
            if failure is error:
                raise
            raise failure from None

    def start_at(self, step: int) -> None:
        """Tells the ETA where this process started (a resumed run starts mid-way)."""
        self.start_step = step

    def _eta(self, step: int) -> str:
        elapsed = time.perf_counter() - self.started_at
        return duration((self.max_steps - step) * elapsed / max(1, step - self.start_step))

    @staticmethod
    def _fields(values: Mapping[str, Any]) -> str:
        return " | ".join(f"{k} {format_value(v)}" for k, v in values.items() if k != "epoch")

    def train(self, step: int, values: Mapping[str, LogValue]) -> Dict[str, Any]:
        """A training log line: loss (mean since the last one), learning_rate, grad_norm, ..."""
        values = {k: _value(v) for k, v in values.items()}
        entry: Dict[str, Any] = {**values, "step": step}
        if self.trace:
            entry["rss_mb"] = _rss_mb()
            if os.path.exists("/proc/self/fd"):
                entry["open_fds"] = len(os.listdir("/proc/self/fd"))
        self.history.append(entry)
        self._write("train", entry)
        if not self.console:
            return entry
        fields = self._fields(values)
        self.progress_fields = fields
        self._print(f"{self._bar(step) if self.tty else ''}step {step}/{self.max_steps} | {fields} | eta {self._eta(step)}", True)
        return entry

    def tick(self, step: int) -> None:
        """Called after every step: on a terminal, redraws the progress bar (at most 5 times a
        second) with the step count and ETA; elsewhere it does nothing."""
        if not self.tty or not self.console:
            return
        now = time.perf_counter()
        if now - self.last_draw < 0.2 and step < self.max_steps:
            return
        self.last_draw = now
        extra = f" | {self.progress_fields}" if self.progress_fields else ""
        self._print(f"{self._bar(step)}step {step}/{self.max_steps}{extra} | eta {self._eta(step)}", True)

    def _bar(self, step: int) -> str:
        width = 20
        done = min(width, _js_round(width * step / max(1, self.max_steps)))
        return f"[{'#' * done}{'-' * (width - done)}] "

    def eval(self, step: int, metrics: Mapping[str, LogValue]) -> Dict[str, Any]:
        """Evaluation metrics (eval_loss, eval_exact_match, ...)."""
        metrics = {k: _value(v) for k, v in metrics.items()}
        entry = {**metrics, "step": step}
        self.history.append(entry)
        self._write("eval", entry)
        if self.console:
            self._print(f"[step {step}] eval: {self._fields(metrics)}", False)
        return entry

    def event(self, type: str, step: int, fields: Mapping[str, Any], console_line: Optional[str] = None) -> None:
        """Any other event (sample, save, diverged): metrics.jsonl only, plus an optional console line."""
        if self.jsonl:
            self._append(js_json({"type": type, "step": step, **fields}) + "\n")
        if console_line is not None and self.console:
            self._print(console_line, False)

    def summary(self, step: int) -> None:
        """The end of training: HF's train_runtime (seconds since this log started), as a "summary"
        event and a console line."""
        seconds = time.perf_counter() - self.started_at
        self.event("summary", step, {"train_runtime": float(js_to_fixed(seconds, 3))}, f"trained to step {step} in {duration(seconds)}")

    def message(self, text: str) -> None:
        """A plain message (start, end, where files went)."""
        if self.console:
            self._print(text, False)

    def _write(self, type: str, entry: Mapping[str, Any]) -> None:
        if self.jsonl:
            self._append(js_json({"type": type, **entry}) + "\n")

    def _append(self, line: str) -> None:
        """Appends one whole line to metrics.jsonl (nothing of it if the write fails)."""
        try:
            append_whole(self.jsonl_path, line)
        except BaseException as error:
            self.close()
            failure = write_failure(self.jsonl_path, error, self.output_dir)
            if failure is error:
                raise
            raise failure from None

    def _print(self, line: str, progress: bool) -> None:
        if not self.tty:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
            return
        # On a terminal the progress line is rewritten in place; other lines scroll above it.
        sys.stdout.write(f"\r\x1b[2K{line}{'' if progress else chr(10)}")
        sys.stdout.flush()
        self.progress_shown = progress

    def close(self) -> None:
        """Ends a pending progress line so the next output starts on a fresh line."""
        if self.tty and self.progress_shown:
            sys.stdout.write("\n")
            sys.stdout.flush()
        self.progress_shown = False


def _rss_mb() -> int:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return _js_round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6)
    except (OSError, ValueError, IndexError):
        import resource

        return _js_round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6)
