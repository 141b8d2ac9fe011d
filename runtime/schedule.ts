/**
 * runtime/schedule.ts — learning-rate schedules, as HF's get_scheduler.
 *
 * Each returns the multiplier of the peak learning rate after `step` scheduler steps (the first
 * optimizer step uses step 0, so with warmup it runs at lr 0, as in HF). Warmup is linear from
 * 0 to 1 over `warmupSteps`; after it:
 *   linear                 1 → 0 linearly at totalSteps
 *   cosine                 ½(1 + cos(π·progress)), progress = (step − warmup)/(total − warmup)
 *   constant               1 (and no warmup)
 *   constant_with_warmup   1
 */
export type ScheduleType = "linear" | "cosine" | "constant" | "constant_with_warmup";

export function linearWithWarmup(step: number, warmupSteps: number, totalSteps: number): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
}

export function cosineWithWarmup(step: number, warmupSteps: number, totalSteps: number): number {
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export function constantWithWarmup(step: number, warmupSteps: number): number {
  return step < warmupSteps ? step / Math.max(1, warmupSteps) : 1;
}
