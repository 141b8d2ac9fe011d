"""
python/gen_trainer/gradients.py — operations on a whole set of gradients.

Defines global_norm and clip_by_global_norm, ports of runtime/gradients.ts's globalNorm and
clipGradientsByGlobalNorm: ‖g‖ = √(Σ‖g_i‖²) over all gradients, and g ← g · min(1, max_norm /
(‖g‖ + 1e-6)) in place, returning the norm before clipping (torch.nn.utils.clip_grad_norm_'s
contract).

What must stay identical: the formula and its float32 operations — per-tensor Σg², those sums
added one after another in parameter order (tf.addN), the square root, and the coefficient as a
true float32 division (max_norm / (norm + 1e-6), then min with 1) — so that logged gradient norms
and clipped updates agree with train.ts up to the order of float32 summation inside each tensor.
`params` is a dict of parameters (its values are used) or an iterable of parameters; their .grad
is read (parameters without one are left out, as torch does).
"""
import torch

__all__ = ["global_norm", "clip_by_global_norm"]


def _gradients(params):
    if isinstance(params, dict):
        params = params.values()
    return [p.grad for p in params if p.grad is not None]


def _norm_of(grads):
    if not grads:
        return torch.zeros((), dtype=torch.float32)
    total = None
    for g in grads:
        s = g.float().square().sum()
        total = s if total is None else total + s
    return total.sqrt()


def global_norm(params):
    """√(Σ‖g‖²) over the .grad of every parameter, as a float32 scalar tensor."""
    with torch.no_grad():
        return _norm_of(_gradients(params))


def clip_by_global_norm(params, max_norm):
    """Scales every .grad in place by min(1, max_norm / (‖g‖ + 1e-6)); returns ‖g‖ before clipping."""
    with torch.no_grad():
        grads = _gradients(params)
        norm = _norm_of(grads)
        coef = torch.minimum(torch.full_like(norm, max_norm) / (norm + 1e-6), torch.ones_like(norm))
        for g in grads:
            g.mul_(coef.to(g.dtype))
        return norm
