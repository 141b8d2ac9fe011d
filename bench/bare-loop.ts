/**
 * bench/bare-loop.ts — the loop a user would write by hand with no features: forward, backward,
 * AdamW update, nothing else (no logging, eval, clipping or saving). The baseline that the
 * bench measures the generated program's feature overhead against.
 *
 *   tsx bench/bare-loop.ts <steps> <backend> <batch>
 */
import * as tf from "@tensorflow/tfjs";
import { AdamW, additionData, charTransformer, EpochSampler, modelContext, selectBackend, type BackendChoice } from "../runtime/index.ts";

const [steps, backend, batch] = [Number(process.argv[2] ?? 1000), (process.argv[3] ?? "wasm") as BackendChoice, Number(process.argv[4] ?? 32)];
await selectBackend(backend);
const data = additionData({ digits: 3, trainExamples: 20000, evalExamples: 100, reverseAnswer: true, fixedWidth: true, seed: 42 });
const sampler = new EpochSampler(data.trainSize, batch, 42);
const model = charTransformer({ dModel: 32, layers: 1, heads: 2, contextLength: 12 }, modelContext(data));
const params = model.createParameters(42);
const paramList = Object.values(params);
const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
const started = performance.now();
for (let step = 0; step < steps; step++) {
  const b = data.trainBatch(sampler.nextBatch());
  const { value, grads } = tf.variableGrads(() => tf.div(model.lossSum(params, b), b.items) as tf.Scalar, paramList);
  optimizer.step(Object.fromEntries(Object.entries(params).map(([n, p]) => [n, grads[p.name]!])), 1e-3);
  tf.dispose([value, b.x, b.y, b.mask, ...Object.values(grads)]);
}
process.stdout.write(`${JSON.stringify({ train_runtime: (performance.now() - started) / 1000 })}\n`);
