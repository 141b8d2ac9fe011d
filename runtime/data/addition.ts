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
 * The tokens, sequence length and how a problem is written are runtime/presets/addition.ts's.
 */
import type { Batch, DatasetDefinition, GenerateFn } from "../types.ts";
import { Rng } from "../rng.ts";
import { charVocabulary } from "./vocabulary.ts";
import { sequenceBatch, type WeightedSequence } from "./sequence-batch.ts";
import { ADDITION_TOKENS, additionProblemCount, additionSequenceLength, additionText } from "../presets/addition.ts";

// The preset's facts live in runtime/presets/addition.ts; re-exported for existing importers.
export { ADDITION_TOKENS, additionSequenceLength };

export interface AdditionConfig {
  digits: number;
  trainExamples: number;
  evalExamples: number;
  reverseAnswer: boolean;
  /** Zero-pad operands to `digits` and the answer to digits+1, so digits sit at fixed positions. */
  fixedWidth: boolean;
  seed: number;
}

export function additionData(config: AdditionConfig): DatasetDefinition {
  const { digits, trainExamples, evalExamples, reverseAnswer, fixedWidth } = config;
  const limit = 10 ** digits;
  const total = additionProblemCount(digits);
  if (trainExamples + evalExamples > total) {
    throw new Error(`addition: ${trainExamples + evalExamples} distinct problems requested but only ${total} exist with ${digits} digits.`);
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

  const format = { digits, reverseAnswer, fixedWidth };
  const promptText = (a: number, b: number): string => additionText(a, b, format).prompt;
  const answerText = (a: number, b: number): string => additionText(a, b, format).answer;
  const encode = ([a, b]: [number, number]): WeightedSequence => {
    const { prompt, answer } = additionText(a, b, format);
    return { tokens: vocabulary.encode(`${prompt}${answer}$`), firstTarget: prompt.length };
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
