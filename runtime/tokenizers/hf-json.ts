/**
 * runtime/tokenizers/hf-json.ts — the Hugging Face files a tokenizer is saved as: tokenizer.json
 * (the model, pre-tokenizer, decoder and added tokens) and tokenizer_config.json (the class and
 * the special-token roles transformers reads).
 *
 * Every tokenizer made here is a BPE model in that format: a char vocabulary is BPE without merges
 * (@huggingface/tokenizers has no WordLevel model; BPE splits a text into code points and
 * looks each up, which is exactly a character vocabulary) with a Fuse decoder, and GPT-2 or
 * trained BPE is byte-level BPE laid out as GPT-2's own tokenizer.json. Merges are written as
 * "left right" strings, which every version of tokenizers and transformers reads (byte-level
 * symbols never hold a space).
 */
import type { TokenizerConfigOptions } from "./tokenizer.ts";

export interface SpecialToken {
  id: number;
  content: string;
}

function addedTokensJson(specials: readonly SpecialToken[]): object[] {
  return specials.map(({ id, content }) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
}

export interface BpeJsonParts {
  /** vocab[id] is the model's token string (byte symbols for byte-level BPE); special tokens included. */
  vocab: readonly string[];
  merges: readonly (readonly [string, string])[];
  specials: readonly SpecialToken[];
  /** GPT-2's byte level (pre-tokenizer, post-processor and decoder); otherwise characters with a Fuse decoder. */
  byteLevel: boolean;
}

export function bpeTokenizerJson({ vocab, merges, specials, byteLevel }: BpeJsonParts): object {
  const vocabObject: Record<string, number> = {};
  vocab.forEach((token, id) => {
    if (Object.hasOwn(vocabObject, token)) throw new Error(`tokenizer.json: token ${JSON.stringify(token)} appears twice in the vocabulary (ids ${vocabObject[token]} and ${id}).`);
    vocabObject[token] = id;
  });
  const byteLevelStep = (addPrefixSpace: boolean, trimOffsets: boolean) => ({ type: "ByteLevel", add_prefix_space: addPrefixSpace, trim_offsets: trimOffsets, use_regex: true });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: addedTokensJson(specials),
    normalizer: null,
    pre_tokenizer: byteLevel ? byteLevelStep(false, true) : null,
    post_processor: byteLevel ? byteLevelStep(true, false) : null,
    decoder: byteLevel ? byteLevelStep(true, true) : { type: "Fuse" },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: vocabObject,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

export interface ConfigParts {
  tokenizerClass: string;
  eosToken: string | null;
  bosToken: string | null;
  padToken: string | null;
  unkToken?: string | null;
  chatTemplate: string | null;
  specials: readonly SpecialToken[];
}

export function tokenizerConfigJson(parts: ConfigParts, options: TokenizerConfigOptions = {}): object {
  const config: Record<string, unknown> = {
    tokenizer_class: parts.tokenizerClass,
    bos_token: parts.bosToken,
    eos_token: parts.eosToken,
    pad_token: parts.padToken,
  };
  if (parts.unkToken !== undefined) config.unk_token = parts.unkToken;
  // decode(encode(x)) === x: no "tidying" of spaces before punctuation when decoding.
  config.clean_up_tokenization_spaces = false;
  config.added_tokens_decoder = Object.fromEntries(parts.specials.map(({ id, content }) => [String(id), { content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }]));
  if (options.modelMaxLength !== undefined) config.model_max_length = options.modelMaxLength;
  if (parts.chatTemplate !== null) config.chat_template = parts.chatTemplate;
  return config;
}
