"""gen_trainer.best — which evaluation was best (and its checkpoint), and early stopping.

Mirrors runtime/best-metric.ts and runtime/early-stopping.ts. What must stay identical:
  - BestMetric: HF's rules — the metric is eval_<metricForBestModel>; improvement is strict (a tie
    does not count); the first evaluation always improves; a checkpoint becomes the best one only
    if saved at the step of the best evaluation; ``fields()`` are trainer_state.json's
    best_metric, best_global_step, best_model_checkpoint, which ``restore`` reads back;
  - EarlyStopping: HF's EarlyStoppingCallback — the counter resets on a strict improvement by more
    than ``threshold`` and grows otherwise, training stops when it reaches ``patience``; the best
    moves on any strict improvement; ``state()`` is HF's stateful_callbacks entry
    {"args": {early_stopping_patience, early_stopping_threshold},
     "attributes": {early_stopping_patience_counter, best_metric}};
  - the UserError messages for a metric the evaluation did not report.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from .run import UserError


class BestMetric:
    def __init__(self, metric: str, greater_is_better: bool):
        self.metric = metric
        self.greater_is_better = greater_is_better
        self.value: Optional[float] = None
        self.step: Optional[int] = None
        self.checkpoint: Optional[str] = None

    def update(self, metrics: Mapping[str, float], step: int) -> bool:
        """Records an evaluation; True when it strictly improves on the best so far."""
        if self.metric not in metrics:
            raise UserError(
                f'metricForBestModel: the evaluation reported no "{self.metric}" (it reported {", ".join(metrics.keys())}).'
            )
        value = metrics[self.metric]
        improved = self.value is None or (value > self.value if self.greater_is_better else value < self.value)
        if improved:
            self.value = value
            self.step = step
        return improved

    def saved(self, step: int, dir: str) -> None:
        """Called after saving checkpoint ``dir`` at ``step``."""
        if step == self.step:
            self.checkpoint = dir

    def fields(self) -> Dict[str, Any]:
        """The trainer_state.json fields."""
        return {"best_metric": self.value, "best_global_step": self.step, "best_model_checkpoint": self.checkpoint}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.value = state.get("best_metric")
        self.step = state.get("best_global_step")
        self.checkpoint = state.get("best_model_checkpoint")


class EarlyStopping:
    def __init__(self, metric: str, greater_is_better: bool, patience: int, threshold: float):
        self.metric = metric
        self.greater_is_better = greater_is_better
        self.patience = patience
        self.threshold = threshold
        self.counter = 0
        self.best: Optional[float] = None

    def update(self, metrics: Mapping[str, float]) -> bool:
        """Records an evaluation; True when training should stop."""
        if self.metric not in metrics:
            raise UserError(f'earlyStopping: the evaluation reported no "{self.metric}".')
        value = metrics[self.metric]
        strictly = self.best is None or (value > self.best if self.greater_is_better else value < self.best)
        better = self.best is None or (strictly and abs(value - self.best) > self.threshold)
        self.counter = 0 if better else self.counter + 1
        if strictly:
            self.best = value
        return self.counter >= self.patience

    def state(self) -> Dict[str, Any]:
        return {
            "args": {"early_stopping_patience": self.patience, "early_stopping_threshold": self.threshold},
            "attributes": {"early_stopping_patience_counter": self.counter, "best_metric": self.best},
        }

    def restore(self, state: Optional[Mapping[str, Any]]) -> None:
        if not state:
            return
        self.counter = state["attributes"]["early_stopping_patience_counter"]
        self.best = state["attributes"]["best_metric"]
