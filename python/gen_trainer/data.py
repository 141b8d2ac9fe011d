"""
python/gen_trainer/data.py — the built-in data presets: the same examples, encoding and batches as
the TypeScript runtime.

Defines Batch, Vocabulary (char_vocabulary), sequence_batch, Dataset, addition_data and text_data,
ports of runtime/data/addition.ts with runtime/presets/addition.ts, runtime/data/text.ts with
runtime/presets/text.ts, runtime/data/vocabulary.ts and runtime/data/sequence-batch.ts.

What must stay identical: the addition problems drawn (rng.Rng with the seed, distinct pairs, the
first eval_examples held out), how a problem is written ("012+345=0357$", reversed, zero-padded),
the text vocabulary (the characters — code points — of the file, sorted as JavaScript sorts
strings: by UTF-16 code units), the text split (the last ⌊n·eval_fraction⌋ characters held out,
windows of T+1 with stride T), and every batch: x/y/mask/items for the same indices, padding and
prompt positions masked exactly as runtime/data/sequence-batch.ts masks them.
"""
import json
import math

import torch

from .rng import Rng

__all__ = [
    "Batch",
    "Vocabulary",
    "char_vocabulary",
    "sequence_batch",
    "Dataset",
    "ADDITION_TOKENS",
    "addition_sequence_length",
    "addition_problem_count",
    "addition_text",
    "addition_data",
    "text_splits",
    "find_invalid_utf8",
    "describe_invalid_utf8",
    "text_data",
]


class Batch:
    """One batch: x, y LongTensor [B, T], mask FloatTensor [B, T] and items = the sum of mask (an int)."""

    __slots__ = ("x", "y", "mask", "items")

    def __init__(self, x, y, mask, items):
        self.x = x
        self.y = y
        self.mask = mask
        self.items = items

    def to(self, device, non_blocking=False):
        return Batch(self.x.to(device, non_blocking=non_blocking), self.y.to(device, non_blocking=non_blocking), self.mask.to(device, non_blocking=non_blocking), self.items)

    def __repr__(self):
        return f"Batch(x={tuple(self.x.shape)}, items={self.items})"


class Vocabulary:
    """A character vocabulary: tokens[id] is the text of token id (runtime/data/vocabulary.ts)."""

    def __init__(self, tokens):
        self.tokens = list(tokens)
        self._ids = {t: i for i, t in enumerate(self.tokens)}

    def encode(self, text):
        ids = self._ids
        out = []
        for ch in text:
            i = ids.get(ch)
            if i is None:
                raise ValueError(f"Character {json.dumps(ch, ensure_ascii=False)} is not in the vocabulary.")
            out.append(i)
        return out

    def decode(self, ids):
        tokens = self.tokens
        n = len(tokens)
        return "".join(tokens[i] if 0 <= i < n else "" for i in ids)

    def __len__(self):
        return len(self.tokens)


def char_vocabulary(tokens):
    return Vocabulary(tokens)


def sequence_batch(sequences, T, pad_token):
    """
    Packs (tokens, first_target) sequences into a next-token batch: inputs s[0..T-1], targets
    s[1..T]; target t counts (mask 1) when t + 1 >= first_target; the rest is pad_token, mask 0.
    """
    B = len(sequences)
    x = [pad_token] * (B * T)
    y = [pad_token] * (B * T)
    mask = [0.0] * (B * T)
    items = 0
    for b, (s, first_target) in enumerate(sequences):
        n = min(T, len(s) - 1)
        base = b * T
        for t in range(n):
            x[base + t] = s[t]
            y[base + t] = s[t + 1]
            if t + 1 >= first_target:
                mask[base + t] = 1.0
                items += 1
    return Batch(
        torch.tensor(x, dtype=torch.long).reshape(B, T),
        torch.tensor(y, dtype=torch.long).reshape(B, T),
        torch.tensor(mask, dtype=torch.float32).reshape(B, T),
        items,
    )


class Dataset:
    """A data preset (runtime/types.ts DatasetDefinition)."""

    def __init__(self, vocabulary, sequence_length, train_size, eval_size, train_batch, eval_batch, generation_metrics=None):
        self.vocabulary = vocabulary
        self.sequence_length = sequence_length
        self.train_size = train_size
        self.eval_size = eval_size
        self._train_batch = train_batch
        self._eval_batch = eval_batch
        self._generation_metrics = generation_metrics

    def train_batch(self, indices):
        """The batch of training examples `indices` (into 0..train_size-1)."""
        return self._train_batch(list(indices))

    def eval_batch(self, indices):
        """The batch of held-out examples `indices` (into 0..eval_size-1)."""
        return self._eval_batch(list(indices))

    @property
    def has_generation_metrics(self):
        return self._generation_metrics is not None

    def generation_metrics(self, generate):
        """
        Metrics beyond eval_loss computed with `generate(prompts, max_new_tokens=..., temperature=...,
        stop_token=...) -> list of new-token lists` (a model's generate), keys without "eval_";
        None when this data has none.
        """
        if self._generation_metrics is None:
            return None
        return self._generation_metrics(generate)


def _user_error(message):
    """run.UserError (a plain one-line error for the user) when that module is there, else ValueError."""
    try:
        from .run import UserError
    except ImportError:
        return ValueError(message)
    return UserError(message)


# ---- addition (runtime/presets/addition.ts, runtime/data/addition.ts) ----

ADDITION_TOKENS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=", "$", "_"]


def addition_sequence_length(digits):
    """T for digits-digit operands: "ddd+ddd=dddd$" minus one."""
    return 3 * digits + 3


def addition_problem_count(digits):
    return 10 ** (2 * digits)


def addition_text(a, b, digits, reverse_answer=True, fixed_width=True):
    """(prompt, answer) of a + b, e.g. ("012+345=", "7530"), without the end mark "$"."""
    operand = (lambda n: str(n).rjust(digits, "0")) if fixed_width else str
    total = str(a + b).rjust(digits + 1, "0") if fixed_width else str(a + b)
    return f"{operand(a)}+{operand(b)}=", total[::-1] if reverse_answer else total


def addition_data(digits, train_examples, eval_examples, reverse_answer, fixed_width, seed):
    """The "addition" preset: distinct sums, the first eval_examples drawn held out."""
    limit = 10 ** digits
    total = addition_problem_count(digits)
    if train_examples + eval_examples > total:
        raise ValueError(f"addition: {train_examples + eval_examples} distinct problems requested but only {total} exist with {digits} digits.")
    vocabulary = char_vocabulary(ADDITION_TOKENS)
    T = addition_sequence_length(digits)
    end = vocabulary.encode("$")[0]
    pad = vocabulary.encode("_")[0]

    rng = Rng(seed)
    seen = set()
    problems = []
    while len(problems) < train_examples + eval_examples:
        a = rng.int(limit)
        b = rng.int(limit)
        if a * limit + b in seen:
            continue
        seen.add(a * limit + b)
        problems.append((a, b))
    eval_problems = problems[:eval_examples]
    train_problems = problems[eval_examples:]

    def text(a, b):
        return addition_text(a, b, digits, reverse_answer, fixed_width)

    def encode(problem):
        prompt, answer = text(*problem)
        return vocabulary.encode(f"{prompt}{answer}$"), len(prompt)

    def batch_of(problem_set, indices):
        return sequence_batch([encode(problem_set[i]) for i in indices], T, pad)

    def generation_metrics(generate):
        if not eval_problems:
            return {}
        prompts = [vocabulary.encode(text(a, b)[0]) for a, b in eval_problems]
        outputs = generate(prompts, max_new_tokens=digits + 2, temperature=0, stop_token=end)
        correct = 0
        for (a, b), out in zip(eval_problems, outputs):
            if vocabulary.decode(out) == f"{text(a, b)[1]}$":
                correct += 1
        return {"exact_match": correct / len(eval_problems)}

    return Dataset(
        vocabulary,
        T,
        len(train_problems),
        len(eval_problems),
        lambda indices: batch_of(train_problems, indices),
        lambda indices: batch_of(eval_problems, indices),
        generation_metrics,
    )


# ---- text (runtime/presets/text.ts, runtime/data/text.ts) ----

def text_splits(character_count, eval_fraction, sequence_length):
    """(train_windows, eval_windows, eval_characters) of a corpus of character_count code points."""
    eval_characters = math.floor(character_count * eval_fraction)

    def windows(n):
        return max(0, (n - 1) // sequence_length)

    return windows(character_count - eval_characters), windows(eval_characters), eval_characters


def _hex(b):
    return f"0x{b:02X}"


def _text_character_count(data):
    return sum(1 for b in data if (b & 0xC0) != 0x80)


def find_invalid_utf8(data):
    """The first invalid UTF-8 sequence of bytes `data` as a dict (line, column, offset, bytes, reason), or None."""
    try:
        data.decode("utf-8", errors="strict")
        return None
    except UnicodeDecodeError:
        pass
    line = 1
    line_start = 0

    def bad(offset, length, reason):
        column = _text_character_count(data[line_start:offset]) + 1
        return {"line": line, "column": column, "offset": offset, "bytes": list(data[offset:offset + length]), "reason": reason}

    i = 0
    size = len(data)
    while i < size:
        b = data[i]
        if b < 0x80:
            if b == 0x0A:
                line += 1
                line_start = i + 1
            i += 1
            continue
        low, high = 0x80, 0xBF
        if 0xC2 <= b <= 0xDF:
            need = 1
        elif 0xE0 <= b <= 0xEF:
            need = 2
            if b == 0xE0:
                low = 0xA0
            if b == 0xED:
                high = 0x9F
        elif 0xF0 <= b <= 0xF4:
            need = 3
            if b == 0xF0:
                low = 0x90
            if b == 0xF4:
                high = 0x8F
        elif b <= 0xBF:
            return bad(i, 1, f"{_hex(b)} is a continuation byte with no lead byte before it")
        elif b <= 0xC1:
            return bad(i, 1, f"{_hex(b)} can only start an overlong encoding, never valid UTF-8")
        else:
            return bad(i, 1, f"{_hex(b)} is a byte that never appears in UTF-8")
        for k in range(1, need + 1):
            sequence = f"{_hex(b)} starts a {need + 1}-byte sequence"
            if i + k >= size:
                return bad(i, k, f"{sequence} cut short by the end of the file")
            c = data[i + k]
            if k == 1 and 0x80 <= c <= 0xBF and (c < low or c > high):
                why = "a UTF-16 surrogate" if b == 0xED else "a code point above U+10FFFF" if b == 0xF4 else "an overlong encoding"
                return bad(i, 2, f"{_hex(b)} {_hex(c)} would be {why}, never valid UTF-8")
            if c < low or c > high:
                return bad(i, k, f"{sequence} but is followed by {_hex(c)}, not a continuation byte (0x80-0xBF)")
            low, high = 0x80, 0xBF
        i += need + 1
    return None


def describe_invalid_utf8(found):
    """`line 5, column 3 (byte offset 41): <reason>[; in Latin-1/Windows-1252, 0xE9 is "é"]`."""
    data = found["bytes"]
    latin1 = ""
    if len(data) == 1 and data[0] >= 0xA0:
        latin1 = f"; in Latin-1/Windows-1252, {_hex(data[0])} is {json.dumps(chr(data[0]), ensure_ascii=False)}"
    return f"line {found['line']}, column {found['column']} (byte offset {found['offset']}): {found['reason']}{latin1}"


def _utf16_key(ch):
    return ch.encode("utf-16-be", errors="surrogatepass")


def text_data(path, eval_fraction, sequence_length):
    """The "text" preset: a character-level language model over a UTF-8 file."""
    T = sequence_length
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as error:
        raise _user_error(f"text data: cannot read {path}: {error.strerror or error}") from None
    invalid = find_invalid_utf8(data)
    if invalid:
        raise _user_error(f"text data: {path} is not valid UTF-8: {describe_invalid_utf8(invalid)}. Save it as UTF-8 (e.g. iconv -f <its encoding> -t UTF-8) or fix that line.")
    if len(data) == 0:
        raise _user_error(f"text data: {path} is empty (0 bytes); put the training text in it (at least sequenceLength + 1 = {T + 1} characters per split).")
    text = data.decode("utf-8")
    chars = sorted(set(text), key=_utf16_key)  # JavaScript's default sort: by UTF-16 code units
    vocabulary = char_vocabulary(chars)
    ids = vocabulary.encode(text)
    train_windows, eval_windows, eval_length = text_splits(len(ids), eval_fraction, T)
    train = ids[: len(ids) - eval_length]
    held = ids[len(ids) - eval_length:]
    if train_windows < 1:
        raise _user_error(f"text data: {path} has {len(train)} training characters; it needs more than sequenceLength ({T}).")
    if eval_fraction > 0 and eval_windows < 1:
        raise _user_error(f"text data: the held-out {eval_length} characters of {path} are fewer than sequenceLength + 1 ({T + 1}); raise evalFraction or use a longer text.")

    def batch_of(tokens, indices):
        return sequence_batch([(tokens[i * T: i * T + T + 1], 1) for i in indices], T, 0)

    return Dataset(
        vocabulary,
        T,
        train_windows,
        eval_windows,
        lambda indices: batch_of(train, indices),
        lambda indices: batch_of(held, indices),
    )
