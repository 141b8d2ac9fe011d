/**
 * runtime/tokenizers/facts.ts — facts about the tokenizer kinds that the generator needs without
 * building a tokenizer (or loading TensorFlow.js): the kind names, GPT-2's vocabulary size and
 * end-of-text token, and the default special tokens of the tokenizers made here.
 */

export const TOKENIZER_KINDS = ["char", "gpt2", "file", "trained"] as const;
export type TokenizerKind = (typeof TOKENIZER_KINDS)[number];

/** GPT-2's byte-level BPE (r50k_base): 256 bytes + 50000 merges + <|endoftext|>. */
export const GPT2_VOCABULARY_SIZE = 50257;
export const GPT2_EOS_TOKEN = "<|endoftext|>";
export const GPT2_EOS_TOKEN_ID = 50256;

/** Special tokens of a trained BPE tokenizer unless given: GPT-2's end of text. */
export const DEFAULT_SPECIALS: readonly string[] = [GPT2_EOS_TOKEN];

/** Byte-level BPE starts from one token per byte. */
export const BYTE_TOKEN_COUNT = 256;

/**
 * The character tokens of `text`, in the order runtime/data/text.ts gives them ids: the distinct
 * code points sorted by JavaScript's default sort, i.e. by UTF-16 code units (so characters above
 * U+FFFF, whose surrogates start with 0xD8-0xDB, sort before U+E000-U+FFFF).
 */
export function charTokens(text: string): string[] {
  return [...new Set(Array.from(text))].sort();
}
