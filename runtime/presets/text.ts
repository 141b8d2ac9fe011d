/**
 * runtime/presets/text.ts — what the "text" data preset is, stated once: its defaults, how a
 * corpus is split into training and held-out windows, the metrics its evaluation reports, and what
 * makes a corpus file unusable (not UTF-8, too short), checked alike at generation and at run time.
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

/**
 * The fewest characters a corpus needs: one training window (T+1 characters in the head), and one
 * held-out window when evalFraction > 0 (the program stops at start without them). Both splits grow
 * with the corpus, so the smallest size that fits is found by bisection over textSplits itself.
 */
export function textMinimumCharacters(evalFraction: number, sequenceLength: number): number {
  const enough = (n: number): boolean => {
    const { trainWindows, evalWindows } = textSplits(n, evalFraction, sequenceLength);
    return trainWindows >= 1 && (evalFraction <= 0 || evalWindows >= 1);
  };
  let low = sequenceLength; // T characters never hold a window of T+1
  let high = sequenceLength + 1;
  while (!enough(high)) {
    low = high;
    high *= 2;
    if (high > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (enough(middle)) high = middle;
    else low = middle;
  }
  return high;
}

/**
 * The characters (code points, as Array.from counts them and the runtime's vocabulary encodes
 * them) of bytes that are valid UTF-8: every byte but the continuation bytes 10xxxxxx starts one.
 */
export function textCharacterCount(bytes: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < bytes.length; i++) if ((bytes[i]! & 0xc0) !== 0x80) count++;
  return count;
}

/** The first byte sequence of a file that is not UTF-8: where it is, which bytes, and why. */
export interface InvalidUtf8 {
  /** 1-based line (lines end at "\n"). */
  line: number;
  /** 1-based column, in characters (code points) of that line. */
  column: number;
  /** 0-based byte offset in the file. */
  offset: number;
  /** The ill-formed bytes: the lead byte and the continuation bytes read before the error (two bytes for an overlong, surrogate or above-U+10FFFF form). */
  bytes: number[];
  /** Why they are not UTF-8, e.g. "0xFF is a byte that never appears in UTF-8". */
  reason: string;
}

const hex = (b: number): string => `0x${b.toString(16).toUpperCase().padStart(2, "0")}`;

/**
 * The first invalid UTF-8 sequence in `bytes` (by the WHATWG/Unicode rules: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no cut-short sequences), or null when all of it is UTF-8.
 * Valid multi-byte text (Korean, emoji) is never flagged. The native fatal decoder answers the
 * common case; the byte scan runs only to say where and why.
 */
export function findInvalidUtf8(bytes: Uint8Array): InvalidUtf8 | null {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return null;
  } catch {
    // Invalid somewhere: find the first sequence below.
  }
  let line = 1;
  let lineStart = 0;
  const bad = (offset: number, length: number, reason: string): InvalidUtf8 => {
    const column = textCharacterCount(bytes.subarray(lineStart, offset)) + 1;
    return { line, column, offset, bytes: Array.from(bytes.subarray(offset, offset + length)), reason };
  };
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (b === 0x0a) (line++, (lineStart = i + 1));
      i++;
      continue;
    }
    let need: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) low = 0xa0;
      if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) low = 0x90;
      if (b === 0xf4) high = 0x8f;
    } else if (b <= 0xbf) return bad(i, 1, `${hex(b)} is a continuation byte with no lead byte before it`);
    else if (b <= 0xc1) return bad(i, 1, `${hex(b)} can only start an overlong encoding, never valid UTF-8`);
    else return bad(i, 1, `${hex(b)} is a byte that never appears in UTF-8`);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      const sequence = `${hex(b)} starts a ${need + 1}-byte sequence`;
      if (c === undefined) return bad(i, k, `${sequence} cut short by the end of the file`);
      if (k === 1 && c >= 0x80 && c <= 0xbf && (c < low || c > high)) {
        const why = b === 0xed ? "a UTF-16 surrogate" : b === 0xf4 ? "a code point above U+10FFFF" : "an overlong encoding";
        return bad(i, 2, `${hex(b)} ${hex(c)} would be ${why}, never valid UTF-8`);
      }
      if (c < low || c > high) return bad(i, k, `${sequence} but is followed by ${hex(c)}, not a continuation byte (0x80-0xBF)`);
      low = 0x80;
      high = 0xbf;
    }
    i += need + 1;
  }
  return null;
}

/**
 * Where and why, for messages: `line 5, column 3 (byte offset 41): 0xE9 starts a 3-byte sequence
 * but is followed by 0x20, ...; in Latin-1/Windows-1252, 0xE9 is "é"`.
 */
export function describeInvalidUtf8(found: InvalidUtf8): string {
  const [first] = found.bytes;
  const latin1 = found.bytes.length === 1 && first !== undefined && first >= 0xa0 ? `; in Latin-1/Windows-1252, ${hex(first)} is ${JSON.stringify(String.fromCharCode(first))}` : "";
  return `line ${found.line}, column ${found.column} (byte offset ${found.offset}): ${found.reason}${latin1}`;
}
