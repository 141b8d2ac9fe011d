/**
 * test/runtime/presets.test.ts — runtime/presets/, the built-in presets' single description:
 * importing it loads no TensorFlow.js, the default addition sizes always make a valid spec, the
 * runtime's addition data is written exactly as additionExample says, and textSplits gives the
 * sizes runtime/data/text.ts really has.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSpecProject, loadSpecs } from "../../generator/load-spec.ts";
import { validateSpec } from "../../generator/validate.ts";
import { additionData } from "../../runtime/data/addition.ts";
import { textData } from "../../runtime/data/text.ts";
import { ADDITION_TOKENS, additionExample, additionProblemCount, additionSequenceLength, additionSizes, additionText, textSplits } from "../../runtime/presets/index.ts";
import type { Batch, DatasetDefinition } from "../../runtime/types.ts";
import { loadsTensorFlow, ROOT } from "../helpers.ts";

const DIR = join(ROOT, ".tmp", "presets-test");
mkdirSync(DIR, { recursive: true });


/** The full sequences ("12+34=64$") of a batch: the first input, then every target; padding stripped. */
function sequences(batch: Batch): string[] {
  const x = batch.x.arraySync() as number[][];
  const y = batch.y.arraySync() as number[][];
  return x.map((row, b) => [row[0]!, ...y[b]!].map((id) => ADDITION_TOKENS[id]!).join("").replace(/_+$/, ""));
}

function allSequences(data: DatasetDefinition): string[] {
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const train = data.trainBatch(range(data.trainSize));
  const held = data.evalBatch(range(data.evalSize));
  const out = [...sequences(train), ...sequences(held)];
  for (const b of [train, held]) b.x.dispose(), b.y.dispose(), b.mask.dispose();
  return out;
}

describe("runtime/presets", () => {
  it("imports without loading TensorFlow.js (and the check does see it when a model is imported)", () => {
    expect(loadsTensorFlow("./runtime/presets/index.ts")).toBe(false);
    expect(loadsTensorFlow("./runtime/models/mlp.ts")).toBe(true);
  });

  it("default addition sizes fit every digits 1-6, and make a valid spec", async () => {
    const fits = (digits: number, sizes: { trainExamples: number; evalExamples: number }) => {
      expect(sizes.trainExamples).toBeGreaterThanOrEqual(1);
      expect(sizes.evalExamples).toBeGreaterThanOrEqual(0);
      expect(sizes.trainExamples + sizes.evalExamples).toBeLessThanOrEqual(additionProblemCount(digits));
    };
    for (let digits = 1; digits <= 6; digits++) {
      const sizes = additionSizes(digits, {});
      fits(digits, sizes);
      expect(sizes.evalExamples).toBeGreaterThan(0);
    }
    expect(additionSizes(1, {})).toEqual({ trainExamples: 90, evalExamples: 10 });
    expect(additionSizes(2, {})).toEqual({ trainExamples: 9500, evalExamples: 500 });
    for (let digits = 3; digits <= 6; digits++) expect(additionSizes(digits, {})).toEqual({ trainExamples: 20000, evalExamples: 500 });
    // One size given: the other defaults to what is left (never below 0), given ones are kept.
    expect(additionSizes(1, { trainExamples: 95 })).toEqual({ trainExamples: 95, evalExamples: 5 });
    expect(additionSizes(1, { trainExamples: 100 })).toEqual({ trainExamples: 100, evalExamples: 0 });
    expect(additionSizes(1, { trainExamples: 150 })).toEqual({ trainExamples: 150, evalExamples: 0 });
    expect(additionSizes(2, { evalExamples: 9990 })).toEqual({ trainExamples: 10, evalExamples: 9990 });
    expect(additionSizes(3, { trainExamples: 7, evalExamples: 3 })).toEqual({ trainExamples: 7, evalExamples: 3 });
    fits(1, additionSizes(1, { trainExamples: 95 }));
    fits(2, additionSizes(2, { evalExamples: 9990 }));

    const specs = [1, 2, 3, 4, 5, 6].map((digits) => {
      const path = join(DIR, `digits-${digits}-${process.pid}.spec.ts`);
      writeFileSync(
        path,
        [
          `import { defineTrainer } from "gen-trainer";`,
          `export default defineTrainer({`,
          `  name: "digits-${digits}",`,
          `  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: ${additionSequenceLength(digits)} },`,
          `  data: { preset: "addition", digits: ${digits} },`,
          `  args: { maxSteps: 10, evalStrategy: "steps", evalSteps: 5 },`,
          `});`,
          ``,
        ].join("\n"),
      );
      return path;
    });
    const loaded = await loadSpecs(specs, createSpecProject());
    expect(loaded).toHaveLength(6);
    for (const { spec, diagnostics } of loaded) {
      expect(diagnostics).toEqual([]);
      expect(validateSpec(spec!).map((d) => `${d.code} ${d.message}`)).toEqual([]);
    }
  });

  it("the runtime writes every addition problem exactly as additionText and additionExample say", () => {
    for (const digits of [1, 2]) {
      for (const reverseAnswer of [true, false]) {
        for (const fixedWidth of [true, false]) {
          const format = { digits, reverseAnswer, fixedWidth };
          // The default sizes for 1 and 2 digits use every problem there is.
          const sizes = additionSizes(digits, {});
          expect(sizes.trainExamples + sizes.evalExamples).toBe(additionProblemCount(digits));
          const data = additionData({ ...format, ...sizes, seed: 3 });
          expect(data.sequenceLength).toBe(additionSequenceLength(digits));
          expect(data.vocabulary!.tokens).toEqual(ADDITION_TOKENS);
          const written = allSequences(data);
          expect(written).toHaveLength(additionProblemCount(digits));
          const byPrompt = new Map(written.map((s) => [s.slice(0, s.indexOf("=") + 1), s]));
          expect(byPrompt.size).toBe(written.length);
          for (const s of written) {
            const [a, b] = s.slice(0, s.indexOf("=")).split("+").map(Number) as [number, number];
            const { prompt, answer } = additionText(a, b, format);
            expect(s).toBe(`${prompt}${answer}$`);
          }
          // The example in the description is the sequence the runtime writes for that problem.
          const example = /"([^"]+)"/.exec(additionExample(format))![1]!;
          expect(byPrompt.get(example.slice(0, example.indexOf("=") + 1))).toBe(example);
        }
      }
    }
    expect(additionExample({ digits: 3, reverseAnswer: true, fixedWidth: true })).toBe(
      `3-digit sums written like "123+456=9750$" (579: answer zero-padded to 4 digits, written least-significant digit first)`,
    );
    expect(additionExample({ digits: 2, reverseAnswer: false, fixedWidth: false })).toBe(`2-digit sums written like "12+45=57$"`);
    expect(additionText(5, 7, { digits: 2, reverseAnswer: false, fixedWidth: true })).toEqual({ prompt: "05+07=", answer: "012" });
  });

  it("textSplits gives the train and held-out sizes runtime/data/text.ts has", () => {
    // Code points, not UTF-16 units: the emoji is one character.
    const text = "one two three, four five six; seven eight nine ten 🙂 eleven twelve.\n".repeat(7);
    const characters = Array.from(text);
    const path = join(DIR, `corpus-${process.pid}.txt`);
    writeFileSync(path, text);
    let checked = 0;
    for (const evalFraction of [0, 0.1, 0.25, 0.5]) {
      for (const sequenceLength of [4, 7, 16, 64]) {
        const splits = textSplits(characters.length, evalFraction, sequenceLength);
        if (splits.trainWindows < 1 || (evalFraction > 0 && splits.evalWindows < 1)) {
          expect(() => textData({ path, evalFraction, sequenceLength })).toThrow(/text data:/);
          continue;
        }
        const data = textData({ path, evalFraction, sequenceLength });
        expect({ train: data.trainSize, held: data.evalSize }).toEqual({ train: splits.trainWindows, held: splits.evalWindows });
        if (splits.evalWindows > 0) {
          // The held-out split is the last evalCharacters characters.
          const batch = data.evalBatch([0]);
          const first = (batch.x.arraySync() as number[][])[0]!.map((id) => data.vocabulary!.tokens[id]).join("");
          batch.x.dispose(), batch.y.dispose(), batch.mask.dispose();
          expect(first).toBe(characters.slice(characters.length - splits.evalCharacters).slice(0, sequenceLength).join(""));
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(8);
    expect(textSplits(100, 0.1, 4)).toEqual({ trainWindows: 22, evalWindows: 2, evalCharacters: 10 });
  });
});
