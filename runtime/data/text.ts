/**
 * runtime/data/text.ts — the "text" preset: a character-level language model over a text file.
 *
 * The vocabulary is the sorted set of characters of the whole file. The last `evalFraction` of
 * the characters is held out (a contiguous tail, as nanoGPT splits). Each split is cut into
 * windows of T+1 characters with stride T (consecutive windows share one character: the last
 * target of one is the first input of the next), so an epoch sees every character once as a
 * target. Every target counts: items = B·T.
 */
import { readFileSync } from "node:fs";
import { UserError } from "../user-error.ts";
import type { DatasetDefinition } from "../types.ts";
import { charVocabulary } from "./vocabulary.ts";
import { sequenceBatch } from "./sequence-batch.ts";
import { describeInvalidUtf8, findInvalidUtf8, textSplits } from "../presets/text.ts";

export interface TextConfig {
  /** Path of the UTF-8 corpus. */
  path: string;
  evalFraction: number;
  sequenceLength: number;
}

export function textData(config: TextConfig): DatasetDefinition {
  const { path, evalFraction, sequenceLength: T } = config;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(`text data: cannot read ${path}: ${(error as Error).message}`);
  }
  // The file may have changed since generation (which checked the same): a broken file stops here,
  // before any training, rather than training on U+FFFD replacement characters.
  const invalid = findInvalidUtf8(bytes);
  if (invalid) {
    throw new UserError(`text data: ${path} is not valid UTF-8: ${describeInvalidUtf8(invalid)}. Save it as UTF-8 (e.g. iconv -f <its encoding> -t UTF-8) or fix that line.`);
  }
  if (bytes.length === 0) {
    throw new UserError(`text data: ${path} is empty (0 bytes); put the training text in it (at least sequenceLength + 1 = ${T + 1} characters per split).`);
  }
  const text = bytes.toString("utf8");
  const chars = [...new Set(Array.from(text))].sort();
  const vocabulary = charVocabulary(chars);
  const ids = vocabulary.encode(text);
  const { trainWindows, evalWindows, evalCharacters: evalLength } = textSplits(ids.length, evalFraction, T);
  const train = ids.slice(0, ids.length - evalLength);
  const held = ids.slice(ids.length - evalLength);
  if (trainWindows < 1) {
    throw new UserError(`text data: ${path} has ${train.length} training characters; it needs more than sequenceLength (${T}).`);
  }
  if (evalFraction > 0 && evalWindows < 1) {
    throw new UserError(`text data: the held-out ${evalLength} characters of ${path} are fewer than sequenceLength + 1 (${T + 1}); raise evalFraction or use a longer text.`);
  }
  const batchOf = (tokens: number[], indices: readonly number[]) =>
    sequenceBatch(indices.map((i) => ({ tokens: tokens.slice(i * T, i * T + T + 1), firstTarget: 1 })), T, 0);
  return {
    vocabulary,
    sequenceLength: T,
    trainSize: trainWindows,
    evalSize: evalWindows,
    trainBatch: (indices) => batchOf(train, indices),
    evalBatch: (indices) => batchOf(held, indices),
  };
}
