"""
python/gen_trainer/rng.py — seeded pseudo-random numbers, the same as the TypeScript runtime's.

Defines mix_seed, Rng, permutation (runtime/rng.ts), mulberry32 (runtime/models/generate.ts),
parameter_seed (runtime/models/char-transformer.ts) and tfjs_random_normal, the values of
tfjs-core 4.22's tf.randomNormal(shape, mean, std, "float32", seed): seedrandom 3.0.5's alea
generator (with its Mash hash) seeded with String(seed), and MPRandGauss's Marsaglia polar method,
which makes values in pairs (the second kept for the next call), with no truncation, each stored
into a Float32Array.

What must stay identical: every integer bit operation (JavaScript's Math.imul, `>>> 0`, `| 0`,
`^`, `>>>` on 32 bits) and every double operation in its order — Python's floats are the same
IEEE doubles, so the same operations give the same bits. Math.log is V8's fdlibm log
(_jsmath.js_log), not the C library's. The draws decide the data (addition problems), the data
order (the sampler's permutations), the initial weights and sampled tokens, so a difference here
changes a run.
"""
import math
from array import array

import torch

from ._jsmath import js_log

__all__ = ["mix_seed", "Rng", "permutation", "mulberry32", "parameter_seed", "tfjs_random_normal", "random_normal_values", "Alea"]

_M32 = 0xFFFFFFFF


def _to_uint32(x):
    """JavaScript's ToUint32 (x >>> 0) of an int or a float."""
    if isinstance(x, float):
        if not math.isfinite(x):
            return 0
        x = int(x)  # truncates toward zero, as ToUint32 does
    return x & _M32


def _to_int32(x):
    """JavaScript's ToInt32 (x | 0)."""
    u = _to_uint32(x)
    return u - 0x100000000 if u >= 0x80000000 else u


def _imul(a, b):
    """Math.imul on 32-bit patterns, as an unsigned 32-bit pattern."""
    return ((a & _M32) * (b & _M32)) & _M32


def mix_seed(*parts):
    """Mixes integers into one 32-bit seed (runtime/rng.ts mixSeed), e.g. mix_seed(seed, epoch)."""
    h = 0x9E3779B9
    for part in parts:
        h = _imul(h ^ _to_uint32(part), 0x85EBCA6B)
        h ^= h >> 13
        h = _imul(h, 0xC2B2AE35)
        h ^= h >> 16
    return h


def _mulberry32_step(s):
    """One mulberry32 step from state s: (new state, uniform float in [0, 1))."""
    s = (s + 0x6D2B79F5) & _M32
    t = _imul(s ^ (s >> 15), s | 1)
    t ^= (t + _imul(t ^ (t >> 7), t | 61)) & _M32
    return s, ((t ^ (t >> 14)) & _M32) / 4294967296


class Rng:
    """runtime/rng.ts's Rng: mulberry32 with a 32-bit state that a checkpoint can store."""

    def __init__(self, seed):
        self._s = _to_uint32(seed)

    def next(self):
        """Uniform float in [0, 1)."""
        self._s, value = _mulberry32_step(self._s)
        return value

    def int(self, n):
        """Uniform integer in [0, n): Math.floor(next() * n)."""
        return math.floor(self.next() * n)

    @property
    def state(self):
        return self._s

    @state.setter
    def state(self, value):
        self._s = _to_uint32(value)


def permutation(n, seed):
    """A permutation of 0..n-1 (Fisher–Yates), fully determined by seed (runtime/rng.ts)."""
    order = list(range(n))
    s = _to_uint32(seed)
    step = _mulberry32_step
    for i in range(n - 1, 0, -1):
        s, u = step(s)
        j = math.floor(u * (i + 1))
        order[i], order[j] = order[j], order[i]
    return order


def mulberry32(seed):
    """runtime/models/generate.ts's mulberry32(seed): a function returning floats in [0, 1)."""
    state = [_to_uint32(seed)]

    def rand():
        state[0], value = _mulberry32_step(state[0])
        return value

    return rand


def parameter_seed(seed, index):
    """The 32-bit seed of parameter `index` of a model initialised from `seed` (murmur3 finaliser)."""
    h = _imul(_to_int32(seed), 0x9E3779B1) ^ _imul(index + 1, 0x85EBCA6B)
    h ^= h >> 16
    h = _imul(h, 0x85EBCA6B)
    h ^= h >> 13
    h = _imul(h, 0xC2B2AE35)
    h ^= h >> 16
    return h


# ---- seedrandom's alea (seedrandom 3.0.5, lib/alea.js) ----

def _mash_state():
    n = 0xEFC8249D

    def mash(data):
        nonlocal n
        text = str(data)
        # charCodeAt: UTF-16 code units
        units = text.encode("utf-16-le")
        for k in range(0, len(units), 2):
            n += units[k] | (units[k + 1] << 8)
            h = 0.02519603282416938 * n
            n = _to_uint32(h)
            h -= n
            h *= n
            n = _to_uint32(h)
            h -= n
            n += h * 0x100000000  # 2^32
        return _to_uint32(n) * 2.3283064365386963e-10  # 2^-32

    return mash


class Alea:
    """seedrandom.alea(seed): a generator of doubles in [0, 1), bit for bit."""

    def __init__(self, seed):
        mash = _mash_state()
        self.c = 1
        self.s0 = mash(" ")
        self.s1 = mash(" ")
        self.s2 = mash(" ")
        self.s0 -= mash(seed)
        if self.s0 < 0:
            self.s0 += 1
        self.s1 -= mash(seed)
        if self.s1 < 0:
            self.s1 += 1
        self.s2 -= mash(seed)
        if self.s2 < 0:
            self.s2 += 1

    def __call__(self):
        t = 2091639 * self.s0 + self.c * 2.3283064365386963e-10  # 2^-32
        self.s0 = self.s1
        self.s1 = self.s2
        self.c = _to_int32(t)  # t | 0 (t is in [0, 2091640))
        self.s2 = t - self.c
        return self.s2


def _seed_string(seed):
    """String(seed) for the seeds tfjs is given: integers (a float that is an integer prints as one)."""
    if isinstance(seed, float) and seed.is_integer():
        seed = int(seed)
    if not isinstance(seed, int):
        raise TypeError(f"tfjs_random_normal: seed must be an integer, got {seed!r}")
    return str(seed)


def random_normal_values(count, mean, std, seed):
    """The `count` doubles tf.randomNormal draws (before the float32 store), as a list."""
    if not seed:
        # tfjs-core: `seed ? seed : Math.random()` — a seed of 0 draws unseeded values.
        raise ValueError("tfjs_random_normal: seed 0 is unseeded in tf.randomNormal (it uses Math.random); use a non-zero seed")
    rnd = Alea(_seed_string(seed))
    mean = float(mean)
    std = float(std)
    out = []
    append = out.append
    log = js_log
    sqrt = math.sqrt
    # Inlined alea state, for speed (the same operations as Alea.__call__).
    s0, s1, s2, c = rnd.s0, rnd.s1, rnd.s2, rnd.c
    while len(out) < count:
        while True:
            t = 2091639 * s0 + c * 2.3283064365386963e-10
            s0 = s1
            s1 = s2
            c = int(t)
            s2 = t - c
            v1 = 2 * s2 - 1
            t = 2091639 * s0 + c * 2.3283064365386963e-10
            s0 = s1
            s1 = s2
            c = int(t)
            s2 = t - c
            v2 = 2 * s2 - 1
            s = v1 * v1 + v2 * v2
            if not (s >= 1 or s == 0):
                break
        mul = sqrt(-2.0 * log(s) / s)
        append(mean + std * v1 * mul)
        append(mean + std * v2 * mul)
    del out[count:]
    return out


def tfjs_random_normal(shape, mean, std, seed):
    """tf.randomNormal(shape, mean, std, "float32", seed) as a float32 torch.Tensor (on the CPU)."""
    shape = [int(d) for d in shape]
    count = 1
    for d in shape:
        if d < 0:
            raise ValueError(f"tfjs_random_normal: negative dimension in shape {shape}")
        count *= d
    values = array("f", random_normal_values(count, mean, std, seed))  # rounds to float32 as a Float32Array store
    if count == 0:
        return torch.zeros(shape, dtype=torch.float32)
    return torch.frombuffer(values, dtype=torch.float32).clone().reshape(shape)
