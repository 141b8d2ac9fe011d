/**
 * runtime/best-metric.ts — which evaluation was best, and which checkpoint holds it.
 *
 * HF's rules: the metric is eval_<metricForBestModel>; improvement is strict (a tie does not
 * count); the first evaluation always improves on ∓Infinity. A checkpoint becomes the best
 * one only if it is saved at the step of the best evaluation.
 */
import type { TrainerState } from "./trainer-state.ts";
import { UserError } from "./user-error.ts";

export class BestMetric {
  value: number | null = null;
  step: number | null = null;
  checkpoint: string | null = null;

  constructor(
    readonly metric: string,
    readonly greaterIsBetter: boolean,
  ) {}

  /** Records an evaluation; true when it strictly improves on the best so far. */
  update(metrics: Record<string, number>, step: number): boolean {
    const value = metrics[this.metric];
    if (value === undefined) {
      throw new UserError(`metricForBestModel: the evaluation reported no "${this.metric}" (it reported ${Object.keys(metrics).join(", ")}).`);
    }
    const improved = this.value === null || (this.greaterIsBetter ? value > this.value : value < this.value);
    if (improved) {
      this.value = value;
      this.step = step;
    }
    return improved;
  }

  /** Called after saving checkpoint `dir` at `step`. */
  saved(step: number, dir: string): void {
    if (step === this.step) this.checkpoint = dir;
  }

  /** The trainer_state.json fields. */
  fields(): Pick<TrainerState, "best_metric" | "best_global_step" | "best_model_checkpoint"> {
    return { best_metric: this.value, best_global_step: this.step, best_model_checkpoint: this.checkpoint };
  }

  restore(state: Pick<TrainerState, "best_metric" | "best_global_step" | "best_model_checkpoint">): void {
    this.value = state.best_metric;
    this.step = state.best_global_step;
    this.checkpoint = state.best_model_checkpoint;
  }
}
