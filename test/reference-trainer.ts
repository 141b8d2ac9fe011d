/**
 * test/reference-trainer.ts — the differential oracle: a general trainer that interprets a
 * TrainingPlan at run time, branching on every feature of it, with the same runtime library.
 *
 * A generated program is the same loop specialized to one spec. For a plan, this trainer and
 * the generated program must produce identical logged losses and bit-identical weights on the
 * cpu backend; any difference is a generator bug. It reads the plan's values and cadences
 * directly (no code in the plan is evaluated), and covers the training path (data, model, AdamW,
 * schedule, accumulation, clipping, fp16, logging cadence); evaluation, samples and checkpoints
 * only read state, so they are left out (the programs under test may still have them on).
 */
import * as tf from "@tensorflow/tfjs";
import type { Cadence, TrainingPlan } from "../generator/plan.ts";
import {
  AdamW,
  accumulate,
  additionData,
  allFinite,
  charTransformer,
  clipGradientsByGlobalNorm,
  constantWithWarmup,
  cosineWithWarmup,
  disposeAll,
  EpochSampler,
  fp16RoundWithGradient,
  linearWithWarmup,
  LossScaler,
  mlp,
  modelContext,
  roundGradientsToFp16,
  RunningMean,
  scaleGradients,
  type Batch,
  type DatasetDefinition,
  type ModelDefinition,
  type NamedTensors,
  type StepGradients,
} from "../runtime/index.ts";

export interface ReferenceRun {
  /** Logged train losses by step, as the program logs them. */
  losses: Map<number, number>;
  weights: Record<string, Float32Array>;
  skippedSteps: number;
}

/** A step interval of a cadence, once max steps are known (null: at epoch ends). */
function every(cadence: Cadence, maxSteps: number): number | null {
  if (cadence === "epoch") return null;
  return cadence.ratioOfMaxSteps ? Math.ceil(maxSteps * cadence.every.value) : cadence.every.value;
}

export async function trainWithReference(plan: TrainingPlan, maxStepsOverride?: number): Promise<ReferenceRun> {
  const d = plan.data;
  if (d.kind !== "addition") throw new Error("the reference trainer supports the addition preset");
  const seed = plan.run.seed.value;
  const data: DatasetDefinition = additionData({
    digits: d.digits.value,
    trainExamples: d.trainExamples.value,
    evalExamples: d.evalExamples.value,
    reverseAnswer: d.reverseAnswer.value,
    fixedWidth: d.fixedWidth.value,
    seed: d.seed?.value ?? seed,
  });
  const sampler = new EpochSampler(data.trainSize, plan.batch.perDevice.value, seed);
  const k = plan.batch.accumulation?.steps.value ?? 1;
  const maxSteps = maxStepsOverride ?? ("maxSteps" in plan.length ? plan.length.maxSteps.value : Math.ceil(plan.length.epochs.value * sampler.stepsPerEpoch(k)));
  const m = plan.model;
  let model: ModelDefinition;
  if (m.kind === "char-transformer") model = charTransformer({ dModel: m.dModel.value, layers: m.layers.value, heads: m.heads.value, contextLength: m.contextLength.value }, modelContext(data));
  else if (m.kind === "mlp") model = mlp({ hidden: m.hidden.value, window: m.window.value, embedding: m.embedding.value }, modelContext(data));
  else throw new Error("the reference trainer supports the built-in models");
  const params = model.createParameters(seed);
  const paramList = Object.values(params);
  const o = plan.optimizer;
  const optimizer = new AdamW(params, { beta1: o.beta1.value, beta2: o.beta2.value, epsilon: o.epsilon.value, weightDecay: o.weightDecay.value });
  const f = plan.fp16;
  const scaler = f
    ? new LossScaler({ initScale: f.initScale.value, growthFactor: f.growthFactor.value, backoffFactor: f.backoffFactor.value, growthInterval: f.growthInterval.value, minScale: f.minScale?.value ?? null })
    : null;
  const w = plan.schedule.warmup;
  const warmup = w === null ? 0 : "steps" in w ? w.steps.value : Math.ceil(maxSteps * w.ratio.value);
  const schedule = {
    linear: (s: number) => linearWithWarmup(s, warmup, maxSteps),
    cosine: (s: number) => cosineWithWarmup(s, warmup, maxSteps),
    constant_with_warmup: (s: number) => constantWithWarmup(s, warmup),
    constant: () => 1,
  }[plan.schedule.type.value];
  const logging = plan.logging;
  const loggingEvery = logging?.cadence ? every(logging.cadence, maxSteps) : null;
  const logsAtEpoch = logging?.cadence === "epoch";

  const named = (byVariable: tf.NamedTensorMap): NamedTensors => Object.fromEntries(Object.entries(params).map(([name, p]) => [name, byVariable[p.name]!]));
  const backward = (batch: Batch, items: number): StepGradients => {
    if (scaler) {
      const scale = scaler.scale;
      const { value, grads } = tf.variableGrads(() => tf.mul(tf.div(model.lossSum(params, batch, { roundActivations: fp16RoundWithGradient }), items), scale) as tf.Scalar, paramList);
      tf.dispose([batch.x, batch.y, batch.mask]);
      const loss = tf.div(value, scale) as tf.Scalar;
      value.dispose();
      return { loss, grads: roundGradientsToFp16(named(grads)) };
    }
    const { value, grads } = tf.variableGrads(() => tf.div(model.lossSum(params, batch), items) as tf.Scalar, paramList);
    tf.dispose([batch.x, batch.y, batch.mask]);
    return { loss: value, grads: named(grads) };
  };

  const losses = new Map<number, number>();
  const lossMean = new RunningMean();
  let schedulerStep = 0;
  let skippedSteps = 0;
  for (let step = 1; step <= maxSteps; step++) {
    const lr = o.learningRate.value * schedule(schedulerStep);
    let total: StepGradients;
    if (k > 1) {
      const micro = sampler.nextBatches(k).map((examples) => data.trainBatch(examples));
      const items = micro.reduce((s, b) => s + b.items, 0);
      total = backward(micro[0]!, items);
      for (let i = 1; i < micro.length; i++) accumulate(total, backward(micro[i]!, items));
    } else {
      const batch = data.trainBatch(sampler.nextBatch());
      total = backward(batch, batch.items);
    }
    let finite = true;
    if (scaler) {
      scaleGradients(total.grads, scaler.unscaleFactor());
      finite = await allFinite(Object.values(total.grads));
    }
    if (plan.clipping) clipGradientsByGlobalNorm(total.grads, plan.clipping.maxGradNorm.value).dispose();
    if (finite) {
      optimizer.step(total.grads, lr);
      schedulerStep++;
    } else {
      skippedSteps++;
    }
    scaler?.update(!finite);
    disposeAll(total.grads);
    lossMean.add(total.loss);
    if (logging && ((logging.firstStep && step === 1) || (loggingEvery !== null && step % loggingEvery === 0) || (logsAtEpoch && sampler.epochEnded) || step === maxSteps)) {
      losses.set(step, await lossMean.take());
    }
  }
  const weights: Record<string, Float32Array> = {};
  for (const [name, p] of Object.entries(params)) weights[name] = (await p.data()) as Float32Array;
  tf.dispose([...paramList, ...Object.values(optimizer.m), ...Object.values(optimizer.v)]);
  return { losses, weights, skippedSteps };
}
