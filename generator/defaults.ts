/**
 * generator/defaults.ts — the defaults of every argument a spec may leave out (the training
 * arguments' are read from the argument table, generator/arguments.ts).
 *
 * The planner is the only consumer that fills them in; the validator reads them only to check
 * cross-field rules against the values a run will really use (e.g. evalSteps defaults to
 * loggingSteps, as in HF).
 */
import { ARGUMENTS, FP16_SCALER_ARGUMENTS, type DefaultFrom, argument, defaultsOf } from "./arguments.ts";
import type { Fp16ScalerArgs, TrainingArgs } from "./spec-types.ts";
import { ADDITION_FIXED_DEFAULTS } from "../runtime/presets/addition.ts";

// The presets' own defaults are stated once, in runtime/presets/.
export { MLP_DEFAULTS } from "../runtime/presets/mlp.ts";
export { TEXT_DEFAULTS } from "../runtime/presets/text.ts";

// The training arguments' defaults are stated once, in the argument table (generator/arguments.ts):
// { name: default } for each argument that has one, typed as the spec types the argument.
export const ARG_DEFAULTS = defaultsOf<typeof ARGUMENTS, TrainingArgs>(ARGUMENTS);

/** torch GradScaler's defaults, for args.fp16Scaler's fields (minScale has none). */
export const FP16_SCALER_DEFAULTS = defaultsOf<typeof FP16_SCALER_ARGUMENTS, Fp16ScalerArgs>(FP16_SCALER_ARGUMENTS);

/** Where an argument's default comes from: HF, torch or ours (reportTo). */
export function argumentOrigin(name: keyof typeof ARG_DEFAULTS): DefaultFrom {
  return argument(name).defaultFrom;
}

/**
 * @deprecated The sizes here ignore digits (too many for digits 1-2): use additionSizes() and
 * ADDITION_FIXED_DEFAULTS from runtime/presets/addition.ts. Kept until its last importers switch.
 */
export const ADDITION_DEFAULTS = { trainExamples: 20000, evalExamples: 500, ...ADDITION_FIXED_DEFAULTS };

/** HF: metric names are prefixed with "eval_" unless they already are. */
export function evalMetricName(metric: string): string {
  return metric.startsWith("eval_") ? metric : `eval_${metric}`;
}
