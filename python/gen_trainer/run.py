"""gen_trainer.run — the run itself: its command line, plain user errors, one run per output
folder, and stopping a diverged run (CTRL-C is interrupt.py's).

Mirrors runtime/run-flags.ts, runtime/user-error.ts, runtime/run-lock.ts and runtime/divergence.ts.
What must stay identical:
  - the flags --max-steps N, --output-dir DIR, --quiet and (in programs that save checkpoints)
    --resume [DIR] ("latest" when it stands alone), with the same checks and messages (exit 2);
    Python's --device auto|cpu|cuda takes the place of --backend;
  - a UserError prints as one line ``error: <message>`` (after an empty line) on stderr, without a
    traceback, and the program exits with its exit code (1 unless given); any other exception
    keeps its traceback and exits 70, as the TypeScript programs do; exit handlers (the lock's)
    run either way;
  - run.lock: ``{"pid":…,"host":…,"started":"<ISO time>"}`` and a newline, created exclusively; a
    live holder on this host is refused with exit 75 naming its pid; a holder on another host is
    never taken over (exit 75); a dead holder's (or an unreadable) lock is taken over with a note;
    the lock is removed at exit, and a run that wrote nothing else leaves no folder behind;
  - a diverged step: a "diverged" event, then a UserError with exit code 65 whose message names
    the step, the values (as JavaScript writes numbers), the cause and the last good checkpoint.
"""
from __future__ import annotations

import atexit
import math
import os
import re
import socket
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, List, Optional, Sequence


class UserError(Exception):
    """An error that is the user's to fix: printed as its message alone, exit code ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class RunFlagError(UserError):
    """A bad flag (exit code 2)."""

    def __init__(self, message: str):
        super().__init__(message, 2)


# Exit code of a program that failed with an error that is not the user's (a bug): EX_SOFTWARE.
BUG_EXIT_CODE = 70

_installed = False


def _exit_now(code: int) -> None:
    """Runs the exit handlers (the lock's), flushes, and exits with ``code``, as process.exit does."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def _report(kind, error, traceback) -> None:
    if isinstance(error, UserError):
        sys.stderr.write(f"\nerror: {error.message}\n")
        _exit_now(error.exit_code)
    if isinstance(error, (KeyboardInterrupt, SystemExit)) or not isinstance(error, Exception):
        sys.__excepthook__(kind, error, traceback)
        return
    sys.__excepthook__(kind, error, traceback)  # a bug keeps its traceback
    _exit_now(BUG_EXIT_CODE)


def report_user_errors_plainly() -> None:
    """Installs the process-wide hook that prints UserErrors as plain ``error:`` lines."""
    global _installed
    if _installed:
        return
    _installed = True
    sys.excepthook = _report


# ---------------------------------------------------------------------------------------------
# Flags

DEVICE_CHOICES = ("auto", "cpu", "cuda")


@dataclass
class RunFlags:
    max_steps: Optional[int]
    output_dir: Optional[str]
    device: str
    quiet: bool
    # None: a fresh run; "latest": the newest checkpoint; otherwise a checkpoint folder.
    resume: Optional[str]


def _js_number_of(text: str) -> float:
    """Number(text) in JavaScript (NaN when it is not a number)."""
    s = text.strip()
    if s == "":
        return 0.0
    if re.fullmatch(r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+", s):
        return float(int(s, 0))
    if re.fullmatch(r"[+-]?Infinity", s):
        return math.inf if not s.startswith("-") else -math.inf
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
        return float(s)
    return math.nan


def _parse(args: Sequence[str], options: dict) -> dict:
    """Node's util.parseArgs in strict mode without positionals, with its messages."""
    values: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            if i + 1 < len(args):
                raise ValueError(f"Unexpected argument '{args[i + 1]}'. This command does not take positional arguments")
            break
        if not arg.startswith("-") or arg == "-":
            raise ValueError(f"Unexpected argument '{arg}'. This command does not take positional arguments")
        if not arg.startswith("--"):
            raise ValueError(f"Unknown option '{arg[:2]}'")
        name, has_value, inline = arg[2:].partition("=")
        kind = options.get(name)
        if kind is None:
            raise ValueError(f"Unknown option '--{name}'")
        if kind == "boolean":
            if has_value:
                raise ValueError(f"Option '--{name}' does not take an argument")
            values[name] = True
        elif has_value:
            values[name] = inline
        else:
            if i + 1 >= len(args):
                raise ValueError(f"Option '--{name} <value>' argument missing")
            following = args[i + 1]
            if following.startswith("-"):
                raise ValueError(
                    f"Option '--{name}' argument is ambiguous.\nDid you forget to specify the option argument for '--{name}'?\n"
                    f"To specify an option argument starting with a dash use '--{name}=-XYZ'."
                )
            values[name] = following
            i += 1
        i += 1
    return values


def usage(resume: bool) -> str:
    return (
        f"usage: python3 train.py [--max-steps N] [--output-dir DIR] [--device {'|'.join(DEVICE_CHOICES)}] [--quiet]"
        + (" [--resume [CHECKPOINT_DIR]]" if resume else "")
    )


def parse_run_flags(argv: Sequence[str], resume: bool) -> RunFlags:
    """Parses the program's flags (``sys.argv[1:]``); from here on, UserErrors print plainly."""
    report_user_errors_plainly()
    argv = list(argv)
    args: List[str] = []
    for i, arg in enumerate(argv):
        # `--resume` may stand alone: then it means the newest checkpoint.
        alone = arg == "--resume" and (i + 1 >= len(argv) or argv[i + 1].startswith("--"))
        args.append("--resume=latest" if alone else arg)
    options = {"max-steps": "string", "output-dir": "string", "device": "string", "quiet": "boolean", "help": "boolean"}
    if resume:
        options["resume"] = "string"
    try:
        values = _parse(args, options)
    except ValueError as error:
        hint = (
            ' This program saves no checkpoints (its spec has saveStrategy "no"), so it cannot resume.'
            if not resume and any(a.startswith("--resume") for a in argv)
            else ""
        )
        raise RunFlagError(f"{error}.{hint}") from None
    if values.get("help"):
        sys.stdout.write(usage(resume) + "\n")
        sys.stdout.flush()
        sys.exit(0)
    max_steps_text = values.get("max-steps")
    max_steps = None
    if max_steps_text is not None:
        number = _js_number_of(max_steps_text)
        if not (math.isfinite(number) and number == int(number) and number >= 1):
            raise RunFlagError(f'--max-steps must be a positive integer, got "{max_steps_text}".')
        max_steps = int(number)
    device = values.get("device", "auto")
    if device not in DEVICE_CHOICES:
        raise RunFlagError(f'--device must be one of {", ".join(DEVICE_CHOICES)}, got "{device}".')
    return RunFlags(
        max_steps=max_steps,
        output_dir=values.get("output-dir"),
        device=device,
        quiet=bool(values.get("quiet", False)),
        resume=values.get("resume"),
    )


# ---------------------------------------------------------------------------------------------
# run.lock

LOCK_FILE = "run.lock"
LOCK_REFUSED_EXIT_CODE = 75


@dataclass
class RunLock:
    path: str
    # A note for the log when a stale lock was taken over, else None.
    note: Optional[str]


def _iso_now() -> str:
    """new Date().toISOString(): 2024-05-01T12:34:56.789Z."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _running(pid: int) -> bool:
    """Whether a process with this pid runs on this host."""
    try:
        os.kill(pid, 0)
        return True
    except PermissionError:
        return True  # exists, but not ours to signal
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except OSError:
        return False


def _read_holder(path: str) -> Optional[dict]:
    try:
        from .files import js_parse

        with open(path, "rb") as f:
            holder = js_parse(f.read())
    except (OSError, ValueError):
        return None  # torn or unreadable: written by a run killed mid-write
    if not isinstance(holder, dict):
        return None
    pid, host = holder.get("pid"), holder.get("host")
    if isinstance(pid, bool) or not isinstance(pid, (int, float)) or not isinstance(host, str):
        return None
    return holder


def _create(path: str, holder: dict) -> bool:
    """Creates the lock file exclusively; False when it exists."""
    from .files import js_json

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    except OSError as error:
        import errno as _errno

        code = _errno.errorcode.get(error.errno, error.strerror or str(error))
        raise UserError(f"cannot create {path}: {code}; the output folder must be writable (or pass --output-dir DIR).") from None
    try:
        os.write(fd, (js_json(holder) + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return True


def _make_dirs(path: str) -> Optional[str]:
    """mkdirSync(path, { recursive: true }): creates the folders; returns the first one it created."""
    absolute = os.path.abspath(path)
    first = None
    probe = absolute
    while not os.path.exists(probe):
        first = probe
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    os.makedirs(absolute, exist_ok=True)
    return first


def lock_output_dir(output_dir: str) -> RunLock:
    """Takes the output folder's lock (creating the folder), or raises a UserError naming the holder."""
    from .files import node_join

    try:
        created = _make_dirs(output_dir)
    except OSError as error:
        raise UserError(f"cannot create {output_dir}: {error.strerror or error}; pass --output-dir DIR to write elsewhere.") from None
    path = node_join(output_dir, LOCK_FILE)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": _iso_now()}
    note = None
    attempt = 0
    while not _create(path, me):
        holder = _read_holder(path)
        if holder is not None and holder["host"] != me["host"]:
            raise UserError(
                f"{output_dir} is in use by pid {_js(holder['pid'])} on host {holder['host']} (since {_js(holder.get('started'))}), "
                f"which cannot be checked from here. Wait for that run to end, use another --output-dir, or, if it is no longer running, delete {path}.",
                LOCK_REFUSED_EXIT_CODE,
            )
        if holder is not None and holder["pid"] != me["pid"] and _running(int(holder["pid"])):
            raise UserError(
                f"{output_dir} is in use by another run: pid {_js(holder['pid'])} on this host, started {_js(holder.get('started'))}. "
                "Wait for it to end, or pass --output-dir DIR to write elsewhere.",
                LOCK_REFUSED_EXIT_CODE,
            )
        if attempt > 0:
            raise UserError(f"cannot take the lock {path}: another run keeps creating it; try again.", LOCK_REFUSED_EXIT_CODE)
        note = (
            f"took over the lock of pid {_js(holder['pid'])} (started {_js(holder.get('started'))}), which is no longer running"
            if holder is not None
            else f"replaced the unreadable lock {path} left by a killed run"
        )
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        attempt += 1

    def release() -> None:
        # Released at exit, whatever the cause; kill -9 leaves it, and the next run takes it over.
        holder = _read_holder(path)
        if holder is None or holder["pid"] != me["pid"]:
            return
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        # A run that wrote nothing else (e.g. --resume with no checkpoint) leaves no folder behind.
        try:
            if created is not None and not os.listdir(output_dir):
                import shutil

                shutil.rmtree(created, ignore_errors=True)
        except OSError:
            pass

    atexit.register(release)
    return RunLock(path=path, note=note)


def _js(value: Any) -> str:
    """`${value}` in JavaScript, for values read from JSON."""
    if value is None:
        return "undefined"  # a field the lock file lacks
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        from .files import js_number

        return js_number(value)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Divergence

# Exit code of a diverged run (EX_DATAERR: the run's numbers, not the program, went wrong).
DIVERGED_EXIT_CODE = 65


@dataclass
class StepValues:
    loss: float
    grad_norm: float


def step_values(loss, params: Optional[Iterable] = None, norm=None) -> StepValues:
    """The step's loss and global gradient norm in one read (one device sync); ``norm``: the norm
    clipping already computed, else the norm of the gradients of ``params`` (gradients.global_norm)."""
    import torch

    if norm is None:
        from .gradients import global_norm

        norm = global_norm(params)
    loss_t = loss.detach().reshape(()).to(torch.float32) if torch.is_tensor(loss) else torch.tensor(float(loss))
    norm_t = norm.detach().reshape(()).to(torch.float32) if torch.is_tensor(norm) else torch.tensor(float(norm))
    values = torch.stack([loss_t, norm_t.to(loss_t.device)]).tolist()
    return StepValues(loss=float(values[0]), grad_norm=float(values[1]))


def is_finite_step(values: StepValues) -> bool:
    return math.isfinite(values.loss) and math.isfinite(values.grad_norm)


def stop_diverged(step: int, values: StepValues, output_dir: str, log, cause: str):
    """Ends a diverged run: records the event, then raises the UserError (exit 65); never returns."""
    from .checkpoint import list_checkpoints
    from .files import js_number

    if log is not None:
        log.event("diverged", step, {"loss": values.loss, "grad_norm": values.grad_norm, "cause": cause})
        log.close()
    complete = list_checkpoints(output_dir).complete
    last = complete[-1] if complete else None
    resume = (
        f"the last good checkpoint is {last.dir} (continue from it with --resume {last.dir})" if last else "no checkpoint had been saved"
    )
    raise UserError(
        f"training diverged at step {step}: {cause} (loss {js_number(values.loss)}, gradient norm {js_number(values.grad_norm)}). "
        f"This step was not applied and nothing after it was saved; {resume}. "
        "Lower args.learningRate, clip gradients (args.maxGradNorm), or add warmup (args.warmupSteps).",
        DIVERGED_EXIT_CODE,
    )
