/**
 * generator/defaults.ts — the defaults of every training argument a spec may leave out, read from
 * the argument table (generator/arguments.ts), and HF's naming of eval metrics.
 *
 * The planner is the only consumer that fills them in; the validator reads them only to check
 * cross-field rules against the values a run will really use (e.g. evalSteps defaults to
 * loggingSteps, as in HF).
 */
import { ARGUMENTS, FP16_SCALER_ARGUMENTS, type DefaultFrom, argument, defaultsOf } from "./arguments.ts";
import type { Fp16ScalerArgs, TrainingArgs } from "./spec-types.ts";
// The presets' own defaults (sizes, windows, fractions) are stated once, in runtime/presets/.

// The training arguments' defaults are stated once, in the argument table (generator/arguments.ts):
// { name: default } for each argument that has one, typed as the spec types the argument.
export const ARG_DEFAULTS = defaultsOf<typeof ARGUMENTS, TrainingArgs>(ARGUMENTS);

/** torch GradScaler's defaults, for args.fp16Scaler's fields (minScale has none). */
export const FP16_SCALER_DEFAULTS = defaultsOf<typeof FP16_SCALER_ARGUMENTS, Fp16ScalerArgs>(FP16_SCALER_ARGUMENTS);

/** Where an argument's default comes from: HF, torch or ours (reportTo). */
export function argumentOrigin(name: keyof typeof ARG_DEFAULTS): DefaultFrom {
  return argument(name).defaultFrom;
}

/** HF: metric names are prefixed with "eval_" unless they already are. */
export function evalMetricName(metric: string): string {
  return metric.startsWith("eval_") ? metric : `eval_${metric}`;
}
