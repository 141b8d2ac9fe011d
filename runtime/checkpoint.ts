/**
 * runtime/checkpoint.ts — checkpoints: atomic save, rotation, and exact resume.
 *
 * A checkpoint is <outputDir>/checkpoint-<globalStep>/ holding
 *   model.safetensors       weights by parameter name
 *   optimizer.safetensors   AdamW moments "m.<param>", "v.<param>" (metadata: step)
 *   trainer_state.json      HF's fields (global_step, epoch, log_history, best_*, ...)
 *   resume_state.json       what else resuming needs: data order, schedule position, skipped
 *                           steps, loss-scaler state
 *   checkpoint.json         the completeness marker: every file with its size, written last
 * (saveOnlyModel: model.safetensors, trainer_state.json and the marker only.)
 *
 * Atomicity: everything is written into a temporary sibling folder, each file fsynced, then the
 * folder is renamed to checkpoint-<step>. A process killed at any moment leaves either a
 * complete checkpoint or a temporary folder, which is never resumed from and is removed by the
 * next save or resume. (Saving a step that already has a folder first moves the old one aside to
 * a temporary "-old" sibling; if the kill came before the new one took its place, the old one is
 * moved back instead of removed.) Rotation, too, first renames a checkpoint to a temporary
 * "-deleted" sibling and then removes that, so a kill mid-delete never leaves a torn
 * checkpoint-<step>. A checkpoint-<step> folder whose files do not match its marker (damaged or
 * written by something else) is reported and skipped, but never deleted.
 *
 * There is no random-number state to store: data order is a function of the seed, the epoch
 * and the position in it, and nothing else random runs during training.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { LossScaler, LossScalerState } from "./loss-scaler.ts";
import type { AdamW } from "./optimizer.ts";
import { EpochSampler, type SamplerState } from "./sampler.ts";
import { readSafetensorsFile, SafetensorsError, type SafetensorsTensor, writeSafetensorsFile } from "./safetensors.ts";
import { checkpointProblem, MARKER } from "./checkpoint-marker.ts";
import { removeQuietly, sortedJson, writeFailure, writeFileDurable } from "./files.ts";
import type { TrainerState } from "./trainer-state.ts";
import type { NamedParams } from "./types.ts";
import { UserError } from "./user-error.ts";

export interface ResumeState {
  sampler: SamplerState;
  schedulerStep: number;
  /** fp16 runs only: steps skipped for overflow, and the loss scaler. */
  skippedSteps?: number;
  scaler?: LossScalerState | null;
  /** The training loss summed since the last log line, so the next line averages the same steps. */
  lossMean?: { sum: number; count: number };
}

export interface CheckpointContents {
  params: NamedParams;
  /** null with saveOnlyModel. */
  optimizer: AdamW | null;
  trainerState: TrainerState;
  resume: ResumeState | null;
}

export interface LoadedCheckpoint {
  dir: string;
  globalStep: number;
  trainerState: TrainerState;
  resume: ResumeState;
}

const NAME = /^checkpoint-(\d+)$/;
const TEMPORARY = /^\.checkpoint-(\d+)\.tmp-\d+(-old|-deleted)?$/;

/**
 * Removes temporary folders left by killed saves; returns their names. An "-old" folder (the
 * previous checkpoint-<step> of a save that replaced it) goes back to its place if the new one
 * never got there.
 */
export function removeTemporaryCheckpoints(outputDir: string): string[] {
  if (!existsSync(outputDir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(outputDir)) {
    const match = TEMPORARY.exec(name);
    if (!match) continue;
    const final = join(outputDir, `checkpoint-${match[1]}`);
    if (match[2] === "-old" && !existsSync(final)) {
      process.stderr.write(`note: moving ${join(outputDir, name)} back to ${final}: an interrupted save was replacing it\n`);
      renameSync(join(outputDir, name), final);
      continue;
    }
    const what = match[2] === "-deleted" ? "a checkpoint an interrupted run was deleting" : "an unfinished checkpoint of an interrupted run";
    process.stderr.write(`note: removing ${join(outputDir, name)}, ${what}\n`);
    rmSync(join(outputDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Writes checkpoint-<step> atomically; returns its path. A write that fails (a full disk) removes
 * the temporary folder (if it can: otherwise the next save or resume does), leaves every earlier
 * checkpoint as it was, and throws a UserError (exit code 74) naming the file and the last
 * complete checkpoint to resume from.
 */
export async function saveCheckpoint(outputDir: string, step: number, contents: CheckpointContents): Promise<string> {
  const final = join(outputDir, `checkpoint-${step}`);
  const temporary = join(outputDir, `.checkpoint-${step}.tmp-${process.pid}`);
  let writing = outputDir; // what is being written, for the message if it fails
  try {
    mkdirSync(outputDir, { recursive: true });
    removeTemporaryCheckpoints(outputDir);
    writing = temporary;
    mkdirSync(temporary);
    const files: Record<string, number> = {};
    writing = join(temporary, "model.safetensors");
    await writeSafetensorsFile(writing, contents.params, { format: "pt" });
    if (contents.optimizer) {
      writing = join(temporary, "optimizer.safetensors");
      await writeSafetensorsFile(writing, contents.optimizer.stateTensors(), { step: String(contents.optimizer.stepCount) });
    }
    writing = join(temporary, "trainer_state.json");
    files["trainer_state.json"] = await writeFileDurable(writing, sortedJson(contents.trainerState));
    if (contents.resume) {
      writing = join(temporary, "resume_state.json");
      files["resume_state.json"] = await writeFileDurable(writing, sortedJson(contents.resume));
    }
    for (const name of ["model.safetensors", "optimizer.safetensors"]) {
      if (existsSync(join(temporary, name))) files[name] = statSync(join(temporary, name)).size;
    }
    writing = join(temporary, MARKER);
    await writeFileDurable(writing, sortedJson({ global_step: step, files }));
    writing = final;
    if (existsSync(final)) {
      // Saving a step again (a run resumed from an older checkpoint): swap the old one out first.
      const old = `${temporary}-old`;
      renameSync(final, old);
      try {
        renameSync(temporary, final);
      } catch (error) {
        renameSync(old, final);
        throw error;
      }
      removeQuietly(old); // if it stays, the next save or resume removes it
    } else {
      renameSync(temporary, final);
    }
  } catch (error) {
    if (existsSync(temporary)) removeQuietly(temporary);
    throw writeFailure(writing, error, outputDir, `cannot save checkpoint ${final}: writing ${writing} failed`);
  }
  return final;
}

export interface CheckpointListing {
  /** Complete checkpoints, oldest step first. */
  complete: { step: number; dir: string }[];
  /** checkpoint-<n> folders that are not complete, with why. */
  damaged: { dir: string; reason: string }[];
}

export function listCheckpoints(outputDir: string): CheckpointListing {
  const listing: CheckpointListing = { complete: [], damaged: [] };
  if (!existsSync(outputDir)) return listing;
  for (const name of readdirSync(outputDir)) {
    const match = NAME.exec(name);
    if (!match) continue;
    const dir = join(outputDir, name);
    const problem = checkpointProblem(dir);
    if (problem) listing.damaged.push({ dir, reason: problem });
    else listing.complete.push({ step: Number(match[1]), dir });
  }
  listing.complete.sort((a, b) => a.step - b.step);
  return listing;
}

/**
 * Keeps the `limit` newest checkpoints by global step, plus the protected ones (the best, and
 * always the latest); deletes the others. Returns the deleted folders.
 */
export function rotateCheckpoints(outputDir: string, limit: number, protectedDirs: readonly (string | null)[]): string[] {
  const { complete } = listCheckpoints(outputDir);
  const keep = new Set(complete.slice(-limit).map((c) => resolve(c.dir)));
  const latest = complete[complete.length - 1];
  if (latest) keep.add(resolve(latest.dir));
  for (const dir of protectedDirs) if (dir) keep.add(resolve(dir));
  const deleted: string[] = [];
  for (const c of complete) {
    if (keep.has(resolve(c.dir))) continue;
    // Renamed first (atomic), so that a kill during the removal leaves no torn checkpoint-<step>.
    const doomed = join(outputDir, `.checkpoint-${c.step}.tmp-${process.pid}-deleted`);
    try {
      renameSync(c.dir, doomed);
      rmSync(doomed, { recursive: true, force: true });
    } catch (error) {
      throw writeFailure(c.dir, error, outputDir, `cannot delete ${c.dir} (an old checkpoint past saveTotalLimit)`);
    }
    deleted.push(c.dir);
  }
  return deleted;
}

/** The folder to resume from: `flag` is "latest" (newest complete checkpoint) or a path. */
export function findResumeCheckpoint(flag: string, outputDir: string): string {
  removeTemporaryCheckpoints(outputDir);
  if (flag !== "latest") {
    if (!existsSync(flag) || !statSync(flag).isDirectory()) throw new UserError(`--resume ${flag}: no such checkpoint folder.`);
    const problem = checkpointProblem(flag);
    if (problem) throw new UserError(`--resume ${flag}: cannot resume from it: ${problem}.`);
    return flag;
  }
  const { complete, damaged } = listCheckpoints(outputDir);
  for (const d of damaged) process.stderr.write(`note: skipping ${d.dir}: ${d.reason}\n`);
  const latest = complete[complete.length - 1];
  if (!latest) throw new UserError(`--resume: ${outputDir} has no complete checkpoint to resume from (run without --resume to start training).`);
  return latest.dir;
}

async function readTensors(path: string) {
  if (!existsSync(path)) throw new UserError(`${path} is missing; the checkpoint cannot be loaded.`);
  try {
    return await readSafetensorsFile(path);
  } catch (error) {
    if (error instanceof SafetensorsError) throw new UserError(error.message);
    throw error;
  }
}

function readJson<T>(path: string): T {
  if (!existsSync(path)) throw new UserError(`${path} is missing; the checkpoint cannot be loaded.`);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (error) {
    throw new UserError(`${path} is not valid JSON (${(error as Error).message}).`);
  }
}

/** Reads <dir>/model.safetensors and checks its names, shapes and dtypes against `params`. */
async function readModelWeights(dir: string, params: NamedParams): Promise<Record<string, SafetensorsTensor>> {
  const path = join(dir, "model.safetensors");
  const { tensors } = await readTensors(path);
  for (const [name, p] of Object.entries(params)) {
    const saved = tensors[name];
    if (!saved) throw new UserError(`${path} has no tensor "${name}"; it was saved by a different model (it has ${Object.keys(tensors).slice(0, 5).join(", ")}, ...).`);
    if (saved.shape.join(",") !== p.shape.join(",")) {
      throw new UserError(`${path}: "${name}" has shape [${saved.shape}] but this model's is [${p.shape}]; the checkpoint is from a model of another shape.`);
    }
    if (saved.dtype !== "F32") throw new UserError(`${path}: "${name}" has dtype ${saved.dtype}; weights must be F32.`);
  }
  return tensors;
}

function assignWeights(params: NamedParams, tensors: Record<string, SafetensorsTensor>): void {
  for (const [name, p] of Object.entries(params)) {
    const saved = tensors[name]!;
    tf.tidy(() => p.assign(tf.tensor(saved.data, saved.shape, "float32")));
  }
}

/** Loads weights from <dir>/model.safetensors into `params`, checking names and shapes first (a mismatch changes no weight). */
export async function loadModelWeights(dir: string, params: NamedParams): Promise<void> {
  assignWeights(params, await readModelWeights(dir, params));
}

export interface ResumeTargets {
  params: NamedParams;
  optimizer: AdamW;
  sampler: EpochSampler;
  scaler?: LossScaler;
}

/** Restores a run from checkpoint `dir`; nothing is changed if any file is wrong. */
export async function loadCheckpoint(dir: string, targets: ResumeTargets): Promise<LoadedCheckpoint> {
  const trainerState = readJson<TrainerState>(join(dir, "trainer_state.json"));
  if (!existsSync(join(dir, "resume_state.json")) && !existsSync(join(dir, "optimizer.safetensors"))) {
    throw new UserError(`${dir} was saved with saveOnlyModel (weights only), so training cannot resume from it.`);
  }
  const resumePath = join(dir, "resume_state.json");
  const resume = readJson<ResumeState>(resumePath);
  // The model first, so that a checkpoint of another model is reported by its weights file.
  const weights = await readModelWeights(dir, targets.params);
  const optimizerPath = join(dir, "optimizer.safetensors");
  const optimizerState = await readTensors(optimizerPath);
  if (!Number.isInteger(trainerState.global_step) || trainerState.global_step < 0) {
    throw new UserError(`${join(dir, "trainer_state.json")}: global_step ${JSON.stringify(trainerState.global_step)} is not a step number.`);
  }
  if (targets.scaler && !resume.scaler) throw new UserError(`${dir} has no loss-scaler state: it was saved by a run without fp16.`);
  const optimizerStep = Number(optimizerState.metadata.step);
  if (!Number.isInteger(optimizerStep) || optimizerStep < 0) throw new UserError(`${optimizerPath}: metadata "step" is ${JSON.stringify(optimizerState.metadata.step)}, not a step count.`);
  const problem =
    targets.optimizer.stateProblem(optimizerState.tensors, optimizerPath) ??
    (targets.scaler && resume.scaler ? targets.scaler.stateProblem(resume.scaler, resumePath) : null) ??
    samplerProblem(targets.sampler, resume.sampler, resumePath);
  if (problem) throw new UserError(problem);
  // Everything checked: from here on nothing can fail half-way.
  assignWeights(targets.params, weights);
  targets.optimizer.restore(optimizerState.tensors, optimizerStep, optimizerPath);
  targets.sampler.restore(resume.sampler);
  if (targets.scaler && resume.scaler) targets.scaler.restore(resume.scaler);
  return { dir, globalStep: trainerState.global_step, trainerState, resume };
}

/** Why a saved data-order state does not fit `sampler`'s training set (null: it fits); changes nothing. */
function samplerProblem(sampler: EpochSampler, state: SamplerState | undefined, source: string): string | null {
  try {
    new EpochSampler(sampler.size, sampler.batchSize, sampler.seed).restore(state!);
    return null;
  } catch (error) {
    return `${source}: ${(error as Error).message.replace(/\.$/, "")}; the checkpoint was saved with other training data.`;
  }
}

/** <outputDir>/checkpoint-<step>: where the checkpoint of `step` goes. */
export function checkpointDir(outputDir: string, step: number): string {
  return join(outputDir, `checkpoint-${step}`);
}
