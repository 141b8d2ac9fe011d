/**
 * runtime/presets/text.ts — what the "text" data preset is, stated once: its defaults, how a
 * corpus is split into training and held-out windows, and the metrics its evaluation reports.
 *
 * Why here: runtime/data/text.ts cuts the corpus with textSplits, and the generator (validation,
 * explain) computes the same sizes from the file's length without loading TensorFlow.js, so this
 * module imports nothing that loads @tensorflow/tfjs.
 */

export const TEXT_DEFAULTS = { evalFraction: 0.1, sequenceLength: 64 };

/**
 * The split of a corpus of `characterCount` characters (code points): the last
 * ⌊characterCount · evalFraction⌋ characters are held out (a contiguous tail, as nanoGPT splits),
 * and each split is cut into windows of T+1 characters with stride T (consecutive windows share
 * one character), so a split of n characters holds max(0, ⌊(n − 1)/T⌋) windows.
 */
export function textSplits(characterCount: number, evalFraction: number, sequenceLength: number): { trainWindows: number; evalWindows: number; evalCharacters: number } {
  const evalCharacters = Math.floor(characterCount * evalFraction);
  const windows = (n: number): number => Math.max(0, Math.floor((n - 1) / sequenceLength));
  return { trainWindows: windows(characterCount - evalCharacters), evalWindows: windows(evalCharacters), evalCharacters };
}

/** What evaluation reports for this data. */
export const TEXT_METRICS: string[] = ["eval_loss"];
