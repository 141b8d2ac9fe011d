/**
 * runtime/tokenizers — tokenizers of language-model programs: a character vocabulary, GPT-2's
 * byte-level BPE, any Hugging Face tokenizer.json, and byte-level BPE trained on the user's text.
 * Each is a Tokenizer (tokenizer.ts) that can write itself as tokenizer.json/tokenizer_config.json.
 *
 * Nothing here imports @tensorflow/tfjs: the generator builds tokenizers at generation time.
 */
export type { Tokenizer, TokenizerConfigOptions } from "./tokenizer.ts";
export { BYTE_TOKEN_COUNT, charTokens, DEFAULT_SPECIALS, GPT2_EOS_TOKEN, GPT2_EOS_TOKEN_ID, GPT2_VOCABULARY_SIZE, TOKENIZER_KINDS, type TokenizerKind } from "./facts.ts";
export { charTokenizer, type CharTokenizerOptions } from "./char.ts";
export { gpt2Tokenizer, type Gpt2TokenizerOptions } from "./gpt2.ts";
export { tokenizerFromFile, SUPPORTED_MODEL_TYPES } from "./file.ts";
export { trainBpeTokenizer, type TrainBpeOptions } from "./train-bpe.ts";
