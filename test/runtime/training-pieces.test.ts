// The runtime's training pieces against hand-computed values: sampler, AdamW, schedules,
// gradient clipping.
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { clipGradientsByGlobalNorm, globalNorm } from "../../runtime/gradients.ts";
import { AdamW, usesWeightDecay } from "../../runtime/optimizer.ts";
import { EpochSampler } from "../../runtime/sampler.ts";
import { constantWithWarmup, cosineWithWarmup, linearWithWarmup } from "../../runtime/schedule.ts";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe("EpochSampler", () => {
  it("visits every example once per epoch, in an order fixed by seed and epoch", () => {
    const s = new EpochSampler(10, 3, 7);
    const epoch0 = [s.nextBatch(), s.nextBatch(), s.nextBatch(), s.nextBatch()];
    expect(epoch0.map((b) => b.length)).toEqual([3, 3, 3, 1]); // the last batch is short, none dropped
    expect(epoch0.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.epochEnded).toBe(true);
    const epoch1 = s.nextBatch();
    expect(s.epoch).toBe(1);
    const again = new EpochSampler(10, 3, 7);
    expect([again.nextBatch(), again.nextBatch(), again.nextBatch(), again.nextBatch()]).toEqual(epoch0);
    expect(epoch1).not.toEqual(epoch0[0]);
  });

  it("the order does not depend on the batch size: k batches of b are one batch of k·b", () => {
    const small = new EpochSampler(50, 4, 3);
    const big = new EpochSampler(50, 16, 3);
    for (let step = 0; step < 8; step++) {
      expect(small.nextBatches(4).flat()).toEqual(big.nextBatch());
    }
  });

  it("a step never spans two epochs; the partial window is returned short", () => {
    const s = new EpochSampler(10, 2, 1);
    expect(s.nextBatches(4).length).toBe(4);
    expect(s.nextBatches(4).length).toBe(1);
    expect(s.stepsPerEpoch(4)).toBe(2);
    expect(s.nextBatches(4).length).toBe(4);
    expect(s.epoch).toBe(1);
  });

  it("state round-trips mid-epoch", () => {
    const s = new EpochSampler(20, 3, 5);
    s.nextBatches(2);
    s.nextBatches(2);
    s.nextBatches(2);
    s.nextBatches(2); // into epoch 1
    const state = s.state();
    const next = s.nextBatches(2);
    const r = new EpochSampler(20, 3, 5);
    r.restore(state);
    expect(r.nextBatches(2)).toEqual(next);
    expect(() => r.restore({ epoch: 0, position: 21 })).toThrow(/Invalid data-order state/);
  });
});

describe("AdamW", () => {
  it("matches torch.optim.AdamW's update by hand for two steps", async () => {
    const p = tf.variable(tf.tensor1d([1, -2]), true, "adamw_test_p");
    const opt = new AdamW({ weight: p }, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 });
    const lr = 0.01;
    const grads = [[0.5, -1], [0.25, 2]];
    let m = [0, 0];
    let v = [0, 0];
    let w = [1, -2];
    for (let t = 1; t <= 2; t++) {
      const g = grads[t - 1]!;
      opt.step({ weight: tf.tensor1d(g) }, lr);
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]!);
      v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i]! ** 2);
      w = w.map((wi, i) => wi * (1 - lr * 0.1) - (lr / (1 - 0.9 ** t)) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - 0.999 ** t) + 1e-8)));
    }
    const got = Array.from(await p.data());
    got.forEach((x, i) => expect(x).toBeCloseTo(w[i]!, 6));
    expect(opt.stepCount).toBe(2);
  });

  it("creates its state up front: the number of tensors does not change across steps", () => {
    const p = tf.variable(tf.ones([3]), true, "adamw_test_q");
    const opt = new AdamW({ q: p }, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
    const g = tf.ones([3]);
    const before = tf.memory().numTensors;
    opt.step({ q: g }, 0.1);
    opt.step({ q: g }, 0.1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("exempts biases and LayerNorm parameters from weight decay", () => {
    expect(usesWeightDecay("h.0.attn.wq")).toBe(true);
    expect(usesWeightDecay("h.0.mlp.b_fc")).toBe(false);
    expect(usesWeightDecay("fc.0.bias")).toBe(false);
    expect(usesWeightDecay("h.0.ln_1.gain")).toBe(false);
    expect(usesWeightDecay("ln_f.bias")).toBe(false);
  });
});

describe("learning-rate schedules (HF formulas)", () => {
  it("linear: warmup from 0, then linear decay to 0", () => {
    expect([0, 5, 10, 55, 100].map((s) => linearWithWarmup(s, 10, 100))).toEqual([0, 0.5, 1, 0.5, 0]);
  });
  it("cosine: warmup, then half a cosine", () => {
    expect(cosineWithWarmup(10, 10, 110)).toBeCloseTo(1);
    expect(cosineWithWarmup(60, 10, 110)).toBeCloseTo(0.5);
    expect(cosineWithWarmup(110, 10, 110)).toBeCloseTo(0);
  });
  it("constant with warmup", () => {
    expect([0, 2, 4, 1000].map((s) => constantWithWarmup(s, 4))).toEqual([0, 0.5, 1, 1]);
  });
});

describe("gradient clipping", () => {
  it("computes the global L2 norm over all gradients and clips to maxNorm", async () => {
    const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor2d([[0, 4]]) }; // ‖g‖ = 5
    const norm = clipGradientsByGlobalNorm(grads, 1);
    expect((await norm.data())[0]).toBeCloseTo(5, 6);
    // g · 1/(5 + 1e-6)
    expect(Array.from(await grads.a.data())[0]).toBeCloseTo(3 / (5 + 1e-6), 6);
    expect(Array.from(await grads.b.data())[1]).toBeCloseTo(4 / (5 + 1e-6), 6);
    const after = globalNorm(grads);
    expect((await after.data())[0]).toBeCloseTo(1, 5);
  });

  it("leaves gradients whose norm is below the threshold exactly unchanged", async () => {
    const grads = { a: tf.tensor1d([0.3, -0.4]) }; // ‖g‖ = 0.5
    const norm = clipGradientsByGlobalNorm(grads, 1);
    expect((await norm.data())[0]).toBeCloseTo(0.5, 6);
    expect(Array.from(await grads.a.data())).toEqual([Math.fround(0.3), Math.fround(-0.4)]);
  });
});
