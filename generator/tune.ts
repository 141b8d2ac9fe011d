/**
 * generator/tune.ts — `gen-trainer --tune`: pick the fastest formulation of the built-in model
 * on this machine's backend, and record the choice and the measurements in the plan.
 *
 * The same transformer trains several times faster written one way than another, and which way
 * wins depends on the backend (on wasm, matMul with transpose flags is 4-5x slower than an
 * explicit transpose; on cpu it is the other way round; gather vs one-hot embedding depends on
 * the vocabulary). Tuning times a few training steps of each formulation with the spec's own
 * model, batch and sequence shape, interleaved, and keeps the fastest. Without --tune the
 * program uses fixed per-backend defaults, so committed goldens never depend on a machine.
 *
 * The tuning records the backend's tfjs name ("wasm", "cpu", "webgpu", "tensorflow"); a tuned
 * program that runs on another backend uses that backend's defaults instead, and says so
 * (formulationFor in runtime/models/matmul.ts).
 */
import type { BackendChoice } from "../runtime/backend.ts";
import type { Formulation } from "../runtime/models/matmul.ts";
import { UsageError } from "./diagnostics.ts";
import type { TrainingPlan } from "./plan.ts";

export type { Formulation };

/** The backends `--tune-backend` accepts (webgpu only where its optional packages and an adapter exist). */
export const TUNE_BACKENDS = ["wasm", "cpu", "webgpu", "tensorflow"] as const;

export interface Tuning {
  /** The tfjs backend name the formulations were timed on. */
  backend: string;
  choice: Formulation;
  /** Median milliseconds per training step of each formulation, in the order measured. */
  measured: { formulation: Formulation; msPerStep: number }[];
}

const FORMULATIONS: Formulation[] = [
  { matmul: "explicit-transpose", embedding: "one-hot" },
  { matmul: "explicit-transpose", embedding: "gather" },
  { matmul: "plain", embedding: "one-hot" },
  { matmul: "plain", embedding: "gather" },
];

/** Times the formulations for the plan's model and data shapes; null (with the reason) when the model cannot be tuned. */
export async function tunePlan(plan: TrainingPlan, backend: string, rounds = 3): Promise<{ tuning: Tuning | null; reason: string | null }> {
  const model = plan.model;
  if (model.kind !== "char-transformer") return { tuning: null, reason: "only the char-transformer preset has alternative formulations" };
  const data = plan.data;
  if (data.kind === "module") return { tuning: null, reason: "the data is a user module, whose shape is known only at run time" };
  if (data.kind === "jsonl") return { tuning: null, reason: "JSON Lines rows are tokenized when the program runs, so their shape is known only then" };
  const shape = data.kind === "addition" ? { vocabulary: data.vocabularySize, T: data.sequenceLength } : { vocabulary: data.vocabularySize, T: data.sequenceLength.value };
  // TensorFlow.js and the runtime load only when tuning.
  const tf = await import("@tensorflow/tfjs");
  const { AdamW, charTransformer, selectBackend } = await import("../runtime/index.ts");
  const { UserError } = await import("../runtime/user-error.ts");
  try {
    await selectBackend(backend as BackendChoice);
  } catch (error) {
    if (error instanceof UserError) throw new UsageError(`--tune-backend ${backend}: ${error.message}`);
    throw error;
  }
  const used = tf.getBackend();
  const B = plan.batch.perDevice.value;
  const x = tf.randomUniform([B, shape.T], 0, shape.vocabulary, "int32", 1);
  const y = tf.randomUniform([B, shape.T], 0, shape.vocabulary, "int32", 2);
  const mask = tf.ones([B, shape.T]);
  const batch = { x, y, mask, items: B * shape.T };
  const samples = new Map<number, number[]>(FORMULATIONS.map((_, i) => [i, []]));
  const setups = FORMULATIONS.map((formulation) => {
    const definition = charTransformer({ dModel: model.dModel.value, layers: model.layers.value, heads: model.heads.value, contextLength: model.contextLength.value, formulation }, { vocabularySize: shape.vocabulary, sequenceLength: shape.T });
    const params = definition.createParameters(0);
    return { definition, params, optimizer: new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }) };
  });
  const step = async (i: number): Promise<number> => {
    const { definition, params, optimizer } = setups[i]!;
    const t0 = performance.now();
    const { value, grads } = tf.variableGrads(() => tf.div(definition.lossSum(params, batch), batch.items) as import("@tensorflow/tfjs").Scalar, Object.values(params));
    optimizer.step(Object.fromEntries(Object.entries(params).map(([n, p]) => [n, grads[p.name]!])), 1e-4);
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
    return performance.now() - t0;
  };
  for (let i = 0; i < FORMULATIONS.length; i++) await step(i); // warm-up: kernels, caches, Adam state
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < FORMULATIONS.length; i++) samples.get(i)!.push(await step(i));
  }
  for (const s of setups) tf.dispose([...Object.values(s.params), ...Object.values(s.optimizer.m), ...Object.values(s.optimizer.v)]);
  tf.dispose([x, y, mask]);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const measured = FORMULATIONS.map((formulation, i) => ({ formulation, msPerStep: Math.round(median(samples.get(i)!) * 10) / 10 }));
  const best = measured.reduce((a, b) => (b.msPerStep < a.msPerStep ? b : a));
  return { tuning: { backend: used, choice: best.formulation, measured }, reason: null };
}
