/**
 * runtime/trainer-state.ts — trainer_state.json, with HF's field names.
 *
 * Written at the end of a run (and into each checkpoint), so tools that read HF's
 * trainer_state.json can read ours: global_step, epoch, max_steps, log_history, best_* ...
 * Two fields are ours: skipped_steps (fp16) and backend, the device the run trained on as
 * selectBackend chose it ({name: "webgpu", description: "webgpu (mesa, llvmpipe, software)",
 * adapter: {...}}; absent when nothing called selectBackend).
 */
import { join } from "node:path";
import { backendDevice, type BackendDevice } from "./backend.ts";
import type { LogEntry } from "./logging.ts";
import { sortedJson, writeFailure, writeFileAtomic } from "./files.ts";

export interface TrainerState {
  global_step: number;
  epoch: number;
  max_steps: number;
  train_batch_size: number;
  log_history: LogEntry[];
  best_metric: number | null;
  best_model_checkpoint: string | null;
  best_global_step: number | null;
  /** Optimizer steps skipped because fp16 gradients overflowed (0 without fp16). */
  skipped_steps: number;
  stateful_callbacks: Record<string, unknown>;
  /** The backend and device of the run (see runtime/backend.ts). */
  backend?: BackendDevice;
}

type Required = Pick<TrainerState, "global_step" | "epoch" | "max_steps" | "train_batch_size" | "log_history">;

export function trainerState(fields: Required & Partial<TrainerState>): TrainerState {
  const device = backendDevice();
  return { best_metric: null, best_model_checkpoint: null, best_global_step: null, skipped_steps: 0, stateful_callbacks: {}, ...(device ? { backend: device } : {}), ...fields };
}

/**
 * Writes <dir>/trainer_state.json atomically. A failed write (a full disk) keeps any older file
 * and throws a UserError (exit code 74) naming it and the last complete checkpoint in `dir`.
 */
export async function writeTrainerState(dir: string, fields: Required & Partial<TrainerState>): Promise<void> {
  const path = join(dir, "trainer_state.json");
  try {
    await writeFileAtomic(path, sortedJson(trainerState(fields)));
  } catch (error) {
    throw writeFailure(path, error, dir);
  }
}
