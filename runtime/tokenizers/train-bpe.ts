/**
 * runtime/tokenizers/train-bpe.ts — training a byte-level BPE tokenizer on texts, as GPT-2's was
 * made: start from the 256 byte tokens and repeatedly merge the most frequent adjacent pair.
 *
 * The texts are cut into words by GPT-2's pattern (byte-level.ts; special tokens are cut out
 * first and never learned from), and pairs are counted within words, each distinct word weighted
 * by how often it occurs. The most frequent pair becomes a merge and (unless that string already is
 * a token) a new token; ties go to the pair whose left token, then right token, is the smaller
 * string, so the same texts always give the same tokenizer, byte for byte. Counts are updated
 * incrementally: a merge rewrites only the words that hold its pair, and the best pair comes from a
 * heap whose stale entries are skipped (~100 KB of text trains to 512 tokens in well under a
 * second).
 */
import { UserError } from "../user-error.ts";
import { BYTE_SYMBOLS, byteSymbols, GPT2_BYTE_ORDER, preTokenize } from "./byte-level.ts";
import { byteLevelBpeTokenizer } from "./byte-level-bpe.ts";
import { BYTE_TOKEN_COUNT, DEFAULT_SPECIALS } from "./facts.ts";
import { checkSpecials, SpecialTokenSplitter } from "./special-tokens.ts";
import type { Tokenizer } from "./tokenizer.ts";

export interface TrainBpeOptions {
  /** Size of the vocabulary: 256 byte tokens + merges + special tokens. Training stops earlier when no pair is left. */
  vocabSize: number;
  /** Special tokens, given the last ids in this order; default ["<|endoftext|>"]. */
  specials?: readonly string[];
  chatTemplate?: string | null;
}

/** Largest vocabulary (pairs of ids are keyed as a·2^21 + b). */
const MAX_VOCABULARY = 1 << 21;

/** A max-heap of pairs by (count, then smaller left string, then smaller right string). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  constructor(private readonly better: (countA: number, keyA: number, countB: number, keyB: number) => boolean) {}
  get size(): number {
    return this.keys.length;
  }
  push(count: number, key: number): void {
    const { counts, keys } = this;
    let i = keys.length;
    counts.push(count), keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.better(counts[i]!, keys[i]!, counts[parent]!, keys[parent]!)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  pop(): { count: number; key: number } | undefined {
    const { counts, keys } = this;
    if (keys.length === 0) return undefined;
    const top = { count: counts[0]!, key: keys[0]! };
    const lastCount = counts.pop()!;
    const lastKey = keys.pop()!;
    if (keys.length > 0) {
      counts[0] = lastCount;
      keys[0] = lastKey;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < keys.length && this.better(counts[l]!, keys[l]!, counts[best]!, keys[best]!)) best = l;
        if (r < keys.length && this.better(counts[r]!, keys[r]!, counts[best]!, keys[best]!)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
  private swap(i: number, j: number): void {
    const { counts, keys } = this;
    [counts[i], counts[j]] = [counts[j]!, counts[i]!];
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
}

export function trainBpeTokenizer(texts: readonly string[], options: TrainBpeOptions): Tokenizer {
  const specials = [...(options.specials ?? DEFAULT_SPECIALS)];
  checkSpecials(specials, "trainBpeTokenizer");
  const { vocabSize } = options;
  const smallest = BYTE_TOKEN_COUNT + specials.length;
  if (!Number.isInteger(vocabSize) || vocabSize < smallest || vocabSize > MAX_VOCABULARY) {
    throw new UserError(`BPE tokenizer: vocabSize must be an integer from ${smallest} (256 byte tokens + ${specials.length} special token${specials.length === 1 ? "" : "s"}) to ${MAX_VOCABULARY}, got ${vocabSize}.`);
  }
  const specialSet = new Set(specials);

  // Token strings by id: the 256 bytes in GPT-2's order, then merged tokens.
  const strings: string[] = GPT2_BYTE_ORDER.map((b) => BYTE_SYMBOLS[b]!);
  const idOf = new Map(strings.map((s, id) => [s, id] as const));
  for (const s of specials) {
    if (idOf.has(s)) throw new UserError(`BPE tokenizer: special token ${JSON.stringify(s)} is the symbol of a byte token; give special tokens a longer text (e.g. "<|endoftext|>").`);
  }

  // Distinct words (as byte-symbol strings) and how often each occurs, in order of first occurrence.
  const wordCounts = new Map<string, number>();
  const splitter = new SpecialTokenSplitter(new Map(specials.map((s, i) => [s, i])));
  for (const text of texts) {
    for (const piece of splitter.split(text)) {
      if ("special" in piece) continue;
      for (const word of preTokenize(piece.text)) {
        const symbols = byteSymbols(word);
        wordCounts.set(symbols, (wordCounts.get(symbols) ?? 0) + 1);
      }
    }
  }
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [symbols, count] of wordCounts) {
    words.push(Array.from(symbols, (s) => idOf.get(s)!));
    counts.push(count);
  }

  const SHIFT = MAX_VOCABULARY;
  const pairKey = (a: number, b: number) => a * SHIFT + b;
  const left = (key: number) => Math.floor(key / SHIFT);
  const right = (key: number) => key % SHIFT;
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap((ca, ka, cb, kb) => {
    if (ca !== cb) return ca > cb;
    const la = strings[left(ka)]!;
    const lb = strings[left(kb)]!;
    if (la !== lb) return la < lb;
    return strings[right(ka)]! < strings[right(kb)]!;
  });

  words.forEach((word, w) => {
    for (let i = 0; i + 1 < word.length; i++) {
      const key = pairKey(word[i]!, word[i + 1]!);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + counts[w]!);
      let holders = pairWords.get(key);
      if (!holders) pairWords.set(key, (holders = new Set()));
      holders.add(w);
    }
  });
  for (const [key, count] of pairCounts) heap.push(count, key);

  const merges: [string, string][] = [];
  const merged = new Set<number>();
  const banned = new Set<number>();
  while (strings.length + specials.length < vocabSize) {
    const top = heap.pop();
    if (!top) break;
    const { count, key } = top;
    if (pairCounts.get(key) !== count || banned.has(key)) continue; // stale entry
    const a = left(key);
    const b = right(key);
    const joined = strings[a]! + strings[b]!;
    if (specialSet.has(joined)) {
      // A token spelled like a special token would make its text ambiguous in tokenizer.json.
      banned.add(key);
      continue;
    }
    let id = idOf.get(joined);
    if (id === undefined) {
      id = strings.length;
      strings.push(joined);
      idOf.set(joined, id);
    }
    // A pair merged before can meet again (a later merge spelled an existing token); its merge is
    // already listed, so it is only applied to the words.
    if (!merged.has(key)) merges.push([strings[a]!, strings[b]!]), merged.add(key);

    const delta = new Map<number, number>();
    const holders = pairWords.get(key) ?? new Set<number>();
    pairWords.delete(key);
    for (const w of holders) {
      const word = words[w]!;
      let found = false;
      for (let i = 0; i + 1 < word.length && !found; i++) found = word[i] === a && word[i + 1] === b;
      if (!found) continue;
      const c = counts[w]!;
      for (let i = 0; i + 1 < word.length; i++) {
        const k = pairKey(word[i]!, word[i + 1]!);
        delta.set(k, (delta.get(k) ?? 0) - c);
      }
      const next: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (word[i] === a && i + 1 < word.length && word[i + 1] === b) next.push(id), i++;
        else next.push(word[i]!);
      }
      for (let i = 0; i + 1 < next.length; i++) {
        const k = pairKey(next[i]!, next[i + 1]!);
        delta.set(k, (delta.get(k) ?? 0) + c);
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(w);
      }
      words[w] = next;
    }
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const n = (pairCounts.get(k) ?? 0) + d;
      if (n > 0) pairCounts.set(k, n), heap.push(n, k);
      else pairCounts.delete(k);
    }
  }

  return byteLevelBpeTokenizer({
    kind: "trained",
    vocab: strings,
    merges,
    specials: specials.map((content, i) => ({ id: strings.length + i, content })),
    chatTemplate: options.chatTemplate ?? null,
    tokenizerClass: "PreTrainedTokenizerFast",
  });
}
