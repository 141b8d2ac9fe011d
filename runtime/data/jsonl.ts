/**
 * runtime/data/jsonl.ts — the "jsonl" preset: a language model trained on chat / instruction data,
 * one JSON row per line ({text}, {prompt, completion} or {messages}), tokenized by a Tokenizer.
 *
 * Why: the text preset trains on one running character stream; chat data is made of separate
 * exchanges whose answers (not the questions) are what a model should learn to write, and that
 * must end with an end-of-text token so that generation knows when to stop.
 *
 * What rows look like, how they are rendered (default "User:/Assistant:" format or the tokenizer's
 * chat template) and which text is the completion is runtime/presets/jsonl.ts's (shared with the
 * generator's checkJsonlFile). Here:
 * - Each rendered segment is tokenized separately (tokenizer.encode, which adds no special tokens)
 *   and the ids concatenated; the end-of-text token is appended as eosTokenId itself. So the
 *   prompt/completion boundary is always exactly a token boundary, and a prompt such as
 *   "User: 안녕?\nAssistant:" tokenizes at inference exactly as it did in training (a BPE
 *   tokenizer could otherwise merge across the boundary).
 * - Each row is one sequence of ids (n tokens): inputs x = ids[0..n-2], targets y = ids[1..n-1].
 *   With completionOnlyLoss a target counts when it is a completion token (assistant turns and the
 *   eos ending the last one; every token of a text row), else every target counts. A row of more
 *   than maxLength tokens is cut to its first maxLength (stats.truncated counts them); a row left
 *   without any loss token is an error naming its line.
 * - Batches are as long as the longest row in them (T = its length − 1, at most maxLength − 1);
 *   shorter rows are padded with padTokenId (else eosTokenId) and weigh 0. sequenceLength is
 *   maxLength, the most tokens the model must hold in its context.
 * - The held-out split is the last ⌊rows · evalFraction⌋ rows, in file order (the text preset's tail).
 */
import { readFileSync } from "node:fs";
import { UserError } from "../user-error.ts";
import type { Batch, DatasetDefinition } from "../types.ts";
import type { Tokenizer } from "../tokenizers/tokenizer.ts";
import { sequenceBatch, type WeightedSequence } from "./sequence-batch.ts";
import { ChatTemplateError, formatJsonlProblem, jsonlSplits, renderRowSegments, scanJsonl, type JsonlRow } from "../presets/jsonl.ts";

export interface JsonlConfig {
  /** Path of the UTF-8 JSONL file. */
  path: string;
  tokenizer: Tokenizer;
  /** The last ⌊rows · evalFraction⌋ rows are held out. */
  evalFraction: number;
  /** Rows of more tokens are cut to their first maxLength tokens. */
  maxLength: number;
  /** Loss on completion / assistant tokens only (TRL's completion_only_loss / assistant_only_loss). */
  completionOnlyLoss: boolean;
}

export interface JsonlStats {
  /** Rows of the file (non-blank lines). */
  rows: number;
  trainRows: number;
  evalRows: number;
  /** Rows (of both splits) longer than maxLength tokens, cut to maxLength. */
  truncated: number;
  /** Targets that count, over both splits, after truncation. */
  lossTokens: number;
}

/** One row, tokenized: its ids and, per id, whether it is a loss target. */
export interface TokenizedRow {
  line: number;
  ids: number[];
  loss: boolean[];
}

/** eos_token and bos_token as a chat template sees them (the token's text when only its id is known). */
function templateTokens(tokenizer: Tokenizer): { eosToken: string | null; bosToken: string | null } {
  const text = (token: string | null, id: number | null) => token ?? (id === null ? null : (tokenizer.tokens[id] ?? null));
  return { eosToken: text(tokenizer.eosToken, tokenizer.eosTokenId), bosToken: text(tokenizer.bosToken, tokenizer.bosTokenId) };
}

/** The most problems listed in one error. */
const LISTED_PROBLEMS = 10;

/**
 * The ids of a row and which of them count as targets (index 0 never does). Throws
 * ChatTemplateError for a chat template that cannot render the row.
 */
export function tokenizeRow(row: JsonlRow, tokenizer: Tokenizer, completionOnlyLoss: boolean): { ids: number[]; loss: boolean[] } {
  const eosTokenId = tokenizer.eosTokenId;
  const segments = renderRowSegments(row, tokenizer.chatTemplate, templateTokens(tokenizer), { locateCompletions: completionOnlyLoss });
  const ids: number[] = [];
  const loss: boolean[] = [];
  for (const segment of segments) {
    const part = segment.eos ? [eosTokenId!] : tokenizer.encode(segment.text);
    const counts = completionOnlyLoss ? segment.completion : true;
    for (const id of part) {
      ids.push(id);
      loss.push(counts);
    }
  }
  if (loss.length > 0) loss[0] = false;
  return { ids, loss };
}

export function jsonlData(config: JsonlConfig): DatasetDefinition & { stats: JsonlStats } {
  const { path, tokenizer, evalFraction, maxLength, completionOnlyLoss } = config;
  if (!Number.isInteger(maxLength) || maxLength < 2) {
    throw new UserError(`jsonl data: maxLength is ${maxLength}; it must be a whole number of tokens, at least 2 (one input and one target).`);
  }
  if (!(evalFraction >= 0 && evalFraction < 1)) {
    throw new UserError(`jsonl data: evalFraction is ${evalFraction}; it must be at least 0 and below 1 (0 = no held-out split).`);
  }
  if (tokenizer.eosTokenId === null) {
    throw new UserError(
      `jsonl data: the tokenizer (${tokenizer.kind}) has no end-of-text token, which ends every row so that the model learns where an answer stops; give it one (e.g. specials: ["<|endoftext|>"]).`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UserError(`jsonl data: cannot read ${path}: ${(error as Error).message}`);
  }
  // The file may have changed since generation (which ran the same scan): stop here, before training.
  const scan = scanJsonl(bytes, { completionOnlyLoss, evalFraction, chatTemplate: tokenizer.chatTemplate, ...templateTokens(tokenizer), maxProblems: LISTED_PROBLEMS });
  if (scan.problemCount > 0) throw problemsError(path, scan.problems, scan.problemCount);

  const rows: TokenizedRow[] = [];
  const unusable: { line: number; message: string }[] = [];
  let truncated = 0;
  let lossTokens = 0;
  for (const { line, row } of scan.parsed) {
    let tokenized: { ids: number[]; loss: boolean[] };
    try {
      tokenized = tokenizeRow(row, tokenizer, completionOnlyLoss);
    } catch (error) {
      // A template failure, or a tokenizer that cannot encode the row (a char tokenizer knows only
      // the characters it was made from): the user's to fix, at this line.
      const message = error instanceof ChatTemplateError ? error.message : `the tokenizer cannot encode this row: ${(error as Error).message}; use a tokenizer that covers all of the data (e.g. build a char tokenizer from this file's text)`;
      unusable.push({ line, message });
      continue;
    }
    let { ids, loss } = tokenized;
    const length = ids.length;
    if (length > maxLength) {
      truncated++;
      ids = ids.slice(0, maxLength);
      loss = loss.slice(0, maxLength);
    }
    const count = loss.filter(Boolean).length;
    if (count === 0) {
      const why =
        length > maxLength
          ? `cut to maxLength (${maxLength}) of its ${length} tokens, it has no ${completionOnlyLoss ? "completion " : ""}tokens left to train on; raise maxLength or shorten the row's prompt`
          : `it is ${length} token${length === 1 ? "" : "s"} long, with no target to train on; add text to it or remove the line`;
      unusable.push({ line, message: `the row has no loss tokens: ${why}` });
      continue;
    }
    lossTokens += count;
    rows.push({ line, ids, loss });
  }
  if (unusable.length > 0) throw problemsError(path, unusable.slice(0, LISTED_PROBLEMS), unusable.length);

  const { trainRows, evalRows } = jsonlSplits(rows.length, evalFraction);
  const train = rows.slice(0, trainRows);
  const held = rows.slice(trainRows);
  const pad = tokenizer.padTokenId ?? tokenizer.eosTokenId;
  const batchOf = (set: TokenizedRow[], indices: readonly number[]): Batch => {
    const sequences: WeightedSequence[] = indices.map((i) => {
      const row = set[i];
      if (!row) throw new RangeError(`jsonl data: row index ${i} is outside 0..${set.length - 1}`);
      return { tokens: row.ids, firstTarget: 1, lossMask: row.loss };
    });
    const T = Math.max(1, ...sequences.map((s) => s.tokens.length - 1));
    return sequenceBatch(sequences, T, pad);
  };
  return {
    vocabulary: tokenizer,
    sequenceLength: maxLength,
    trainSize: train.length,
    evalSize: held.length,
    trainBatch: (indices) => batchOf(train, indices),
    evalBatch: (indices) => batchOf(held, indices),
    stats: { rows: rows.length, trainRows, evalRows, truncated, lossTokens },
  };
}

/** One UserError listing the problems as `path:line: message` lines. */
function problemsError(path: string, problems: readonly { line: number; message: string }[], total: number): UserError {
  if (total === 1 && problems.length === 1) return new UserError(`jsonl data: ${formatJsonlProblem(path, problems[0]!)}`);
  const more = total > problems.length ? `\n  ... and ${total - problems.length} more` : "";
  return new UserError(`jsonl data: ${path} has ${total} problems:\n${problems.map((p) => `  ${formatJsonlProblem(path, p)}`).join("\n")}${more}`);
}
