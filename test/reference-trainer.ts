/**
 * test/reference-trainer.ts — the differential oracle: a general trainer that interprets a
 * TrainingPlan at run time, branching on every feature flag, with the same runtime library.
 *
 * A generated program is the same loop specialized to one spec. For a plan, this trainer and
 * the generated program must produce identical logged losses and bit-identical weights on the
 * cpu backend; any difference is a generator bug. It covers the training path (data, model,
 * AdamW, schedule, accumulation, clipping, fp16); evaluation, samples and checkpoints only read
 * state, so they are left out (the programs under test may still have them on).
 */
import * as tf from "@tensorflow/tfjs";
import type { TrainingPlan } from "../generator/plan.ts";
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

/** The plan's config constants, by name, as values. */
export function planConstants(plan: TrainingPlan): Record<string, unknown> {
  return Object.fromEntries(plan.config.flatMap((g) => g.constants).map((c) => [c.name, new Function(`return (${c.value});`)() as unknown]));
}

export interface ReferenceRun {
  /** Logged train losses by step, as the program logs them. */
  losses: Map<number, number>;
  weights: Record<string, Float32Array>;
  skippedSteps: number;
}

export async function trainWithReference(plan: TrainingPlan, maxStepsOverride?: number): Promise<ReferenceRun> {
  const c = planConstants(plan);
  const n = (name: string) => c[name] as number;
  if (!plan.data.addition) throw new Error("the reference trainer supports the addition preset");
  const data: DatasetDefinition = additionData({
    digits: n("DIGITS"),
    trainExamples: n("TRAIN_EXAMPLES"),
    evalExamples: n("EVAL_EXAMPLES"),
    reverseAnswer: c.REVERSE_ANSWER as boolean,
    fixedWidth: c.FIXED_WIDTH as boolean,
    seed: n(c.DATA_SEED !== undefined ? "DATA_SEED" : "SEED"),
  });
  const sampler = new EpochSampler(data.trainSize, n("BATCH_SIZE"), n("SEED"));
  const k = plan.accumulation ? n("GRADIENT_ACCUMULATION_STEPS") : 1;
  const maxSteps = maxStepsOverride ?? (c.MAX_STEPS !== undefined ? n("MAX_STEPS") : Math.ceil(n("NUM_TRAIN_EPOCHS") * sampler.stepsPerEpoch(k)));
  const model: ModelDefinition =
    c.D_MODEL !== undefined
      ? charTransformer({ dModel: n("D_MODEL"), layers: n("LAYERS"), heads: n("HEADS"), contextLength: n("CONTEXT_LENGTH") }, modelContext(data))
      : mlp({ hidden: c.HIDDEN as number[], window: n("WINDOW"), embedding: n("EMBEDDING") }, modelContext(data));
  const params = model.createParameters(n("SEED"));
  const paramList = Object.values(params);
  const optimizer = new AdamW(params, { beta1: n("ADAM_BETA1"), beta2: n("ADAM_BETA2"), epsilon: n("ADAM_EPSILON"), weightDecay: n("WEIGHT_DECAY") });
  const scaler = plan.fp16
    ? new LossScaler({
        initScale: n("LOSS_SCALE_INIT"),
        growthFactor: n("LOSS_SCALE_GROWTH_FACTOR"),
        backoffFactor: n("LOSS_SCALE_BACKOFF_FACTOR"),
        growthInterval: n("LOSS_SCALE_GROWTH_INTERVAL"),
        minScale: c.LOSS_SCALE_MIN !== undefined ? n("LOSS_SCALE_MIN") : null,
      })
    : null;
  const warmup = c.WARMUP_STEPS !== undefined ? n("WARMUP_STEPS") : c.WARMUP_RATIO !== undefined ? Math.ceil(maxSteps * n("WARMUP_RATIO")) : 0;
  const schedule = plan.schedule.expression.includes("cosineWithWarmup")
    ? (s: number) => cosineWithWarmup(s, warmup, maxSteps)
    : plan.schedule.expression.includes("linearWithWarmup")
      ? (s: number) => linearWithWarmup(s, warmup, maxSteps)
      : plan.schedule.expression.includes("constantWithWarmup")
        ? (s: number) => constantWithWarmup(s, warmup)
        : () => 1;
  const loggingEvery = c.LOGGING_STEPS !== undefined ? n("LOGGING_STEPS") : c.LOGGING_STEPS_RATIO !== undefined ? Math.ceil(maxSteps * n("LOGGING_STEPS_RATIO")) : null;
  const logsFirst = plan.logging.condition?.includes("step === 1") ?? false;
  const logsAtEpoch = plan.logging.atEpoch;

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
    const lr = n("LEARNING_RATE") * schedule(schedulerStep);
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
    if (plan.clipping) clipGradientsByGlobalNorm(total.grads, n("MAX_GRAD_NORM")).dispose();
    if (finite) {
      optimizer.step(total.grads, lr);
      schedulerStep++;
    } else {
      skippedSteps++;
    }
    scaler?.update(!finite);
    disposeAll(total.grads);
    lossMean.add(total.loss);
    if (plan.logging.condition !== null && ((logsFirst && step === 1) || (loggingEvery !== null && step % loggingEvery === 0) || (logsAtEpoch && sampler.epochEnded) || step === maxSteps)) {
      losses.set(step, await lossMean.take());
    }
  }
  const weights: Record<string, Float32Array> = {};
  for (const [name, p] of Object.entries(params)) weights[name] = (await p.data()) as Float32Array;
  tf.dispose([...paramList, ...Object.values(optimizer.m), ...Object.values(optimizer.v)]);
  return { losses, weights, skippedSteps };
}
