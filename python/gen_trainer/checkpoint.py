"""gen_trainer.checkpoint — checkpoints: atomic save, rotation, exact resume; the final model and
trainer_state.json.

Mirrors runtime/checkpoint.ts, runtime/checkpoint-marker.ts (via files.checkpoint_problem),
runtime/model-io.ts (writeModel) and runtime/trainer-state.ts. What must stay identical, so that
a checkpoint written by either program resumes in the other:
  - the layout: <output_dir>/checkpoint-<step>/ holding
      model.safetensors       float32 weights by parameter name, metadata {"format": "pt"}
      optimizer.safetensors   AdamW moments "m.<param>", "v.<param>", metadata {"step": "<t>"}
      trainer_state.json      HF's fields, keys sorted at every depth, 2-space indent
      resume_state.json       {sampler: {epoch, position}, schedulerStep, skippedSteps?,
                               scaler?: {scale, growthTracker} | null, lossMean?: {sum, count}}
      checkpoint.json         the completeness marker {"files": {name: bytes}, "global_step"},
                              written last
    (a model-only save — optimizer None, resume None — has model.safetensors, trainer_state.json
    and the marker);
  - atomicity: everything goes into .checkpoint-<step>.tmp-<pid>, each file fsynced, then the
    folder is renamed to checkpoint-<step> (an existing one is first moved aside to
    ...-old, and moved back if the new one never got there); rotation renames to ...-deleted
    before removing; temporary folders are removed (with a note on stderr) by the next save or
    resume; a checkpoint-<step> whose files do not match its marker is reported and skipped,
    never deleted;
  - rotation keeps the ``limit`` newest complete checkpoints by step, the protected ones (the
    best) and always the latest;
  - --resume latest (the newest complete checkpoint) or a folder, with the same messages;
  - loading checks everything (weights' names, shapes and dtype, moments, step, data-order and
    loss-scaler state) before it changes anything, and reports problems as UserErrors with the
    same messages; a failed write is a UserError with exit code 74 (files.write_failure).
"""
from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

import torch

from .files import (
    MARKER,
    checkpoint_problem,
    js_json,
    js_number,
    js_parse,
    node_join,
    remove_quietly,
    remove_stale_temporaries,
    sorted_json,
    write_failure,
    write_file_atomic,
    write_file_durable,
)
from .run import UserError
from .safetensors_io import SafetensorsError, read_safetensors, write_safetensors

__all__ = [
    "CheckpointEntry",
    "DamagedCheckpoint",
    "CheckpointListing",
    "LoadedCheckpoint",
    "checkpoint_dir",
    "checkpoint_problem",
    "save_checkpoint",
    "list_checkpoints",
    "rotate_checkpoints",
    "find_resume_checkpoint",
    "remove_temporary_checkpoints",
    "load_checkpoint",
    "load_model_weights",
    "write_model",
    "trainer_state",
    "write_trainer_state",
    "scaler_state",
]

_NAME = re.compile(r"^checkpoint-(\d+)$")
_TEMPORARY = re.compile(r"^\.checkpoint-(\d+)\.tmp-\d+(-old|-deleted)?$")


@dataclass
class CheckpointEntry:
    step: int
    dir: str


@dataclass
class DamagedCheckpoint:
    dir: str
    reason: str


@dataclass
class CheckpointListing:
    # Complete checkpoints, oldest step first.
    complete: List[CheckpointEntry] = field(default_factory=list)
    # checkpoint-<n> folders that are not complete, with why.
    damaged: List[DamagedCheckpoint] = field(default_factory=list)


@dataclass
class LoadedCheckpoint:
    dir: str
    global_step: int
    trainer_state: Dict[str, Any]
    resume: Dict[str, Any]


def _listdir(path: str) -> List[str]:
    """readdirSync: the names sorted by their bytes (libuv sorts them)."""
    return sorted(os.listdir(path), key=os.fsencode)


def _note(text: str) -> None:
    sys.stderr.write(f"note: {text}\n")
    sys.stderr.flush()


def checkpoint_dir(output_dir: str, step: int) -> str:
    """<output_dir>/checkpoint-<step>: where the checkpoint of ``step`` goes."""
    return node_join(output_dir, f"checkpoint-{step}")


def _cpu(named: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {name: t.detach() for name, t in named.items()}


# ---------------------------------------------------------------------------------------------
# Saving


def remove_temporary_checkpoints(output_dir: str) -> List[str]:
    """Removes temporary folders left by killed saves; returns their names. An "-old" folder goes
    back to its place if the new checkpoint never got there."""
    if not os.path.exists(output_dir):
        return []
    removed = []
    for name in _listdir(output_dir):
        match = _TEMPORARY.match(name)
        if not match:
            continue
        final = node_join(output_dir, f"checkpoint-{match.group(1)}")
        path = node_join(output_dir, name)
        if match.group(2) == "-old" and not os.path.exists(final):
            _note(f"moving {path} back to {final}: an interrupted save was replacing it")
            os.rename(path, final)
            continue
        what = "a checkpoint an interrupted run was deleting" if match.group(2) == "-deleted" else "an unfinished checkpoint of an interrupted run"
        _note(f"removing {path}, {what}")
        shutil.rmtree(path, ignore_errors=True)
        removed.append(name)
    return removed


def save_checkpoint(
    output_dir: str,
    step: int,
    named: Mapping[str, torch.Tensor],
    optimizer: Any,
    trainer_state: Mapping[str, Any],
    resume: Optional[Mapping[str, Any]],
) -> str:
    """Writes checkpoint-<step> atomically; returns its path. ``optimizer``: gen_trainer.optim.AdamW
    (``state_tensors()``, ``step_count``) or None for a model-only save; ``resume``: the
    resume_state.json dict, or None. A failed write removes the temporary folder, leaves earlier
    checkpoints as they were and raises a UserError (exit 74) naming the file and the last
    complete checkpoint."""
    final = checkpoint_dir(output_dir, step)
    temporary = node_join(output_dir, f".checkpoint-{step}.tmp-{os.getpid()}")
    writing = output_dir  # what is being written, for the message if it fails
    try:
        os.makedirs(output_dir, exist_ok=True)
        remove_temporary_checkpoints(output_dir)
        writing = temporary
        os.mkdir(temporary)
        files: Dict[str, int] = {}
        writing = node_join(temporary, "model.safetensors")
        write_safetensors(writing, _cpu(named), {"format": "pt"})
        if optimizer is not None:
            writing = node_join(temporary, "optimizer.safetensors")
            write_safetensors(writing, _cpu(optimizer.state_tensors()), {"step": str(int(optimizer.step_count))})
        writing = node_join(temporary, "trainer_state.json")
        files["trainer_state.json"] = write_file_durable(writing, sorted_json(trainer_state))
        if resume is not None:
            writing = node_join(temporary, "resume_state.json")
            files["resume_state.json"] = write_file_durable(writing, sorted_json(resume))
        for name in ("model.safetensors", "optimizer.safetensors"):
            if os.path.exists(node_join(temporary, name)):
                files[name] = os.stat(node_join(temporary, name)).st_size
        writing = node_join(temporary, MARKER)
        write_file_durable(writing, sorted_json({"global_step": step, "files": files}))
        writing = final
        if os.path.exists(final):
            # Saving a step again (a run resumed from an older checkpoint): swap the old one out first.
            old = f"{temporary}-old"
            os.rename(final, old)
            try:
                os.rename(temporary, final)
            except BaseException:
                os.rename(old, final)
                raise
            remove_quietly(old)  # if it stays, the next save or resume removes it
        else:
            os.rename(temporary, final)
    except BaseException as error:
        if os.path.exists(temporary):
            remove_quietly(temporary)
        failure = write_failure(writing, error, output_dir, f"cannot save checkpoint {final}: writing {writing} failed")
        if failure is error:
            raise
        raise failure from None
    return final


# ---------------------------------------------------------------------------------------------
# Listing, rotation, choosing the one to resume from


def list_checkpoints(output_dir: str) -> CheckpointListing:
    listing = CheckpointListing()
    if not os.path.exists(output_dir):
        return listing
    for name in _listdir(output_dir):
        match = _NAME.match(name)
        if not match:
            continue
        dir = node_join(output_dir, name)
        problem = checkpoint_problem(dir)
        if problem:
            listing.damaged.append(DamagedCheckpoint(dir=dir, reason=problem))
        else:
            listing.complete.append(CheckpointEntry(step=int(match.group(1)), dir=dir))
    listing.complete.sort(key=lambda c: c.step)
    return listing


def rotate_checkpoints(output_dir: str, limit: int, protect: Sequence[Optional[str]] = ()) -> List[str]:
    """Keeps the ``limit`` newest checkpoints by global step, plus the protected ones (the best,
    and always the latest); deletes the others. Returns the deleted folders."""
    complete = list_checkpoints(output_dir).complete
    keep = {os.path.abspath(c.dir) for c in complete[-limit:]} if complete else set()
    if complete:
        keep.add(os.path.abspath(complete[-1].dir))
    for dir in protect:
        if dir:
            keep.add(os.path.abspath(dir))
    deleted = []
    for c in complete:
        if os.path.abspath(c.dir) in keep:
            continue
        # Renamed first (atomic), so that a kill during the removal leaves no torn checkpoint-<step>.
        doomed = node_join(output_dir, f".checkpoint-{c.step}.tmp-{os.getpid()}-deleted")
        try:
            os.rename(c.dir, doomed)
            shutil.rmtree(doomed)
        except BaseException as error:
            failure = write_failure(c.dir, error, output_dir, f"cannot delete {c.dir} (an old checkpoint past saveTotalLimit)")
            if failure is error:
                raise
            raise failure from None
        deleted.append(c.dir)
    return deleted


def find_resume_checkpoint(flag: str, output_dir: str) -> str:
    """The folder to resume from: ``flag`` is "latest" (the newest complete checkpoint) or a path."""
    remove_temporary_checkpoints(output_dir)
    if flag != "latest":
        if not os.path.isdir(flag):
            raise UserError(f"--resume {flag}: no such checkpoint folder.")
        problem = checkpoint_problem(flag)
        if problem:
            raise UserError(f"--resume {flag}: cannot resume from it: {problem}.")
        return flag
    listing = list_checkpoints(output_dir)
    for d in listing.damaged:
        _note(f"skipping {d.dir}: {d.reason}")
    if not listing.complete:
        raise UserError(f"--resume: {output_dir} has no complete checkpoint to resume from (run without --resume to start training).")
    return listing.complete[-1].dir


# ---------------------------------------------------------------------------------------------
# Loading


def _read_tensors(path: str):
    if not os.path.exists(path):
        raise UserError(f"{path} is missing; the checkpoint cannot be loaded.")
    try:
        return read_safetensors(path)
    except SafetensorsError as error:
        raise UserError(str(error)) from None


def _read_json(path: str) -> Any:
    if not os.path.exists(path):
        raise UserError(f"{path} is missing; the checkpoint cannot be loaded.")
    try:
        with open(path, "rb") as f:
            return js_parse(f.read())
    except ValueError as error:
        raise UserError(f"{path} is not valid JSON ({error}).") from None


def _shape(t) -> str:
    return ",".join(str(d) for d in t.shape)


def _dtype_name(t: torch.Tensor) -> str:
    return "F32" if t.dtype == torch.float32 else "I32" if t.dtype == torch.int32 else str(t.dtype)


def _read_model_weights(dir: str, named: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Reads <dir>/model.safetensors and checks its names, shapes and dtypes against ``named``."""
    path = node_join(dir, "model.safetensors")
    tensors, _ = _read_tensors(path)
    for name, p in named.items():
        saved = tensors.get(name)
        if saved is None:
            raise UserError(f'{path} has no tensor "{name}"; it was saved by a different model (it has {", ".join(list(tensors)[:5])}, ...).')
        if list(saved.shape) != list(p.shape):
            raise UserError(f'{path}: "{name}" has shape [{_shape(saved)}] but this model\'s is [{_shape(p)}]; the checkpoint is from a model of another shape.')
        if saved.dtype != torch.float32:
            raise UserError(f'{path}: "{name}" has dtype {_dtype_name(saved)}; weights must be F32.')
    return tensors


def _assign(named: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for name, p in named.items():
            p.copy_(tensors[name])


def load_model_weights(dir: str, named: Mapping[str, torch.Tensor]) -> None:
    """Loads weights from <dir>/model.safetensors into ``named``, checking names and shapes first
    (a mismatch changes no weight)."""
    _assign(named, _read_model_weights(dir, named))


def _moments_problem(named: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor], source: str) -> Optional[str]:
    """AdamW.stateProblem: why saved moments do not fit the parameters (None: they fit)."""
    for name, p in named.items():
        for prefix in ("m", "v"):
            key = f"{prefix}.{name}"
            saved = tensors.get(key)
            if saved is None:
                return f'{source} has no tensor "{key}"; it was saved for a different model.'
            if list(saved.shape) != list(p.shape):
                return f'{source}: "{key}" has shape [{_shape(saved)}] but this model needs [{_shape(p)}]; the checkpoint is from a model of another shape.'
    return None


def _is_integer(v: Any) -> bool:
    """Number.isInteger for a value read from JSON."""
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    return isinstance(v, float) and v.is_integer()


def _stringify(v: Any) -> str:
    """`${JSON.stringify(v)}` (undefined for a missing value)."""
    return "undefined" if v is _MISSING else js_json(v)


_MISSING = object()


def _sampler_problem(sampler: Any, state: Any, source: str) -> Optional[str]:
    """Why a saved data-order state does not fit ``sampler``'s training set (None: it fits)."""
    size = getattr(sampler, "size", None)
    ok = (
        isinstance(state, dict)
        and _is_integer(state.get("epoch"))
        and state["epoch"] >= 0
        and _is_integer(state.get("position"))
        and state["position"] >= 0
        and (size is None or state["position"] <= size)
    )
    if not ok:
        shown = "undefined" if state is _MISSING else js_json(state)
        return f"{source}: Invalid data-order state {shown} for a training set of {js_number(size) if size is not None else '?'} examples; the checkpoint was saved with other training data."
    try:  # anything else the sampler itself refuses, tried on a copy so that nothing changes
        batch_size = getattr(sampler, "batch_size")
        seed = getattr(sampler, "seed")
    except AttributeError:
        return None
    try:
        type(sampler)(size, batch_size, seed).restore(dict(state))
    except Exception as error:  # noqa: BLE001 — the sampler's own message
        return f"{source}: {str(error).rstrip('.')}; the checkpoint was saved with other training data."
    return None


def _fround(x: float) -> float:
    return torch.tensor(float(x), dtype=torch.float32).item()


def _growth_interval(scaler: Any) -> Optional[int]:
    if hasattr(scaler, "get_growth_interval"):
        return int(scaler.get_growth_interval())
    if isinstance(getattr(scaler, "growth_interval", None), int):
        return scaler.growth_interval
    config = getattr(scaler, "config", None)
    value = getattr(config, "growth_interval", None) if config is not None else None
    if value is None and isinstance(config, dict):
        value = config.get("growth_interval")
    return value


def _scaler_problem(scaler: Any, state: Any, source: str) -> Optional[str]:
    """LossScaler.stateProblem, for gen_trainer.amp.LossScaling (or any scaler with its own
    ``state_problem``) or a torch GradScaler."""
    if hasattr(scaler, "state_problem"):
        return scaler.state_problem(state, source)
    if not isinstance(state, dict):
        return f"{source}: the loss-scaler state must be an object {{ scale, growthTracker }}, got {js_json(state)}."
    scale, tracker = state.get("scale", _MISSING), state.get("growthTracker", _MISSING)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (_fround(scale) > 0 and _fround(scale) != float("inf")) or scale != scale:
        return f"{source}: loss scale {_stringify(scale)} is not a finite positive float32 number; the checkpoint is damaged."
    if not _is_integer(tracker) or tracker < 0:
        return f"{source}: growthTracker {_stringify(tracker)} is not a non-negative integer; the checkpoint is damaged."
    interval = _growth_interval(scaler)
    if interval is not None and tracker >= interval:
        return (
            f"{source}: growthTracker {js_number(tracker)} is not below growthInterval {interval}; the checkpoint was written with a "
            "larger growth interval (resume with the same fp16 scaler settings)."
        )
    return None


def scaler_state(scaler: Any) -> Dict[str, Any]:
    """The loss scaler's state for resume_state.json: {"scale": S, "growthTracker": n}
    (gen_trainer.amp.LossScaling's ``state()``, or a torch GradScaler's scale and _growth_tracker)."""
    if hasattr(scaler, "state") and callable(scaler.state):
        return dict(scaler.state())
    return {"scale": float(scaler.get_scale()), "growthTracker": int(scaler._get_growth_tracker())}


def _restore_scaler(scaler: Any, state: Dict[str, Any], source: str) -> None:
    if hasattr(scaler, "restore"):  # gen_trainer.amp.LossScaling
        scaler.restore(state)
        return
    if hasattr(scaler, "is_enabled") and not scaler.is_enabled():
        return
    scaler.load_state_dict(
        {
            "scale": _fround(state["scale"]),
            "growth_factor": scaler.get_growth_factor(),
            "backoff_factor": scaler.get_backoff_factor(),
            "growth_interval": scaler.get_growth_interval(),
            "_growth_tracker": int(state["growthTracker"]),
        }
    )


def load_checkpoint(dir: str, named: Mapping[str, torch.Tensor], optimizer: Any, sampler: Any, scaler: Any = None) -> LoadedCheckpoint:
    """Restores a run from checkpoint ``dir``: weights into ``named``, moments and step count into
    ``optimizer`` (``restore(tensors, step_count)``), the data order into ``sampler``
    (``restore(state)``) and, for fp16, the loss scale into ``scaler``. Nothing is changed if any
    file is wrong."""
    trainer_state_path = node_join(dir, "trainer_state.json")
    state = _read_json(trainer_state_path)
    resume_path = node_join(dir, "resume_state.json")
    optimizer_path = node_join(dir, "optimizer.safetensors")
    if not os.path.exists(resume_path) and not os.path.exists(optimizer_path):
        raise UserError(f"{dir} was saved with saveOnlyModel (weights only), so training cannot resume from it.")
    resume = _read_json(resume_path)
    # The model first, so that a checkpoint of another model is reported by its weights file.
    weights = _read_model_weights(dir, named)
    moments, metadata = _read_tensors(optimizer_path)
    global_step = state.get("global_step", _MISSING) if isinstance(state, dict) else _MISSING
    if not _is_integer(global_step) or global_step < 0:
        raise UserError(f"{trainer_state_path}: global_step {_stringify(global_step)} is not a step number.")
    resume_fields = resume if isinstance(resume, dict) else {}
    if scaler is not None and not resume_fields.get("scaler"):
        raise UserError(f"{dir} has no loss-scaler state: it was saved by a run without fp16.")
    step_text = metadata.get("step", _MISSING)
    from .run import _js_number_of

    optimizer_step = _js_number_of(step_text) if isinstance(step_text, str) else float("nan")
    if not (optimizer_step == optimizer_step and optimizer_step != float("inf") and float(optimizer_step).is_integer() and optimizer_step >= 0):
        raise UserError(f'{optimizer_path}: metadata "step" is {_stringify(step_text)}, not a step count.')
    moments_problem = getattr(optimizer, "state_problem", None)
    problem = (
        (moments_problem(moments, optimizer_path) if callable(moments_problem) else _moments_problem(named, moments, optimizer_path))
        or (_scaler_problem(scaler, resume_fields["scaler"], resume_path) if scaler is not None else None)
        or _sampler_problem(sampler, resume_fields.get("sampler", _MISSING), resume_path)
    )
    if problem:
        raise UserError(problem)
    # Everything checked: from here on nothing can fail half-way.
    _assign(named, weights)
    optimizer.restore({k: v for k, v in moments.items() if k[:2] in ("m.", "v.")}, int(optimizer_step))
    sampler.restore(dict(resume_fields["sampler"]))
    if scaler is not None:
        _restore_scaler(scaler, resume_fields["scaler"], resume_path)
    return LoadedCheckpoint(dir=dir, global_step=int(global_step), trainer_state=state, resume=resume_fields)


# ---------------------------------------------------------------------------------------------
# The final model and trainer_state.json


def write_model(dir: str, named: Mapping[str, torch.Tensor]) -> None:
    """Writes <dir>/model.safetensors atomically (temporary file, fsync, rename). A failed write
    removes the temporary file, keeps any older model.safetensors, and raises a UserError (exit
    74) naming the file and the last complete checkpoint in ``dir``."""
    path = node_join(dir, "model.safetensors")
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        os.makedirs(dir, exist_ok=True)
        remove_stale_temporaries(path)
        write_safetensors(temporary, _cpu(named), {"format": "pt"})
        os.rename(temporary, path)
    except BaseException as error:
        remove_quietly(temporary)
        failure = write_failure(path, error, dir)
        if failure is error:
            raise
        raise failure from None


def trainer_state(**fields: Any) -> Dict[str, Any]:
    """trainer_state.json's fields: global_step, epoch, max_steps, train_batch_size and
    log_history (required), best_metric, best_model_checkpoint, best_global_step (None),
    skipped_steps (0) and stateful_callbacks ({}) unless given."""
    missing = [k for k in ("global_step", "epoch", "max_steps", "train_batch_size", "log_history") if k not in fields]
    if missing:
        raise TypeError(f"trainer_state() needs {', '.join(missing)}")
    return {
        "best_metric": None,
        "best_model_checkpoint": None,
        "best_global_step": None,
        "skipped_steps": 0,
        "stateful_callbacks": {},
        **fields,
    }


def write_trainer_state(dir: str, fields: Optional[Mapping[str, Any]] = None, **more: Any) -> None:
    """Writes <dir>/trainer_state.json atomically, from a dict and/or keyword fields (see
    trainer_state). A failed write keeps any older file and raises a UserError (exit 74)."""
    path = node_join(dir, "trainer_state.json")
    try:
        write_file_atomic(path, sorted_json(trainer_state(**{**(fields or {}), **more})))
    except BaseException as error:
        failure = write_failure(path, error, dir)
        if failure is error:
            raise
        raise failure from None
