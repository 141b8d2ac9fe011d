"""gen_trainer.meters — running values between two log lines, kept on the device.

Mirrors runtime/meters.ts. What must stay identical:
  - RunningMean sums the step losses as a float32 tensor on the loss's device (no host sync per
    step: ``add`` only queues an addition) and reads it back only in ``take()``, which returns
    sum / count as a Python float (float64, as JavaScript divides) or NaN when nothing was added,
    then starts over;
  - ``state()`` is {"sum": float32 value, "count": n} for resume_state.json's lossMean, and
    ``restore(state)`` continues from it, so a resumed run logs the same means;
  - LatestValue holds the latest scalar (grad_norm) and reads it (NaN without one);
  - Throughput is tokens per second since the last ``take()``, rounded as Math.round.
"""
from __future__ import annotations

import math
import time
from typing import Any, Dict, Optional

import torch


def _scalar(value: Any) -> torch.Tensor:
    if torch.is_tensor(value):
        return value.detach().reshape(()).to(torch.float32)
    return torch.tensor(float(value), dtype=torch.float32)


class RunningMean:
    """Mean of scalars added since the last read (HF logs the mean loss over the logging interval)."""

    def __init__(self, device: Optional[torch.device] = None):
        self.device = device  # where a restored sum goes (None: the CPU; it moves to the first loss's device)
        self._sum: Optional[torch.Tensor] = None
        self.count = 0

    def add(self, value: Any) -> None:
        """Adds a scalar (a tensor, detached; no read-back)."""
        v = _scalar(value)
        if self._sum is None:
            self._sum = v.clone()
        else:
            if self._sum.device != v.device:
                self._sum = self._sum.to(v.device)
            self._sum = self._sum + v
        self.count += 1

    def state(self) -> Dict[str, Any]:
        """The running sum (a float32 value, exact in JSON) and count, for a checkpoint."""
        return {"sum": float(self._sum.item()) if self._sum is not None else 0, "count": self.count}

    def restore(self, state: Dict[str, Any]) -> None:
        """Continues a running mean saved by state()."""
        count = int(state["count"])
        self._sum = torch.tensor(float(state["sum"]), dtype=torch.float32, device=self.device) if count > 0 else None
        self.count = count

    def take(self) -> float:
        """The mean since the last call (NaN if nothing was added), then starts over."""
        if self._sum is None:
            return math.nan
        mean = float(self._sum.item()) / self.count
        self._sum = None
        self.count = 0
        return mean


class LatestValue:
    """Holds the latest scalar (e.g. grad_norm of the last step) without reading it back."""

    def __init__(self) -> None:
        self._value: Optional[torch.Tensor] = None

    def set(self, value: Any) -> None:
        self._value = _scalar(value)

    def read(self) -> float:
        return float(self._value.item()) if self._value is not None else math.nan


class Throughput:
    """Tokens per second since the last call."""

    def __init__(self) -> None:
        self.tokens = 0
        self.since = time.perf_counter()

    def add(self, tokens: int) -> None:
        self.tokens += int(tokens)

    def take(self) -> int:
        now = time.perf_counter()
        rate = self.tokens / max(1e-9, now - self.since)
        self.tokens = 0
        self.since = now
        return math.floor(rate + 0.5)
