/**
 * runtime/model-io.ts — a model's weights on disk, and what a model learns about its data.
 *
 * model.safetensors holds one float32 tensor per parameter, named as in the model's
 * NamedParams, so Python's `safetensors.safe_open` can read the weights of a tfjs run.
 */
import { mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { removeQuietly, removeStaleTemporaries, writeFailure } from "./files.ts";
import { writeSafetensorsFile } from "./safetensors.ts";
import { UserError } from "./user-error.ts";
import type { DatasetDefinition, ModelContext, NamedParams } from "./types.ts";

/**
 * Writes <dir>/model.safetensors atomically (temporary file, fsync, rename). A failed write (a
 * full disk) removes the temporary file, keeps any older model.safetensors, and throws a
 * UserError (exit code 74) naming the file and the last complete checkpoint in `dir`.
 */
export async function writeModel(dir: string, params: NamedParams): Promise<void> {
  const path = join(dir, "model.safetensors");
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    mkdirSync(dir, { recursive: true });
    removeStaleTemporaries(path);
    await writeSafetensorsFile(temporary, params, { format: "pt" });
    renameSync(temporary, path);
  } catch (error) {
    removeQuietly(temporary);
    throw writeFailure(path, error, dir);
  }
}

/** The vocabulary size and sequence length a built-in model needs from its data. */
export function modelContext(data: DatasetDefinition): ModelContext {
  if (!data.vocabulary || !data.sequenceLength) {
    throw new UserError("The built-in models need token data: the dataset must define `vocabulary` and `sequenceLength` (see DatasetDefinition in gen-trainer's runtime/types.ts).");
  }
  return { vocabularySize: data.vocabulary.tokens.length, sequenceLength: data.sequenceLength };
}
