/**
 * runtime/data/sequence-batch.ts — packs token sequences into a next-token-prediction batch.
 *
 * For a sequence s, inputs are s[0..T-1] and targets s[1..T]; a target counts towards the loss
 * when its weight is 1. Sequences shorter than T+1 are padded and their padding weighs 0.
 * A target s[i] weighs 1 when i >= firstTarget and, if the sequence has a lossMask, lossMask[i].
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch } from "../types.ts";

export interface WeightedSequence {
  /** Token ids, at most T+1 long. */
  tokens: readonly number[];
  /** Index of the first target (in 1..) that counts; targets before it are prompt. */
  firstTarget: number;
  /**
   * Optional per-token weights for masks that are not one prompt/answer boundary (multi-turn
   * chats): target s[i] counts only when lossMask[i] is true (index 0, never a target, is unused).
   */
  lossMask?: readonly boolean[];
}

export function sequenceBatch(sequences: readonly WeightedSequence[], T: number, padToken: number): Batch {
  const B = sequences.length;
  const x = new Int32Array(B * T).fill(padToken);
  const y = new Int32Array(B * T).fill(padToken);
  const mask = new Float32Array(B * T);
  let items = 0;
  sequences.forEach((seq, b) => {
    const s = seq.tokens;
    for (let t = 0; t < T && t + 1 < s.length; t++) {
      x[b * T + t] = s[t]!;
      y[b * T + t] = s[t + 1]!;
      if (t + 1 >= seq.firstTarget && (seq.lossMask === undefined || seq.lossMask[t + 1] === true)) {
        mask[b * T + t] = 1;
        items++;
      }
    }
  });
  return {
    x: tf.tensor2d(x, [B, T], "int32"),
    y: tf.tensor2d(y, [B, T], "int32"),
    mask: tf.tensor2d(mask, [B, T], "float32"),
    items,
  };
}
