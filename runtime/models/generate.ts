/**
 * runtime/models/generate.ts — the batched autoregressive generation loop shared by the built-in
 * sequence models (char-transformer, mlp).
 *
 * No KV cache: every step runs the model's full forward on an int32 [N, L] window, where row i
 * holds the last min(len_i, L) tokens of sequence i left-aligned (padded after with token 0), and
 * reads the logits at index min(len_i, L)-1 of each row. Left alignment keeps absolute positions
 * equal to the training positions while a sequence still fits in the context; the causal mask
 * makes the padding after that index irrelevant.
 *
 * Decoding: temperature 0 (default) is argmax (first index on ties, like tf.argMax); temperature
 * > 0 samples from softmax(logits / temperature), optionally restricted to the topK largest
 * logits, with a seeded mulberry32 generator (never Math.random), so a given seed always gives
 * the same tokens. Only the selected [N, V] logits are read back, with `await data()`.
 */
import * as tf from "@tensorflow/tfjs";
import type { GenerateOptions } from "../types.ts";

/**
 * A model forward for generation: int32 tokens [N, L] → logits [N, L, V] or [N*L, V]. It is
 * called inside tf.tidy, so it may create intermediate tensors freely.
 */
export type LogitsFn = (tokens: tf.Tensor2D) => tf.Tensor;

/** mulberry32: a tiny, fast 32-bit PRNG; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index of the largest value in logits[offset, offset+v), first on ties. */
function argmax(logits: Float32Array, offset: number, v: number): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let j = 0; j < v; j++) {
    const value = logits[offset + j]!;
    if (value > bestValue) {
      bestValue = value;
      best = j;
    }
  }
  return best;
}

/** Draws from softmax(logits/temperature) over the topK largest logits (all when topK is 0). */
function sample(logits: Float32Array, offset: number, v: number, temperature: number, topK: number, rand: () => number): number {
  let candidates: number[] = Array.from({ length: v }, (_, j) => j);
  if (topK > 0 && topK < v) {
    // Stable sort: among equal logits the lower token id wins a place.
    candidates.sort((i, j) => logits[offset + j]! - logits[offset + i]! || i - j);
    candidates = candidates.slice(0, topK);
  }
  let max = -Infinity;
  for (const j of candidates) max = Math.max(max, logits[offset + j]!);
  // exp((l - max)/T): the largest term is 1, so the sum cannot overflow.
  const weights = candidates.map((j) => Math.exp((logits[offset + j]! - max) / temperature));
  let total = 0;
  for (const w of weights) total += w;
  let u = rand() * total;
  for (let c = 0; c < candidates.length; c++) {
    u -= weights[c]!;
    if (u < 0) return candidates[c]!;
  }
  return candidates[candidates.length - 1]!; // rounding left u ≥ 0
}

/**
 * Continues each prompt with up to options.maxNewTokens tokens and returns only the new tokens.
 * An empty prompt is treated as the single token 0 (the "before the start" token of the models).
 */
export async function generateWithForward(
  logitsFn: LogitsFn,
  contextLength: number,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<number[][]> {
  const { maxNewTokens, temperature = 0, topK = 0, seed = 0, stopToken } = options;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) throw new Error(`maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  if (!(temperature >= 0)) throw new Error(`temperature must be >= 0, got ${temperature}`);
  const L = contextLength;
  const sequences = prompts.map((p) => (p.length === 0 ? [0] : [...p]));
  const outputs: number[][] = prompts.map(() => []);
  const done = prompts.map(() => maxNewTokens === 0);
  const rand = mulberry32(seed);

  for (let step = 0; step < maxNewTokens; step++) {
    const active: number[] = [];
    for (let i = 0; i < sequences.length; i++) if (!done[i]) active.push(i);
    if (active.length === 0) break;

    // Window of each active row, left-aligned, and the flat index of its last token's logits.
    const n = active.length;
    const window = new Int32Array(n * L);
    const rows = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const seq = sequences[active[r]!]!;
      const used = Math.min(seq.length, L);
      window.set(seq.slice(seq.length - used), r * L);
      rows[r] = r * L + used - 1;
    }
    const selected = tf.tidy(() => {
      const logits = logitsFn(tf.tensor2d(window, [n, L], "int32"));
      const v = logits.shape[logits.shape.length - 1]!;
      return tf.gather(tf.reshape(logits, [n * L, v]), tf.tensor1d(rows, "int32"));
    });
    const v = selected.shape[1]!;
    const values = (await selected.data()) as Float32Array;
    selected.dispose();

    for (let r = 0; r < n; r++) {
      const i = active[r]!;
      const token = temperature === 0 ? argmax(values, r * v, v) : sample(values, r * v, v, temperature, topK, rand);
      sequences[i]!.push(token);
      outputs[i]!.push(token);
      if (token === stopToken || outputs[i]!.length >= maxNewTokens) done[i] = true;
    }
  }
  return outputs;
}
