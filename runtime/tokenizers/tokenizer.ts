/**
 * runtime/tokenizers/tokenizer.ts — the Tokenizer contract: a Vocabulary (runtime/types.ts) that
 * also knows its special tokens and can write itself as a Hugging Face model folder's
 * tokenizer.json and tokenizer_config.json.
 *
 * Why its own file: the four kinds (char, gpt2, file, trained) each implement it in their own
 * module, and the generator and the language-model programs talk only to this interface.
 */
import type { Vocabulary } from "../types.ts";
import type { TokenizerKind } from "./facts.ts";

export interface Tokenizer extends Vocabulary {
  /** How it was made: a character vocabulary, GPT-2's BPE, a tokenizer.json file, or BPE trained here. */
  readonly kind: TokenizerKind;
  /** Number of ids (the largest id + 1), special tokens included: the model's embedding rows. */
  readonly vocabularySize: number;
  readonly eosTokenId: number | null;
  readonly eosToken: string | null;
  readonly bosToken: string | null;
  readonly bosTokenId: number | null;
  readonly padToken: string | null;
  readonly padTokenId: number | null;
  /** The Jinja chat template (tokenizer_config.json's chat_template), when there is one. */
  readonly chatTemplate: string | null;
  /** Texts of the special tokens; encode turns each occurrence of one in its input into that one id. */
  readonly specialTokens: readonly string[];
  /**
   * encode never adds special tokens (no BOS/EOS): callers append eosTokenId themselves. A special
   * token's text in `text` becomes its id. tokens[id] is the text decode([id]) gives (byte-level
   * tokens that are a partial UTF-8 character read as U+FFFD there).
   */
  encode(text: string): number[];
  /** The text of `ids`; special tokens give their text. decode([]) is "". */
  decode(ids: readonly number[]): string;
  /** A Hugging Face tokenizer.json that encodes and decodes exactly as this tokenizer does (a fresh object). */
  tokenizerJson(): object;
  /** tokenizer_config.json to write beside it: tokenizer_class, eos/bos/pad tokens, chat_template when any. */
  tokenizerConfig(options?: TokenizerConfigOptions): object;
}

export interface TokenizerConfigOptions {
  /** Written as model_max_length (the model's context length) when given. */
  modelMaxLength?: number;
}
