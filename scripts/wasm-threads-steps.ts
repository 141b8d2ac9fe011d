/**
 * scripts/wasm-threads-steps.ts — trains the char-transformer for a few steps on the wasm backend,
 * single-threaded or with --threads N, and prints one JSON line: the losses (as float32 bit
 * patterns too, for exact comparison), the milliseconds of each step after the warm-up, the
 * process's CPU milliseconds per step (all threads together) and the tensor counts.
 *
 *   tsx scripts/wasm-threads-steps.ts [--threads N] [--steps 5] [--warmup 1] [--d 128] [--layers 2]
 *     [--heads 4] [--batch 32] [--context 64] [--vocab 65]
 *
 * A training step is the generated programs' own: tf.variableGrads of the mean loss, then AdamW.
 * One wasm module per process, so comparing thread counts takes one process each
 * (scripts/measure-wasm-threads.ts alternates them; test/runtime/threads.test.ts checks equality).
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { AdamW, charTransformer, selectBackend } from "../runtime/index.ts";
import { wasmThreads } from "../runtime/wasm-threads.ts";

const { values } = parseArgs({
  options: {
    threads: { type: "string" },
    steps: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    d: { type: "string", default: "128" },
    layers: { type: "string", default: "2" },
    heads: { type: "string", default: "4" },
    batch: { type: "string", default: "32" },
    context: { type: "string", default: "64" },
    vocab: { type: "string", default: "65" },
  },
});
const n = (k: keyof typeof values) => Number(values[k]);
const threads = values.threads === undefined ? null : Number(values.threads);
if (n("warmup") < 1) throw new Error("--warmup must be at least 1");
const description = await selectBackend("wasm", { threads });
const B = n("batch");
const T = n("context");
const V = n("vocab");
const model = charTransformer({ dModel: n("d"), layers: n("layers"), heads: n("heads"), contextLength: T }, { vocabularySize: V, sequenceLength: T });
const params = model.createParameters(1);
const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 });
// Fixed batches (seeded), one per step, made before counting tensors.
const total = n("warmup") + n("steps");
const batches = Array.from({ length: total }, (_, i) => ({
  x: tf.randomUniform([B, T], 0, V, "int32", 100 + i),
  y: tf.randomUniform([B, T], 0, V, "int32", 200 + i),
  mask: tf.ones([B, T]),
  items: B * T,
}));
const losses: number[] = [];
let tensorsBefore = tf.memory().numTensors;
const ms: number[] = [];
let cpuStart = process.cpuUsage();
for (let i = 0; i < total; i++) {
  const batch = batches[i]!;
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => tf.div(model.lossSum(params, batch), batch.items) as tf.Scalar, Object.values(params));
  optimizer.step(Object.fromEntries(Object.entries(params).map(([name, p]) => [name, grads[p.name]!])), 1e-3);
  const loss = (await value.data())[0]!;
  tf.dispose([value, ...Object.values(grads)]);
  if (i >= n("warmup")) ms.push(performance.now() - t0);
  losses.push(loss);
  // Counted after the warm-up, which creates the one cached tensor (the causal mask).
  if (i === n("warmup") - 1) {
    tensorsBefore = tf.memory().numTensors;
    cpuStart = process.cpuUsage();
  }
}
const cpu = process.cpuUsage(cpuStart);
// CPU time of the whole process (all threads) per measured step.
const cpuMsPerStep = Math.round(((cpu.user + cpu.system) / 1000 / ms.length) * 10) / 10;
const tensorsAfter = tf.memory().numTensors;
const checksum = tf.tidy(() => tf.addN(Object.values(params).map((p) => tf.sum(tf.abs(p)))).dataSync()[0]!);
const bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0]!.toString(16).padStart(8, "0");
process.stdout.write(
  `${JSON.stringify({ description, threads: await wasmThreads(), losses, lossBits: losses.map(bits), paramChecksumBits: bits(checksum), ms: ms.map((x) => Math.round(x * 10) / 10), cpuMsPerStep, tensorsBefore, tensorsAfter })}\n`,
);
