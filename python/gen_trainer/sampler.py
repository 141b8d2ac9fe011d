"""
python/gen_trainer/sampler.py — the order in which training examples are drawn.

Defines EpochSampler, a port of runtime/sampler.ts: each epoch visits every training example once,
in permutation(size, mix_seed(seed, epoch)); batches group consecutive examples of it (the last
batch of an epoch may be short, an optimizer step never spans two epochs); the whole data-order
state is {"epoch", "position"}.

What must stay identical: the permutation of each epoch (rng.permutation and rng.mix_seed), how
batches cut it, when an epoch starts (lazily, at the first batch after the end of the previous
one) and the state, so that train.ts and train.py draw the same examples in the same order and a
checkpoint of either resumes in the other.
"""
import json
import math

from .rng import mix_seed, permutation

__all__ = ["EpochSampler"]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool) or (isinstance(value, float) and value.is_integer())


class EpochSampler:
    def __init__(self, size, batch_size, seed):
        if not _is_int(size) or size < 1:
            raise ValueError(f"The training set has {size} examples; it needs at least one.")
        self.size = int(size)
        self.batch_size = int(batch_size)
        self.seed = seed
        self._epoch = 0
        self._position = 0
        self._order = permutation(self.size, mix_seed(seed, 0))

    def steps_per_epoch(self, accumulation):
        """Optimizer steps in one epoch when each step takes up to `accumulation` batches."""
        return math.ceil(math.ceil(self.size / self.batch_size) / accumulation)

    def next_batches(self, count):
        """The example indices of up to `count` batches of the current epoch (fewer at its end)."""
        if self._position >= self.size:
            self._start_epoch(self._epoch + 1)
        batches = []
        while len(batches) < count and self._position < self.size:
            end = min(self._position + self.batch_size, self.size)
            batches.append(self._order[self._position:end])
            self._position = end
        return batches

    def next_batch(self):
        """The example indices of the next batch."""
        return self.next_batches(1)[0]

    @property
    def epoch_ended(self):
        """True once every example of the current epoch has been handed out."""
        return self._position >= self.size

    @property
    def starts_epoch(self):
        """True when the next batch is the first of an epoch."""
        return self._position == 0 or self._position >= self.size

    def end_epoch(self):
        """Ends the current epoch now: the next batch starts the next one."""
        self._position = self.size

    @property
    def epoch_progress(self):
        """Completed epochs as a fraction (HF's `epoch` in logs), e.g. 1.25."""
        return self._epoch + self._position / self.size

    @property
    def epoch(self):
        return self._epoch

    def state(self):
        return {"epoch": self._epoch, "position": self._position}

    def restore(self, state):
        epoch = state.get("epoch") if isinstance(state, dict) else None
        position = state.get("position") if isinstance(state, dict) else None
        if not _is_int(epoch) or epoch < 0 or not _is_int(position) or position < 0 or position > self.size:
            try:
                shown = json.dumps(state, separators=(",", ":"))
            except (TypeError, ValueError):
                shown = repr(state)
            raise ValueError(f"Invalid data-order state {shown} for a training set of {self.size} examples.")
        self._start_epoch(int(epoch))
        self._position = int(position)

    def _start_epoch(self, epoch):
        self._epoch = epoch
        self._position = 0
        self._order = permutation(self.size, mix_seed(self.seed, epoch))
