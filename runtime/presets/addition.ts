/**
 * runtime/presets/addition.ts — what the "addition" data preset is, stated once: its tokens, how
 * long its sequences are, how many distinct problems exist, the sizes it defaults to, how a
 * problem is written as text, and the metrics its evaluation reports.
 *
 * Why here: the runtime (runtime/data/addition.ts) builds the data from these facts, and the
 * generator (validation, plan comments, explain, model-size) must agree with it exactly without
 * loading TensorFlow.js. So this module imports nothing that loads @tensorflow/tfjs; everything
 * else about the preset derives from it.
 */

/** The vocabulary, in id order: the digits, "+", "=", "$" (end of answer) and "_" (padding). */
export const ADDITION_TOKENS = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "=", "$", "_"] as const;

/** Length T of the model input for `digits`-digit operands: "ddd+ddd=dddd$" minus one. */
export function additionSequenceLength(digits: number): number {
  return 3 * digits + 3;
}

/** Distinct problems (ordered pairs a, b of `digits`-digit operands): 10^(2·digits). */
export function additionProblemCount(digits: number): number {
  return 10 ** (2 * digits);
}

/** Defaults that do not depend on the digits. */
export const ADDITION_FIXED_DEFAULTS = { reverseAnswer: true, fixedWidth: true };

/** Default sizes when the problems are plentiful (digits >= 3). */
const TRAIN_DEFAULT = 20000;
const EVAL_DEFAULT = 500;

/**
 * Train and held-out sizes for `digits`, filling in what `given` leaves out with defaults that
 * always fit in the additionProblemCount(digits) distinct problems:
 *   evalExamples  = min(500, ⌊total/10⌋, total − trainExamples (when given, at least 0))
 *   trainExamples = min(20000, total − evalExamples (at least 0))
 * For digits >= 3 that is 20000 and 500. Given values are returned as they are (validation
 * reports sizes that do not fit).
 */
export function additionSizes(digits: number, given: { trainExamples?: number; evalExamples?: number }): { trainExamples: number; evalExamples: number } {
  const total = additionProblemCount(digits);
  const evalExamples =
    given.evalExamples ??
    Math.min(EVAL_DEFAULT, Math.floor(total / 10), given.trainExamples === undefined ? Infinity : Math.max(0, total - given.trainExamples));
  const trainExamples = given.trainExamples ?? Math.max(0, Math.min(TRAIN_DEFAULT, total - evalExamples));
  return { trainExamples, evalExamples };
}

export interface AdditionFormat {
  digits: number;
  /** Answer least-significant digit first (default ADDITION_FIXED_DEFAULTS.reverseAnswer). */
  reverseAnswer?: boolean;
  /** Operands zero-padded to `digits`, the answer to digits+1 (default ADDITION_FIXED_DEFAULTS.fixedWidth). */
  fixedWidth?: boolean;
}

/**
 * How problem a + b is written: the prompt ("012+345=") and the answer ("0357", or "7530"
 * reversed), without the end mark "$" that follows the answer in a training sequence.
 */
export function additionText(a: number, b: number, format: AdditionFormat): { prompt: string; answer: string } {
  const { digits } = format;
  const fixed = format.fixedWidth ?? ADDITION_FIXED_DEFAULTS.fixedWidth;
  const reverse = format.reverseAnswer ?? ADDITION_FIXED_DEFAULTS.reverseAnswer;
  const operand = (n: number): string => (fixed ? String(n).padStart(digits, "0") : String(n));
  const sum = fixed ? String(a + b).padStart(digits + 1, "0") : String(a + b);
  return { prompt: `${operand(a)}+${operand(b)}=`, answer: reverse ? [...sum].reverse().join("") : sum };
}

/**
 * One line describing the data, with an example written exactly as the runtime writes it, e.g.
 * `3-digit sums written like "123+456=9750$" (579: answer zero-padded to 4 digits, written
 * least-significant digit first)`.
 */
export function additionExample(format: AdditionFormat): string {
  const { digits } = format;
  const a = Number("123456".slice(0, digits));
  const b = Number("456789".slice(0, digits));
  const fixed = format.fixedWidth ?? ADDITION_FIXED_DEFAULTS.fixedWidth;
  const reverse = format.reverseAnswer ?? ADDITION_FIXED_DEFAULTS.reverseAnswer;
  const { prompt, answer } = additionText(a, b, format);
  const notes = [fixed ? `answer zero-padded to ${digits + 1} digits` : null, reverse ? "written least-significant digit first" : null].filter(Boolean);
  return `${digits}-digit sums written like "${prompt}${answer}$"${notes.length ? ` (${a + b}: ${notes.join(", ")})` : ""}`;
}

/** What evaluation reports for this data (eval_exact_match only when there are held-out problems). */
export const ADDITION_METRICS: string[] = ["eval_loss", "eval_exact_match"];
