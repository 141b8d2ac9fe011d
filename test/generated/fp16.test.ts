// Emulated fp16 with dynamic loss scaling, tested through generated programs:
//   1. why it exists: gradients below binary16's range vanish without a loss scale, and survive with one;
//   2. an injected overflow skips exactly one step: weights, AdamW step count and schedule stay put;
//   3. the fp16 program differs from the plain one by scaler/fp16 code only;
//   4. every committed fp16 program trains on cpu and on wasm.
// Specs are written at run time under .tmp/ (inside the repo, so `gen-trainer` resolves).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { additionData } from "../../runtime/data/addition.ts";
import { modelContext } from "../../runtime/model-io.ts";
import { charTransformer } from "../../runtime/models/char-transformer.ts";
import { readSafetensorsFile } from "../../runtime/safetensors.ts";
import type { NamedParams } from "../../runtime/types.ts";
import bigramModel from "../specs/modules/bigram-model.ts";
import { generatePrograms, readJsonl, ROOT, tempDir } from "../helpers.ts";

// ---------------------------------------------------------------------------------------------
// helpers

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  out: string;
}

/** Runs a program with tsx in a child process, asynchronously (so two can run at once). */
function runAsync(program: string, args: string[], env: Record<string, string> = {}): Promise<Omit<Run, "out">> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", program, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 240_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Runs jobs with at most `limit` at a time (the machine has two cores). */
async function pool<T>(jobs: (() => Promise<T>)[], limit = 2): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

const specDir = (() => {
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  return mkdtempSync(join(ROOT, ".tmp", "fp16-test-"));
})();

/** Writes specs (name → args/model/data source) into specDir, generates them, returns name → program path. */
async function generate(specs: Record<string, string>): Promise<Record<string, string>> {
  const programs = await generatePrograms(
    specDir,
    Object.entries(specs).map(([name, text]) => ({ name, text: `import { defineTrainer } from "gen-trainer";\nexport default defineTrainer({ name: "${name}", ${text} });\n` })),
  );
  return Object.fromEntries(Object.entries(programs).map(([name, p]) => [name, p.path]));
}

function trainLines(out: string): Record<string, unknown>[] {
  return readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "train");
}

/** Names of tensors whose bits differ between a safetensors file and in-memory parameters. */
async function differingTensors(path: string, params: NamedParams): Promise<string[]> {
  const file = await readSafetensorsFile(path);
  expect(Object.keys(file.tensors).sort()).toEqual(Object.keys(params).sort());
  const differing: string[] = [];
  for (const [name, p] of Object.entries(params)) {
    const want = new Uint32Array((await p.data() as Float32Array).slice().buffer);
    const got = new Uint32Array((file.tensors[name]!.data as Float32Array).slice().buffer);
    expect(got.length).toBe(want.length);
    if (got.some((bits, i) => bits !== want[i])) differing.push(name);
  }
  return differing;
}

beforeAll(async () => {
  await tf.setBackend("cpu");
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
});
const outputDirs: string[] = [];
function outputDir(): string {
  const dir = tempDir("gen-trainer-test-");
  outputDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of [specDir, ...outputDirs]) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// specs

// The bigram model of test/specs/modules, its loss multiplied by 1e-8. Every parameter gradient
// is FACTOR/items · Σ over positions t with x_t = i of (softmax_j − [y_t = j]): each term is at
// most 1 in magnitude and there are at most `items` of them, so |g| <= 1e-8 < 2^-25 (half the
// smallest binary16 subnormal 2^-24): all of them round to 0 in binary16 unless the loss is scaled.
// With the default scale 2^16 they become <= 6.6e-4, comfortably representable.
const TINY_GRADIENT_MODEL = `import * as tf from "@tensorflow/tfjs";
import type { ModelContext, ModelDefinition } from "gen-trainer/runtime";
import bigram from "../../test/specs/modules/bigram-model.ts";

export default function createModel(context: ModelContext): ModelDefinition {
  const inner = bigram(context);
  return {
    createParameters: (seed) => inner.createParameters(seed),
    lossSum: (params, batch) => tf.tidy(() => tf.mul(inner.lossSum(params, batch), 1e-8) as tf.Scalar),
  };
}
`;
const COUNTING_DATA = "../../test/specs/modules/counting-data.ts"; // vocabulary 5, sequences of 8
const TINY = `model: { module: "./tiny-gradient-model.ts" }, data: { module: "${COUNTING_DATA}" }`;
const TINY_ARGS = `perDeviceTrainBatchSize: 4, maxSteps: 20, learningRate: 0.2, lrSchedulerType: "constant", weightDecay: 0, maxGradNorm: 0, loggingSteps: 1, saveStrategy: "no", fp16: true`;

const TRANSFORMER = `model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 }, data: { preset: "addition", digits: 2, trainExamples: 100, evalExamples: 10 }`;
// initScale 1e10 makes every scaled gradient of step 1 overflow binary16 (|g| > 65504); the
// backoff 1e-8 brings the scale to 100 at once, where step 2 is finite.
const LR = 1e-2;
const OVERFLOW_ARGS = `perDeviceTrainBatchSize: 4, learningRate: ${LR}, maxGradNorm: 0, loggingSteps: 1, saveStrategy: "steps", saveSteps: 1, fp16: true, fp16Scaler: { initScale: 1e10, backoffFactor: 1e-8 }`;

let programs: Record<string, string>;
const runs: Record<string, Run> = {};

beforeAll(async () => {
  writeFileSync(join(specDir, "tiny-gradient-model.ts"), TINY_GRADIENT_MODEL);
  programs = await generate({
    // scaling disabled in effect: scale 1, and it would take a million good steps to grow
    "fp16-no-scaling": `${TINY}, args: { ${TINY_ARGS}, fp16Scaler: { initScale: 1, growthFactor: 2, growthInterval: 1000000 } }`,
    "fp16-default-scaling": `${TINY}, args: { ${TINY_ARGS} }`,
    // warmup 2: lr of scheduler steps 0, 1, 2 = 0, LR/2, LR
    "fp16-overflow-warmup": `${TRANSFORMER}, args: { ${OVERFLOW_ARGS}, maxSteps: 3, lrSchedulerType: "linear", warmupSteps: 2 }`,
    // constant lr: a step that were not skipped would move the weights
    "fp16-overflow-constant": `${TRANSFORMER}, args: { ${OVERFLOW_ARGS}, maxSteps: 2, lrSchedulerType: "constant" }`,
  });
  const names = Object.keys(programs);
  const results = await pool(
    names.map((name) => async () => {
      const out = outputDir();
      const r = await runAsync(programs[name]!, ["--output-dir", out, "--backend", "cpu", "--quiet"], { GEN_TRAINER_TRACE_TENSORS: "1" });
      return { ...r, out };
    }),
  );
  names.forEach((name, i) => (runs[name] = results[i]!));
}, 300_000);

function completed(name: string): Run {
  const r = runs[name]!;
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return r;
}

// ---------------------------------------------------------------------------------------------

describe("fp16: loss scaling keeps gradients that binary16 would flush to zero", () => {
  const initial = () => bigramModel({ vocabularySize: 5, sequenceLength: 8 }).createParameters(42);

  it("without a loss scale (scale 1) every gradient underflows: the weights do not move, the loss does not fall", async () => {
    const r = completed("fp16-no-scaling");
    // Bit for bit the initial table: every gradient was 0, so AdamW's update 0/(0 + eps) is 0.
    expect(await differingTensors(join(r.out, "model.safetensors"), initial())).toEqual([]);
    const train = trainLines(r.out);
    expect(train.map((e) => e.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const e of train) {
      expect(e.loss_scale).toBe(1);
      expect(e.skipped_steps).toBe(0); // underflow is silent: nothing overflows, nothing is skipped
    }
    // The loss varies a little from batch to batch (the weights never change), but does not fall.
    const losses = train.map((e) => e.loss as number);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-5)) / mean(losses.slice(0, 5))).toBeGreaterThan(0.995);
    expect(Math.min(...losses) / Math.max(...losses)).toBeGreaterThan(0.99);
  });

  it("with the default scale (2^16) the same model trains: the weights move and the loss falls clearly", async () => {
    const r = completed("fp16-default-scaling");
    expect(await differingTensors(join(r.out, "model.safetensors"), initial())).toEqual(["table"]);
    const train = trainLines(r.out);
    for (const e of train) {
      expect(e.loss_scale).toBe(65536);
      expect(e.skipped_steps).toBe(0);
    }
    const losses = train.map((e) => e.loss as number);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Measured: 1.62e-8 → 1.14e-8 over 20 steps (the "no scaling" run stays at 1.617e-8..1.621e-8).
    expect(mean(losses.slice(-3)) / mean(losses.slice(0, 3))).toBeLessThan(0.9);
    expect(losses[19]!).toBeLessThan(losses[0]! * 0.9);
  });
});

describe("fp16: an overflowing step is skipped whole", () => {
  const initialTransformer = () => {
    const data = additionData({ digits: 2, trainExamples: 100, evalExamples: 10, reverseAnswer: true, fixedWidth: true, seed: 42 });
    return charTransformer({ dModel: 16, layers: 1, heads: 2, contextLength: 9 }, modelContext(data)).createParameters(42);
  };

  it("skips exactly one step, backs the scale off to 1e10·1e-8 = 100, and logs both", () => {
    const r = completed("fp16-overflow-warmup");
    const state = JSON.parse(readFileSync(join(r.out, "trainer_state.json"), "utf8")) as Record<string, unknown>;
    expect(state.skipped_steps).toBe(1);
    expect(state.global_step).toBe(3);
    const train = trainLines(r.out);
    expect(train.map((e) => e.step)).toEqual([1, 2, 3]);
    const expectedScale = Math.fround(Math.fround(1e10) * 1e-8); // float32, as torch's scale tensor
    expect(expectedScale).toBe(100);
    expect(train.map((e) => e.loss_scale)).toEqual([100, 100, 100]);
    expect(train.map((e) => e.skipped_steps)).toEqual([1, 1, 1]);
    // The loss of the skipped step is still the unscaled, finite loss (HF logs it too).
    for (const e of train) expect(Number.isFinite(e.loss)).toBe(true);
    expect(train[0]!.loss as number).toBeGreaterThan(1);
    expect(train[0]!.loss as number).toBeLessThan(5);
  });

  it("does not advance the learning-rate schedule: lr of steps 1, 2, 3 is 0, 0, LR/2 (not 0, LR/2, LR)", () => {
    const train = trainLines(completed("fp16-overflow-warmup").out);
    const lrs = train.map((e) => e.learning_rate as number);
    expect(lrs[0]).toBe(0);
    expect(lrs[1]).toBe(0);
    expect(lrs[2]).toBeCloseTo(LR / 2, 12);
  });

  it("does not count the skipped step in AdamW's step count, and checkpoints the backed-off scaler", async () => {
    const r = completed("fp16-overflow-warmup");
    const steps: string[] = [];
    for (const c of [1, 2, 3]) steps.push((await readSafetensorsFile(join(r.out, `checkpoint-${c}`, "optimizer.safetensors"))).metadata.step!);
    expect(steps).toEqual(["0", "1", "2"]);
    const resume = (c: number) => JSON.parse(readFileSync(join(r.out, `checkpoint-${c}`, "resume_state.json"), "utf8")) as Record<string, unknown>;
    expect(resume(1)).toMatchObject({ schedulerStep: 0, skippedSteps: 1, scaler: { scale: 100, growthTracker: 0 } });
    expect(resume(2)).toMatchObject({ schedulerStep: 1, skippedSteps: 1, scaler: { scale: 100, growthTracker: 1 } });
    const checkpointState = JSON.parse(readFileSync(join(r.out, "checkpoint-1", "trainer_state.json"), "utf8")) as Record<string, unknown>;
    expect(checkpointState.skipped_steps).toBe(1);
  });

  it("leaves the weights bit for bit as initialised after the skipped step (and moves them at the next)", async () => {
    // Constant lr, so a step 1 that were applied would change every tensor (with warmup, lr 0 at
    // step 1 would keep the weights even if the step were not skipped: no evidence).
    const r = completed("fp16-overflow-constant");
    const train = trainLines(r.out);
    expect(train.map((e) => e.learning_rate)).toEqual([LR, LR]);
    expect(train.map((e) => e.skipped_steps)).toEqual([1, 1]);
    const init = initialTransformer();
    expect(await differingTensors(join(r.out, "checkpoint-1", "model.safetensors"), init)).toEqual([]);
    // The control: step 2 (scale 100, finite) updated every tensor.
    expect((await differingTensors(join(r.out, "checkpoint-2", "model.safetensors"), init)).sort()).toEqual(Object.keys(init).sort());
    expect(await differingTensors(join(r.out, "model.safetensors"), init)).toHaveLength(Object.keys(init).length);
    tf.dispose(Object.values(init));
  });

  it("creates no tensor per step, skipped or not (GEN_TRAINER_TRACE_TENSORS)", () => {
    const train = trainLines(completed("fp16-overflow-warmup").out);
    const counts = train.map((e) => e.num_tensors);
    expect(typeof counts[0]).toBe("number");
    expect(counts.slice(1)).toEqual(counts.slice(1).map(() => counts[1]));
  });
});

// ---------------------------------------------------------------------------------------------
// 3. the footprint of fp16 in a generated program

/** A line without its strings and comments (for bracket counting and identifiers). */
function codeOnly(line: string): string {
  if (line.startsWith("//")) return "";
  return line.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""').replace(/\/\/.*$/, "");
}

/** A line without its trailing comment (strings kept: `RUN_NAME = "fp16"` names the feature). */
function withoutComment(line: string): string {
  if (line.startsWith("//")) return "";
  const strings: string[] = [];
  const masked = line.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`/g, (s) => `\u0000${strings.push(s) - 1}\u0000`);
  return masked.replace(/\/\/.*$/, "").replace(/\u0000(\d+)\u0000/g, (_, i: string) => strings[Number(i)]!);
}

/** Code with paren/bracket continuation lines joined (prettier's wrapping undone): one trimmed entry per logical line. */
function logicalLines(source: string): { text: string; inImport: boolean }[] {
  const out: { text: string; inImport: boolean }[] = [];
  let pending = "";
  let depth = 0;
  let inImport = false;
  for (const raw of source.split("\n")) {
    const line = raw.trim();
    const opensImport = /^import\s*\{$/.test(line);
    for (const ch of codeOnly(line)) {
      if (ch === "(" || ch === "[") depth++;
      else if (ch === ")" || ch === "]") depth--;
    }
    pending = pending ? `${pending} ${line}` : line;
    if (depth <= 0) {
      out.push({ text: pending, inImport: inImport && !line.startsWith("}") });
      pending = "";
      depth = 0;
    }
    if (opensImport) inImport = true;
    else if (inImport && line.startsWith("}")) inImport = false;
  }
  if (pending) out.push({ text: pending, inImport: false });
  return out;
}

/** Longest-common-subsequence line diff: hunks of `before` lines removed and `after` lines added. */
function diffHunks(before: string[], after: string[]): { removed: number[]; added: number[] }[] {
  const n = before.length;
  const m = after.length;
  const lcs = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = before[i] === after[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const hunks: { removed: number[]; added: number[] }[] = [];
  let hunk: { removed: number[]; added: number[] } | null = null;
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      if (hunk) hunks.push(hunk);
      hunk = null;
      i++;
      j++;
    } else {
      hunk ??= { removed: [], added: [] };
      if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) hunk.added.push(j++);
      else hunk.removed.push(i++);
    }
  }
  if (hunk) hunks.push(hunk);
  return hunks;
}

const FP16_WORDS = /scaler|fp16|loss_scale|loss scale|finite|skipped|binary16|unscale|overflow/i;
const FP32_DIVERGENCE_CHECK = /\b(stepValues|isFiniteStep)\b|^stopDiverged\(step, values,|"the loss or the gradient norm is not finite"/;
const TRIVIAL = (text: string) => text === "" || text.startsWith("//") || /^[{}()[\];,\s]*$/.test(text);
const JS_WORDS = new Set(["if", "else", "const", "let", "await", "return", "as", "new", "for", "of", "true", "false", "null", "async", "function", "type"]);
const identifiers = (text: string) => codeOnly(text).match(/[A-Za-z_$][\w$]*/g) ?? [];

/**
 * The logical lines that `feature` adds to `base` (or deletes from it) that are not fp16 code.
 * An added line is fp16 code when its code (comments stripped, strings kept) names the scaler/fp16
 * machinery. Blank lines, comments and lone braces always pass. A line without such a word passes
 * only as glue inside an fp16 change: its hunk has an fp16 line, and it uses no identifier that
 * `base` lacks except names declared by fp16 lines (`const scale = scaler.scale` makes
 * `tf.div(value, scale)` fp16 code; `accumulate(total, ...)` or `await save(step)` never pass).
 * An imported name passes when every line that uses it is fp16 code. A removed line must be a
 * change (into a line of the same kind, in a hunk with fp16 code), not a deletion.
 */
function nonFp16Changes(base: string, feature: string): string[] {
  const before = logicalLines(base);
  const after = logicalLines(feature);
  const baseNames = new Set(before.flatMap((l) => identifiers(l.text)));
  const isFp16 = (text: string) => FP16_WORDS.test(withoutComment(text));
  // names declared by fp16 lines that the base program does not have (scale, ...)
  const fp16Names = new Set<string>();
  for (const { text } of after) {
    const declared = /^(?:const|let)\s+([A-Za-z_$][\w$]*)\s*=/.exec(text);
    if (declared && isFp16(text) && !baseNames.has(declared[1]!)) fp16Names.add(declared[1]!);
  }
  const known = (name: string) => baseNames.has(name) || fp16Names.has(name) || JS_WORDS.has(name);
  const body = after.filter((l) => !l.inImport && !l.text.startsWith("import ")).map((l) => l.text);
  const offending: string[] = [];
  for (const hunk of diffHunks(before.map((l) => l.text), after.map((l) => l.text))) {
    const added = hunk.added.map((j) => after[j]!);
    const hunkHasFp16 = added.some((l) => !l.inImport && !TRIVIAL(l.text) && isFp16(l.text));
    for (const line of added) {
      if (TRIVIAL(line.text) || isFp16(line.text)) continue;
      if (line.inImport) {
        const name = line.text.replace(/,$/, "").replace(/^type\s+/, "");
        const uses = body.filter((t) => new RegExp(`\\b${name}\\b`).test(codeOnly(t)));
        if (uses.length > 0 && uses.every(isFp16)) continue;
      } else if (hunkHasFp16 && identifiers(line.text).every(known)) {
        continue;
      }
      offending.push(line.text);
    }
    // Each removed code line must be changed into an added line of the same kind (same first two
    // identifiers: `const RUN_NAME`, `return loss`, `await writeTrainerState`) in an fp16 hunk.
    const head = (text: string) => identifiers(text).slice(0, 2).join(" ");
    const replacements = added.filter((l) => !TRIVIAL(l.text)).map((l) => head(l.text));
    // fp16 programs replace the fp32 divergence check (stepValues/isFiniteStep) by GradScaler's
    // overflow handling, so its lines may go.
    for (const text of hunk.removed.map((i) => before[i]!.text).filter((t) => !TRIVIAL(t) && !FP32_DIVERGENCE_CHECK.test(t))) {
      const match = replacements.indexOf(head(text));
      if (hunkHasFp16 && match >= 0) replacements.splice(match, 1);
      else offending.push(`(deleted) ${text}`);
    }
  }
  return offending;
}

describe("fp16: the generated code differs from the plain program by fp16 code only", () => {
  const read = (name: string) => readFileSync(join(ROOT, "generated", name, "train.ts"), "utf8");

  it("generated/fp16 vs generated/minimal: every added or changed line is scaler/fp16 code", () => {
    const hunks = diffHunks(logicalLines(read("minimal")).map((l) => l.text), logicalLines(read("fp16")).map((l) => l.text));
    expect(hunks.length).toBeGreaterThan(5); // the diff is not empty: the check has lines to look at
    expect(nonFp16Changes(read("minimal"), read("fp16"))).toEqual([]);
  });

  it("generated/fp16-accum-4 vs generated/grad-accum-4: the same, with accumulation on both sides", () => {
    expect(nonFp16Changes(read("grad-accum-4"), read("fp16-accum-4"))).toEqual([]);
  });

  it("the check catches other features: accumulation, clipping and checkpoint lines are reported", () => {
    const accumulation = nonFp16Changes(read("minimal"), read("grad-accum-4"));
    expect(accumulation.some((t) => t.includes("accumulate(total"))).toBe(true);
    expect(accumulation).toContain("accumulate,"); // an import used by non-fp16 code
    expect(nonFp16Changes(read("minimal"), read("fp16-accum-4")).some((t) => t.includes("GRADIENT_ACCUMULATION_STEPS"))).toBe(true);
    expect(nonFp16Changes(read("minimal"), read("clip")).some((t) => t.includes("clipGradientsByGlobalNorm(total.grads"))).toBe(true);
    // (the saveCheckpoint(...) call itself mentions `scaler: null`, but the rest of the feature is reported)
    const checkpointing = nonFp16Changes(read("minimal"), read("save-steps-limit"));
    expect(checkpointing.some((t) => t.includes("checkpointDir(outputDir, step)"))).toBe(true);
    expect(checkpointing.some((t) => t.includes("await save(step)"))).toBe(true);
    // and deleted lines, also right next to fp16 changes
    const withoutWriteModel = read("fp16").replace("await writeModel(outputDir, params);\n", "");
    expect(nonFp16Changes(read("minimal"), withoutWriteModel)).toEqual(["(deleted) await writeModel(outputDir, params);"]);
    const withoutDispose = read("fp16").replace("  disposeAll(total.grads);\n", "");
    expect(nonFp16Changes(read("minimal"), withoutDispose)).toEqual(["(deleted) disposeAll(total.grads);"]);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. every committed fp16 program trains on cpu and wasm

const fp16Programs = readdirSync(join(ROOT, "generated"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => `generated/${d.name}/train.ts`)
  .filter((path) => {
    try {
      return readFileSync(join(ROOT, path), "utf8").includes("new LossScaler(");
    } catch {
      return false;
    }
  })
  .sort();

describe("fp16: every committed fp16 program trains", () => {
  it("finds the fp16 programs (fp16, fp16-accum-4, ...)", () => {
    expect(fp16Programs).toEqual(expect.arrayContaining(["generated/fp16/train.ts", "generated/fp16-accum-4/train.ts"]));
  });

  const cases = fp16Programs.flatMap((program) => (["cpu", "wasm"] as const).map((backend) => ({ program, backend })));
  let results: Run[] = [];
  beforeAll(async () => {
    results = await pool(
      cases.map(({ program, backend }) => async () => {
        const out = outputDir();
        return { ...(await runAsync(join(ROOT, program), ["--max-steps", "3", "--output-dir", out, "--backend", backend, "--quiet"])), out };
      }),
    );
  }, 300_000);

  cases.forEach(({ program, backend }, i) => {
    it(`${program} trains 3 steps on ${backend}: finite loss, loss_scale and skipped_steps logged`, () => {
      const r = results[i]!;
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      const train = trainLines(r.out);
      expect(train.length).toBeGreaterThan(0);
      expect(train.at(-1)!.step).toBe(3);
      for (const e of train) {
        expect(Number.isFinite(e.loss)).toBe(true);
        // 2^16 halves at most once per step
        expect([65536, 32768, 16384, 8192]).toContain(e.loss_scale);
        expect(Number.isInteger(e.skipped_steps)).toBe(true);
      }
      const state = JSON.parse(readFileSync(join(r.out, "trainer_state.json"), "utf8")) as Record<string, unknown>;
      expect(state.skipped_steps).toBe(train.at(-1)!.skipped_steps);
    });
  });
});
