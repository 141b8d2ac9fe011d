/**
 * runtime/gradients.ts — operations on a whole set of gradients: accumulate, clip, dispose.
 */
import * as tf from "@tensorflow/tfjs";
import { fp16Round } from "./fp16.ts";
import type { NamedTensors } from "./types.ts";

/** Adds `more` into `sum` in place (the old tensors of both are disposed). */
export function accumulateGradients(sum: NamedTensors, more: NamedTensors): void {
  for (const name of Object.keys(sum)) {
    const total = tf.add(sum[name]!, more[name]!);
    sum[name]!.dispose();
    more[name]!.dispose();
    sum[name] = total;
  }
}

/** Global L2 norm over all gradients: √(Σ‖g‖²), as torch.nn.utils.clip_grad_norm_. */
export function globalNorm(grads: NamedTensors): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/**
 * Clips in place by global norm: g ← g · min(1, maxNorm / (‖g‖ + 1e-6)), computed on the
 * device with no read-back. Returns the norm before clipping (the caller disposes it).
 */
export function clipGradientsByGlobalNorm(grads: NamedTensors, maxNorm: number): tf.Scalar {
  const norm = globalNorm(grads);
  const coef = tf.tidy(() => tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1));
  for (const name of Object.keys(grads)) {
    const clipped = tf.mul(grads[name]!, coef);
    grads[name]!.dispose();
    grads[name] = clipped;
  }
  coef.dispose();
  return norm;
}

/** Multiplies every gradient by `factor` in place. */
export function scaleGradients(grads: NamedTensors, factor: number): void {
  for (const name of Object.keys(grads)) {
    const scaled = tf.mul(grads[name]!, factor);
    grads[name]!.dispose();
    grads[name] = scaled;
  }
}

export function disposeAll(tensors: NamedTensors): void {
  for (const t of Object.values(tensors)) t.dispose();
}

/** The loss and gradients of one optimizer step, summed over its micro-batches. */
export interface StepGradients {
  loss: tf.Scalar;
  grads: NamedTensors;
}

/** Adds the loss and gradients of another micro-batch into `total` (disposing both old sets). */
export function accumulate(total: StepGradients, more: StepGradients): void {
  accumulateGradients(total.grads, more.grads);
  const loss = tf.add(total.loss, more.loss) as tf.Scalar;
  total.loss.dispose();
  more.loss.dispose();
  total.loss = loss;
}

/** Rounds every gradient to binary16 in place (fp16 emulation, see runtime/fp16.ts); returns `grads`. */
export function roundGradientsToFp16(grads: NamedTensors): NamedTensors {
  for (const name of Object.keys(grads)) {
    const rounded = fp16Round(grads[name]!);
    grads[name]!.dispose();
    grads[name] = rounded;
  }
  return grads;
}
