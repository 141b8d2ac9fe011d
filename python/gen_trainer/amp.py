"""python/gen_trainer/amp.py — fp16 training: float16 autocast on CUDA and the dynamic loss scale.

Mirrors runtime/loss-scaler.ts, which is torch's GradScaler update rule (`_amp_update_scale_`):
the loss is multiplied by the scale S before backward; once per optimizer step the gradients are
unscaled (× float32(1/S)) and checked for inf/NaN; a step with any overflow skips the update and
S ← S × backoff (never below min_scale, an addition to torch), and after growth_interval good steps
in a row S ← S × growth. It is written out rather than taken from torch.cuda.amp.GradScaler because
GradScaler's unscale_/step need a torch.optim.Optimizer (gen_trainer's AdamW mirrors train.ts's
update, not torch's), and because its state must be the {scale, growthTracker} that train.ts
checkpoints hold, so a checkpoint resumes in either program.

On a CPU there is no float16 training: LossScaling is then disabled (S = 1, autocast off) and the
run is fp32, which it says once. A non-finite gradient then cannot be fixed by backing off, so
at_floor() is true and the program stops the step as diverged.
"""
import contextlib
import math
import os
import sys

import torch

# Without min_scale, a scale this small (binary16's smallest subnormal) counts as the floor: a step
# that still overflows there is divergence (runtime/loss-scaler.ts FP16_SCALE_FLOOR).
FP16_SCALE_FLOOR = 2.0 ** -24


def _f32(x):
    """Rounds a Python float to float32, as Math.fround."""
    return float(torch.tensor(x, dtype=torch.float32).item())


class LossScaling:
    def __init__(self, device, init_scale, growth_factor, backoff_factor, growth_interval, min_scale=None):
        self.enabled = torch.device(device).type == "cuda"
        self.growth_factor = growth_factor
        self.backoff_factor = backoff_factor
        self.growth_interval = growth_interval
        self.min_scale = min_scale
        self._scale = _f32(init_scale) if self.enabled else 1.0
        self._tracker = 0
        if not self.enabled and os.environ.get("RANK", "0") == "0":
            print(f"warning: fp16 needs a CUDA device; on {device} this run trains in fp32 (no autocast, no loss scaling)", file=sys.stderr)

    def autocast(self):
        """float16 autocast for the forward pass (nothing on a CPU)."""
        return torch.autocast(device_type="cuda", dtype=torch.float16) if self.enabled else contextlib.nullcontext()

    def get_scale(self):
        return self._scale

    def scale(self, loss):
        return loss * self._scale if self.enabled else loss

    @torch.no_grad()
    def unscale(self, params):
        """g ← g × float32(1/S) in place; True when every gradient is finite (one read)."""
        grads = [p.grad for p in params.values() if p.grad is not None]
        if self.enabled:
            inverse = _f32(1.0 / self._scale)
            for g in grads:
                g.mul_(inverse)
        return bool(torch.stack([torch.isfinite(g).all() for g in grads]).all().item()) if grads else True

    def update(self, found_inf):
        if not self.enabled:
            return
        if found_inf:
            scale = _f32(self._scale * self.backoff_factor)
            if self.min_scale is not None:
                scale = max(scale, _f32(self.min_scale))
            self._scale = scale
            self._tracker = 0
            return
        successful = self._tracker + 1
        if successful == self.growth_interval:
            grown = _f32(self._scale * self.growth_factor)
            if math.isfinite(grown):
                self._scale = grown
            self._tracker = 0
        else:
            self._tracker = successful

    def at_floor(self):
        """Backing off cannot help any more: at min_scale (or FP16_SCALE_FLOOR), or disabled."""
        if not self.enabled:
            return True
        return self._scale <= (_f32(self.min_scale) if self.min_scale is not None else FP16_SCALE_FLOOR)

    def state(self):
        return {"scale": self._scale, "growthTracker": self._tracker}

    def restore(self, state):
        if self.enabled and state:
            self._scale = float(state["scale"])
            self._tracker = int(state["growthTracker"])
