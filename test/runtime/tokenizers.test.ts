/**
 * test/runtime/tokenizers.test.ts — runtime/tokenizers/: every kind (char, gpt2, file, trained)
 * gives back the text it encoded (English, Korean, emoji with ZWJ sequences and characters above
 * U+FFFF, newlines, special-token text); each one's tokenizer.json, loaded by
 * @huggingface/tokenizers or tokenizerFromFile, encodes and decodes exactly as it does; GPT-2 gives
 * its known ids; trained BPE is deterministic to the byte, keeps to vocabSize and is fast; the char
 * tokenizer is runtime/data/text.ts's vocabulary; broken files are UserErrors naming the file; and
 * importing the module loads no TensorFlow.js.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { textData } from "../../runtime/data/text.ts";
import {
  charTokenizer,
  charTokens,
  GPT2_EOS_TOKEN_ID,
  GPT2_VOCABULARY_SIZE,
  gpt2Tokenizer,
  TOKENIZER_KINDS,
  tokenizerFromFile,
  trainBpeTokenizer,
  type Tokenizer,
} from "../../runtime/tokenizers/index.ts";
import { UserError } from "../../runtime/user-error.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const tempDir = () => mkdtempSync(join(tmpdir(), "tokenizers-test-"));

const CORPUS = [
  "Hello world! The quick brown fox jumps over the lazy dog; it's 3.14 o'clock, isn't it?",
  "안녕하세요, 반가워요! 오늘 날씨가 좋네요.",
  "Emoji: 👩‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs, 🎉 party, 😀 grin, 𝄞 clef, 𠀀 ext-B.",
  "Lines\nand\r\nwindows lines\n\n\ttabs   and  spaces   ",
  "A special token <|endoftext|> in the middle, and at the end<|endoftext|>",
  "<|endoftext|><|endoftext|>back to back, and a broken one <|endoftext| and <|endoftext",
  "\uFEFFA byte order mark first, then ümlauts, ß, é, ñ, 中文字符, العربية, עברית.",
].join("\n");

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Strings drawn from the corpus's pieces and characters: words, spaces, emoji, special-token text. */
function randomStrings(count: number, seed: number): string[] {
  const random = lcg(seed);
  const chars = Array.from(CORPUS);
  const pieces = [" ", "  ", "\n", "\t", "<|endoftext|>", "'s", "'ll", "123", " 45", "👩‍👩‍👧", "𝄞", "안녕", " 반가워요", "!!", "?", "...", "\r\n"];
  return Array.from({ length: count }, () => {
    let s = "";
    const n = 1 + Math.floor(random() * 12);
    for (let i = 0; i < n; i++) s += random() < 0.5 ? pieces[Math.floor(random() * pieces.length)] : chars[Math.floor(random() * chars.length)];
    return s;
  });
}

/** About `bytes` bytes of varied text: English and Korean words, numbers, punctuation, newlines. */
function bigCorpus(bytes: number, seed = 1): string {
  const random = lcg(seed);
  const words = ["the", "model", "learns", "tokens", "from", "text", "and", "then", "it", "writes", "more", "안녕하세요", "반가워요", "학습", "데이터", "😀", "🎉", "data", "train", "ing", "er", "tion", "3.14", "42", "2024"];
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const w = words[Math.floor(random() * words.length)]!;
    const sep = random() < 0.08 ? ".\n" : random() < 0.1 ? ", " : " ";
    parts.push(w + sep);
    size += Buffer.byteLength(w + sep);
  }
  return parts.join("");
}

/**
 * The merges of byte-level BPE trained the slow, obvious way (all pairs recounted before each
 * merge; most frequent first, ties to the smaller left then right string), up to `tokens` tokens;
 * "<|endoftext|>" is cut out of the text and never merged into.
 */
function naiveMerges(text: string, tokens: number): string[] {
  const bytesToSymbols = (bytes: Uint8Array) => Array.from(bytes, (b) => byteSymbol[b]!);
  const words = new Map<string, { symbols: string[]; count: number }>();
  for (const piece of text.split("<|endoftext|>")) {
    for (const word of piece.match(/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu) ?? []) {
      const entry = words.get(word) ?? { symbols: bytesToSymbols(new TextEncoder().encode(word)), count: 0 };
      entry.count++;
      words.set(word, entry);
    }
  }
  const vocabulary = new Set(byteSymbol);
  const merges: string[] = [];
  while (vocabulary.size < tokens) {
    const counts = new Map<string, number>();
    for (const { symbols, count } of words.values()) for (let i = 0; i + 1 < symbols.length; i++) counts.set(`${symbols[i]} ${symbols[i + 1]}`, (counts.get(`${symbols[i]} ${symbols[i + 1]}`) ?? 0) + count);
    let best: [string, string] | undefined;
    let bestCount = 0;
    for (const [pair, count] of counts) {
      const [a, b] = pair.split(" ") as [string, string];
      if (count > bestCount || (count === bestCount && best && (a < best[0] || (a === best[0] && b < best[1])))) (best = [a, b]), (bestCount = count);
    }
    if (!best) break;
    const [a, b] = best;
    if (!merges.includes(`${a} ${b}`)) merges.push(`${a} ${b}`);
    vocabulary.add(a + b);
    for (const entry of words.values()) {
      const next: string[] = [];
      for (let i = 0; i < entry.symbols.length; i++) {
        if (entry.symbols[i] === a && entry.symbols[i + 1] === b) next.push(a + b), i++;
        else next.push(entry.symbols[i]!);
      }
      entry.symbols = next;
    }
  }
  return merges;
}

/** GPT-2's bytes_to_unicode. */
const byteSymbol: string[] = (() => {
  const out: string[] = [];
  let moved = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    out[b] = String.fromCharCode(printable ? b : 256 + moved++);
  }
  return out;
})();

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}

/** Writes a tokenizer's tokenizer.json and tokenizer_config.json into a fresh folder; returns the folder. */
function writeFolder(tokenizer: Tokenizer, config: object = tokenizer.tokenizerConfig()): string {
  const dir = tempDir();
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(tokenizer.tokenizerJson()));
  writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify(config));
  return dir;
}

/** The library, given this tokenizer's files, encodes and decodes every string as the tokenizer does. */
function expectLibraryAgrees(tokenizer: Tokenizer, strings: readonly string[]): void {
  const hf = new HfTokenizer(tokenizer.tokenizerJson(), tokenizer.tokenizerConfig());
  for (const s of strings) {
    const ids = tokenizer.encode(s);
    expect(hf.encode(s, { add_special_tokens: false }).ids, JSON.stringify(s)).toEqual(ids);
    // With the config's defaults (no add_special_tokens / clean-up arguments) too.
    expect(hf.encode(s).ids, JSON.stringify(s)).toEqual(ids);
    if (ids.length > 0) expect(hf.decode(ids), JSON.stringify(s)).toBe(s);
  }
}

function expectRoundTrip(tokenizer: Tokenizer, texts: readonly string[]): void {
  for (const text of texts) expect(tokenizer.decode(tokenizer.encode(text)), `${tokenizer.kind}: ${JSON.stringify(text)}`).toBe(text);
}

const lines = CORPUS.split("\n");
const strings = [CORPUS, ...lines, "", " ", "<|endoftext|>", ...randomStrings(300, 7)];

describe("runtime/tokenizers", () => {
  it("imports without loading TensorFlow.js", () => {
    const code = [
      `import { createRequire } from "node:module";`,
      `const t = await import("./runtime/tokenizers/index.ts");`,
      `const ids = t.gpt2Tokenizer().encode("Hello world");`,
      `const cjs = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes("@tensorflow"));`,
      `console.log(JSON.stringify({ engine: globalThis._tfengine !== undefined, cjs: cjs.length, ids }));`,
    ].join("\n");
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").pop()!)).toEqual({ engine: false, cjs: 0, ids: [15496, 995] });
  });

  it("lists its kinds", () => {
    expect([...TOKENIZER_KINDS]).toEqual(["char", "gpt2", "file", "trained"]);
    expect(GPT2_VOCABULARY_SIZE).toBe(50257);
  });

  describe("char", () => {
    it("is runtime/data/text.ts's character vocabulary, ids and all", () => {
      const dir = tempDir();
      const path = join(dir, "corpus.txt");
      writeFileSync(path, CORPUS);
      const data = textData({ path, evalFraction: 0, sequenceLength: 8 });
      const vocabulary = data.vocabulary!;
      const char = charTokenizer(CORPUS);
      expect(char.tokens).toEqual(vocabulary.tokens);
      expect(charTokens(CORPUS)).toEqual(vocabulary.tokens);
      const plain = CORPUS.replaceAll("<|endoftext|>", "");
      expect(char.encode(plain)).toEqual(vocabulary.encode(plain));
      expect(char.vocabularySize).toBe(vocabulary.tokens.length);
      expect(char.eosTokenId).toBe(null);
      expect(char.specialTokens).toEqual([]);
      // Without special tokens, "<|endoftext|>" is just its characters.
      expect(char.encode("<|endoftext|>")).toEqual(vocabulary.encode("<|endoftext|>"));
      // Characters above U+FFFF are one token each, and JavaScript's sort (UTF-16 units) orders them.
      expect(char.encode("𝄞")).toHaveLength(1);
      expect(char.tokens.indexOf("𝄞")).toBeLessThan(char.tokens.indexOf("\uFEFF"));
    });

    it("appends special tokens: one id each, the eos role, and decode gives their text", () => {
      const text = strings.join("");
      const char = charTokenizer(text, { specials: ["<|endoftext|>", "<pad>"] });
      const chars = charTokens(text);
      expect(char.tokens.slice(0, chars.length)).toEqual(chars);
      expect(char.vocabularySize).toBe(chars.length + 2);
      expect(char.eosToken).toBe("<|endoftext|>");
      expect(char.eosTokenId).toBe(chars.length);
      expect(char.padTokenId).toBe(chars.length + 1);
      expect(char.bosTokenId).toBe(null);
      expect(char.encode("<|endoftext|>")).toEqual([chars.length]);
      expect(char.encode("a<|endoftext|>b")).toEqual([chars.indexOf("a"), chars.length, chars.indexOf("b")]);
      expect(char.decode([chars.length, chars.length + 1])).toBe("<|endoftext|><pad>");
      expect(char.encode("")).toEqual([]);
      expectRoundTrip(char, strings);
    });

    it("an unknown character is an error naming it; a special token that is a character is refused", () => {
      expect(thrown(() => charTokenizer("abc").encode("abz")).message).toContain('"z"');
      expect(thrown(() => charTokenizer("abc", { specials: ["a"] })).message).toContain('"a"');
      expect(thrown(() => charTokenizer("abc", { specials: ["<x>", "<x>"] })).message).toContain("twice");
    });

    it("its tokenizer.json (BPE without merges) encodes and decodes identically in @huggingface/tokenizers", () => {
      const char = charTokenizer(strings.join("") + "<pad>", { specials: ["<|endoftext|>"] });
      const json = char.tokenizerJson() as { model: { type: string; merges: unknown[] }; decoder: { type: string } };
      expect(json.model.type).toBe("BPE");
      expect(json.model.merges).toEqual([]);
      expect(json.decoder.type).toBe("Fuse");
      expectLibraryAgrees(char, strings);
      const loaded = tokenizerFromFile(writeFolder(char));
      expect(loaded.kind).toBe("file");
      expect(loaded.vocabularySize).toBe(char.vocabularySize);
      expect(loaded.eosTokenId).toBe(char.eosTokenId);
      expect(loaded.tokens).toEqual(char.tokens);
      for (const s of strings) expect(loaded.encode(s)).toEqual(char.encode(s));
    });
  });

  describe("gpt2", () => {
    const gpt2 = gpt2Tokenizer();

    it("gives GPT-2's ids", () => {
      expect(gpt2.vocabularySize).toBe(50257);
      expect(gpt2.eosToken).toBe("<|endoftext|>");
      expect(gpt2.eosTokenId).toBe(50256);
      expect(GPT2_EOS_TOKEN_ID).toBe(50256);
      expect(gpt2.encode("Hello world")).toEqual([15496, 995]);
      expect(gpt2.encode("Hello, world!")).toEqual([15496, 11, 995, 0]);
      expect(gpt2.encode(" the")).toEqual([262]);
      expect(gpt2.encode("<|endoftext|>")).toEqual([50256]);
      expect(gpt2.encode("Hi<|endoftext|>")).toEqual([17250, 50256]);
      expect(gpt2.encode("")).toEqual([]);
      // Other tokenizers' special tokens are plain text to GPT-2.
      expect(gpt2.decode(gpt2.encode("<|im_start|>user"))).toBe("<|im_start|>user");
      expect(gpt2.encode("<|im_start|>").length).toBeGreaterThan(1);
      expect(gpt2.tokens).toHaveLength(50257);
      expect(gpt2.tokens[15496]).toBe("Hello");
      expect(gpt2.tokens[995]).toBe(" world");
      expect(gpt2.tokens[50256]).toBe("<|endoftext|>");
      expect(gpt2.decode([50256, 15496, 50256])).toBe("<|endoftext|>Hello<|endoftext|>");
    });

    it("round-trips English, Korean, emoji, newlines and special-token text", () => {
      expectRoundTrip(gpt2, strings);
    });

    it("its tokenizer.json (vocab + the 50000 merges derived from the ranks) encodes identically in @huggingface/tokenizers", () => {
      const json = gpt2.tokenizerJson() as { model: { type: string; vocab: Record<string, number>; merges: string[] }; pre_tokenizer: { type: string }; decoder: { type: string }; added_tokens: { id: number; content: string }[] };
      expect(json.model.type).toBe("BPE");
      expect(Object.keys(json.model.vocab)).toHaveLength(50257);
      expect(json.model.vocab["Hello"]).toBe(15496);
      expect(json.model.vocab["Ġworld"]).toBe(995);
      expect(json.model.vocab["<|endoftext|>"]).toBe(50256);
      expect(json.model.merges).toHaveLength(50000);
      // GPT-2's merges.txt begins "Ġ t", "Ġ a", "h e", "i n", "r e", "o n".
      expect(json.model.merges.slice(0, 6)).toEqual(["Ġ t", "Ġ a", "h e", "i n", "r e", "o n"]);
      expect(json.pre_tokenizer.type).toBe("ByteLevel");
      expect(json.decoder.type).toBe("ByteLevel");
      expect(json.added_tokens).toEqual([expect.objectContaining({ id: 50256, content: "<|endoftext|>" })]);
      const big = bigCorpus(20_000, 3);
      expectLibraryAgrees(gpt2, [...strings, big, readFileSync(join(ROOT, "README.md"), "utf8")]);
      const config = gpt2.tokenizerConfig({ modelMaxLength: 1024 }) as Record<string, unknown>;
      expect(config).toMatchObject({ tokenizer_class: "GPT2Tokenizer", eos_token: "<|endoftext|>", bos_token: "<|endoftext|>", model_max_length: 1024 });
      expect(config.chat_template).toBeUndefined();
      const loaded = tokenizerFromFile(writeFolder(gpt2));
      expect(loaded.vocabularySize).toBe(50257);
      expect(loaded.eosTokenId).toBe(50256);
      for (const s of strings) expect(loaded.encode(s)).toEqual(gpt2.encode(s));
      expectRoundTrip(loaded, strings);
    });
  });

  describe("trained BPE", () => {
    const texts = [CORPUS, bigCorpus(30_000)];

    it("is deterministic to the byte and keeps to vocabSize", () => {
      const a = trainBpeTokenizer(texts, { vocabSize: 400 });
      const b = trainBpeTokenizer([...texts], { vocabSize: 400 });
      expect(JSON.stringify(a.tokenizerJson())).toBe(JSON.stringify(b.tokenizerJson()));
      expect(JSON.stringify(a.tokenizerConfig())).toBe(JSON.stringify(b.tokenizerConfig()));
      expect(a.kind).toBe("trained");
      expect(a.vocabularySize).toBe(400);
      expect(a.tokens).toHaveLength(400);
      const json = a.tokenizerJson() as { model: { vocab: Record<string, number>; merges: string[] }; added_tokens: { id: number; content: string }[] };
      expect(Object.keys(json.model.vocab)).toHaveLength(400);
      expect(new Set(Object.values(json.model.vocab)).size).toBe(400);
      expect(Math.max(...Object.values(json.model.vocab))).toBe(399);
      expect(json.model.merges.length).toBeGreaterThanOrEqual(400 - 256 - 1);
      expect(json.added_tokens).toEqual([expect.objectContaining({ id: 399, content: "<|endoftext|>" })]);
      expect(a.eosToken).toBe("<|endoftext|>");
      expect(a.eosTokenId).toBe(399);
      expect(a.decode([399])).toBe("<|endoftext|>");
      // The first 256 ids are the bytes, in GPT-2's order; merges shorten the text.
      expect([json.model.vocab["!"], json.model.vocab['"'], json.model.vocab["Ġ"], json.model.vocab["Ń"]]).toEqual([0, 1, 220, 255]);
      expect(a.encode(texts[1]!).length).toBeLessThan(Buffer.byteLength(texts[1]!) / 2);
      // Other texts, other merges; a tiny text stops when no pair is left.
      const c = trainBpeTokenizer([bigCorpus(30_000, 2)], { vocabSize: 400 });
      expect(JSON.stringify(c.tokenizerJson())).not.toBe(JSON.stringify(a.tokenizerJson()));
      const tiny = trainBpeTokenizer(["abab"], { vocabSize: 1000 });
      expect(tiny.vocabularySize).toBeLessThan(1000);
      expect(tiny.encode("abab")).toHaveLength(1);
    });

    it("round-trips, and its tokenizer.json encodes the same ids through tokenizerFromFile and @huggingface/tokenizers", () => {
      const trained = trainBpeTokenizer(texts, { vocabSize: 600, specials: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] });
      expect(trained.specialTokens).toEqual(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]);
      expect(trained.encode("<|im_start|>hi<|im_end|>")[0]).toBe(598);
      const many = [...strings, ...randomStrings(500, 11), bigCorpus(5_000, 5), "<|im_start|>user\n안녕?<|im_end|>\n"];
      expectRoundTrip(trained, many);
      expectLibraryAgrees(trained, many);
      const dir = writeFolder(trained);
      const loaded = tokenizerFromFile(join(dir, "tokenizer.json"));
      const folder = tokenizerFromFile(dir);
      for (const s of many) {
        expect(loaded.encode(s), JSON.stringify(s)).toEqual(trained.encode(s));
        expect(loaded.decode(trained.encode(s))).toBe(s);
      }
      expect(folder.encode(CORPUS)).toEqual(trained.encode(CORPUS));
      expect(loaded.vocabularySize).toBe(trained.vocabularySize);
      expect(loaded.eosTokenId).toBe(trained.eosTokenId);
      expect(loaded.eosToken).toBe("<|endoftext|>");
      expect(loaded.tokens).toEqual(trained.tokens);
      expect(loaded.specialTokens).toEqual(trained.specialTokens);
    });

    it("merges what a plain recount per merge picks (the incremental counts are exact)", () => {
      const text = bigCorpus(8_000, 4) + CORPUS;
      const vocabSize = 380;
      const trained = trainBpeTokenizer([text], { vocabSize });
      const merges = (trained.tokenizerJson() as { model: { merges: string[] } }).model.merges;
      expect(merges).toEqual(naiveMerges(text, vocabSize - 1));
    });

    it("trains ~100 KB to vocabSize 512 quickly", () => {
      const text = bigCorpus(100_000, 9) + CORPUS;
      const start = performance.now();
      const trained = trainBpeTokenizer([text], { vocabSize: 512 });
      const seconds = (performance.now() - start) / 1000;
      expect(trained.vocabularySize).toBe(512);
      expect(seconds).toBeLessThan(10);
    });

    it("refuses a vocabSize below the byte and special tokens", () => {
      const error = thrown(() => trainBpeTokenizer(["abc"], { vocabSize: 256 }));
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toContain("257");
      expect(() => trainBpeTokenizer(["abc"], { vocabSize: 256, specials: [] })).not.toThrow();
    });
  });

  describe("file", () => {
    it("takes eos, bos, pad and the chat template from tokenizer_config.json, else from the added tokens' names", () => {
      const trained = trainBpeTokenizer([bigCorpus(5_000)], { vocabSize: 300, specials: ["<s>", "</s>", "<|im_start|>", "<|im_end|>"] });
      const template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";
      const withConfig = tokenizerFromFile(writeFolder(trained, { tokenizer_class: "PreTrainedTokenizerFast", eos_token: "<|im_end|>", bos_token: { content: "<s>", __type: "AddedToken" }, chat_template: template }));
      expect(withConfig.eosToken).toBe("<|im_end|>");
      expect(withConfig.eosTokenId).toBe(299);
      expect(withConfig.bosTokenId).toBe(296);
      expect(withConfig.padTokenId).toBe(null);
      expect(withConfig.chatTemplate).toBe(template);
      expect(withConfig.tokenizerConfig({ modelMaxLength: 64 })).toMatchObject({ chat_template: template, model_max_length: 64, eos_token: "<|im_end|>" });
      // No config: "</s>" names the end of text, "<s>" the start.
      const dir = tempDir();
      writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(trained.tokenizerJson()));
      const bare = tokenizerFromFile(join(dir, "tokenizer.json"));
      expect(bare.eosToken).toBe("</s>");
      expect(bare.eosTokenId).toBe(297);
      expect(bare.bosTokenId).toBe(296);
      expect(bare.chatTemplate).toBe(null);
      expect(bare.tokenizerConfig()).toMatchObject({ eos_token: "</s>", bos_token: "<s>" });
      expect(bare.decode([])).toBe("");
      expect(bare.decode(bare.encode("<s>안녕</s>"))).toBe("<s>안녕</s>");
    });

    it("a missing, unparsable or unsupported file is a UserError naming it", () => {
      const dir = tempDir();
      const missing = join(dir, "nope", "tokenizer.json");
      let error = thrown(() => tokenizerFromFile(missing));
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toContain(missing);

      const broken = join(dir, "tokenizer.json");
      writeFileSync(broken, '{"model": {"type": "BPE", "vocab": {');
      error = thrown(() => tokenizerFromFile(broken));
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toContain(broken);
      expect(error.message).toContain("not valid JSON");

      writeFileSync(broken, JSON.stringify({ added_tokens: [], model: { type: "WordLevel", vocab: { a: 0 }, unk_token: "a" } }));
      error = thrown(() => tokenizerFromFile(broken));
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toContain(broken);
      expect(error.message).toContain("WordLevel");

      writeFileSync(broken, JSON.stringify({ version: "1.0" }));
      error = thrown(() => tokenizerFromFile(broken));
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toContain(broken);

      writeFileSync(broken, JSON.stringify(charTokenizer("abc").tokenizerJson()));
      writeFileSync(join(dir, "tokenizer_config.json"), "{ not json");
      error = thrown(() => tokenizerFromFile(broken));
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toContain(join(dir, "tokenizer_config.json"));
    });
  });
});
