/**
 * runtime/tokenizers/gpt2.ts — GPT-2's tokenizer (byte-level BPE, 50257 tokens, <|endoftext|> =
 * 50256), offline, from gpt-tokenizer's r50k_base encoding (the same ranks as tiktoken's).
 *
 * gpt-tokenizer encodes; decoding joins the tokens' bytes here (keeping a leading BOM, which a
 * default TextDecoder drops). gpt-tokenizer stores ranks (token id = rank, as tiktoken does), not
 * GPT-2's merges.txt, so tokenizerJson() derives the merges: GPT-2's ranks are its merge order
 * (token 256 + i is made by merge i), and the two halves token r is merged from are what BPE over
 * its bytes yields using only the ranks below r (transformers derives tiktoken merges the same
 * way). The tests check that @huggingface/tokenizers, given that tokenizer.json, encodes as
 * gpt-tokenizer does.
 */
import bpeRanks from "gpt-tokenizer/bpeRanks/r50k_base";
import { encode as r50kEncode } from "gpt-tokenizer/encoding/r50k_base";
import { BYTE_SYMBOLS, utf8Bytes, utf8Text } from "./byte-level.ts";
import { bpeTokenizerJson, tokenizerConfigJson } from "./hf-json.ts";
import { GPT2_EOS_TOKEN, GPT2_EOS_TOKEN_ID, GPT2_VOCABULARY_SIZE } from "./facts.ts";
import { SpecialTokenSplitter } from "./special-tokens.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface Gpt2TokenizerOptions {
  chatTemplate?: string | null;
}

let tokenBytesCache: Uint8Array[] | undefined;

/** The bytes of each non-special token, by id (0..50255). */
function tokenBytes(): Uint8Array[] {
  tokenBytesCache ??= bpeRanks.map((value) => (typeof value === "string" ? utf8Bytes(value) : Uint8Array.from(value)));
  return tokenBytesCache;
}

let vocabAndMerges: { vocab: string[]; merges: [string, string][] } | undefined;

/** GPT-2's vocabulary as byte symbols (with <|endoftext|>) and its 50000 merges, derived from the ranks. */
function gpt2VocabAndMerges(): { vocab: string[]; merges: [string, string][] } {
  if (vocabAndMerges) return vocabAndMerges;
  const vocab = tokenBytes().map((bytes) => Array.from(bytes, (b) => BYTE_SYMBOLS[b]!).join(""));
  const rank = new Map(vocab.map((s, id) => [s, id] as const));
  const merges: [string, string][] = [];
  for (let r = 0; r < vocab.length; r++) {
    const token = vocab[r]!;
    if (token.length === 1) continue;
    // BPE over the token's bytes with the merges of rank < r; it must stop at exactly two parts.
    const parts = Array.from(token);
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const pr = rank.get(parts[i]! + parts[i + 1]!);
        if (pr !== undefined && pr < r && pr < best) (best = pr), (at = i);
      }
      if (at < 0) break;
      parts.splice(at, 2, parts[at]! + parts[at + 1]!);
    }
    if (parts.length !== 2) throw new Error(`gpt2 tokenizer: token ${r} (${JSON.stringify(token)}) does not split into one merge of lower-ranked tokens.`);
    merges.push([parts[0]!, parts[1]!]);
  }
  vocab.push(GPT2_EOS_TOKEN);
  vocabAndMerges = { vocab, merges };
  return vocabAndMerges;
}

export function gpt2Tokenizer(options: Gpt2TokenizerOptions = {}): Tokenizer {
  const splitter = new SpecialTokenSplitter(new Map([[GPT2_EOS_TOKEN, GPT2_EOS_TOKEN_ID]]));
  const chatTemplate = options.chatTemplate ?? null;
  const specials = [{ id: GPT2_EOS_TOKEN_ID, content: GPT2_EOS_TOKEN }];
  let tokens: string[] | undefined;

  const tokenizer: Tokenizer = {
    kind: "gpt2",
    get tokens(): readonly string[] {
      tokens ??= Array.from({ length: GPT2_VOCABULARY_SIZE }, (_, id) => tokenizer.decode([id]));
      return tokens;
    },
    vocabularySize: GPT2_VOCABULARY_SIZE,
    eosToken: GPT2_EOS_TOKEN,
    eosTokenId: GPT2_EOS_TOKEN_ID,
    // As transformers' GPT-2 tokenizer: <|endoftext|> is also its bos (and unk); it has no pad.
    bosToken: GPT2_EOS_TOKEN,
    bosTokenId: GPT2_EOS_TOKEN_ID,
    padToken: null,
    padTokenId: null,
    chatTemplate,
    specialTokens: [GPT2_EOS_TOKEN],
    encode(text: string): number[] {
      const out: number[] = [];
      for (const piece of splitter.split(text)) {
        if ("special" in piece) out.push(piece.special);
        else for (const id of r50kEncode(piece.text)) out.push(id);
      }
      return out;
    },
    decode(ids: readonly number[]): string {
      const bytes = tokenBytes();
      let text = "";
      let pending: number[] = [];
      for (const id of ids) {
        if (id === GPT2_EOS_TOKEN_ID) {
          if (pending.length > 0) (text += utf8Text(pending)), (pending = []);
          text += GPT2_EOS_TOKEN;
        } else {
          const b = bytes[id];
          if (b) for (const x of b) pending.push(x);
        }
      }
      if (pending.length > 0) text += utf8Text(pending);
      return text;
    },
    tokenizerJson() {
      const { vocab, merges } = gpt2VocabAndMerges();
      return bpeTokenizerJson({ vocab, merges, specials, byteLevel: true });
    },
    tokenizerConfig: (configOptions) =>
      tokenizerConfigJson(
        { tokenizerClass: "GPT2Tokenizer", eosToken: GPT2_EOS_TOKEN, bosToken: GPT2_EOS_TOKEN, padToken: null, unkToken: GPT2_EOS_TOKEN, chatTemplate, specials },
        configOptions,
      ),
  };
  return tokenizer;
}
