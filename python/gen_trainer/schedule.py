"""
python/gen_trainer/schedule.py — learning-rate schedules, as HF's get_scheduler.

Defines linear_with_warmup, cosine_with_warmup and constant_with_warmup, a port of
runtime/schedule.ts: each returns the multiplier of the peak learning rate after `step` scheduler
steps (the first optimizer step uses step 0); warmup is linear from 0 to 1 over warmup_steps.

What must stay identical: every double operation, and the cosine itself — V8's Math.cos (fdlibm,
_jsmath.js_cos) rather than the C library's cos, which differs in the last bit for ~3% of
arguments — so that both programs use and log the same learning rates.
"""
import math

from ._jsmath import js_cos

__all__ = ["linear_with_warmup", "cosine_with_warmup", "constant_with_warmup"]


def _max0(x):
    """Math.max(0, x) (NaN stays NaN)."""
    return x if x > 0 or x != x else 0.0


def linear_with_warmup(step, warmup_steps, total_steps):
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    return _max0((total_steps - step) / max(1, total_steps - warmup_steps))


def cosine_with_warmup(step, warmup_steps, total_steps):
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return _max0(0.5 * (1 + js_cos(math.pi * progress)))


def constant_with_warmup(step, warmup_steps):
    return step / max(1, warmup_steps) if step < warmup_steps else 1.0
