/**
 * runtime/tokenizers/byte-level.ts — GPT-2's byte level: how text becomes "words" of byte
 * symbols before BPE, and how byte symbols become text again.
 *
 * GPT-2 splits text with one regular expression (contractions, runs of letters, of digits, of other
 * characters, each with an optional leading space, and whitespace), then writes each byte of a
 * word's UTF-8 as one printable character (bytes_to_unicode: printable Latin-1 bytes stand for
 * themselves, the others are moved to U+0100 and up), so a token is a string and " " is "Ġ".
 * The pattern below is the one @huggingface/tokenizers' ByteLevel pre-tokenizer and gpt-tokenizer's
 * r50k_base use, so tokenizers made here split text exactly as a loaded tokenizer.json does.
 */

/** GPT-2's pre-tokenization pattern, as JavaScript (flags gu). */
export const GPT2_SPLIT_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The bytes in GPT-2's order: the printable ones first (their token ids 0-187), then the rest. */
export const GPT2_BYTE_ORDER: readonly number[] = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const rest: number[] = [];
  for (let b = 0; b < 256; b++) if (!printable.includes(b)) rest.push(b);
  return [...printable, ...rest];
})();

/** BYTE_SYMBOLS[b] is the one-character string that stands for byte b. */
export const BYTE_SYMBOLS: readonly string[] = (() => {
  const symbols = new Array<string>(256);
  let moved = 0;
  for (const b of GPT2_BYTE_ORDER) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    symbols[b] = String.fromCharCode(printable ? b : 256 + moved++);
  }
  return symbols;
})();

const SYMBOL_BYTES = new Map<string, number>(BYTE_SYMBOLS.map((s, b) => [s, b]));

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF (the default would drop it); invalid bytes read as U+FFFD.
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** The pre-tokenized words of `text` (no special tokens in it), as raw text. */
export function preTokenize(text: string): string[] {
  return text.match(GPT2_SPLIT_PATTERN) ?? [];
}

/** A word's bytes as one string of byte symbols ("Ġworld" for " world"). */
export function byteSymbols(text: string): string {
  let out = "";
  for (const b of encoder.encode(text)) out += BYTE_SYMBOLS[b]!;
  return out;
}

/** The bytes a string of byte symbols stands for; undefined when a character is not a byte symbol. */
export function symbolBytes(symbols: string): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < symbols.length; i++) {
    const b = SYMBOL_BYTES.get(symbols[i]!);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return out;
}

/** UTF-8 bytes to text, as the ByteLevel decoder does: invalid sequences read as U+FFFD, a BOM is kept. */
export function utf8Text(bytes: Uint8Array | readonly number[]): string {
  return decoder.decode(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
}

export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}
