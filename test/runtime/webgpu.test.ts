// The webgpu backend (runtime/webgpu.ts: tfjs-backend-webgpu over Dawn's Node bindings) against
// the cpu backend, with the pieces the generated programs use (the models' lossSum,
// tf.variableGrads, AdamW, globalNorm, fp16Round, checkpoints), and one generated program run
// end to end with --backend webgpu.
//
// Needs a WebGPU adapter. Without a GPU that is Mesa's lavapipe (Vulkan on the CPU), version 23 or
// newer: Debian 12's Mesa 22.3 gives Dawn no adapter, so .ci/run installs Mesa 25 from
// bookworm-backports. Outside CI the tests are skipped, with the reason, when there is no adapter;
// under CI (process.env.CI) a missing adapter fails them.
//
// Measured on lavapipe (Mesa 25.0.7, LLVM 15), 10 AdamW steps: losses and gradient norms within
// 2e-7 relative of the cpu backend's (0-2 float32 ulps), so LOSS_TOLERANCE is 1e-5 on a software
// adapter and 1e-4 on a GPU (other summation orders, FMA); fp16Round bit-exact on every value.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, describe, expect, it } from "vitest";
import { backendDevice, selectBackend } from "../../runtime/backend.ts";
import { loadCheckpoint, saveCheckpoint } from "../../runtime/checkpoint.ts";
import { additionData } from "../../runtime/data/addition.ts";
import { stepValues } from "../../runtime/divergence.ts";
import { allFinite, float16BitsToFloat32, float32ToFloat16Bits, fp16Round } from "../../runtime/fp16.ts";
import { modelContext } from "../../runtime/model-io.ts";
import { charTransformer } from "../../runtime/models/char-transformer.ts";
import { mlp } from "../../runtime/models/mlp.ts";
import { AdamW } from "../../runtime/optimizer.ts";
import { EpochSampler } from "../../runtime/sampler.ts";
import { trainerState } from "../../runtime/trainer-state.ts";
import type { ModelDefinition, NamedParams } from "../../runtime/types.ts";
import { ROOT, runProgram, tempDir } from "../helpers.ts";

/** Selects webgpu once; null when it started, else why not. */
async function startWebgpu(): Promise<string | null> {
  try {
    await selectBackend("webgpu");
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}
const unavailable = await startWebgpu();
if (unavailable !== null && process.env.CI) throw new Error(`CI must run the webgpu tests, but: ${unavailable}`);
if (unavailable !== null) console.warn(`test/runtime/webgpu.test.ts skipped: ${unavailable}`);
const adapter = backendDevice()?.adapter;
const LOSS_TOLERANCE = adapter?.software === false ? 1e-4 : 1e-5;

/** Dawn's notes on lavapipe's limits, printed to stderr on every start: not errors. */
const DAWN_NOTES = /^Warning: maxDynamic\w+PerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

const data = additionData({ digits: 2, trainExamples: 400, evalExamples: 50, reverseAnswer: true, fixedWidth: true, seed: 1 });
const ADAMW = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 };

const MODELS: Record<string, () => ModelDefinition> = {
  // d=32 and batch 32: activations ([288, 32] and up) are past tfjs-backend-webgpu's CPU hand-off
  // threshold (1000 elements), so the forward and backward passes run in shaders.
  "char-transformer": () => charTransformer({ dModel: 32, layers: 2, heads: 4, contextLength: 9 }, modelContext(data)),
  mlp: () => mlp({ hidden: [64, 64], window: 3, embedding: 8 }, modelContext(data)),
};

interface Run {
  definition: ModelDefinition;
  params: NamedParams;
  optimizer: AdamW;
  sampler: EpochSampler;
}

function newRun(model: string): Run {
  const definition = MODELS[model]!();
  const params = definition.createParameters(7);
  return { definition, params, optimizer: new AdamW(params, ADAMW), sampler: new EpochSampler(data.trainSize, 32, 3) };
}

/** One step as the generated programs take it: lossSum / items, variableGrads, the divergence read, AdamW. Returns [loss, gradient norm]. */
async function step(run: Run): Promise<[number, number]> {
  const batch = data.trainBatch(run.sampler.nextBatch());
  const { value, grads } = tf.variableGrads(() => tf.div(run.definition.lossSum(run.params, batch), batch.items) as tf.Scalar, Object.values(run.params));
  tf.dispose([batch.x, batch.y, batch.mask]);
  const named = Object.fromEntries(Object.entries(run.params).map(([name, p]) => [name, grads[p.name]!]));
  const values = await stepValues(value, named);
  run.optimizer.step(named, 3e-3);
  tf.dispose([value, ...Object.values(grads)]);
  return [values.loss, values.gradNorm];
}

async function train(run: Run, steps: number): Promise<[number, number][]> {
  const out: [number, number][] = [];
  for (let i = 0; i < steps; i++) out.push(await step(run));
  return out;
}

function dispose(run: Run): void {
  tf.dispose([...Object.values(run.params), ...Object.values(run.optimizer.m), ...Object.values(run.optimizer.v)]);
}

/** Runs `body` on `backend`, then goes back to webgpu. Tensors must not cross: tfjs moves data between backends with a synchronous read, which webgpu cannot do. */
async function on<T>(backend: string, body: () => Promise<T>): Promise<T> {
  await tf.setBackend(backend);
  if (backend === "cpu") (tf.backend() as unknown as { firstUse: boolean }).firstUse = false; // no tfjs-node banner
  try {
    return await body();
  } finally {
    await tf.setBackend("webgpu");
  }
}

function relativeErrors(got: number[], want: number[]): number[] {
  return got.map((g, i) => Math.abs(g - want[i]!) / Math.max(Math.abs(want[i]!), 1e-30));
}

/** Counts synchronous GPU→CPU reads (readSync of data that lives on the GPU) while `body` runs. */
async function countSyncReads(body: () => Promise<void>): Promise<number> {
  const backend = tf.backend() as unknown as { readSync(id: object): unknown; tensorMap: { get(id: object): { values: unknown } } };
  const readSync = backend.readSync;
  let count = 0;
  backend.readSync = function (this: typeof backend, id: object) {
    if (this.tensorMap.get(id).values == null) count++;
    return readSync.call(this, id);
  };
  try {
    await body();
  } finally {
    backend.readSync = readSync;
  }
  return count;
}

describe.skipIf(unavailable !== null)(`webgpu backend (${unavailable === null ? backendDevice()?.description : `skipped: ${unavailable}`})`, () => {
  afterAll(() => tf.setBackend("cpu"));

  it("selectBackend names the adapter; trainer_state records it", () => {
    const device = backendDevice()!;
    expect(device.name).toBe("webgpu");
    expect(device.description).toMatch(/^webgpu \(.+\)$/);
    expect(device.adapter!.description || device.adapter!.device).not.toBe("");
    if (device.adapter!.software) expect(device.description).toContain("software");
    expect(trainerState({ global_step: 1, epoch: 0, max_steps: 1, train_batch_size: 1, log_history: [] }).backend).toEqual(device);
  });

  for (const model of Object.keys(MODELS)) {
    it(`${model}: 10 steps give the cpu backend's losses and gradient norms (within ${LOSS_TOLERANCE} relative)`, async () => {
      const reference = await on("cpu", async () => {
        const run = newRun(model);
        const out = await train(run, 10);
        dispose(run);
        return out;
      });
      const run = newRun(model);
      const got = await train(run, 10);
      dispose(run);
      const lossErrors = relativeErrors(got.map((v) => v[0]), reference.map((v) => v[0]));
      const normErrors = relativeErrors(got.map((v) => v[1]), reference.map((v) => v[1]));
      for (const e of [...lossErrors, ...normErrors]) expect(e).toBeLessThan(LOSS_TOLERANCE);
      expect(got.at(-1)![0]).toBeLessThan(got[0]![0]); // it trains
    });

    it(`${model}: no tensor leaks and no synchronous GPU read per step`, async () => {
      const run = newRun(model);
      await train(run, 2); // kernels compiled, AdamW state in place
      const before = tf.memory().numTensors;
      const counts: number[] = [];
      const syncReads = await countSyncReads(async () => {
        for (let i = 0; i < 4; i++) {
          await step(run);
          counts.push(tf.memory().numTensors);
        }
      });
      dispose(run);
      expect(counts).toEqual([before, before, before, before]);
      expect(syncReads).toBe(0);
    });
  }

  it("tf.addN of more inputs than a shader may bind is summed in chunks (tfjs-backend-webgpu alone returns 0)", async () => {
    const xs = Array.from({ length: 40 }, (_, i) => tf.fill([2048], i + 1));
    const sum = tf.addN(xs);
    const values = await sum.data();
    tf.dispose([...xs, sum]);
    expect(values[0]).toBe(820);
    expect(values[2047]).toBe(820);
  });

  it("fp16Round is bit-exact (as the scalar reference and the cpu backend), subnormals, ties and overflow included", async () => {
    const values: number[] = [];
    const view = new DataView(new ArrayBuffer(4));
    let seed = 1;
    const random32 = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
    for (let i = 0; i < 20_000; i++) {
      view.setUint32(0, random32()); // every float32 bit pattern is equally likely: all exponents
      const v = view.getFloat32(0);
      if (Number.isFinite(v)) values.push(v);
    }
    for (let e = -30; e <= 17; e++) {
      // 1 + 2^-10 and 1 + 2^-11 (ties), 1 + 3·2^-11 (a tie rounding up), 1.5, 0.75, just below 2
      for (const m of [1, 1.5, 1 + 2 ** -10, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.75, 1.999]) values.push(m * 2 ** e, -m * 2 ** e);
    }
    for (let j = 0; j < 2048; j++) values.push(j * 2 ** -25, -j * 2 ** -25, (j + 0.5) * 2 ** -24); // the subnormal grid, its midpoints (ties)
    values.push(65504, 65519, 65519.996, 65520, -65520, 65536, 1e10, 3.4e38, -3.4e38, 2 ** -14, 2 ** -24, 2 ** -25, -(2 ** -25), 1e-45, -1e-45, 2 ** -126, -(2 ** -126), 0, -0);
    const x = Float32Array.from(values);
    const want = Array.from(x, (v) => float16BitsToFloat32(float32ToFloat16Bits(v)));
    const cpu = await on("cpu", async () => {
      const t = tf.tensor1d(x);
      const r = fp16Round(t);
      const out = Array.from(await r.data());
      tf.dispose([t, r]);
      return out;
    });
    // Small tensors whose data is still on the CPU run on tfjs's CPU kernels; this is big enough
    // not to, and the hand-off is switched off too, so the shaders compute every value.
    const forward = tf.env().getBool("WEBGPU_CPU_FORWARD");
    tf.env().set("WEBGPU_CPU_FORWARD", false);
    try {
      const t = tf.tensor1d(x);
      const r = fp16Round(t);
      const got = Array.from(await r.data());
      tf.dispose([t, r]);
      const mismatches = got.flatMap((g, i) => (Object.is(g, want[i]) ? [] : [`${x[i]}: ${g}, want ${want[i]}`]));
      expect(mismatches.slice(0, 10)).toEqual([]);
      expect(cpu.every((c, i) => Object.is(c, want[i]))).toBe(true);
      expect(await allFinite([tf.tensor1d(got.filter(Number.isFinite))])).toBe(true);
    } finally {
      tf.env().set("WEBGPU_CPU_FORWARD", forward);
    }
  });

  it("a checkpoint saved on webgpu and loaded into a fresh run continues with the same losses", async () => {
    const dir = tempDir("gen-trainer-webgpu-");
    const run = newRun("char-transformer");
    await train(run, 3);
    const path = await saveCheckpoint(dir, 3, {
      params: run.params,
      optimizer: run.optimizer,
      trainerState: trainerState({ global_step: 3, epoch: run.sampler.epochProgress, max_steps: 6, train_batch_size: 32, log_history: [] }),
      resume: { sampler: run.sampler.state(), schedulerStep: 3 },
    });
    const continued = await train(run, 3);
    dispose(run);
    const resumed = newRun("char-transformer");
    const loaded = await loadCheckpoint(path, { params: resumed.params, optimizer: resumed.optimizer, sampler: resumed.sampler });
    expect(loaded.globalStep).toBe(3);
    expect(loaded.trainerState.backend?.name).toBe("webgpu");
    const again = await train(resumed, 3);
    dispose(resumed);
    expect(again).toEqual(continued);
  });

  it("generated/minimal/train.ts trains 3 steps with --backend webgpu; its first line names the adapter", () => {
    const out = tempDir();
    const r = runProgram(join(ROOT, "generated/minimal/train.ts"), ["--max-steps", "3", "--output-dir", out, "--backend", "webgpu"]);
    expect(r.stderr.split("\n").filter((line) => line && !DAWN_NOTES.test(line))).toEqual([]);
    expect(r.status).toBe(0);
    const first = r.stdout.split("\n")[0]!;
    expect(first).toMatch(/^minimal: \d+ parameters, 400 training examples, 3 steps on webgpu \(.+\)$/);
    expect(first.endsWith(`3 steps on ${backendDevice()!.description}`)).toBe(true);
    expect(r.stdout).not.toContain("validation");
    const state = JSON.parse(readFileSync(join(out, "trainer_state.json"), "utf8")) as { global_step: number; backend: unknown; log_history: { loss?: number }[] };
    expect(state.global_step).toBe(3);
    expect(state.backend).toEqual(backendDevice());
    expect(Number.isFinite(state.log_history.at(-1)!.loss)).toBe(true);
    expect(existsSync(join(out, "model.safetensors"))).toBe(true);
  });

  // Last: the device error it provokes stays recorded for the rest of the process.
  it("a WebGPU validation error makes the next read throw instead of returning wrong values", async () => {
    const device = (tf.backend() as unknown as { device: { createBuffer(d: { size: number; usage: number }): unknown } }).device;
    device.createBuffer({ size: 4, usage: 0 }); // usage 0 is invalid
    const t = tf.add(tf.fill([2048], 1), 1);
    await expect(t.data()).rejects.toThrow(/The WebGPU device reported an error.*GPUValidationError/);
    t.dispose();
  });
});
