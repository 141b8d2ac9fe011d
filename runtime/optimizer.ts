/**
 * runtime/optimizer.ts — AdamW with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW.
 *
 * tfjs's Adam has no decoupled weight decay and hides its state, so this one is written out:
 *   p ← p − lr·λ·p                              (decay, skipped for biases and LayerNorm gains)
 *   m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)
 * The moments are created with the optimizer (not lazily on the first step), so the number of
 * live tensors is the same before and after every step, and the whole state — moments and the
 * step count t — can be saved and restored.
 */
import * as tf from "@tensorflow/tfjs";
import type { NamedParams, NamedTensors } from "./types.ts";

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

/** HF's rule: no weight decay on biases and normalization parameters. */
export function usesWeightDecay(name: string): boolean {
  return !name.split(".").some((part) => part === "bias" || part.startsWith("b_") || part.startsWith("ln") || part.includes("norm"));
}

export class AdamW {
  /** Optimizer steps applied so far (t). */
  stepCount = 0;
  readonly m: Record<string, tf.Variable> = {};
  readonly v: Record<string, tf.Variable> = {};

  constructor(
    readonly params: NamedParams,
    readonly config: AdamWConfig,
  ) {
    tf.tidy(() => {
      for (const [name, p] of Object.entries(params)) {
        this.m[name] = tf.variable(tf.zerosLike(p), false);
        this.v[name] = tf.variable(tf.zerosLike(p), false);
      }
    });
  }

  /** Applies one update with learning rate `lr`; `grads` are not disposed. */
  step(grads: NamedTensors, lr: number): void {
    const { beta1, beta2, epsilon, weightDecay } = this.config;
    this.stepCount += 1;
    const t = this.stepCount;
    const stepSize = lr / (1 - beta1 ** t);
    const sqrtBias2 = Math.sqrt(1 - beta2 ** t);
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const g = grads[name];
        if (!g) throw new Error(`AdamW: no gradient for parameter ${name}.`);
        const m = this.m[name]!.mul(beta1).add(g.mul(1 - beta1));
        const v = this.v[name]!.mul(beta2).add(g.square().mul(1 - beta2));
        this.m[name]!.assign(m);
        this.v[name]!.assign(v);
        const decayed = weightDecay > 0 && usesWeightDecay(name) ? p.mul(1 - lr * weightDecay) : p;
        const denom = v.sqrt().div(sqrtBias2).add(epsilon);
        p.assign(decayed.sub(m.div(denom).mul(stepSize)));
      }
    });
  }

  /** Moments by name ("m.<param>", "v.<param>"), for optimizer.safetensors. */
  stateTensors(): NamedTensors {
    const out: NamedTensors = {};
    for (const name of Object.keys(this.params)) {
      out[`m.${name}`] = this.m[name]!;
      out[`v.${name}`] = this.v[name]!;
    }
    return out;
  }

  /** Why saved moments do not fit this optimizer (null: they fit). */
  stateProblem(tensors: Record<string, { shape: number[] }>, source: string): string | null {
    for (const name of Object.keys(this.params)) {
      for (const [prefix, target] of [["m", this.m], ["v", this.v]] as const) {
        const key = `${prefix}.${name}`;
        const saved = tensors[key];
        const variable = target[name]!;
        if (!saved) return `${source} has no tensor "${key}"; it was saved for a different model.`;
        if (saved.shape.join(",") !== variable.shape.join(",")) {
          return `${source}: "${key}" has shape [${saved.shape}] but this model needs [${variable.shape}]; the checkpoint is from a model of another shape.`;
        }
      }
    }
    return null;
  }

  /** Restores moments saved by stateTensors() and the step count (check stateProblem first). */
  restore(tensors: Record<string, { shape: number[]; data: Float32Array | Int32Array }>, stepCount: number, source: string): void {
    const problem = this.stateProblem(tensors, source);
    if (problem) throw new Error(problem);
    for (const name of Object.keys(this.params)) {
      for (const [prefix, target] of [["m", this.m], ["v", this.v]] as const) {
        const saved = tensors[`${prefix}.${name}`]!;
        tf.tidy(() => target[name]!.assign(tf.tensor(saved.data, saved.shape, "float32")));
      }
    }
    this.stepCount = stepCount;
  }
}
