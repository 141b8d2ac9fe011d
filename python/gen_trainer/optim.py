"""
python/gen_trainer/optim.py — AdamW with decoupled weight decay, as the TypeScript runtime's.

Defines AdamW and uses_weight_decay, a port of runtime/optimizer.ts:
    p ← p · (1 − lr·λ)                          (skipped for biases and LayerNorm parameters)
    m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²
    p ← p − (m / (√v / √(1−β2^t) + ε)) · (lr / (1−β1^t))
with the moments created with the optimizer and the step count t saved with them.

What must stay identical: the order of these float32 operations and where each scalar is rounded
to float32 (β1, 1−β1, lr/(1−β1^t), √(1−β2^t), ε and 1−lr·λ are computed as doubles and each
rounded once, as tfjs does with a JavaScript number operand), HF's no-decay rule
(uses_weight_decay), and the state's names ("m.<param>", "v.<param>") and step count, so that
optimizer.safetensors written by either program resumes in the other.
"""
import math

import torch

__all__ = ["AdamW", "uses_weight_decay"]


def uses_weight_decay(name):
    """HF's rule: no weight decay on biases and normalization parameters."""
    return not any(part == "bias" or part.startswith("b_") or part.startswith("ln") or "norm" in part for part in name.split("."))


def _shape_text(shape):
    return ",".join(str(int(d)) for d in shape)


class AdamW:
    def __init__(self, named, beta1, beta2, epsilon, weight_decay):
        self.params = dict(named)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weight_decay = weight_decay
        self.step_count = 0
        with torch.no_grad():
            self.m = {name: torch.zeros_like(p, dtype=torch.float32) for name, p in self.params.items()}
            self.v = {name: torch.zeros_like(p, dtype=torch.float32) for name, p in self.params.items()}

    @torch.no_grad()
    def step(self, lr):
        """Applies one update with learning rate lr from each parameter's .grad."""
        beta1, beta2, epsilon, weight_decay = self.beta1, self.beta2, self.epsilon, self.weight_decay
        for name, p in self.params.items():
            if p.grad is None:
                raise ValueError(f"AdamW: no gradient for parameter {name}.")
        self.step_count += 1
        t = self.step_count
        step_size = lr / (1 - beta1 ** t)
        sqrt_bias2 = math.sqrt(1 - beta2 ** t)
        for name, p in self.params.items():
            g = p.grad.to(torch.float32)
            m = self.m[name]
            v = self.v[name]
            m.mul_(beta1).add_(g.mul(1 - beta1))
            v.mul_(beta2).add_(g.square().mul_(1 - beta2))
            denom = v.sqrt().div_(sqrt_bias2).add_(epsilon)
            update = m.div(denom).mul_(step_size)
            if weight_decay > 0 and uses_weight_decay(name):
                p.mul_(1 - lr * weight_decay)
            p.sub_(update)

    def state_tensors(self):
        """The moments by name ("m.<param>", "v.<param>"), in parameter order, for optimizer.safetensors."""
        out = {}
        for name in self.params:
            out[f"m.{name}"] = self.m[name]
            out[f"v.{name}"] = self.v[name]
        return out

    def state_problem(self, tensors, source="optimizer state"):
        """Why saved moments do not fit this optimizer (None: they fit)."""
        for name in self.params:
            for prefix, target in (("m", self.m), ("v", self.v)):
                key = f"{prefix}.{name}"
                saved = tensors.get(key)
                if saved is None:
                    return f'{source} has no tensor "{key}"; it was saved for a different model.'
                if list(saved.shape) != list(target[name].shape):
                    return f'{source}: "{key}" has shape [{_shape_text(saved.shape)}] but this model needs [{_shape_text(target[name].shape)}]; the checkpoint is from a model of another shape.'
        return None

    @torch.no_grad()
    def restore(self, tensors, step_count, source="optimizer state"):
        """Restores moments saved by state_tensors() and the step count."""
        problem = self.state_problem(tensors, source)
        if problem:
            raise ValueError(problem)
        for name in self.params:
            for prefix, target in (("m", self.m), ("v", self.v)):
                saved = torch.as_tensor(tensors[f"{prefix}.{name}"])
                target[name].copy_(saved.to(device=target[name].device, dtype=torch.float32))
        self.step_count = int(step_count)
