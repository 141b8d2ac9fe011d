/**
 * test/runtime/models.test.ts — the built-in sequence models (char-transformer, mlp), their
 * wasm-specific pieces (custom-grad matmul, JS UnsortedSegmentSum) and the shared generation loop.
 *
 * Tiny configs on the cpu backend (V=7, T=8), with the wasm backend used only where the point is
 * to compare it with cpu.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import type { Batch, ModelDefinition, NamedParams } from "../../runtime/types.ts";
import { registerWasmKernels } from "../../runtime/wasm-kernels.ts";
import { charTransformer } from "../../runtime/models/char-transformer.ts";
import { mlp } from "../../runtime/models/mlp.ts";
import { addBroadcast, batchMatMul, matMul2d, mulBroadcast, transposeLast2 } from "../../runtime/models/matmul.ts";

const VOCAB = 7;
const T = 8;
const context = { vocabularySize: VOCAB, sequenceLength: T };

const models: Record<string, () => ModelDefinition> = {
  transformer: () => charTransformer({ dModel: 16, layers: 2, heads: 2, contextLength: T }, context),
  mlp: () => mlp({ hidden: [32, 32], window: 3, embedding: 8 }, context),
};

/** Rows of the repeating pattern 1..6 at different phases; y is x shifted by one. */
function patternBatch(b: number, maskFirst = false): Batch {
  const x: number[] = [];
  const y: number[] = [];
  const mask: number[] = [];
  const token = (i: number) => (i % 6) + 1;
  for (let r = 0; r < b; r++) {
    for (let t = 0; t < T; t++) {
      x.push(token(r + t));
      y.push(token(r + t + 1));
      mask.push(maskFirst && t === 0 ? 0 : 1);
    }
  }
  return {
    x: tf.tensor2d(x, [b, T], "int32"),
    y: tf.tensor2d(y, [b, T], "int32"),
    mask: tf.tensor2d(mask, [b, T], "float32"),
    items: mask.reduce((s, m) => s + m, 0),
  };
}

function disposeBatch(batch: Batch): void {
  tf.dispose([batch.x, batch.y, batch.mask]);
}

async function values(params: NamedParams): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const [name, p] of Object.entries(params)) out[name] = (await p.data()) as Float32Array;
  return out;
}

/** Gradients of lossSum by parameter name, read back to host arrays. */
async function gradients(model: ModelDefinition, params: NamedParams, batch: Batch): Promise<Record<string, Float32Array>> {
  const { value, grads } = tf.variableGrads(() => model.lossSum(params, batch), Object.values(params));
  const byName: Record<string, Float32Array> = {};
  for (const [name, p] of Object.entries(params)) byName[name] = (await grads[p.name]!.data()) as Float32Array;
  tf.dispose([value, grads]);
  return byName;
}

function maxRelativeDifference(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1e-8;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

beforeAll(async () => {
  registerWasmKernels();
  await tf.setBackend("wasm"); // initialise once, so later switches are cheap
  await tf.setBackend("cpu");
});

afterAll(async () => {
  await tf.setBackend("cpu");
});

describe("wasm kernels and matmul", () => {
  it("gradient of tf.gather on wasm equals cpu (JS UnsortedSegmentSum)", async () => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const table = tf.randomNormal([9, 5], 0, 1, "float32", 3);
      const ids = tf.tensor2d([[1, 2, 1], [8, 4, 4]], [2, 3], "int32");
      const weights = tf.randomNormal([2, 3, 5], 0, 1, "float32", 4);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights)))(table);
      const out = (await g.data()) as Float32Array;
      tf.dispose([table, ids, weights, g]);
      return out;
    };
    const cpu = await run("cpu");
    let wasm: Float32Array;
    try {
      wasm = await run("wasm");
    } finally {
      await tf.setBackend("cpu");
    }
    expect(maxRelativeDifference(cpu, wasm)).toBeLessThan(1e-6);
    expect(Array.from(wasm.slice(0, 5))).toEqual([0, 0, 0, 0, 0]); // row 0 is never gathered
  });

  it("custom-grad ops match the plain tf ops in value and gradient", async () => {
    await tf.setBackend("wasm");
    try {
      let seed = 10;
      const randn = (shape: number[]) => tf.randomNormal(shape, 0, 1, "float32", seed++);
      /** Compares f(custom)(x, y) and f(plain)(x, y) and their gradients against x and y. */
      const check = async (xShape: number[], yShape: number[], custom: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor, plain: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => {
        const x = randn(xShape);
        const y = randn(yShape);
        const w = randn(custom(x, y).shape);
        const loss = (f: typeof custom) => tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), w)) as tf.Scalar)([x, y]);
        const c = loss(custom);
        const p = loss(plain);
        for (const [ct, pt] of [[c.value, p.value], [c.grads[0]!, p.grads[0]!], [c.grads[1]!, p.grads[1]!]] as const) {
          expect(ct.shape).toEqual(pt.shape);
          expect(maxRelativeDifference((await pt.data()) as Float32Array, (await ct.data()) as Float32Array)).toBeLessThan(1e-5);
        }
        tf.dispose([x, y, w, c.value, c.grads, p.value, p.grads]);
      };
      const mm2 = (x: tf.Tensor, y: tf.Tensor) => matMul2d(x as tf.Tensor2D, y as tf.Tensor2D);
      const mm4 = (x: tf.Tensor, y: tf.Tensor) => batchMatMul(x as tf.Tensor4D, y as tf.Tensor4D);
      const plainMm = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D);
      // The three shapes exercise both transpose strategies of each matMul2d gradient.
      await check([6, 5], [5, 4], mm2, plainMm);
      await check([64, 32], [32, 4], mm2, plainMm);
      await check([2, 32], [32, 32], mm2, plainMm);
      await check([2, 3, 6, 5], [2, 3, 5, 4], mm4, (x, y) => tf.matMul(x as tf.Tensor4D, y as tf.Tensor4D));
      await check([7, 5], [5], addBroadcast, (x, y) => tf.add(x, y));
      await check([3, 4, 5], [4, 5], addBroadcast, (x, y) => tf.add(x, y));
      await check([7, 5], [5], mulBroadcast, (x, y) => tf.mul(x, y));
      const a4 = randn([2, 3, 5, 6]) as tf.Tensor4D;
      expect(transposeLast2(a4).shape).toEqual([2, 3, 6, 5]);
      a4.dispose();
    } finally {
      await tf.setBackend("cpu");
    }
  });
});

for (const [kind, make] of Object.entries(models)) {
  describe(kind, () => {
    it("createParameters is deterministic in the seed, with stable key order", async () => {
      const model = make();
      const p1 = model.createParameters(1);
      const p2 = model.createParameters(1);
      const p3 = model.createParameters(2);
      expect(Object.keys(p1)).toEqual(Object.keys(p2));
      const [v1, v2, v3] = [await values(p1), await values(p2), await values(p3)];
      for (const name of Object.keys(v1)) {
        expect(Array.from(v2[name]!)).toEqual(Array.from(v1[name]!));
      }
      const weight = kind === "transformer" ? "h.0.attn.wq" : "fc.0.weight";
      expect(Array.from(v3[weight]!)).not.toEqual(Array.from(v1[weight]!));
      tf.dispose([Object.values(p1), Object.values(p2), Object.values(p3)]);
    });

    it("initial loss sum is close to items · ln(V) and honours the mask", async () => {
      const model = make();
      const params = model.createParameters(0);
      const batch = patternBatch(4, true);
      const loss = model.lossSum(params, batch);
      expect(loss.shape).toEqual([]);
      const value = (await loss.data())[0]!;
      expect(Math.abs(value / (batch.items * Math.log(VOCAB)) - 1)).toBeLessThan(0.1);
      tf.dispose([loss, Object.values(params)]);
      disposeBatch(batch);
    });

    it("a loss + gradient computation leaks no tensors", () => {
      const model = make();
      const params = model.createParameters(0);
      const batch = patternBatch(2);
      const step = () =>
        tf.tidy(() => {
          tf.variableGrads(() => model.lossSum(params, batch), Object.values(params));
        });
      step(); // creates the shape caches (causal mask)
      const before = tf.memory().numTensors;
      step();
      step();
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(Object.values(params));
      disposeBatch(batch);
    });

    it("gradients on wasm match cpu", async () => {
      const model = make();
      const cpuParams = model.createParameters(5);
      const cpuBatch = patternBatch(3, true);
      const cpu = await gradients(model, cpuParams, cpuBatch);
      await tf.setBackend("wasm");
      try {
        const wasmParams = model.createParameters(5);
        const wasmBatch = patternBatch(3, true);
        const wasm = await gradients(model, wasmParams, wasmBatch);
        const before = tf.memory().numTensors; // the custom-grad ops leak nothing either
        await gradients(model, wasmParams, wasmBatch);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose(Object.values(wasmParams));
        disposeBatch(wasmBatch);
        for (const name of Object.keys(cpu)) {
          expect(maxRelativeDifference(cpu[name]!, wasm[name]!), name).toBeLessThan(1e-4);
        }
      } finally {
        await tf.setBackend("cpu");
      }
      tf.dispose(Object.values(cpuParams));
      disposeBatch(cpuBatch);
    });

    it("40 Adam steps on a repeated pattern cut the loss by more than half", async () => {
      const model = make();
      const params = model.createParameters(0);
      const batch = patternBatch(6);
      const optimizer = tf.train.adam(0.02);
      const varList = Object.values(params);
      const losses: number[] = [];
      for (let step = 0; step < 40; step++) {
        const loss = optimizer.minimize(() => tf.div(model.lossSum(params, batch), batch.items) as tf.Scalar, true, varList)!;
        losses.push((await loss.data())[0]!);
        loss.dispose();
      }
      expect(losses[39]!).toBeLessThan(0.5 * losses[0]!);
      optimizer.dispose();
      tf.dispose(varList);
      disposeBatch(batch);
    });

    it("generate: greedy is deterministic, respects maxNewTokens and stopToken, leaks nothing", async () => {
      const model = make();
      const params = model.createParameters(3);
      const prompts = [[1, 2, 3], [4], [5, 6, 1, 2, 3, 4, 5, 6, 1, 2]]; // the last is longer than T
      await model.generate!(params, prompts, { maxNewTokens: 1 }); // warm the shape caches
      const before = tf.memory().numTensors;
      const a = await model.generate!(params, prompts, { maxNewTokens: 10 });
      const b = await model.generate!(params, prompts, { maxNewTokens: 10 });
      expect(tf.memory().numTensors).toBe(before);
      expect(a).toEqual(b);
      expect(a.map((row) => row.length)).toEqual([10, 10, 10]);
      for (const row of a) for (const token of row) expect(token >= 0 && token < VOCAB).toBe(true);

      const stopToken = a[0]![3]!;
      const stopped = await model.generate!(params, prompts, { maxNewTokens: 10, stopToken });
      for (let i = 0; i < prompts.length; i++) {
        const cut = a[i]!.indexOf(stopToken);
        expect(stopped[i]).toEqual(cut < 0 ? a[i] : a[i]!.slice(0, cut + 1));
      }
      expect(stopped[0]!.length).toBeLessThanOrEqual(4);
      expect(await model.generate!(params, prompts, { maxNewTokens: 0 })).toEqual([[], [], []]);

      // topK 1 is greedy whatever the temperature.
      expect(await model.generate!(params, prompts, { maxNewTokens: 10, temperature: 1, topK: 1 })).toEqual(a);
      tf.dispose(Object.values(params));
    });

    it("generate: sampling is reproducible from its seed", async () => {
      const model = make();
      const params = model.createParameters(3);
      const prompts = [[1, 2], [3]];
      const options = { maxNewTokens: 12, temperature: 1.5, seed: 42 };
      await model.generate!(params, prompts, { ...options, maxNewTokens: 1 });
      const before = tf.memory().numTensors;
      const a = await model.generate!(params, prompts, options);
      const b = await model.generate!(params, prompts, options);
      const c = await model.generate!(params, prompts, { ...options, seed: 43 });
      expect(a).toEqual(b);
      expect(c).not.toEqual(a);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(Object.values(params));
    });

    it("accepts batches shorter than the context", async () => {
      const model = make();
      const params = model.createParameters(0);
      const batch = patternBatch(2);
      const short = { ...batch, x: tf.slice(batch.x, [0, 0], [2, 5]), y: tf.slice(batch.y, [0, 0], [2, 5]), mask: tf.ones([2, 5]), items: 10 };
      const loss = model.lossSum(params, short);
      expect(Math.abs((await loss.data())[0]! / (10 * Math.log(VOCAB)) - 1)).toBeLessThan(0.1);
      tf.dispose([loss, short.x, short.y, short.mask, Object.values(params)]);
      disposeBatch(batch);
    });

    it("roundActivations is applied at every block boundary", async () => {
      const model = make();
      const params = model.createParameters(0);
      const batch = patternBatch(2);
      let calls = 0;
      const spy = (x: tf.Tensor) => {
        calls += 1;
        return x;
      };
      const plain = model.lossSum(params, batch);
      const rounded = model.lossSum(params, batch, { roundActivations: spy });
      expect(calls).toBe(3); // transformer: 2 blocks + final; mlp: 2 hidden layers + final
      expect((await rounded.data())[0]).toBeCloseTo((await plain.data())[0]!, 5);
      tf.dispose([plain, rounded, Object.values(params)]);
      disposeBatch(batch);
    });
  });
}
