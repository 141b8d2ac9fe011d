/**
 * test/runtime/text-data.test.ts — runtime/data/text.ts reads the corpus again at run time (it may
 * have changed since generation): a file that is not UTF-8, empty or too short stops the program
 * with a UserError (one line, no stack trace) naming the file and, for bad bytes, the line; valid
 * multi-byte UTF-8 is never flagged. Also findInvalidUtf8 (runtime/presets/text.ts), which the
 * generator's validation shares, against the platform's fatal UTF-8 decoder.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { textData } from "../../runtime/data/text.ts";
import { describeInvalidUtf8, findInvalidUtf8, textCharacterCount, textMinimumCharacters, textSplits } from "../../runtime/presets/text.ts";
import { UserError } from "../../runtime/user-error.ts";
import { ROOT } from "../helpers.ts";

const DIR = join(ROOT, ".tmp", "text-data-test");
mkdirSync(DIR, { recursive: true });
let counter = 0;

function corpus(content: string | Uint8Array): string {
  const path = join(DIR, `corpus-${process.pid}-${counter++}.txt`);
  writeFileSync(path, content);
  return path;
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("textData: the corpus file at run time", () => {
  it("invalid UTF-8 is a UserError naming the file, the line, the column and the byte", () => {
    const lines = "first line\nsecond line\nthird line\nfourth line\n";
    const path = corpus(Buffer.concat([Buffer.from(lines), Buffer.from([0x78, 0xff]), Buffer.from(" rest of line five\n".repeat(20))]));
    const error = thrown(() => textData({ path, evalFraction: 0.1, sequenceLength: 8 }));
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toBe(
      `text data: ${path} is not valid UTF-8: line 5, column 2 (byte offset ${lines.length + 1}): 0xFF is a byte that never appears in UTF-8; in Latin-1/Windows-1252, 0xFF is "ÿ". Save it as UTF-8 (e.g. iconv -f <its encoding> -t UTF-8) or fix that line.`,
    );
    expect((error as UserError).message).not.toContain("\n");
  });

  it("an empty file is a UserError", () => {
    const path = corpus("");
    const error = thrown(() => textData({ path, evalFraction: 0.1, sequenceLength: 8 }));
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toMatch(new RegExp(`^text data: .*${path.split("/").pop()!.replace(/\./g, "\\.")} is empty \\(0 bytes\\)`));
  });

  it("too few characters keep their messages", () => {
    const path = corpus("abcdef");
    expect(() => textData({ path, evalFraction: 0, sequenceLength: 8 })).toThrow(/text data: .* has 6 training characters; it needs more than sequenceLength \(8\)\./);
    const held = corpus("abcdefghij".repeat(5));
    expect(() => textData({ path: held, evalFraction: 0.1, sequenceLength: 8 })).toThrow(/the held-out 5 characters of .* are fewer than sequenceLength \+ 1 \(9\)/);
  });

  it("Korean and emoji (valid multi-byte UTF-8) are accepted, one character per code point", () => {
    const text = "안녕하세요, 세계! 🙂 잘 지내요? 👍🏽\n".repeat(10);
    const path = corpus(text);
    const data = textData({ path, evalFraction: 0.1, sequenceLength: 8 });
    const splits = textSplits(Array.from(text).length, 0.1, 8);
    expect({ train: data.trainSize, held: data.evalSize }).toEqual({ train: splits.trainWindows, held: splits.evalWindows });
    expect(data.vocabulary!.tokens).toContain("🙂");
    expect(data.vocabulary!.tokens).toContain("안");
  });
});

describe("findInvalidUtf8", () => {
  const at = (bytes: number[]) => findInvalidUtf8(Uint8Array.from(bytes));

  it("valid text, with or without multi-byte characters, has no invalid sequence", () => {
    for (const text of ["", "plain ascii\n", "안녕하세요", "emoji 🙂👍🏽 and é, ß, 中文", "\u{10FFFF}\u{FEFF}x"]) {
      expect(findInvalidUtf8(Buffer.from(text))).toBeNull();
    }
  });

  it("says where and why: line, column in characters, byte offset, bytes", () => {
    expect(at([0x61, 0x0a, 0xec, 0x95, 0x88, 0x80])).toEqual({ line: 2, column: 2, offset: 5, bytes: [0x80], reason: "0x80 is a continuation byte with no lead byte before it" });
    expect(at([0x61, 0xc0, 0xaf])).toMatchObject({ column: 2, bytes: [0xc0], reason: "0xC0 can only start an overlong encoding, never valid UTF-8" });
    expect(at([0xe0, 0x80, 0x80])).toMatchObject({ bytes: [0xe0, 0x80], reason: "0xE0 0x80 would be an overlong encoding, never valid UTF-8" });
    expect(at([0xed, 0xa0, 0x80])).toMatchObject({ bytes: [0xed, 0xa0], reason: "0xED 0xA0 would be a UTF-16 surrogate, never valid UTF-8" });
    expect(at([0xf4, 0x90, 0x80, 0x80])).toMatchObject({ bytes: [0xf4, 0x90], reason: "0xF4 0x90 would be a code point above U+10FFFF, never valid UTF-8" });
    expect(at([0x41, 0xf0, 0x9f, 0x99])).toMatchObject({ bytes: [0xf0, 0x9f, 0x99], reason: "0xF0 starts a 4-byte sequence cut short by the end of the file" });
    expect(at([0xe2, 0x82, 0x41])).toMatchObject({ bytes: [0xe2, 0x82], reason: "0xE2 starts a 3-byte sequence but is followed by 0x41, not a continuation byte (0x80-0xBF)" });
    expect(describeInvalidUtf8(at([0x0a, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x20])!)).toBe(
      `line 3, column 4 (byte offset 5): 0xE9 starts a 3-byte sequence but is followed by 0x20, not a continuation byte (0x80-0xBF); in Latin-1/Windows-1252, 0xE9 is "é"`,
    );
  });

  it("agrees with the platform's fatal UTF-8 decoder on random bytes, and finds the first bad sequence", () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pieces = [...Buffer.from("a\n안🙂é")].map((b) => [b]).concat([[0x80], [0xbf], [0xc0], [0xc2], [0xe0], [0xed], [0xef], [0xf0], [0xf4], [0xf5], [0xff], [0xa0], [0x90]]);
    const decoder = new TextDecoder("utf-8", { fatal: true });
    const valid = (bytes: Uint8Array) => {
      try {
        decoder.decode(bytes);
        return true;
      } catch {
        return false;
      }
    };
    for (let trial = 0; trial < 3000; trial++) {
      const bytes = Uint8Array.from(Array.from({ length: 1 + Math.floor(random() * 12) }, () => pieces[Math.floor(random() * pieces.length)]!).flat());
      const found = findInvalidUtf8(bytes);
      expect(found === null, Buffer.from(bytes).toString("hex")).toBe(valid(bytes));
      if (found) {
        // Everything before it is valid, and the decoder's first replacement is at it.
        expect(valid(bytes.subarray(0, found.offset))).toBe(true);
        const replaced = new TextDecoder("utf-8").decode(bytes);
        expect(Array.from(replaced).indexOf("\uFFFD")).toBe(textCharacterCount(bytes.subarray(0, found.offset)));
      }
    }
  });

  it("textMinimumCharacters is the smallest corpus textSplits gives a window in each split", () => {
    for (const evalFraction of [0, 0.05, 0.1, 0.25, 0.5, 0.9]) {
      for (const T of [1, 4, 9, 64]) {
        const n = textMinimumCharacters(evalFraction, T);
        const ok = (m: number) => {
          const s = textSplits(m, evalFraction, T);
          return s.trainWindows >= 1 && (evalFraction === 0 || s.evalWindows >= 1);
        };
        expect(ok(n)).toBe(true);
        expect(ok(n - 1)).toBe(false);
      }
    }
    expect(textMinimumCharacters(0.1, 9)).toBe(100);
    expect(textMinimumCharacters(0, 64)).toBe(65);
  });
});
