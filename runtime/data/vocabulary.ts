/**
 * runtime/data/vocabulary.ts — a character vocabulary: one token per character.
 */
import type { Vocabulary } from "../types.ts";

export function charVocabulary(tokens: readonly string[]): Vocabulary {
  const ids = new Map(tokens.map((t, i) => [t, i] as const));
  return {
    tokens,
    encode(text: string): number[] {
      return Array.from(text, (ch) => {
        const id = ids.get(ch);
        if (id === undefined) throw new Error(`Character ${JSON.stringify(ch)} is not in the vocabulary.`);
        return id;
      });
    },
    decode(idList: readonly number[]): string {
      return idList.map((id) => tokens[id] ?? "").join("");
    },
  };
}
