/**
 * runtime/tokenizers/char.ts — the character tokenizer: one token per character of a text, plus
 * optional special tokens after them.
 *
 * Its characters and their ids are exactly runtime/data/text.ts's vocabulary (charTokens), so a
 * char-level program keeps its ids; special tokens (e.g. "<|endoftext|>") get the next ids, and
 * encode reads a special token's text as that one id. Its tokenizer.json is BPE without merges
 * (see hf-json.ts), which @huggingface/tokenizers encodes identically.
 */
import { charTokens } from "./facts.ts";
import { bpeTokenizerJson, tokenizerConfigJson, type SpecialToken } from "./hf-json.ts";
import { checkSpecials, SpecialTokenSplitter, specialRoles } from "./special-tokens.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface CharTokenizerOptions {
  /** Special tokens, given ids after the characters in this order. */
  specials?: readonly string[];
  chatTemplate?: string | null;
}

export function charTokenizer(text: string, options: CharTokenizerOptions = {}): Tokenizer {
  const specials = [...(options.specials ?? [])];
  checkSpecials(specials, "charTokenizer");
  const chars = charTokens(text);
  const ids = new Map(chars.map((t, i) => [t, i] as const));
  const specialTokens: SpecialToken[] = specials.map((content, i) => {
    if (ids.has(content)) throw new Error(`charTokenizer: special token ${JSON.stringify(content)} is one of the text's characters; a special token needs its own text (e.g. "<|endoftext|>").`);
    return { id: chars.length + i, content };
  });
  const tokens: readonly string[] = [...chars, ...specials];
  const splitter = new SpecialTokenSplitter(new Map(specialTokens.map((s) => [s.content, s.id])));
  const roles = specialRoles(specials);
  const idOf = (token: string | null) => (token === null ? null : chars.length + specials.indexOf(token));
  const chatTemplate = options.chatTemplate ?? null;

  const encodeChars = (piece: string, out: number[]) => {
    for (const ch of piece) {
      const id = ids.get(ch);
      if (id === undefined) throw new Error(`Character ${JSON.stringify(ch)} is not in the vocabulary.`);
      out.push(id);
    }
  };

  return {
    kind: "char",
    tokens,
    vocabularySize: tokens.length,
    eosToken: roles.eos,
    eosTokenId: idOf(roles.eos),
    bosToken: roles.bos,
    bosTokenId: idOf(roles.bos),
    padToken: roles.pad,
    padTokenId: idOf(roles.pad),
    chatTemplate,
    specialTokens: specials,
    encode(input: string): number[] {
      const out: number[] = [];
      for (const piece of splitter.split(input)) {
        if ("special" in piece) out.push(piece.special);
        else encodeChars(piece.text, out);
      }
      return out;
    },
    decode(idList: readonly number[]): string {
      return idList.map((id) => tokens[id] ?? "").join("");
    },
    tokenizerJson: () => bpeTokenizerJson({ vocab: tokens, merges: [], specials: specialTokens, byteLevel: false }),
    tokenizerConfig: (configOptions) =>
      tokenizerConfigJson({ tokenizerClass: "PreTrainedTokenizerFast", eosToken: roles.eos, bosToken: roles.bos, padToken: roles.pad, chatTemplate, specials: specialTokens }, configOptions),
  };
}
