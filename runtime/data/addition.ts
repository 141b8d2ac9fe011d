/**
 * runtime/data/addition.ts — the "addition" preset: synthetic sums such as "123+456=579$".
 *
 * Operands are drawn uniformly from 0..10^digits-1 with a seeded generator; the held-out split
 * holds problems (pairs a, b) that never occur in training, so eval_exact_match measures
 * generalisation, not recall. Only the answer and the end mark "$" are loss targets: the
 * operands are random and cannot be predicted. With `reverseAnswer` the answer is written
 * least-significant digit first, which a left-to-right decoder learns much faster (each digit
 * then depends only on digits already seen, carries included). With `fixedWidth` operands and
 * answer are zero-padded ("012+345=0357"), so each digit sits at a fixed position — again much
 * easier for a small model; without it, sequences have uneven lengths (and uneven loss items).
 */
import type { Batch, DatasetDefinition, GenerateFn } from "../types.ts";
import { Rng } from "../rng.ts";
import { charVocabulary } from "./vocabulary.ts";
import { sequenceBatch, type WeightedSequence } from "./sequence-batch.ts";

export interface AdditionConfig {
  digits: number;
  trainExamples: number;
  evalExamples: number;
  reverseAnswer: boolean;
  /** Zero-pad operands to `digits` and the answer to digits+1, so digits sit at fixed positions. */
  fixedWidth: boolean;
  seed: number;
}

export const ADDITION_TOKENS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=", "$", "_"] as const;

/** Length T of the model input for `digits`-digit operands: "ddd+ddd=dddd$" minus one. */
export function additionSequenceLength(digits: number): number {
  return 3 * digits + 3;
}

export function additionData(config: AdditionConfig): DatasetDefinition {
  const { digits, trainExamples, evalExamples, reverseAnswer, fixedWidth } = config;
  const limit = 10 ** digits;
  if (trainExamples + evalExamples > limit * limit) {
    throw new Error(`addition: ${trainExamples + evalExamples} distinct problems requested but only ${limit * limit} exist with ${digits} digits.`);
  }
  const vocabulary = charVocabulary(ADDITION_TOKENS);
  const T = additionSequenceLength(digits);
  const end = vocabulary.encode("$")[0]!;
  const pad = vocabulary.encode("_")[0]!;

  // Distinct problems: the first evalExamples drawn are held out, the rest train.
  const rng = new Rng(config.seed);
  const seen = new Set<number>();
  const problems: [number, number][] = [];
  while (problems.length < trainExamples + evalExamples) {
    const a = rng.int(limit);
    const b = rng.int(limit);
    if (seen.has(a * limit + b)) continue;
    seen.add(a * limit + b);
    problems.push([a, b]);
  }
  const evalProblems = problems.slice(0, evalExamples);
  const trainProblems = problems.slice(evalExamples);

  const operand = (n: number): string => (fixedWidth ? String(n).padStart(digits, "0") : String(n));
  const promptText = (a: number, b: number): string => `${operand(a)}+${operand(b)}=`;
  const answerText = (a: number, b: number): string => {
    const sum = fixedWidth ? String(a + b).padStart(digits + 1, "0") : String(a + b);
    return reverseAnswer ? [...sum].reverse().join("") : sum;
  };
  const encode = ([a, b]: [number, number]): WeightedSequence => {
    const prompt = promptText(a, b);
    return { tokens: vocabulary.encode(`${prompt}${answerText(a, b)}$`), firstTarget: prompt.length };
  };
  const batchOf = (set: [number, number][], indices: readonly number[]): Batch =>
    sequenceBatch(indices.map((i) => encode(set[i]!)), T, pad);

  return {
    vocabulary,
    sequenceLength: T,
    trainSize: trainProblems.length,
    evalSize: evalProblems.length,
    trainBatch: (indices) => batchOf(trainProblems, indices),
    evalBatch: (indices) => batchOf(evalProblems, indices),
    async generationMetrics(generate: GenerateFn): Promise<Record<string, number>> {
      if (evalProblems.length === 0) return {};
      const prompts = evalProblems.map(([a, b]) => vocabulary.encode(promptText(a, b)));
      const outputs = await generate(prompts, { maxNewTokens: digits + 2, temperature: 0, stopToken: end });
      let correct = 0;
      outputs.forEach((out, i) => {
        const [a, b] = evalProblems[i]!;
        if (vocabulary.decode(out) === `${answerText(a, b)}$`) correct++;
      });
      return { exact_match: correct / evalProblems.length };
    },
  };
}
