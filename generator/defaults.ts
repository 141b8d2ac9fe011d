/**
 * generator/defaults.ts — Hugging Face's defaults for every argument a spec may leave out.
 *
 * The planner is the only consumer that fills them in; the validator reads them only to check
 * cross-field rules against the values a run will really use (e.g. evalSteps defaults to
 * loggingSteps, as in HF).
 */
import type { IntervalStrategy, LrSchedulerType, ReportTo, SaveStrategy } from "./spec-types.ts";

export const ARG_DEFAULTS = {
  outputDir: "trainer_output",
  perDeviceTrainBatchSize: 8,
  perDeviceEvalBatchSize: 8,
  numTrainEpochs: 3,
  maxSteps: -1,
  learningRate: 5e-5,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  lrSchedulerType: "linear" as LrSchedulerType,
  warmupSteps: 0,
  warmupRatio: 0,
  loggingStrategy: "steps" as IntervalStrategy,
  loggingSteps: 500,
  loggingFirstStep: false,
  evalStrategy: "no" as IntervalStrategy,
  seed: 42,
  // HF's default is "none" (no external tracker); console and metrics.jsonl are our loggers.
  reportTo: ["console", "jsonl"] as ReportTo[],
  gradientAccumulationSteps: 1,
  maxGradNorm: 1.0,
  fp16: false,
  bf16: false,
  saveStrategy: "steps" as SaveStrategy,
  saveSteps: 500,
  saveOnlyModel: false,
  loadBestModelAtEnd: false,
};

export const FP16_SCALER_DEFAULTS = {
  initScale: 2 ** 16,
  growthFactor: 2.0,
  backoffFactor: 0.5,
  growthInterval: 2000,
};

export const ADDITION_DEFAULTS = { trainExamples: 20000, evalExamples: 500, reverseAnswer: true, fixedWidth: true };
export const TEXT_DEFAULTS = { evalFraction: 0.1, sequenceLength: 64 };
export const MLP_DEFAULTS = { window: 4, embedding: 16 };

/** HF: metric names are prefixed with "eval_" unless they already are. */
export function evalMetricName(metric: string): string {
  return metric.startsWith("eval_") ? metric : `eval_${metric}`;
}
