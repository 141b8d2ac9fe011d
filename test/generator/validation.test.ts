// Validation: one test per rule, asserting the code, the message and the line:col it points at.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../generator/diagnostics.ts";
import { renderSpecs } from "../../generator/generate.ts";
import { ROOT } from "../helpers.ts";

const DIR = join(ROOT, ".tmp", "validation-specs");
mkdirSync(DIR, { recursive: true });
let counter = 0;

interface Parts {
  name?: string;
  model?: string;
  data?: string;
  args?: string[];
  top?: string[];
}

function specText(parts: Parts): string {
  return [
    `import { defineTrainer } from "gen-trainer";`,
    ``,
    `export default defineTrainer({`,
    `  name: ${parts.name ?? `"valid"`},`,
    `  model: ${parts.model ?? `{ preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 }`},`,
    `  data: ${parts.data ?? `{ preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 }`},`,
    `  args: {`,
    ...(parts.args ?? [`maxSteps: 10,`]).map((a) => `    ${a}`),
    `  },`,
    ...(parts.top ?? []).map((t) => `  ${t}`),
    `});`,
    ``,
  ].join("\n");
}

/** Diagnostics for a spec, as "line:col CODE message". */
async function diagnose(text: string): Promise<string[]> {
  const path = join(DIR, `case-${process.pid}-${counter++}.spec.ts`);
  writeFileSync(path, text);
  const { diagnostics } = await renderSpecs([path], join(DIR, "out"));
  return diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);
}

/** 1-based line:col of the first occurrence of `needle`. */
function at(text: string, needle: string): string {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`${needle} not in spec`);
  const before = text.slice(0, index).split("\n");
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** Writes a text corpus next to the specs; returns its name, as a spec's data.text gives it. */
function corpus(content: string | Uint8Array): string {
  const name = `corpus-${process.pid}-${counter++}.txt`;
  writeFileSync(join(DIR, name), content);
  return name;
}

async function expectOne(parts: Parts, needle: string, code: string, message: RegExp): Promise<void> {
  const text = specText(parts);
  const found = await diagnose(text);
  expect(found).toHaveLength(1);
  expect(found[0]).toMatch(new RegExp(`^${at(text, needle)} ${code} `));
  expect(found[0]).toMatch(message);
}

describe("spec validation", () => {
  it("a valid spec has no diagnostics", async () => {
    expect(await diagnose(specText({}))).toEqual([]);
  });

  it("diagnostics are formatted file:line:col error CODE: message", () => {
    expect(formatDiagnostic({ file: "a.spec.ts", line: 3, column: 5, code: "E_X", message: "m" })).toBe("a.spec.ts:3:5 error E_X: m");
  });

  it("unknown args key, with did-you-mean", async () => {
    await expectOne({ args: ["maxSteps: 10,", "learningRat: 0.1,"] }, "learningRat", "E_UNKNOWN_KEY", /unknown key "learningRat" in args; did you mean "learningRate"\?/);
  });

  it("unknown model key", async () => {
    await expectOne({ model: `{ preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9, dropout: 0.1 }` }, "dropout", "E_UNKNOWN_KEY", /unknown key "dropout" in model/);
  });

  it("name must be a slug", async () => {
    await expectOne({ name: `"My Run"` }, `name: "My Run"`, "E_NAME", /name "My Run" must be a slug/);
  });

  it("a type error is reported by the compiler at its position", async () => {
    const text = specText({ args: ["maxSteps: 10,", `learningRate: "fast",`] });
    const found = await diagnose(text);
    expect(found.some((d) => d.startsWith(`${at(text, "learningRate")} TS2322 `))).toBe(true);
  });

  it("bf16 is rejected with the reason", async () => {
    await expectOne({ args: ["maxSteps: 10,", "bf16: true,"] }, "bf16", "E_BF16", /TensorFlow\.js has no bfloat16/);
  });

  it("evalStrategy needs eval data", async () => {
    await expectOne(
      { data: `{ preset: "addition", digits: 2, trainExamples: 400, evalExamples: 0 }`, args: ["maxSteps: 10,", `evalStrategy: "steps",`] },
      "evalStrategy",
      "E_EVAL_DATA",
      /no held-out split; set data.evalExamples > 0/,
    );
  });

  it("step values above 1 must be integers", async () => {
    await expectOne({ args: ["maxSteps: 10,", "loggingSteps: 2.5,"] }, "loggingSteps", "E_RANGE", /values above 1 are step counts and must be integers/);
  });

  it("ranges: learningRate must not be negative (0 leaves the weights unchanged, as HF allows)", async () => {
    await expectOne({ args: ["maxSteps: 10,", "learningRate: -0.001,"] }, "learningRate", "E_RANGE", /args.learningRate is -0.001 but must be a finite number >= 0/);
  });

  it("ranges: batch size must be a positive integer", async () => {
    await expectOne({ args: ["maxSteps: 10,", "perDeviceTrainBatchSize: 0,"] }, "perDeviceTrainBatchSize", "E_RANGE", /must be an integer >= 1/);
  });

  it("maxSteps 0 is rejected", async () => {
    await expectOne({ args: ["maxSteps: 0,"] }, "maxSteps", "E_RANGE", /-1 to train for numTrainEpochs/);
  });

  it("unknown lrSchedulerType, with did-you-mean", async () => {
    await expectOne({ args: ["maxSteps: 10,", `lrSchedulerType: "cosin" as "cosine",`] }, "lrSchedulerType", "E_VALUE", /did you mean "cosine"/);
  });

  it("warmupSteps and warmupRatio conflict", async () => {
    await expectOne({ args: ["maxSteps: 10,", "warmupSteps: 2,", "warmupRatio: 0.1,"] }, "warmupRatio", "E_CONFLICT", /both set/);
  });

  it("heads must divide dModel", async () => {
    await expectOne({ model: `{ preset: "char-transformer", dModel: 16, layers: 1, heads: 3, contextLength: 9 }` }, "heads", "E_RANGE", /must divide model.dModel/);
  });

  it("contextLength must hold the data's sequences", async () => {
    await expectOne({ model: `{ preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 8 }` }, "contextLength", "E_CONTEXT", /raise contextLength to at least 9/);
  });

  it("a missing text file names the file and where it was looked for", async () => {
    await expectOne({ data: `{ text: "missing.txt" }` }, "text:", "E_FILE", /text file "missing.txt" not found/);
  });

  // The default model's contextLength (9) is the text's sequenceLength: a window is 10 characters.
  it("a text file with an invalid UTF-8 byte names the file, its line, column, byte and how to fix it", async () => {
    const lines = ["the first line", "the second line", "the third line", "the fourth line"].map((l) => `${l}\n`).join("");
    const name = corpus(Buffer.concat([Buffer.from(lines), Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from(" au lait\nthe sixth line\n".repeat(4))]));
    const offset = Buffer.byteLength(lines) + 3;
    await expectOne(
      { data: `{ text: "${name}" }` },
      "text:",
      "E_TEXT_UTF8",
      new RegExp(`data\\.text: text file "${name}" is not valid UTF-8 \\(".*${name}"\\): line 5, column 4 \\(byte offset ${offset}\\): 0xE9 starts a 3-byte sequence but is followed by 0x20, not a continuation byte \\(0x80-0xBF\\); in Latin-1/Windows-1252, 0xE9 is "é"\\. .*save it as UTF-8 .*or fix line 5\\.$`),
    );
  });

  it("valid multi-byte UTF-8 (Korean, emoji) is accepted", async () => {
    const name = corpus("안녕하세요, 세계! 🙂 잘 지내요?\n".repeat(20));
    expect(await diagnose(specText({ data: `{ text: "${name}" }` }))).toEqual([]);
  });

  it("an empty text file (0 bytes) says what it needs", async () => {
    const name = corpus("");
    await expectOne({ data: `{ text: "${name}" }` }, "text:", "E_TEXT_EMPTY", new RegExp(`text file "${name}" is empty \\(0 bytes, ".*${name}"\\); .*put the training text in it \\(at least 100 characters: one window of sequenceLength \\+ 1 = 10 characters for training and one for the held-out split\\)`));
  });

  it("a text too short for one training sequence", async () => {
    const name = corpus("abcde");
    await expectOne(
      { data: `{ text: "${name}", evalFraction: 0 }` },
      "text:",
      "E_TEXT_SHORT",
      /has 5 characters; none are held out, so all 5 are for training: fewer than one window of sequenceLength \+ 1 = 10 characters \(sequenceLength 9: the model's contextLength\)\. Use a longer text \(at least 10 characters: .*\) or a shorter data\.sequenceLength\./,
    );
  });

  it("a held-out split too short for one sequence", async () => {
    const name = corpus("abcdefghij".repeat(5));
    await expectOne(
      { data: `{ text: "${name}", evalFraction: 0.1 }` },
      "text:",
      "E_TEXT_EVAL_SHORT",
      /the held-out split of text file ".*" is its last 5 of 50 characters \(evalFraction 0\.1\), fewer than one window of sequenceLength \+ 1 = 10 characters .*Raise data\.evalFraction to 0\.2, use a longer text \(at least 100 characters\), or set data\.evalFraction: 0/,
    );
  });

  it("a missing model module", async () => {
    await expectOne({ model: `{ module: "./nope.ts" }` }, "module:", "E_FILE", /model module "\.\/nope\.ts" not found/);
  });

  it("loadBestModelAtEnd needs matching strategies", async () => {
    await expectOne(
      { args: ["maxSteps: 10,", `evalStrategy: "steps",`, `saveStrategy: "epoch",`, "loadBestModelAtEnd: true,"] },
      "loadBestModelAtEnd",
      "E_LOAD_BEST",
      /evalStrategy and saveStrategy to match/,
    );
  });

  it("loadBestModelAtEnd needs saveSteps a multiple of evalSteps", async () => {
    await expectOne(
      { args: ["maxSteps: 10,", `evalStrategy: "steps",`, "evalSteps: 3,", "saveSteps: 5,", "loadBestModelAtEnd: true,"] },
      "saveSteps",
      "E_LOAD_BEST",
      /must be a multiple of evalSteps \(3\)/,
    );
  });

  it("saveStrategy best needs evaluation", async () => {
    await expectOne({ args: ["maxSteps: 10,", `saveStrategy: "best",`] }, "saveStrategy", "E_NEEDS_EVAL", /evalStrategy is "no"/);
  });

  it("metricForBestModel must be a metric the run reports", async () => {
    await expectOne({ args: ["maxSteps: 10,", `evalStrategy: "steps",`, `metricForBestModel: "accuracy",`] }, "metricForBestModel", "E_VALUE", /reports eval_loss, eval_exact_match/);
  });

  it("fp16Scaler rules: growthFactor > 1, 0 < backoffFactor < 1, growthInterval >= 1", async () => {
    const text = specText({ args: ["maxSteps: 10,", "fp16: true,", "fp16Scaler: { growthFactor: 1, backoffFactor: 1.5, growthInterval: 0 },"] });
    const found = await diagnose(text);
    expect(found).toHaveLength(3);
    expect(found[0]).toMatch(/^\d+:\d+ E_RANGE args.fp16Scaler.growthFactor is 1 but must be a finite number > 1/);
    expect(found[1]).toMatch(/backoffFactor is 1.5 but must be a finite number > 0 and < 1/);
    expect(found[2]).toMatch(/growthInterval is 0 but must be an integer >= 1/);
  });

  it("fp16Scaler without fp16", async () => {
    await expectOne({ args: ["maxSteps: 10,", "fp16Scaler: { initScale: 1024 },"] }, "fp16Scaler", "E_CONFLICT", /fp16 is not true/);
  });

  it("too many addition problems for the digits", async () => {
    await expectOne({ data: `{ preset: "addition", digits: 1, trainExamples: 90, evalExamples: 20 }`, model: `{ preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 }` }, "trainExamples", "E_RANGE", /only 100 exist/);
  });

  it("a spec without a default export", async () => {
    const found = await diagnose(`import { defineTrainer } from "gen-trainer";\nexport const spec = defineTrainer({} as never);\n`);
    expect(found).toEqual([expect.stringMatching(/^1:1 E_NO_DEFAULT_EXPORT the spec has no default export/)]);
  });

  it("several problems are all reported in one run", async () => {
    const text = specText({ name: `"Bad Name"`, args: ["maxSteps: 10,", "learningRat: 0.1,", "bf16: true,", "loggingSteps: 2.5,"] });
    const found = await diagnose(text);
    expect(new Set(found.map((d) => d.split(" ")[1]))).toEqual(new Set(["E_UNKNOWN_KEY", "E_BF16", "E_RANGE", "E_NAME"]));
    expect(found).toHaveLength(4);
  });
});
