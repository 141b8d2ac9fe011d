/**
 * test/runtime/jsonl.test.ts — the "jsonl" chat/instruction data preset: how each row kind is
 * rendered (default format and a Jinja chat template), which targets carry loss (completion-only
 * or all), truncation, the held-out split, batches, every malformed-row error (with file:line,
 * and checkJsonlFile agreeing), the shipped examples/data/chat.jsonl, and that the generator-side
 * checker (runtime/presets/jsonl.ts) loads no TensorFlow.js.
 *
 * Tokenizers: a small stub char tokenizer written here (special tokens read as one id each), and,
 * when it exists, runtime/tokenizers' charTokenizer.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { jsonlData } from "../../runtime/data/jsonl.ts";
import { chatPrompt, checkJsonlFile, jsonlMinimumRows, jsonlSplits, renderRowSegments, renderRowText, type JsonlRow } from "../../runtime/presets/jsonl.ts";
import type { Tokenizer } from "../../runtime/tokenizers/tokenizer.ts";
import type { Batch } from "../../runtime/types.ts";
import { UserError } from "../../runtime/user-error.ts";
import { chatJsonl } from "../../scripts/make-chat-data.ts";
import { loadsTensorFlow, ROOT } from "../helpers.ts";

const DIR = join(ROOT, ".tmp", "jsonl-test");
mkdirSync(DIR, { recursive: true });
const EOS = "<|endoftext|>";
const CHAT_FILE = join(ROOT, "examples", "data", "chat.jsonl");

/** A char tokenizer: the characters of `text` (sorted), then the specials; eos = "<|endoftext|>". */
function stubTokenizer(text: string, options: { specials?: string[]; chatTemplate?: string | null; pad?: string } = {}): Tokenizer {
  const specials = options.specials ?? [EOS];
  const chars = [...new Set(Array.from(text))].sort();
  const tokens = [...chars, ...specials];
  const ids = new Map(tokens.map((t, i) => [t, i] as const));
  const idOf = (t: string | undefined) => (t === undefined || !ids.has(t) ? null : ids.get(t)!);
  const bySize = [...specials].sort((a, b) => b.length - a.length);
  const bos = specials.find((s) => s === "<s>");
  return {
    kind: "char",
    tokens,
    vocabularySize: tokens.length,
    eosToken: specials.includes(EOS) ? EOS : null,
    eosTokenId: idOf(EOS),
    padToken: options.pad ?? null,
    padTokenId: idOf(options.pad),
    bosToken: bos ?? null,
    bosTokenId: idOf(bos),
    chatTemplate: options.chatTemplate ?? null,
    specialTokens: specials,
    encode(input: string): number[] {
      const out: number[] = [];
      for (let i = 0; i < input.length; ) {
        const special = bySize.find((s) => input.startsWith(s, i));
        if (special) {
          out.push(ids.get(special)!);
          i += special.length;
          continue;
        }
        const ch = String.fromCodePoint(input.codePointAt(i)!);
        const id = ids.get(ch);
        if (id === undefined) throw new Error(`Character ${JSON.stringify(ch)} is not in the vocabulary.`);
        out.push(id);
        i += ch.length;
      }
      return out;
    },
    decode: (list) => list.map((id) => tokens[id] ?? "").join(""),
    tokenizerJson: () => ({}),
    tokenizerConfig: () => ({}),
  };
}

let fileCounter = 0;
/** Writes lines (joined by "\n", trailing newline) to a fresh file; returns its path. */
function writeJsonl(lines: string[] | Buffer, name = `rows-${fileCounter++}.jsonl`): string {
  const path = join(DIR, name);
  writeFileSync(path, Buffer.isBuffer(lines) ? lines : lines.join("\n") + (lines.length ? "\n" : ""));
  return path;
}
const row = (value: JsonlRow | Record<string, unknown>) => JSON.stringify(value);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const dispose = (b: Batch) => (b.x.dispose(), b.y.dispose(), b.mask.dispose());

/** Every row of the file: [first input, ...targets] (padding cut), and the targets that count. */
function batchRows(batch: Batch): { ids: number[]; weights: number[] }[] {
  const x = batch.x.arraySync() as number[][];
  const y = batch.y.arraySync() as number[][];
  const m = batch.mask.arraySync() as number[][];
  return x.map((xs, b) => ({ ids: [xs[0]!, ...y[b]!], weights: m[b]! }));
}

/** The text of the targets that count. */
function lossText(tokenizer: Tokenizer, batch: Batch, b = 0): string {
  const y = (batch.y.arraySync() as number[][])[b]!;
  const m = (batch.mask.arraySync() as number[][])[b]!;
  return tokenizer.decode(y.filter((_, t) => m[t] === 1));
}

/** A UserError's message, or fails. */
function userError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error("expected a UserError");
}

const MULTI_TURN: JsonlRow = {
  messages: [
    { role: "system", content: "Be kind." },
    { role: "user", content: "안녕?" },
    { role: "assistant", content: "안녕하세요!" },
    { role: "user", content: "2+2?" },
    { role: "assistant", content: "4." },
  ],
};
const MULTI_TURN_TEXT = `System: Be kind.\nUser: 안녕?\nAssistant: 안녕하세요!\nUser: 2+2?\nAssistant: 4.${EOS}`;

// A ChatML-like template (bos_token and a generation prompt, as real ones have).
const CHATML =
  "{{ bos_token }}{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const CHATML_SPECIALS = [EOS, "<s>", "<|im_start|>", "<|im_end|>"];

describe("jsonl data: rendering", () => {
  it("renders each row kind in the default format, exactly", () => {
    expect(renderRowText({ text: "Once upon a time." }, null, EOS)).toBe(`Once upon a time.${EOS}`);
    expect(renderRowText({ prompt: "안녕?", completion: "안녕하세요! 반가워요." }, null, EOS)).toBe(`User: 안녕?\nAssistant: 안녕하세요! 반가워요.${EOS}`);
    expect(renderRowText(MULTI_TURN, null, EOS)).toBe(MULTI_TURN_TEXT);
    expect(
      renderRowText(
        {
          messages: [
            { role: "user", content: "Hi" },
            { role: "assistant", content: "Hello!" },
            { role: "user", content: "Bye" },
          ],
        },
        null,
        EOS,
      ),
    ).toBe(`User: Hi\nAssistant: Hello!\nUser: Bye${EOS}`);
    // The inference prompt is exactly the text before the answer.
    expect(chatPrompt([{ role: "user", content: "안녕?" }], null)).toBe("User: 안녕?\nAssistant:");
    expect(renderRowText({ prompt: "안녕?", completion: "네" }, null, EOS).startsWith(chatPrompt([{ role: "user", content: "안녕?" }], null))).toBe(true);
    // Segments: the space after "Assistant:" starts the completion; "\n" before the next turn does not.
    expect(renderRowSegments(MULTI_TURN, null, { eosToken: EOS })).toEqual([
      { text: "System: Be kind.\nUser: 안녕?\nAssistant:", completion: false },
      { text: " 안녕하세요!", completion: true },
      { text: "\nUser: 2+2?\nAssistant:", completion: false },
      { text: " 4.", completion: true },
      { text: EOS, completion: true, eos: true },
    ]);
  });

  it("renders with a chat template as apply_chat_template does (no eos appended), prompt/completion as [user, assistant]", () => {
    const tokens = { eosToken: EOS, bosToken: "<s>" };
    expect(renderRowText(MULTI_TURN, CHATML, EOS, "<s>")).toBe(
      "<s><|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\n안녕?<|im_end|>\n<|im_start|>assistant\n안녕하세요!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4.<|im_end|>\n",
    );
    expect(renderRowText({ prompt: "Hi", completion: "Hello!" }, CHATML, EOS, "<s>")).toBe("<s><|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n");
    // Text rows ignore the template and end with eos.
    expect(renderRowText({ text: "doc" }, CHATML, EOS, "<s>")).toBe(`doc${EOS}`);
    expect(chatPrompt([{ role: "user", content: "Hi" }], CHATML, tokens)).toBe("<s><|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    // The completion of an assistant turn is its content and the end tokens the template writes.
    expect(renderRowSegments(MULTI_TURN, CHATML, tokens).filter((s) => s.completion).map((s) => s.text)).toEqual(["안녕하세요!<|im_end|>\n", "4.<|im_end|>\n"]);
  });
});

describe("jsonl data: tokens, masks, truncation, splits, batches", () => {
  const text = MULTI_TURN_TEXT + "Once upon a time." + "User: Hi\nAssistant: Hello!";

  it("completionOnlyLoss puts loss on exactly the assistant tokens and the final eos; false on every target", () => {
    const tokenizer = stubTokenizer(text);
    const path = writeJsonl([row(MULTI_TURN)]);
    for (const completionOnlyLoss of [true, false]) {
      const data = jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 1000, completionOnlyLoss });
      const batch = data.trainBatch([0]);
      const { ids, weights } = batchRows(batch)[0]!;
      // The row's ids are its rendered text, eos included.
      expect(tokenizer.decode(ids)).toBe(MULTI_TURN_TEXT);
      expect(batch.x.shape).toEqual([1, ids.length - 1]);
      // Expected weights from the text: characters of " 안녕하세요!", " 4." and the eos.
      const chars = Array.from(MULTI_TURN_TEXT.slice(0, -EOS.length));
      const expected = chars.map(() => 0);
      const mark = (piece: string, from: number) => {
        const at = Array.from(MULTI_TURN_TEXT.slice(0, MULTI_TURN_TEXT.indexOf(piece, from))).length;
        for (let k = 0; k < Array.from(piece).length; k++) expected[at + k] = 1;
      };
      mark(" 안녕하세요!", 0);
      mark(" 4.", MULTI_TURN_TEXT.indexOf("2+2?"));
      expected.push(1); // eos
      const targets = completionOnlyLoss ? expected.slice(1) : expected.slice(1).map(() => 1);
      expect(weights).toEqual(targets);
      expect(batch.items).toBe(targets.reduce((a, b) => a + b, 0));
      expect(data.stats.lossTokens).toBe(batch.items);
      if (completionOnlyLoss) expect(lossText(tokenizer, batch)).toBe(` 안녕하세요! 4.${EOS}`);
      dispose(batch);
    }
  });

  it("prompt/completion rows: loss on ' completion' + eos; text rows: every target, even with completionOnlyLoss", () => {
    const tokenizer = stubTokenizer(text);
    const path = writeJsonl([row({ prompt: "Hi", completion: "Hello!" }), row({ text: "Once upon a time." })]);
    const data = jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 1000, completionOnlyLoss: true });
    const batch = data.trainBatch([0, 1]);
    expect(lossText(tokenizer, batch, 0)).toBe(` Hello!${EOS}`);
    expect(lossText(tokenizer, batch, 1)).toBe(`nce upon a time.${EOS}`);
    dispose(batch);
  });

  it("with a chat template, loss is on each assistant turn's content and end tokens", () => {
    const tokenizer = stubTokenizer(text + "\nsystemuserassistant", { specials: CHATML_SPECIALS, chatTemplate: CHATML });
    const path = writeJsonl([row(MULTI_TURN)]);
    const data = jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 1000, completionOnlyLoss: true });
    const batch = data.trainBatch([0]);
    const { ids } = batchRows(batch)[0]!;
    expect(tokenizer.decode(ids)).toBe(renderRowText(MULTI_TURN, CHATML, EOS, "<s>"));
    expect(ids[0]).toBe(tokenizer.bosTokenId); // "<s>" is one token
    expect(lossText(tokenizer, batch)).toBe("안녕하세요!<|im_end|>\n4.<|im_end|>\n");
    dispose(batch);
  });

  it("a row longer than maxLength is cut to maxLength and counted; one left without loss tokens is an error", () => {
    const tokenizer = stubTokenizer(text);
    const rows = [row({ prompt: "Hi", completion: "Hello!" }), row({ text: "Once upon a time." }), row({ text: "Once" })];
    const path = writeJsonl(rows);
    const data = jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 10, completionOnlyLoss: false });
    expect(data.stats).toEqual({ rows: 3, trainRows: 3, evalRows: 0, truncated: 2, lossTokens: 9 + 9 + 4 });
    expect(data.sequenceLength).toBe(10);
    const batch = data.trainBatch([0, 1, 2]);
    expect(batch.x.shape).toEqual([3, 9]);
    expect(batchRows(batch).map((r) => tokenizer.decode(r.ids))).toEqual(["User: Hi\nA", "Once upon ", `Once${EOS}${EOS.repeat(5)}`]);
    dispose(batch);
    // "User: Hi\nAssistant:" is 19 tokens: with maxLength 12 nothing of the completion is left.
    const message = userError(() => jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 12, completionOnlyLoss: true }));
    expect(message).toContain(`${path}:1: the row has no loss tokens`);
    expect(message).toContain("raise maxLength");
  });

  it("holds out the last ⌊rows · evalFraction⌋ rows, deterministically", () => {
    const tokenizer = stubTokenizer("0123456789abcdefghijklmnopqrstuvwxyz ");
    const lines = range(10).map((i) => row({ text: `row ${i}` }));
    const path = writeJsonl(lines);
    const data = jsonlData({ path, tokenizer, evalFraction: 0.25, maxLength: 64, completionOnlyLoss: true });
    expect([data.trainSize, data.evalSize]).toEqual([8, 2]);
    expect(data.stats).toMatchObject({ rows: 10, trainRows: 8, evalRows: 2, truncated: 0 });
    const held = data.evalBatch([0, 1]);
    expect(batchRows(held).map((r) => tokenizer.decode(r.ids))).toEqual([`row 8${EOS}`, `row 9${EOS}`]);
    const train = data.trainBatch([7, 0]);
    expect(batchRows(train).map((r) => tokenizer.decode(r.ids))).toEqual([`row 7${EOS}`, `row 0${EOS}`]);
    dispose(held), dispose(train);
    expect(jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }).evalSize).toBe(0);
    expect(jsonlSplits(10, 0.25)).toEqual({ trainRows: 8, evalRows: 2 });
    expect(jsonlMinimumRows(0.1)).toBe(10);
    expect(jsonlMinimumRows(0)).toBe(1);
    // Fewer rows than one training and one held-out row.
    const few = writeJsonl(lines.slice(0, 3));
    expect(userError(() => jsonlData({ path: few, tokenizer, evalFraction: 0.1, maxLength: 64, completionOnlyLoss: true }))).toMatch(
      new RegExp(`${few.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: the file has 3 rows: 3 for training and 0 held out .* at least 10 rows`),
    );
    expect(jsonlData({ path: few, tokenizer, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }).trainSize).toBe(3);
  });

  it("batches pad to the longest row with the pad id (else eos), weigh padding 0, and count items", () => {
    const tokenizer = stubTokenizer("abcdefgh _", { specials: [EOS, "<pad>"], pad: "<pad>" });
    const path = writeJsonl([row({ text: "ab" }), row({ text: "abcdefg" }), row({ text: "a" })]);
    const data = jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 64, completionOnlyLoss: true });
    const pad = tokenizer.padTokenId!;
    const batch = data.trainBatch([0, 1, 2]);
    expect(batch.x.shape).toEqual([3, 7]);
    expect(batch.y.shape).toEqual([3, 7]);
    expect(batch.mask.shape).toEqual([3, 7]);
    expect(batch.x.dtype).toBe("int32");
    expect(batch.mask.dtype).toBe("float32");
    const x = batch.x.arraySync() as number[][];
    const y = batch.y.arraySync() as number[][];
    expect(x[0]).toEqual([...tokenizer.encode("ab"), ...Array(5).fill(pad)]);
    expect(y[0]).toEqual([...tokenizer.encode("b"), tokenizer.eosTokenId!, ...Array(5).fill(pad)]);
    expect(batch.mask.arraySync()).toEqual([
      [1, 1, 0, 0, 0, 0, 0],
      [1, 1, 1, 1, 1, 1, 1],
      [1, 0, 0, 0, 0, 0, 0],
    ]);
    expect(batch.items).toBe(10);
    expect(data.stats.lossTokens).toBe(10);
    // A batch of short rows is short.
    const short = data.trainBatch([2, 0]);
    expect(short.x.shape).toEqual([2, 2]);
    dispose(batch), dispose(short);
    // Without a pad token, padding is eos.
    const noPad = stubTokenizer("abcdefgh _");
    const b = jsonlData({ path, tokenizer: noPad, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }).trainBatch([2, 1]);
    expect((b.x.arraySync() as number[][])[0]).toEqual([...noPad.encode("a"), ...Array(6).fill(noPad.eosTokenId)]);
    dispose(b);
  });
});

describe("jsonl data: malformed rows", () => {
  const tokenizer = stubTokenizer("abcdefghijklmnopqrstuvwxyzUAS :\n?!.안녕");
  const good = row({ messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }] });
  const cases: [string, string, string][] = [
    ["not JSON", `{"messages": [`, "not valid JSON"],
    ["an array", `[1, 2]`, "the row is an array, not a JSON object"],
    ["a string", `"hello"`, "the row is a string, not a JSON object"],
    ["no known field", `{"question": "a"}`, `the row has none of "text", "prompt"/"completion" or "messages" (it has "question")`],
    ["two kinds", `{"text": "a", "messages": []}`, `the row has both "text" and "messages"`],
    ["prompt without completion", `{"prompt": "a"}`, `the row has "prompt" but no "completion"`],
    ["completion without prompt", `{"completion": "a"}`, `the row has "completion" but no "prompt"`],
    ["prompt not a string", `{"prompt": 3, "completion": "a"}`, `"prompt" is a number, not a string`],
    ["text not a string", `{"text": null}`, `"text" is null, not a string`],
    ["empty text", `{"text": ""}`, `"text" is empty`],
    ["messages not an array", `{"messages": {"role": "user"}}`, `"messages" is an object, not an array`],
    ["empty messages", `{"messages": []}`, `"messages" is empty`],
    ["message not an object", `{"messages": ["hi"]}`, "messages[0] is a string, not an object"],
    ["no role", `{"messages": [{"content": "hi"}]}`, `messages[0] has no "role"`],
    ["unknown role", `{"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]}`, `messages[1].role is "bot", which is not a known role; use "system", "user" or "assistant"`],
    ["no content", `{"messages": [{"role": "user"}]}`, `messages[0] has no "content"`],
    ["content not a string", `{"messages": [{"role": "user", "content": ["a"]}]}`, "messages[0].content is an array, not a string"],
    ["no assistant turn", `{"messages": [{"role": "user", "content": "a"}]}`, `the chat has no "assistant" message, so with completionOnlyLoss nothing in it is trained on`],
  ];

  it.each(cases)("%s: a UserError naming file:line, and checkJsonlFile reports the same", (_, bad, expected) => {
    // Line 2 is blank: lines are counted in the file, 1-based.
    const path = writeJsonl([good, "", bad, good, good]);
    const message = userError(() => jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }));
    expect(message).toContain(`${path}:3: ${expected}`);
    const check = checkJsonlFile(path, { completionOnlyLoss: true, evalFraction: 0 });
    expect(check.rows).toBe(4);
    expect(check.problems).toHaveLength(1);
    expect(check.problems[0]!.line).toBe(3);
    expect(check.problems[0]!.message).toContain(expected);
    expect(message).toBe(`jsonl data: ${path}:3: ${check.problems[0]!.message}`);
    // Every message says how to fix it.
    expect(check.problems[0]!.message).toMatch(/; |—/);
  });

  it("a chat without an assistant turn is fine without completionOnlyLoss", () => {
    const path = writeJsonl([good, row({ messages: [{ role: "user", content: "a" }] })]);
    expect(checkJsonlFile(path).problems).toEqual([]);
    expect(jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 64, completionOnlyLoss: false }).trainSize).toBe(2);
  });

  it("lists several problems (each file:line) in one error, and checkJsonlFile keeps the first N", () => {
    const path = writeJsonl([good, "{", good, "[]", "3"]);
    const message = userError(() => jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }));
    expect(message).toContain(`${path} has 3 problems`);
    for (const line of [2, 4, 5]) expect(message).toContain(`${path}:${line}: `);
    expect(checkJsonlFile(path).problems.map((p) => p.line)).toEqual([2, 4, 5]);
    expect(checkJsonlFile(path, { maxProblems: 2 }).problems.map((p) => p.line)).toEqual([2, 4]);
  });

  it("an empty or blank file, invalid UTF-8, a missing file, unencodable text", () => {
    for (const content of [Buffer.alloc(0), Buffer.from("\n  \n\n")]) {
      const path = writeJsonl(content);
      expect(userError(() => jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }))).toContain(`${path}:1: the file has no rows`);
      expect(checkJsonlFile(path)).toEqual({ rows: 0, problems: [{ line: 1, message: expect.stringContaining("the file has no rows") }] });
    }
    const latin1 = writeJsonl(Buffer.concat([Buffer.from(good + "\n"), Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x20, 0x22, 0xe9, 0x22, 0x7d, 0x0a])]));
    const message = userError(() => jsonlData({ path: latin1, tokenizer, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }));
    expect(message).toContain(`${latin1}:2: the file is not valid UTF-8: line 2, column 11`);
    expect(message).toContain("iconv");
    expect(checkJsonlFile(latin1).problems[0]!.line).toBe(2);
    const missing = join(DIR, "missing.jsonl");
    expect(userError(() => jsonlData({ path: missing, tokenizer, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }))).toContain(`cannot read ${missing}`);
    expect(checkJsonlFile(missing).problems[0]!.message).toContain("cannot read the file");
    const unknown = writeJsonl([good, row({ text: "ÿ" })]);
    expect(userError(() => jsonlData({ path: unknown, tokenizer, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }))).toContain(`${unknown}:2: the tokenizer cannot encode this row`);
  });

  it("chat template failures are problems at their line (raise_exception; no prefix-stable render under completion-only loss)", () => {
    const strict = "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System messages are not supported') }}{% endif %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}";
    const withTemplate = stubTokenizer("abcdefghijklmnopqrstuvwxyz :\n", { chatTemplate: strict });
    const path = writeJsonl([good, row({ messages: [{ role: "system", content: "s" }, { role: "user", content: "a" }, { role: "assistant", content: "b" }] })]);
    const message = userError(() => jsonlData({ path, tokenizer: withTemplate, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }));
    expect(message).toContain(`${path}:2: the tokenizer's chat template failed on this row: System messages are not supported`);
    expect(checkJsonlFile(path, { chatTemplate: strict, eosToken: EOS }).problems).toEqual([{ line: 2, message: expect.stringContaining("System messages are not supported") }]);
    // A template that writes the last message differently (not prefix-stable) cannot be split.
    const unstable = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] }}{% if loop.last %}{{ '.' }}{% else %}{{ '\\n' }}{% endif %}{% endfor %}";
    const t2 = stubTokenizer("abcdefghijklmnopqrstuvwxyz :\n.", { chatTemplate: unstable });
    const p2 = writeJsonl([good, row({ messages: [{ role: "user", content: "a" }, { role: "assistant", content: "b" }, { role: "user", content: "c" }, { role: "assistant", content: "d" }] })]);
    expect(userError(() => jsonlData({ path: p2, tokenizer: t2, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }))).toContain(`${p2}:1: the chat template does not render this chat incrementally`);
    expect(checkJsonlFile(p2, { chatTemplate: unstable, eosToken: EOS, completionOnlyLoss: true }).problems.map((p) => p.line)).toEqual([1, 2]);
    // Without completion-only loss nothing needs splitting.
    expect(jsonlData({ path: p2, tokenizer: t2, evalFraction: 0, maxLength: 64, completionOnlyLoss: false }).trainSize).toBe(2);
  });

  it("a tokenizer without an end-of-text token is refused", () => {
    const noEos = stubTokenizer("abc", { specials: [] });
    const path = writeJsonl([good]);
    expect(userError(() => jsonlData({ path, tokenizer: noEos, evalFraction: 0, maxLength: 64, completionOnlyLoss: true }))).toContain("no end-of-text token");
  });
});

describe("examples/data/chat.jsonl", () => {
  const text = readFileSync(CHAT_FILE, "utf8");
  const rows = text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { messages: { role: string; content: string }[] });

  it("passes checkJsonlFile with no problems, and is what scripts/make-chat-data.ts writes", () => {
    const check = checkJsonlFile(CHAT_FILE, { completionOnlyLoss: true, evalFraction: 0.1 });
    expect(check.problems).toEqual([]);
    expect(check.rows).toBe(rows.length);
    expect(rows.length).toBeGreaterThanOrEqual(300);
    expect(rows.length).toBeLessThanOrEqual(600);
    expect(Buffer.byteLength(text)).toBeLessThan(150_000);
    expect(chatJsonl()).toBe(text);
  });

  it("has '안녕?' rows with friendly Korean answers, English greetings, system messages and multi-turn chats", () => {
    const answerTo = (user: string) =>
      rows.flatMap((r) => r.messages.flatMap((m, i) => (m.role === "user" && m.content === user && r.messages[i + 1]?.role === "assistant" ? [r.messages[i + 1]!.content] : [])));
    const hello = answerTo("안녕?");
    expect(hello.length).toBeGreaterThanOrEqual(5);
    for (const answer of hello) expect(answer).toMatch(/^안녕/);
    // Single-turn "안녕?" rows (the example's prompt), some in the training split (all but the last 10%).
    const train = rows.slice(0, rows.length - Math.floor(rows.length * 0.1));
    expect(train.filter((r) => r.messages.length === 2 && r.messages[0]!.content === "안녕?").length).toBeGreaterThanOrEqual(5);
    for (const greeting of ["Hello!", "Hi"]) {
      expect(answerTo(greeting).length).toBeGreaterThan(0);
      for (const answer of answerTo(greeting)) expect(answer).toMatch(/^(Hello|Hi)/);
    }
    expect(rows.some((r) => r.messages[0]!.role === "system")).toBe(true);
    expect(rows.filter((r) => r.messages.filter((m) => m.role === "assistant").length > 1).length).toBeGreaterThan(20);
    expect(rows.filter((r) => /[가-힣]/.test(JSON.stringify(r))).length).toBeGreaterThan(100);
    expect(rows.filter((r) => !/[가-힣]/.test(JSON.stringify(r))).length).toBeGreaterThan(100);
  });

  it("loads as jsonl data with a char tokenizer of its text", () => {
    const tokenizer = stubTokenizer(rows.map((r) => renderRowText(r as JsonlRow, null, null)).join(""));
    const data = jsonlData({ path: CHAT_FILE, tokenizer, evalFraction: 0.1, maxLength: 256, completionOnlyLoss: true });
    expect(data.stats.rows).toBe(rows.length);
    expect(data.evalSize).toBe(Math.floor(rows.length * 0.1));
    expect(data.stats.truncated).toBe(0);
    const batch = data.trainBatch(range(8));
    expect(batch.items).toBeGreaterThan(0);
    dispose(batch);
  });
});

const TOKENIZERS_INDEX = join(ROOT, "runtime", "tokenizers", "index.ts");
describe.skipIf(!existsSync(TOKENIZERS_INDEX))("jsonl data with runtime/tokenizers' charTokenizer", () => {
  it("masks and renders the same as with the stub", async () => {
    const module = (await import(TOKENIZERS_INDEX)) as { charTokenizer: (text: string, options?: { specials?: string[]; chatTemplate?: string | null }) => Tokenizer };
    const tokenizer = module.charTokenizer(MULTI_TURN_TEXT.slice(0, -EOS.length), { specials: [EOS] });
    expect(tokenizer.eosToken).toBe(EOS);
    const path = writeJsonl([row(MULTI_TURN)]);
    const data = jsonlData({ path, tokenizer, evalFraction: 0, maxLength: 1000, completionOnlyLoss: true });
    const batch = data.trainBatch([0]);
    expect(tokenizer.decode(batchRows(batch)[0]!.ids)).toBe(MULTI_TURN_TEXT);
    expect(lossText(tokenizer, batch)).toBe(` 안녕하세요! 4.${EOS}`);
    dispose(batch);
    // The shipped chat file, char tokenizer of its rendered text.
    const chat = readFileSync(CHAT_FILE, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => renderRowText(JSON.parse(l) as JsonlRow, null, null))
      .join("");
    const chatData = jsonlData({ path: CHAT_FILE, tokenizer: module.charTokenizer(chat, { specials: [EOS] }), evalFraction: 0.1, maxLength: 256, completionOnlyLoss: true });
    expect(chatData.stats.truncated).toBe(0);
    expect(chatData.trainSize + chatData.evalSize).toBe(chatData.stats.rows);
  });
});

describe("runtime/presets/jsonl.ts", () => {
  it("imports without loading TensorFlow.js (and the check does see it for runtime/data/jsonl.ts)", () => {
    expect(loadsTensorFlow("./runtime/presets/jsonl.ts")).toBe(false);
    expect(loadsTensorFlow("./runtime/data/jsonl.ts")).toBe(true);
  });
});
