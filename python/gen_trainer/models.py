"""
python/gen_trainer/models.py — the built-in model presets: char_transformer and mlp.

Defines CharTransformer and Mlp (torch.nn.Module; factories char_transformer and mlp), their
parameter tables (char_transformer_shapes, mlp_shapes) and the generation loop shared by both
(generate_with_forward, argmax_token, sample_token). Ports of runtime/models/char-transformer.ts,
runtime/models/mlp.ts and runtime/models/generate.ts, with runtime/presets/char-transformer.ts
and runtime/presets/mlp.ts (names, order, shapes).

What must stay identical:
- parameter names, order and shapes (they are the tensor names of model.safetensors, and the order
  fixes each matrix's seed: the i-th 2-D parameter is drawn with parameter_seed(seed, i));
- initial values, bit for bit: tf.randomNormal's (rng.tfjs_random_normal) with runtime/'s
  standard deviations (char-transformer: 0.02, attn.wo and mlp.w_proj 0.02/√(2·layers), LayerNorm
  gains 1, biases 0; mlp: wte 1, fc.i.weight gain/√fan_in with gain 5/3 for tanh or 1 for gelu,
  head.weight 0.02, biases 0);
- the math of the forward pass (float32 rounding aside): pre-LayerNorm with eps 1e-5 computed as
  (x − mean)·rsqrt(var + 1e-5)·gain + bias, causal attention with q scaled by 1/√dh and −1e9 added
  above the diagonal, GELU (tanh approximation) computed as x·σ(2u), tanh as 2σ(2x) − 1, an untied
  lm_head, and the loss Σ mask·(−log softmax(logits)[y]);
- generation: the left-aligned window of the last min(len, L) tokens padded with 0, the logits at
  its last real position, argmax with the first index on ties, and sampling with mulberry32 draws,
  topK by a stable sort, weights exp((l − max)/T) with V8's Math.exp, and the same subtraction walk.
"""
import math

import torch
import torch.nn.functional as F

from ._jsmath import js_exp
from .rng import mulberry32, parameter_seed, tfjs_random_normal

__all__ = [
    "char_transformer_shapes",
    "mlp_shapes",
    "CharTransformer",
    "Mlp",
    "char_transformer",
    "mlp",
    "gelu",
    "masked_cross_entropy_sum",
    "argmax_token",
    "sample_token",
    "generate_with_forward",
    "MLP_DEFAULTS",
]

MLP_DEFAULTS = {"window": 4, "embedding": 16}


# ---- parameter tables (runtime/presets/char-transformer.ts, runtime/presets/mlp.ts) ----

def char_transformer_shapes(d_model, layers, heads, context_length, vocabulary_size):
    """[(name, shape)] in runtime/'s order (heads does not change the shapes)."""
    d = d_model
    shapes = [("wte", [vocabulary_size, d]), ("wpe", [context_length, d])]
    for l in range(layers):
        h = f"h.{l}"
        shapes += [
            (f"{h}.ln_1.gain", [d]),
            (f"{h}.ln_1.bias", [d]),
            (f"{h}.attn.wq", [d, d]),
            (f"{h}.attn.wk", [d, d]),
            (f"{h}.attn.wv", [d, d]),
            (f"{h}.attn.wo", [d, d]),
            (f"{h}.ln_2.gain", [d]),
            (f"{h}.ln_2.bias", [d]),
            (f"{h}.mlp.w_fc", [d, 4 * d]),
            (f"{h}.mlp.b_fc", [4 * d]),
            (f"{h}.mlp.w_proj", [4 * d, d]),
            (f"{h}.mlp.b_proj", [d]),
        ]
    shapes += [("ln_f.gain", [d]), ("ln_f.bias", [d]), ("lm_head", [d, vocabulary_size])]
    return shapes


def mlp_shapes(hidden, window, embedding, vocabulary_size):
    """[(name, shape)]: wte [V, e]; fc.i.weight [fan_in, width], fc.i.bias; head.weight, head.bias."""
    shapes = [("wte", [vocabulary_size, embedding])]
    fan_in = window * embedding
    for i, width in enumerate(hidden):
        shapes += [(f"fc.{i}.weight", [fan_in, width]), (f"fc.{i}.bias", [width])]
        fan_in = width
    shapes += [("head.weight", [fan_in, vocabulary_size]), ("head.bias", [vocabulary_size])]
    return shapes


# ---- shared math (runtime/models/char-transformer.ts) ----

_GELU_SCALE = 2 * math.sqrt(2 / math.pi)


def gelu(x):
    """GELU, tanh approximation, as runtime/: x·σ(2u), u = √(2/π)·(x + 0.044715·x³)."""
    u2 = (x + x.square() * x * 0.044715) * _GELU_SCALE
    return x * torch.sigmoid(u2)


def _tanh(x):
    """tanh(x) = 2·σ(2x) − 1, as runtime/models/mlp.ts computes it."""
    return torch.sigmoid(x * 2) * 2 - 1


def _layer_norm(x, gain, bias):
    mean = x.mean(-1, keepdim=True)
    xc = x - mean
    variance = xc.square().mean(-1, keepdim=True)
    return xc * torch.rsqrt(variance + 1e-5) * gain + bias


def masked_cross_entropy_sum(logits, y, mask):
    """Σ_i mask_i · (−log softmax(logits_i)[y_i]) over all B·T positions (logits [N, V])."""
    logp = F.log_softmax(logits.float(), dim=-1)
    nll = -logp.gather(1, y.reshape(-1, 1).long()).squeeze(1)
    return (nll * mask.reshape(-1).to(nll.dtype)).sum()


_causal_masks = {}


def _causal_mask(t, device):
    key = (str(device), t)
    mask = _causal_masks.get(key)
    if mask is None:
        mask = torch.triu(torch.full((t, t), -1e9, dtype=torch.float32), diagonal=1).to(device)
        _causal_masks[key] = mask
    return mask


class _Group(torch.nn.Module):
    """A named group of parameters (ln_1, attn, mlp, …), so that state_dict names are runtime/'s."""

    def __init__(self, shapes):
        super().__init__()
        for name, shape in shapes:
            self.register_parameter(name, torch.nn.Parameter(torch.zeros(shape, dtype=torch.float32)))


class _Block(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln_1 = _Group([("gain", [d]), ("bias", [d])])
        self.attn = _Group([("wq", [d, d]), ("wk", [d, d]), ("wv", [d, d]), ("wo", [d, d])])
        self.ln_2 = _Group([("gain", [d]), ("bias", [d])])
        self.mlp = _Group([("w_fc", [d, 4 * d]), ("b_fc", [4 * d]), ("w_proj", [4 * d, d]), ("b_proj", [d])])


class _SequenceModel(torch.nn.Module):
    """What both presets share: named_tensors, initialize, the loss forward and generate."""

    context_length = 0

    def _shapes(self):
        raise NotImplementedError

    def _std(self, name, shape):
        raise NotImplementedError

    def _one_d_value(self, name):
        return 0.0

    def named_tensors(self):
        """{runtime/ name: Parameter} in runtime/'s order (the order of model.safetensors)."""
        return {name: self.get_parameter(name) for name, _ in self._shapes()}

    @torch.no_grad()
    def initialize(self, seed):
        """Sets exactly the values of runtime/'s createParameters(seed); returns self."""
        index = 0
        for name, shape in self._shapes():
            p = self.get_parameter(name)
            if len(shape) == 1:
                p.fill_(self._one_d_value(name))
            else:
                values = tfjs_random_normal(shape, 0, self._std(name, shape), parameter_seed(seed, index))
                index += 1
                p.copy_(values.to(p.device))
        return self

    def logits(self, x):
        """int tokens [B, T] -> float32 logits [B·T, V]."""
        raise NotImplementedError

    def forward(self, x, y, mask):
        """The summed masked cross-entropy of a batch (a float32 scalar)."""
        return masked_cross_entropy_sum(self.logits(x), y, mask)

    def loss_sum(self, batch):
        return self(batch.x, batch.y, batch.mask)

    @torch.no_grad()
    def generate(self, prompts, max_new_tokens, temperature=0, top_k=0, seed=0, stop_token=None):
        """Continues each prompt (token ids); returns only the new tokens of each (runtime/models/generate.ts)."""
        device = next(self.parameters()).device
        return generate_with_forward(self.logits, self.context_length, prompts, max_new_tokens, temperature, top_k, seed, stop_token, device)


class CharTransformer(_SequenceModel):
    """A GPT-2 style causal decoder (runtime/models/char-transformer.ts)."""

    def __init__(self, d_model, layers, heads, context_length, vocabulary_size, sequence_length=None):
        super().__init__()
        d, vocab = d_model, vocabulary_size
        if not (d > 0 and layers >= 0 and heads > 0 and context_length > 0 and vocab > 0):
            raise ValueError("charTransformer: dModel, heads, contextLength and vocabularySize must be positive")
        if d % heads != 0:
            raise ValueError(f"charTransformer: dModel {d} is not divisible by heads {heads}")
        if sequence_length is not None and sequence_length > context_length:
            raise ValueError(f"charTransformer: sequenceLength {sequence_length} exceeds contextLength {context_length}")
        self.d_model, self.layers, self.heads = d, layers, heads
        self.context_length, self.vocabulary_size = context_length, vocab
        self.wte = torch.nn.Parameter(torch.zeros(vocab, d))
        self.wpe = torch.nn.Parameter(torch.zeros(context_length, d))
        self.h = torch.nn.ModuleList([_Block(d) for _ in range(layers)])
        self.ln_f = _Group([("gain", [d]), ("bias", [d])])
        self.lm_head = torch.nn.Parameter(torch.zeros(d, vocab))

    def _shapes(self):
        return char_transformer_shapes(self.d_model, self.layers, self.heads, self.context_length, self.vocabulary_size)

    def _one_d_value(self, name):
        return 1.0 if name.endswith(".gain") else 0.0

    def _std(self, name, shape):
        if name.endswith(".attn.wo") or name.endswith(".mlp.w_proj"):
            return 0.02 / math.sqrt(2 * max(self.layers, 1))
        return 0.02

    def _attention(self, block, h, b, t):
        heads, d = self.heads, self.d_model
        dh = d // heads
        a = block.attn
        q = ((h @ a.wq).reshape(b, t, heads, dh) * (1 / math.sqrt(dh))).permute(0, 2, 1, 3)
        kT = (h @ a.wk).reshape(b, t, heads, dh).permute(0, 2, 3, 1)
        v = (h @ a.wv).reshape(b, t, heads, dh).permute(0, 2, 1, 3)
        scores = q @ kT + _causal_mask(t, h.device)  # [B, H, T, T]
        y = torch.softmax(scores, dim=-1) @ v  # [B, H, T, dh]
        merged = y.permute(0, 2, 1, 3).reshape(b * t, d)
        return merged @ a.wo

    def _mlp(self, block, h):
        m = block.mlp
        return gelu(h @ m.w_fc + m.b_fc) @ m.w_proj + m.b_proj

    def logits(self, x):
        if x.dim() != 2:
            raise ValueError(f"charTransformer: expected tokens [B, T], got shape {list(x.shape)}")
        b, t = x.shape
        if t > self.context_length:
            raise ValueError(f"charTransformer: sequence length {t} exceeds contextLength {self.context_length}")
        d = self.d_model
        h = (F.embedding(x.long(), self.wte) + self.wpe[:t]).reshape(b * t, d)
        for block in self.h:
            h = h + self._attention(block, _layer_norm(h, block.ln_1.gain, block.ln_1.bias), b, t)
            h = h + self._mlp(block, _layer_norm(h, block.ln_2.gain, block.ln_2.bias))
        return _layer_norm(h, self.ln_f.gain, self.ln_f.bias) @ self.lm_head


class _Linear(torch.nn.Module):
    """weight [fan_in, width] (runtime/'s layout: h · weight, not torch.nn.Linear's) and bias."""

    def __init__(self, fan_in, width):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(fan_in, width))
        self.bias = torch.nn.Parameter(torch.zeros(width))

    def forward(self, h):
        return h @ self.weight + self.bias


class Mlp(_SequenceModel):
    """A Bengio-style next-token MLP over a window of tokens (runtime/models/mlp.ts)."""

    def __init__(self, hidden, window, embedding, vocabulary_size, activation="tanh"):
        super().__init__()
        window = MLP_DEFAULTS["window"] if window is None else window
        embedding = MLP_DEFAULTS["embedding"] if embedding is None else embedding
        hidden = list(hidden)
        if not (isinstance(window, int) and window > 0 and embedding > 0 and vocabulary_size > 0 and all(n > 0 for n in hidden)):
            raise ValueError("mlp: window, embedding, hidden sizes and vocabularySize must be positive")
        if activation not in ("tanh", "gelu"):
            raise ValueError(f'mlp: activation must be "tanh" or "gelu", got {activation!r}')
        self.hidden, self.window, self.embedding = hidden, window, embedding
        self.vocabulary_size, self.activation = vocabulary_size, activation
        self.context_length = window  # generation looks at the last `window` tokens
        self.wte = torch.nn.Parameter(torch.zeros(vocabulary_size, embedding))
        layers = []
        fan_in = window * embedding
        for width in hidden:
            layers.append(_Linear(fan_in, width))
            fan_in = width
        self.fc = torch.nn.ModuleList(layers)
        self.head = _Linear(fan_in, vocabulary_size)

    def _shapes(self):
        return mlp_shapes(self.hidden, self.window, self.embedding, self.vocabulary_size)

    def _std(self, name, shape):
        if name == "wte":
            return 1
        if name == "head.weight":
            return 0.02
        gain = 1 if self.activation == "gelu" else 5 / 3
        return gain / math.sqrt(shape[0])

    def logits(self, x):
        if x.dim() != 2:
            raise ValueError(f"mlp: expected tokens [B, T], got shape {list(x.shape)}")
        b, t = x.shape
        w, e = self.window, self.embedding
        padded = F.pad(x.long(), (w - 1, 0))  # [B, T+w-1], 0 before the start
        emb = F.embedding(padded, self.wte)  # [B, T+w-1, e]
        slices = [emb[:, j:j + t, :] for j in range(w)]  # token t-w+1+j
        h = (slices[0] if w == 1 else torch.cat(slices, 2)).reshape(b * t, w * e)
        for layer in self.fc:
            pre = layer(h)
            h = gelu(pre) if self.activation == "gelu" else _tanh(pre)
        return self.head(h)


def char_transformer(d_model, layers, heads, context_length, vocabulary_size, sequence_length=None):
    return CharTransformer(d_model, layers, heads, context_length, vocabulary_size, sequence_length)


def mlp(hidden, window, embedding, vocabulary_size, activation="tanh"):
    return Mlp(hidden, window, embedding, vocabulary_size, activation)


# ---- generation (runtime/models/generate.ts) ----

def argmax_token(logits):
    """Index of the largest value of a list of floats, first on ties (as tf.argMax / runtime/)."""
    best = 0
    best_value = -math.inf
    for j, value in enumerate(logits):
        if value > best_value:
            best_value = value
            best = j
    return best


def sample_token(logits, temperature, top_k, rand):
    """Draws from softmax(logits/temperature) over the top_k largest logits (all when 0), with rand()."""
    v = len(logits)
    candidates = list(range(v))
    if 0 < top_k < v:
        # Stable: among equal logits the lower token id wins a place.
        candidates.sort(key=lambda j: (-logits[j], j))
        candidates = candidates[:top_k]
    largest = -math.inf
    for j in candidates:
        value = logits[j]
        if value != value or largest != largest:
            largest = math.nan  # Math.max with a NaN
        elif value > largest:
            largest = value
    weights = [js_exp((logits[j] - largest) / temperature) for j in candidates]
    total = 0.0
    for w in weights:
        total += w
    u = rand() * total
    for c, w in enumerate(weights):
        u -= w
        if u < 0:
            return candidates[c]
    return candidates[-1]  # rounding left u >= 0


def generate_with_forward(logits_fn, context_length, prompts, max_new_tokens, temperature=0, top_k=0, seed=0, stop_token=None, device=None):
    """
    The batched generation loop: logits_fn(int64 tokens [N, L]) -> logits [N·L, V] or [N, L, V].
    Returns only the new tokens of each prompt; an empty prompt is the single token 0.
    """
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"maxNewTokens must be a non-negative integer, got {max_new_tokens}")
    if not (temperature >= 0):
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    L = context_length
    sequences = [list(p) if len(p) > 0 else [0] for p in prompts]
    outputs = [[] for _ in prompts]
    done = [max_new_tokens == 0 for _ in prompts]
    rand = mulberry32(seed)
    for _ in range(max_new_tokens):
        active = [i for i in range(len(sequences)) if not done[i]]
        if not active:
            break
        n = len(active)
        window = [[0] * L for _ in range(n)]
        rows = []
        for r, i in enumerate(active):
            seq = sequences[i]
            used = min(len(seq), L)
            window[r][:used] = seq[len(seq) - used:]
            rows.append(r * L + used - 1)
        with torch.no_grad():
            logits = logits_fn(torch.tensor(window, dtype=torch.long, device=device))
            v = logits.shape[-1]
            selected = logits.reshape(n * L, v)[torch.tensor(rows, dtype=torch.long, device=logits.device)]
            values = selected.float().cpu().tolist()
        for r, i in enumerate(active):
            row = values[r]
            token = argmax_token(row) if temperature == 0 else sample_token(row, temperature, top_k, rand)
            sequences[i].append(token)
            outputs[i].append(token)
            if token == stop_token or len(outputs[i]) >= max_new_tokens:
                done[i] = True
    return outputs
