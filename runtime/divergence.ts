/**
 * runtime/divergence.ts — stopping a run that diverged, before a non-finite value reaches the
 * weights on disk.
 *
 * An fp32 step whose loss or global gradient norm is NaN or ±Infinity would write NaN into every
 * weight it updates, and from then on every checkpoint and the final model.safetensors would be
 * garbage. The generated loop reads the two numbers once per step (one fused read, after clipping
 * and before the update) and, when either is not finite, stops right there: the update is not
 * applied, nothing more is saved, a "diverged" event goes to metrics.jsonl, and the message names
 * the step, the values and the last good checkpoint to resume from.
 *
 * fp16 runs keep torch GradScaler's semantics instead (an overflowing step is skipped and the
 * scale backs off); they stop only when a step overflows while the scale is already at its floor
 * (minScale, or FP16_SCALE_FLOOR of loss-scaler.ts without one), where backing off can no longer help.
 */
import * as tf from "@tensorflow/tfjs";
import { listCheckpoints } from "./checkpoint.ts";
import { globalNorm } from "./gradients.ts";
import type { TrainingLog } from "./logging.ts";
import type { NamedTensors } from "./types.ts";
import { UserError } from "./user-error.ts";

/** Exit code of a diverged run (EX_DATAERR: the run's numbers, not the program, went wrong). */
export const DIVERGED_EXIT_CODE = 65;

export interface StepValues {
  loss: number;
  gradNorm: number;
}

/** The step's loss and global gradient norm in one read; `norm`: the norm clipping already computed. */
export async function stepValues(loss: tf.Scalar, grads: NamedTensors, norm: tf.Scalar | null = null): Promise<StepValues> {
  const both = tf.tidy(() => tf.stack([loss, norm ?? globalNorm(grads)]));
  const [l, g] = await both.data();
  both.dispose();
  return { loss: l!, gradNorm: g! };
}

export function isFiniteStep(values: StepValues): boolean {
  return Number.isFinite(values.loss) && Number.isFinite(values.gradNorm);
}

/** Ends a diverged run: records the event, then throws the message (never returns). */
export function stopDiverged(step: number, values: StepValues, outputDir: string, log: TrainingLog, cause: string): never {
  log.event("diverged", step, { loss: values.loss, grad_norm: values.gradNorm, cause });
  log.close();
  const last = listCheckpoints(outputDir).complete.at(-1);
  const resume = last ? `the last good checkpoint is ${last.dir} (continue from it with --resume ${last.dir})` : "no checkpoint had been saved";
  throw new UserError(
    `training diverged at step ${step}: ${cause} (loss ${values.loss}, gradient norm ${values.gradNorm}). This step was not applied and nothing after it was saved; ${resume}. ` +
      "Lower args.learningRate, clip gradients (args.maxGradNorm), or add warmup (args.warmupSteps).",
    DIVERGED_EXIT_CODE,
  );
}
