/**
 * runtime/tokenizers/special-tokens.ts — special tokens: finding their text in an input, and which
 * of them ends a text (eos), starts one (bos) or pads.
 *
 * A special token is matched in the raw text before any pre-tokenization, the way
 * @huggingface/tokenizers splits out added tokens: scanning left to right, at each position the
 * longest special token that starts there wins. Doing it the same way is what makes a tokenizer
 * made here and its tokenizer.json, loaded by that library, agree on every input.
 */

/** One piece of an input: plain text, or the id of a special token whose text was there. */
export type Piece = { text: string } | { special: number };

interface TrieNode {
  next: Map<string, TrieNode>;
  /** Id of the special token that ends here. */
  id?: number;
  length?: number;
}

/** Splits texts at special tokens (by UTF-16 code units, longest match at the leftmost position). */
export class SpecialTokenSplitter {
  private readonly root: TrieNode = { next: new Map() };
  readonly size: number;

  constructor(specials: ReadonlyMap<string, number>) {
    for (const [text, id] of specials) {
      let node = this.root;
      for (let i = 0; i < text.length; i++) {
        const ch = text[i]!;
        let child = node.next.get(ch);
        if (!child) node.next.set(ch, (child = { next: new Map() }));
        node = child;
      }
      node.id = id;
      node.length = text.length;
    }
    this.size = specials.size;
  }

  split(text: string): Piece[] {
    if (this.size === 0) return text.length > 0 ? [{ text }] : [];
    const pieces: Piece[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      let node: TrieNode | undefined = this.root;
      let match: TrieNode | undefined;
      for (let j = i; j < text.length; j++) {
        node = node.next.get(text[j]!);
        if (!node) break;
        if (node.id !== undefined) match = node;
      }
      if (match) {
        if (i > start) pieces.push({ text: text.slice(start, i) });
        pieces.push({ special: match.id! });
        i += match.length!;
        start = i;
      } else {
        i++;
      }
    }
    if (start < text.length) pieces.push({ text: text.slice(start) });
    return pieces;
  }
}

/** Names that mean "end of text" in common tokenizers, most specific first. */
const EOS_NAMES = ["<|endoftext|>", "</s>", "<|im_end|>", "<|eot_id|>", "<|end_of_text|>", "<eos>", "<|end|>"];
const BOS_NAMES = ["<s>", "<|startoftext|>", "<|begin_of_text|>", "<bos>"];
const PAD_NAMES = ["<pad>", "<|pad|>", "[PAD]", "<|padding|>"];

/** The first of `names` among `specials`, or null. */
function firstOf(names: readonly string[], specials: readonly string[]): string | null {
  return names.find((n) => specials.includes(n)) ?? null;
}

/** Which special tokens (by their text) play the eos, bos and pad roles, judged by their names. */
export function specialRoles(specials: readonly string[]): { eos: string | null; bos: string | null; pad: string | null } {
  return { eos: firstOf(EOS_NAMES, specials), bos: firstOf(BOS_NAMES, specials), pad: firstOf(PAD_NAMES, specials) };
}

/** Checks special token texts: non-empty and distinct. `what` names the caller in the message. */
export function checkSpecials(specials: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const s of specials) {
    if (typeof s !== "string" || s.length === 0) throw new Error(`${what}: special tokens must be non-empty strings, got ${JSON.stringify(s)}.`);
    if (seen.has(s)) throw new Error(`${what}: special token ${JSON.stringify(s)} is given twice.`);
    seen.add(s);
  }
}
