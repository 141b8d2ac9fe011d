/**
 * runtime/early-stopping.ts — HF's EarlyStoppingCallback, as the earlyStopping() built-in.
 *
 * At each evaluation: if the metric improves on the best so far (strictly, in the direction of
 * greaterIsBetter) by more than `threshold`, the patience counter resets; otherwise it grows.
 * Training stops when the counter reaches `patience`. The best so far is HF's
 * state.best_metric, which moves on any strict improvement, threshold or not. Its state goes
 * into trainer_state.json's stateful_callbacks under HF's name and fields.
 */
import { UserError } from "./user-error.ts";

export interface EarlyStoppingState {
  args: { early_stopping_patience: number; early_stopping_threshold: number };
  attributes: { early_stopping_patience_counter: number; best_metric: number | null };
}

export class EarlyStopping {
  counter = 0;
  best: number | null = null;

  constructor(
    readonly metric: string,
    readonly greaterIsBetter: boolean,
    readonly patience: number,
    readonly threshold: number,
  ) {}

  /** Records an evaluation; true when training should stop. */
  update(metrics: Record<string, number>): boolean {
    const value = metrics[this.metric];
    if (value === undefined) throw new UserError(`earlyStopping: the evaluation reported no "${this.metric}".`);
    const better = this.best === null || ((this.greaterIsBetter ? value > this.best : value < this.best) && Math.abs(value - this.best) > this.threshold);
    this.counter = better ? 0 : this.counter + 1;
    if (this.best === null || (this.greaterIsBetter ? value > this.best : value < this.best)) this.best = value;
    return this.counter >= this.patience;
  }

  state(): EarlyStoppingState {
    return {
      args: { early_stopping_patience: this.patience, early_stopping_threshold: this.threshold },
      attributes: { early_stopping_patience_counter: this.counter, best_metric: this.best },
    };
  }

  restore(state: EarlyStoppingState | undefined): void {
    if (!state) return;
    this.counter = state.attributes.early_stopping_patience_counter;
    this.best = state.attributes.best_metric;
  }
}
