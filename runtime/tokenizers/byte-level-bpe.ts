/**
 * runtime/tokenizers/byte-level-bpe.ts — a byte-level BPE tokenizer given its vocabulary, merges
 * and special tokens: the encoder and decoder of trained BPE, and the Tokenizer built on them.
 *
 * Encoding is what @huggingface/tokenizers does with the same tokenizer.json: special tokens are
 * split out first (special-tokens.ts), the rest is cut by GPT-2's pattern into words of byte
 * symbols (byte-level.ts), and in each word the pair of adjacent symbols with the lowest merge
 * rank is merged (the leftmost of equal ones) until no pair has a rank. Decoding joins the bytes of
 * the tokens and reads them as UTF-8, special tokens giving their text.
 */
import { byteSymbols, preTokenize, symbolBytes, utf8Text } from "./byte-level.ts";
import { bpeTokenizerJson, tokenizerConfigJson, type SpecialToken } from "./hf-json.ts";
import type { TokenizerKind } from "./facts.ts";
import { SpecialTokenSplitter, specialRoles } from "./special-tokens.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface ByteLevelBpeParts {
  kind: TokenizerKind;
  /** vocab[id] is the token's byte symbols, for ids that are not special tokens. */
  vocab: readonly string[];
  /** Merges, by rank. */
  merges: readonly (readonly [string, string])[];
  /** Special tokens; their ids follow the vocabulary's. */
  specials: readonly SpecialToken[];
  chatTemplate: string | null;
  tokenizerClass: string;
}

/** Words whose encoding is remembered (a corpus repeats its words); the cache is emptied when full. */
const CACHE_LIMIT = 200_000;

export function byteLevelBpeTokenizer(parts: ByteLevelBpeParts): Tokenizer {
  const { vocab, merges, specials } = parts;
  const vocabularySize = Math.max(vocab.length, ...specials.map((s) => s.id + 1));
  const ids = new Map<string, number>();
  vocab.forEach((token, id) => ids.set(token, id));
  // Symbols hold no space (byte symbols never are " "), so "left right" names a pair exactly.
  const ranks = new Map<string, number>(merges.map(([a, b], rank) => [`${a} ${b}`, rank]));
  const splitter = new SpecialTokenSplitter(new Map(specials.map((s) => [s.content, s.id])));
  const specialText = new Map(specials.map((s) => [s.id, s.content]));
  const bytesOf: (number[] | undefined)[] = vocab.map((token) => symbolBytes(token));
  const cache = new Map<string, number[]>();

  const encodeWord = (word: string): number[] => {
    const cached = cache.get(word);
    if (cached) return cached;
    const symbols = Array.from(word);
    while (symbols.length > 1) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < best) (best = rank), (at = i);
      }
      if (at < 0) break;
      symbols.splice(at, 2, symbols[at]! + symbols[at + 1]!);
    }
    const out: number[] = [];
    // Like the library, a symbol the vocabulary lacks (impossible for trained BPE) is dropped.
    for (const s of symbols) {
      const id = ids.get(s);
      if (id !== undefined) out.push(id);
    }
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(word, out);
    return out;
  };

  const roles = specialRoles(specials.map((s) => s.content));
  const idOf = (token: string | null) => (token === null ? null : specials.find((s) => s.content === token)!.id);
  let tokens: string[] | undefined;

  const tokenizer: Tokenizer = {
    kind: parts.kind,
    get tokens(): readonly string[] {
      tokens ??= Array.from({ length: vocabularySize }, (_, id) => tokenizer.decode([id]));
      return tokens;
    },
    vocabularySize,
    eosToken: roles.eos,
    eosTokenId: idOf(roles.eos),
    bosToken: roles.bos,
    bosTokenId: idOf(roles.bos),
    padToken: roles.pad,
    padTokenId: idOf(roles.pad),
    chatTemplate: parts.chatTemplate,
    specialTokens: specials.map((s) => s.content),
    encode(text: string): number[] {
      const out: number[] = [];
      for (const piece of splitter.split(text)) {
        if ("special" in piece) out.push(piece.special);
        else for (const word of preTokenize(piece.text)) for (const id of encodeWord(byteSymbols(word))) out.push(id);
      }
      return out;
    },
    decode(idList: readonly number[]): string {
      let text = "";
      let pending: number[] = [];
      for (const id of idList) {
        const special = specialText.get(id);
        if (special !== undefined) {
          if (pending.length > 0) (text += utf8Text(pending)), (pending = []);
          text += special;
          continue;
        }
        const bytes = bytesOf[id];
        if (bytes) for (const b of bytes) pending.push(b);
      }
      if (pending.length > 0) text += utf8Text(pending);
      return text;
    },
    tokenizerJson() {
      const full = [...vocab];
      for (const s of specials) full[s.id] = s.content;
      return bpeTokenizerJson({ vocab: full, merges, specials, byteLevel: true });
    },
    tokenizerConfig: (options) =>
      tokenizerConfigJson({ tokenizerClass: parts.tokenizerClass, eosToken: roles.eos, bosToken: roles.bos, padToken: roles.pad, chatTemplate: parts.chatTemplate, specials }, options),
  };
  return tokenizer;
}
