/**
 * runtime/loss-scaler.ts — dynamic loss scaling for (emulated) fp16 training, as torch's GradScaler.
 *
 * In binary16 small gradients flush to zero. Multiplying the loss by a large scale S moves the
 * gradients up into the representable range; the optimizer sees g/S. When S is too large some
 * gradient overflows to Inf/NaN: that step is skipped and S shrinks. After `growthInterval` good
 * steps in a row S grows again, so it hovers just below the overflow threshold.
 *
 * update() is torch's `_amp_update_scale_` (aten/src/ATen/native/cpu/AmpGradScalerKernels.cpp):
 *   found inf:  S ← S·backoffFactor,  tracker ← 0
 *   otherwise:  tracker ← tracker + 1; if tracker = growthInterval:
 *                 S' = S·growthFactor; S ← S' only if S' is finite; tracker ← 0 (either way)
 * S is a float32 (like torch's scale tensor): products are computed in float64 and rounded to
 * float32, as the C++ `float = float * double` does. One addition to torch: `minScale`, a floor
 * applied after a backoff (the workaround of pytorch#40497 for early NaNs driving S to ~0).
 */
import { UserError } from "./user-error.ts";

/**
 * Without minScale, a loss scale this small (binary16's smallest subnormal) counts as the floor:
 * a step that still overflows there is divergence, not a scale too large (runtime/divergence.ts).
 */
export const FP16_SCALE_FLOOR = 2 ** -24;

export interface LossScalerConfig {
  /** Starting scale (torch: 2^16). */
  initScale: number;
  /** Multiplier after growthInterval good steps, > 1 (torch: 2). */
  growthFactor: number;
  /** Multiplier after an overflow, in (0, 1) (torch: 0.5). */
  backoffFactor: number;
  /** Consecutive good steps before growing, a positive integer (torch: 2000). */
  growthInterval: number;
  /** Lowest scale a backoff may reach; null = no floor (torch). */
  minScale: number | null;
}

/** What a checkpoint stores (torch's state_dict has the same two values: scale, _growth_tracker). */
export interface LossScalerState {
  scale: number;
  growthTracker: number;
}

export class LossScaler {
  readonly config: Readonly<LossScalerConfig>;
  private currentScale: number;
  private tracker = 0;

  constructor(config: LossScalerConfig) {
    const { initScale, growthFactor, backoffFactor, growthInterval, minScale } = config;
    const problem = (what: string): never => {
      throw new Error(`LossScaler: ${what}`);
    };
    if (!(Number.isFinite(initScale) && Math.fround(initScale) > 0 && Number.isFinite(Math.fround(initScale)))) problem(`initScale must be a positive float32 number, got ${initScale}.`);
    if (!(Number.isFinite(growthFactor) && growthFactor > 1)) problem(`growthFactor must be > 1 (torch asserts it), got ${growthFactor}.`);
    if (!(Number.isFinite(backoffFactor) && backoffFactor > 0 && backoffFactor < 1)) problem(`backoffFactor must be in (0, 1) (torch asserts < 1), got ${backoffFactor}.`);
    if (!(Number.isSafeInteger(growthInterval) && growthInterval >= 1)) problem(`growthInterval must be a positive integer, got ${growthInterval}.`);
    if (minScale !== null) {
      if (!(Number.isFinite(minScale) && Math.fround(minScale) > 0)) problem(`minScale must be null or a positive number, got ${minScale}.`);
      if (Math.fround(initScale) < Math.fround(minScale)) problem(`initScale ${initScale} is below minScale ${minScale}.`);
    }
    this.config = Object.freeze({ ...config });
    this.currentScale = Math.fround(initScale);
  }

  /** The current scale S (a float32 value). Multiply the loss by it. */
  get scale(): number {
    return this.currentScale;
  }

  /** The scale cannot usefully back off any further: it is at minScale, or at FP16_SCALE_FLOOR without one. */
  atFloor(): boolean {
    const { minScale } = this.config;
    return this.currentScale <= (minScale !== null ? Math.fround(minScale) : FP16_SCALE_FLOOR);
  }

  /** Good steps since the last growth or backoff. */
  get growthTracker(): number {
    return this.tracker;
  }

  /** 1/S computed in float64 and rounded to float32, as torch's unscale_ (inv_scale). */
  unscaleFactor(): number {
    return Math.fround(1 / this.currentScale);
  }

  /** Call once per optimizer step, after the finite check; `foundInf`: some gradient was Inf/NaN. */
  update(foundInf: boolean): void {
    const { growthFactor, backoffFactor, growthInterval, minScale } = this.config;
    if (foundInf) {
      let scale = Math.fround(this.currentScale * backoffFactor);
      if (minScale !== null) scale = Math.max(scale, Math.fround(minScale));
      this.currentScale = scale;
      this.tracker = 0;
      return;
    }
    const successful = this.tracker + 1;
    if (successful === growthInterval) {
      const grown = Math.fround(this.currentScale * growthFactor);
      if (Number.isFinite(grown)) this.currentScale = grown; // never grow past float32 into Inf
      this.tracker = 0;
    } else {
      this.tracker = successful;
    }
  }

  state(): LossScalerState {
    return { scale: this.currentScale, growthTracker: this.tracker };
  }

  /** Why `state` cannot be restored into this scaler, or null if it can. `source` names the file. */
  stateProblem(state: unknown, source = "loss-scaler state"): string | null {
    if (typeof state !== "object" || state === null) return `${source}: the loss-scaler state must be an object { scale, growthTracker }, got ${JSON.stringify(state)}.`;
    const { scale, growthTracker } = state as Record<string, unknown>;
    if (typeof scale !== "number" || !Number.isFinite(scale) || !(Math.fround(scale) > 0) || !Number.isFinite(Math.fround(scale))) {
      return `${source}: loss scale ${JSON.stringify(scale)} is not a finite positive float32 number; the checkpoint is damaged.`;
    }
    if (typeof growthTracker !== "number" || !Number.isInteger(growthTracker) || growthTracker < 0) {
      return `${source}: growthTracker ${JSON.stringify(growthTracker)} is not a non-negative integer; the checkpoint is damaged.`;
    }
    if (growthTracker >= this.config.growthInterval) {
      return `${source}: growthTracker ${growthTracker} is not below growthInterval ${this.config.growthInterval}; the checkpoint was written with a larger growth interval (resume with the same fp16 scaler settings).`;
    }
    return null;
  }

  /** Restores a state saved by state(); throws a UserError naming the problem if it is invalid. */
  restore(state: LossScalerState, source?: string): void {
    const problem = this.stateProblem(state, source);
    if (problem) throw new UserError(problem);
    this.currentScale = Math.fround(state.scale);
    this.tracker = state.growthTracker;
  }

  static fromState(config: LossScalerConfig, state: LossScalerState, source?: string): LossScaler {
    const scaler = new LossScaler(config);
    scaler.restore(state, source);
    return scaler;
  }
}
