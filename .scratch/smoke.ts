import * as tf from "@tensorflow/tfjs";
import { create, globals } from "webgpu";
import { charTransformer } from "../runtime/models/char-transformer.ts";
import { additionData, modelContext, EpochSampler } from "../runtime/index.ts";
import { AdamW } from "../runtime/optimizer.ts";

const backendName = process.argv[2] ?? "webgpu";
if (backendName === "webgpu") {
  Object.assign(globalThis, globals);
  (globalThis as any).navigator = { gpu: create([]) };
  await import("@tensorflow/tfjs-backend-webgpu");
}
if (backendName === "wasm") await import("@tensorflow/tfjs-backend-wasm");
console.log("setBackend", await tf.setBackend(backendName));
await tf.ready();
const be = tf.backend() as any;
if (be.readSync) { const orig = be.readSync.bind(be); be.readSync = (id: any) => { const d = be.tensorMap?.get?.(id); if (backendName==="webgpu" && d && d.values == null) console.log("SYNC READ", new Error().stack?.split("\n").slice(2,8).join("\n")); return orig(id); }; }
const d = Number(process.argv[3] ?? 16);
const data = additionData({ digits: 2, trainExamples: 400, evalExamples: 50, reverseAnswer: true, fixedWidth: true, seed: 1 });
const model = charTransformer({ dModel: d, layers: 2, heads: 2, contextLength: 9 }, modelContext(data));
const params = model.createParameters(42);
const list = Object.values(params);
const opt = new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 });
const sampler = new EpochSampler(data.trainSize, 32, 42);
const losses: number[] = [];
const t0 = performance.now(); let tokens = 0;
for (let step = 0; step < 10; step++) {
  const batch = data.trainBatch(sampler.nextBatch());
  tokens += batch.x.size;
  const { value, grads } = tf.variableGrads(() => tf.div(model.lossSum(params, batch), batch.items) as tf.Scalar, list);
  tf.dispose([batch.x, batch.y, batch.mask]);
  const named = Object.fromEntries(Object.entries(params).map(([n, p]) => [n, grads[p.name]!]));
  opt.step(named, 1e-3);
  tf.dispose(Object.values(grads));
  losses.push((await value.data())[0]!);
  value.dispose();
  console.log(step, losses.at(-1), tf.memory().numTensors);
}
console.log("tokens/s", tokens / ((performance.now() - t0) / 1000));
