/**
 * bench/run.ts — `npm run bench`: what features cost, as ratios measured side by side.
 *
 * This machine is shared and noisy, so absolute numbers mean little; every comparison runs its
 * variants interleaved in the same session (rounds of A, B, C, A, B, C, ...) and reports the
 * ratio of medians. Results also go to bench/results/<date>.json for comparison over time.
 *
 *   accumulation   tokens/s at one effective batch of 32: k=1 (b 32), k=4 (b 8), k=32 (b 1)
 *   fp16           tokens/s with the binary16 emulation + loss scaling vs without
 *   fp16Round      ms per 1M values on the backend
 *   checkpoint     MB/s of saveCheckpoint (weights + AdamW moments, fsynced)
 *   leaks          num_tensors after step 10 vs after the last step
 *   overhead       the generated program with typical features (log every 50, eval every 500,
 *                  sample every 500, save every 1000, limit 2) vs a bare hand-written loop
 *                  (bench/bare-loop.ts) vs the general reference trainer, on one small model
 *   MFU            achieved training FLOP/s over the backend's measured peak matmul FLOP/s
 *   generator      ms per spec to generate (load, type-check, plan, render, format)
 *   tuning         tokens/s of the formulation `--tune` picks vs the fixed per-backend default
 *   model.fit      the generated program vs tfjs-layers' model.fit training the same tf.layers
 *                  network (bench/layers-model.ts) on the same data, batch and backend
 *   gpt2           tokens/s of GPT-2 at the chat example's size (wasm, cpu) and of GPT-2 small (124M, cpu: it does not fit wasm's heap)
 *   pytorch        tokens/s of train.py (torch on this CPU, 1 and 2 threads) vs train.ts (wasm), same spec
 *   soak           20,000 steps with saves every 500 and rotation: tensors, RSS and open file
 *                  descriptors at the start and the end (bench/soak.ts)
 *   backends       tokens/s of the d=64/128/256 char-transformer per backend (cpu, wasm, wasm
 *                  --threads, webgpu) and vs the straightforward tfjs formulation
 *                  (bench/peer-transformer.ts), one round (bench/backends.ts; alone:
 *                  npm run bench:backends)
 *
 * Options: --rounds N (default 3), --steps N (training steps per run, default 60),
 * --overhead-steps N (default 1000), --backend wasm|cpu (default wasm), --gpt2-small (add the 124M GPT-2 row:
 * minutes per step on the cpu backend).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { renderSpecs } from "../generator/generate.ts";
import { formatSoak, soak } from "./soak.ts";
import { benchBackends } from "./backends.ts";
import { AdamW, charTransformer, EpochSampler, fp16Round, saveCheckpoint, selectBackend, trainerState } from "../runtime/index.ts";

const ROOT = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: { "gpt2-small": { type: "boolean", default: false }, rounds: { type: "string", default: "3" }, steps: { type: "string", default: "60" }, "overhead-steps": { type: "string", default: "1000" }, backend: { type: "string", default: "wasm" } },
});
const OVERHEAD_STEPS = Number(values["overhead-steps"]);
const ROUNDS = Number(values.rounds);
const STEPS = Number(values.steps);
const BACKEND = values.backend!;
const WORK = join(ROOT, ".tmp", "bench");

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function writeSpec(name: string, body: { model: string; args: string; callbacks?: string }): string {
  mkdirSync(WORK, { recursive: true });
  const spec = join(WORK, `${name}.spec.ts`);
  writeFileSync(
    spec,
    `import { defineTrainer, generationSample } from "gen-trainer";
export default defineTrainer({
  name: "${name}",
  model: ${body.model},
  data: { preset: "addition", digits: 3, trainExamples: 20000, evalExamples: 100 },
  args: { ${body.args} },
  callbacks: [${body.callbacks ?? ""}],
});
void generationSample;
`,
  );
  return spec;
}

/** Generates the program of `spec` (tuned for `tuneBackend` if given) and returns its path. */
async function generateProgram(spec: string, tuneBackend: string | null = null): Promise<string> {
  const { programs, diagnostics } = await renderSpecs([spec], join(WORK, "generated"), tuneBackend);
  if (diagnostics.length) throw new Error(JSON.stringify(diagnostics));
  const path = programs[0]!.outputPath;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, programs[0]!.code);
  return path;
}

async function program(name: string, args: string, model = `{ preset: "char-transformer", dModel: 64, layers: 2, heads: 4, contextLength: 12 }`, callbacks?: string, tuneBackend: string | null = null): Promise<string> {
  const spec = writeSpec(name, { model, args: `maxSteps: ${STEPS}, learningRate: 1e-3, loggingSteps: 10, saveStrategy: "no", ${args}`, callbacks });
  return generateProgram(spec, tuneBackend);
}

interface RunResult {
  tokensPerSec: number;
  tensorsAfter10: number;
  tensorsAtEnd: number;
}

function run(path: string): RunResult {
  const out = mkdtempSync(join(tmpdir(), "gen-trainer-bench-"));
  const r = spawnSync(process.execPath, ["--import", "tsx", path, "--output-dir", out, "--backend", BACKEND, "--quiet"], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, GEN_TRAINER_TRACE_TENSORS: "1" },
  });
  if (r.status !== 0) throw new Error(`${path} failed: ${r.stderr}`);
  const lines = readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>);
  const train = lines.filter((l) => l.type === "train");
  rmSync(out, { recursive: true, force: true });
  // The first interval includes start-up and the first (slower) steps.
  const rates = train.slice(1).map((l) => l.tokens_per_sec as number);
  return {
    tokensPerSec: median(rates),
    tensorsAfter10: train.find((l) => l.step === 10)?.num_tensors as number,
    tensorsAtEnd: train[train.length - 1]!.num_tensors as number,
  };
}

async function compare(title: string, variants: Record<string, string>): Promise<Record<string, { tokensPerSec: number; ratio: number; leaked: number }>> {
  const paths = Object.fromEntries(await Promise.all(Object.entries(variants).map(async ([k, args]) => [k, await program(`bench-${title}-${k}`.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/-$/, ""), args)] as const)));
  const samples: Record<string, RunResult[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) for (const k of Object.keys(variants)) samples[k]!.push(run(paths[k]!));
  const base = median(samples[Object.keys(variants)[0]!]!.map((s) => s.tokensPerSec));
  return Object.fromEntries(
    Object.entries(samples).map(([k, s]) => {
      const tps = median(s.map((x) => x.tokensPerSec));
      return [k, { tokensPerSec: Math.round(tps), ratio: tps / base, leaked: Math.max(...s.map((x) => x.tensorsAtEnd - x.tensorsAfter10)) }];
    }),
  );
}

function table(title: string, rows: Record<string, { tokensPerSec: number; ratio: number; leaked: number }>): void {
  console.log(`\n${title}`);
  console.log("  variant                 tokens/s   ratio   leaked tensors (step 10 → end)");
  for (const [k, r] of Object.entries(rows)) console.log(`  ${k.padEnd(22)} ${String(r.tokensPerSec).padStart(9)}   ${r.ratio.toFixed(2).padStart(5)}   ${r.leaked}`);
}

async function fp16RoundCost(): Promise<number> {
  await selectBackend(BACKEND as "wasm");
  const x = tf.randomNormal([1 << 20]);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const y = fp16Round(x);
    await y.data();
    times.push(performance.now() - t0);
    y.dispose();
  }
  x.dispose();
  return median(times.slice(2));
}

async function checkpointMBps(): Promise<{ mb: number; mbPerSec: number }> {
  await selectBackend(BACKEND as "wasm");
  const model = charTransformer({ dModel: 256, layers: 4, heads: 4, contextLength: 64 }, { vocabularySize: 64, sequenceLength: 64 });
  const params = model.createParameters(1);
  const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
  const sampler = new EpochSampler(100, 10, 1);
  const dir = mkdtempSync(join(tmpdir(), "gen-trainer-ckpt-"));
  const speeds: number[] = [];
  let mb = 0;
  for (let i = 1; i <= 5; i++) {
    const t0 = performance.now();
    const path = await saveCheckpoint(dir, i, {
      params,
      optimizer,
      trainerState: trainerState({ global_step: i, epoch: 0, max_steps: 5, train_batch_size: 10, log_history: [] }),
      resume: { sampler: sampler.state(), schedulerStep: i, skippedSteps: 0, scaler: null },
    });
    const seconds = (performance.now() - t0) / 1000;
    mb = ["model.safetensors", "optimizer.safetensors"].reduce((n, f) => n + statSync(join(path, f)).size, 0) / 1e6;
    speeds.push(mb / seconds);
  }
  rmSync(dir, { recursive: true, force: true });
  return { mb, mbPerSec: median(speeds) };
}

const accumulation = await compare("accumulation", {
  "k=1, batch 32": "perDeviceTrainBatchSize: 32",
  "k=4, batch 8": "perDeviceTrainBatchSize: 8, gradientAccumulationSteps: 4",
  "k=32, batch 1": "perDeviceTrainBatchSize: 1, gradientAccumulationSteps: 32",
});
table(`gradient accumulation at one effective batch of 32 (${BACKEND}, char-transformer d64, ${ROUNDS} rounds)`, accumulation);
const fp16 = await compare("fp16", { "fp32": "perDeviceTrainBatchSize: 32", "fp16 emulated": "perDeviceTrainBatchSize: 32, fp16: true" });
table(`fp16 emulation (binary16 rounding of gradients and block activations + loss scaling)`, fp16);
// --- generate-time tuning: the formulation --tune picks vs the fixed per-backend default
const tunedPaths = { untuned: await program("bench-untuned", "perDeviceTrainBatchSize: 32"), tuned: await program("bench-tuned", "perDeviceTrainBatchSize: 32", undefined, undefined, BACKEND) };
const tunedSamples: Record<string, number[]> = { untuned: [], tuned: [] };
for (let round = 0; round < ROUNDS; round++) for (const k of ["untuned", "tuned"] as const) tunedSamples[k]!.push(run(tunedPaths[k]).tokensPerSec);
const tuned = { untuned: Math.round(median(tunedSamples.untuned!)), tuned: Math.round(median(tunedSamples.tuned!)), choice: /const MODEL_FORMULATION = ([\s\S]*?) as const;/.exec(readFileSync(tunedPaths.tuned, "utf8"))?.[1]?.replace(/\s+/g, " ") ?? "?" };
console.log(`\ngenerate-time tuning (${BACKEND}, char-transformer d64, batch 32): untuned ${tuned.untuned} tokens/s, tuned ${tuned.tuned} tokens/s (${(tuned.tuned / tuned.untuned).toFixed(2)}), chose ${tuned.choice}`);

const roundMs = await fp16RoundCost();
console.log(`\nfp16Round: ${roundMs.toFixed(1)} ms per 1M values on ${BACKEND}`);
const ckpt = await checkpointMBps();
console.log(`checkpoint save: ${ckpt.mbPerSec.toFixed(0)} MB/s (${ckpt.mb.toFixed(1)} MB of weights + AdamW moments, fsynced)`);

// --- overhead of the features vs a bare loop and vs the general reference trainer
const SMALL = `{ preset: "char-transformer", dModel: 32, layers: 1, heads: 2, contextLength: 12 }`;
const featuresArgs = `maxSteps: ${OVERHEAD_STEPS}, perDeviceTrainBatchSize: 32, perDeviceEvalBatchSize: 100, learningRate: 1e-3, maxGradNorm: 0, loggingSteps: 50, evalStrategy: "steps", evalSteps: 500, saveStrategy: "steps", saveSteps: 1000, saveTotalLimit: 2`;
const featuresProgram = await generateProgram(writeSpec("bench-features", { model: SMALL, args: featuresArgs, callbacks: `generationSample({ prompts: ["123+456="], everySteps: 500, maxNewTokens: 5 })` }));
const referenceSpec = writeSpec("bench-reference", { model: SMALL, args: `maxSteps: ${OVERHEAD_STEPS}, perDeviceTrainBatchSize: 32, learningRate: 1e-3, maxGradNorm: 0, loggingSteps: 50, saveStrategy: "no"` });
const tokensPerStep = 32 * 12;
const timed = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
};
const overheadSamples = { generated: [] as number[], bare: [] as number[], reference: [] as number[] };
let leak = { after10: 0, atEnd: 0, rss10: 0, rssEnd: 0 };
for (let round = 0; round < ROUNDS; round++) {
  const out = mkdtempSync(join(tmpdir(), "gen-trainer-bench-"));
  timed([featuresProgram, "--output-dir", out, "--backend", BACKEND, "--quiet"], { GEN_TRAINER_TRACE_TENSORS: "1" });
  const events = readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>);
  overheadSamples.generated.push(events.find((e) => e.type === "summary")!.train_runtime as number);
  const train = events.filter((e) => e.type === "train");
  const at10 = train.find((e) => (e.step as number) >= 50)!;
  const last = train[train.length - 1]!;
  leak = { after10: at10.num_tensors as number, atEnd: last.num_tensors as number, rss10: at10.rss_mb as number, rssEnd: last.rss_mb as number };
  rmSync(out, { recursive: true, force: true });
  overheadSamples.bare.push((JSON.parse(timed(["bench/bare-loop.ts", String(OVERHEAD_STEPS), BACKEND, "32"])) as { train_runtime: number }).train_runtime);
  overheadSamples.reference.push((JSON.parse(timed(["bench/reference-run.ts", referenceSpec, BACKEND]).trim().split("\n").pop()!) as { train_runtime: number }).train_runtime);
}
const overhead = Object.fromEntries(Object.entries(overheadSamples).map(([k, v]) => [k, { seconds: median(v), tokensPerSec: Math.round((OVERHEAD_STEPS * tokensPerStep) / median(v)) }]));
console.log(`\nfeature overhead (${OVERHEAD_STEPS} steps, char-transformer d32, batch 32, ${BACKEND}, ${ROUNDS} rounds)`);
console.log(`  bare hand-written loop          ${String(overhead.bare!.tokensPerSec).padStart(7)} tokens/s   1.00`);
console.log(`  generated, typical features     ${String(overhead.generated!.tokensPerSec).padStart(7)} tokens/s   ${(overhead.generated!.tokensPerSec / overhead.bare!.tokensPerSec).toFixed(2)}  (log 50, eval 500, sample 500, save 1000, limit 2)`);
console.log(`  reference trainer (general)     ${String(overhead.reference!.tokensPerSec).padStart(7)} tokens/s   ${(overhead.reference!.tokensPerSec / overhead.bare!.tokensPerSec).toFixed(2)}  (generated / reference: ${(overhead.generated!.tokensPerSec / overhead.reference!.tokensPerSec).toFixed(2)})`);
console.log(`leaks: num_tensors ${leak.after10} at step 50 → ${leak.atEnd} at step ${OVERHEAD_STEPS}; rss ${leak.rss10} → ${leak.rssEnd} MB`);

// --- vs model.fit: the same tf.layers network (bench/layers-model.ts), data, batch and backend
const corpus = join(WORK, "fit-corpus.txt");
writeFileSync(corpus, Array.from({ length: 20000 }, (_, i) => `${(i * 7919) % 1000}+${(i * 104729) % 1000}=${((i * 7919) % 1000) + ((i * 104729) % 1000)}\n`).join(""));
const fitSpec = join(WORK, "bench-fit.spec.ts");
writeFileSync(
  fitSpec,
  `import { defineTrainer } from "gen-trainer";
export default defineTrainer({
  name: "bench-fit",
  model: { module: ${JSON.stringify(join(ROOT, "bench", "layers-model.ts"))} },
  data: { text: "fit-corpus.txt", evalFraction: 0, sequenceLength: 32 },
  args: { perDeviceTrainBatchSize: 32, numTrainEpochs: 1, learningRate: 1e-3, maxGradNorm: 0, loggingSteps: 50, saveStrategy: "no" },
});
`,
);
const fitProgram = await generateProgram(fitSpec);
const fitSamples = { generated: [] as number[], fit: [] as number[] };
let fitTokens = 0;
for (let round = 0; round < ROUNDS; round++) {
  const out = mkdtempSync(join(tmpdir(), "gen-trainer-bench-"));
  timed([fitProgram, "--output-dir", out, "--backend", BACKEND, "--quiet"]);
  const events = readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>);
  fitSamples.generated.push(events.find((e) => e.type === "summary")!.train_runtime as number);
  rmSync(out, { recursive: true, force: true });
  const fit = JSON.parse(timed(["bench/fit-run.ts", corpus, "32", "32", BACKEND]).trim().split("\n").pop()!) as { train_runtime: number; tokens: number };
  fitSamples.fit.push(fit.train_runtime);
  fitTokens = fit.tokens;
}
const fitResult = { generatedTokensPerSec: Math.round(fitTokens / median(fitSamples.generated)), fitTokensPerSec: Math.round(fitTokens / median(fitSamples.fit)) };
console.log(`\nvs model.fit (tf.layers embedding→dense→dense, one epoch of ${fitTokens} tokens, batch 32, ${BACKEND}): generated ${fitResult.generatedTokensPerSec} tokens/s, model.fit ${fitResult.fitTokensPerSec} tokens/s, ratio ${(fitResult.generatedTokensPerSec / fitResult.fitTokensPerSec).toFixed(2)}`);

// --- model FLOP utilization: 6·params·tokens/s + attention (12·layers·T·d per token) over peak matmul
async function peakMatmulFlops(): Promise<number> {
  await selectBackend(BACKEND as "wasm");
  const n = 512;
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    times.push(performance.now() - t0);
    c.dispose();
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / (median(times.slice(2)) / 1000);
}
const peak = await peakMatmulFlops();
const benchModelParams = (() => {
  const params = charTransformer({ dModel: 64, layers: 2, heads: 4, contextLength: 12 }, { vocabularySize: 14, sequenceLength: 12 }).createParameters(0);
  const count = Object.values(params).reduce((n, p) => n + p.size, 0);
  tf.dispose(Object.values(params));
  return count;
})();
const mfuRows = Object.entries(accumulation).map(([variant, r]) => {
  const flops = r.tokensPerSec * (6 * benchModelParams + 12 * 2 * 12 * 64); // d64, 2 layers, T 12
  return { variant, achievedGflops: flops / 1e9, mfu: flops / peak };
});
console.log(`\nmodel FLOP utilization (peak matmul 512³ on ${BACKEND}: ${(peak / 1e9).toFixed(1)} GFLOP/s)`);
for (const r of mfuRows) console.log(`  ${r.variant.padEnd(22)} ${r.achievedGflops.toFixed(2).padStart(6)} GFLOP/s   MFU ${(100 * r.mfu).toFixed(1)} %`);

// --- generator speed
async function generatorMs(count: number): Promise<number> {
  const specs = Array.from({ length: count }, (_, i) => writeSpec(`bench-gen-${i}`, { model: SMALL, args: `maxSteps: ${100 + i}, saveStrategy: "no"` }));
  await renderSpecs(specs.slice(0, 1), join(WORK, "generated")); // warm-up
  const t0 = performance.now();
  await renderSpecs(specs, join(WORK, "generated"));
  return (performance.now() - t0) / count;
}
const gen1 = await generatorMs(1);
const gen20 = await generatorMs(20);
console.log(`\ngenerator: ${gen1.toFixed(0)} ms for 1 spec, ${gen20.toFixed(0)} ms per spec for 20 (warm)`);

// --- GPT-2: tokens/s of the chat example's size per backend, and of GPT-2 small (124M) for a few steps
function lmProgram(name: string, body: string): Promise<string> {
  mkdirSync(WORK, { recursive: true });
  const spec = join(WORK, `${name}.spec.ts`);
  writeFileSync(spec, `import { defineTrainer } from "gen-trainer";\nexport default defineTrainer({ name: "${name}", ${body} });\n`);
  return generateProgram(spec);
}
function lmTokensPerSec(path: string, backend: string, steps: number): number | string {
  const out = mkdtempSync(join(tmpdir(), "gen-trainer-bench-lm-"));
  const r = spawnSync(process.execPath, ["--import", "tsx", path, "--output-dir", out, "--backend", backend, "--quiet", "--max-steps", String(steps)], { cwd: ROOT, encoding: "utf8", timeout: 900_000 });
  const lines = r.status === 0 ? readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>) : [];
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) return `failed: ${(r.stderr || r.error?.message || "").trim().split("\n").pop()}`;
  const train = lines.filter((l) => l.type === "train");
  return median(train.slice(1).map((l) => l.tokens_per_sec as number));
}
const chatData = `data: { jsonl: ${JSON.stringify(join(ROOT, "examples", "data", "chat.jsonl"))}, evalFraction: 0, maxLength: 128 }`;
const gpt2Example = await lmProgram("bench-gpt2-example", `tokenizer: { train: { vocabSize: 512 } }, model: { preset: "gpt2", nLayer: 2, nHead: 4, nEmbd: 96, nPositions: 128 }, ${chatData}, args: { perDeviceTrainBatchSize: 16, maxSteps: 1000, learningRate: 1e-3, loggingSteps: 5, saveStrategy: "no" }`);
const gpt2Small = await lmProgram("bench-gpt2-124m", `tokenizer: "gpt2", model: { preset: "gpt2" }, data: { jsonl: ${JSON.stringify(join(ROOT, "examples", "data", "chat.jsonl"))}, evalFraction: 0, maxLength: 64, completionOnlyLoss: false }, args: { perDeviceTrainBatchSize: 2, maxSteps: 1000, learningRate: 1e-4, loggingSteps: 1, saveStrategy: "no" }`);
const gpt2Rows: { model: string; backend: string; tokensPerSec: number | string }[] = [];
for (const backend of ["wasm", "cpu"]) gpt2Rows.push({ model: "GPT-2 2×96 (the chat example)", backend, tokensPerSec: lmTokensPerSec(gpt2Example, backend, 40) });
// 124M parameters + AdamW state do not fit tfjs-wasm's 2 GB heap (it aborts in the first matmul); cpu has the room.
// One cpu step takes minutes, so the row is opt-in: --gpt2-small.
gpt2Rows.push({ model: "GPT-2 small (124M), batch 2 × 64", backend: "cpu", tokensPerSec: values["gpt2-small"] ? lmTokensPerSec(gpt2Small, "cpu", 2) : "skipped (--gpt2-small: one step takes about 4 minutes here)" });
console.log("\nGPT-2 (tokens/s, median over the logged steps after the first)");
for (const r of gpt2Rows) console.log(`  ${r.model.padEnd(34)} ${r.backend.padEnd(6)} ${typeof r.tokensPerSec === "number" ? String(Math.round(r.tokensPerSec)).padStart(8) : r.tokensPerSec}`);

// --- the PyTorch target: train.py vs train.ts for the same spec on this CPU (when torch is here)
const pytorchRows: { variant: string; tokensPerSec: number; ratio: number }[] = [];
const torchHere = spawnSync("/usr/bin/python3", ["-c", "import torch"]).status === 0;
if (torchHere) {
  const spec = writeSpec("bench-pytorch", { model: `{ preset: "char-transformer", dModel: 64, layers: 2, heads: 4, contextLength: 12 }`, args: `maxSteps: ${STEPS * 4}, perDeviceTrainBatchSize: 32, learningRate: 1e-3, loggingSteps: 10, saveStrategy: "no"` });
  const { programs } = await renderSpecs([spec], join(WORK, "generated"), null, "all");
  for (const p of programs) {
    mkdirSync(dirname(p.outputPath), { recursive: true });
    writeFileSync(p.outputPath, p.code);
  }
  const [ts, py] = [programs.find((p) => p.target === "typescript")!.outputPath, programs.find((p) => p.target === "pytorch")!.outputPath];
  // Speed figures: OpenBLAS picks its kernel itself (the variables this machine sets slow it down).
  const pyEnv = (threads: number) => {
    const env: Record<string, string | undefined> = { ...process.env, OMP_NUM_THREADS: String(threads) };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    return env;
  };
  const pyRun = (threads: number): number => {
    const out = mkdtempSync(join(tmpdir(), "gen-trainer-bench-py-"));
    const r = spawnSync("/usr/bin/python3", [py, "--output-dir", out, "--quiet"], { cwd: ROOT, encoding: "utf8", env: pyEnv(threads) as NodeJS.ProcessEnv });
    if (r.status !== 0) throw new Error(`${py} failed: ${r.stderr}`);
    const train = readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>).filter((l) => l.type === "train");
    rmSync(out, { recursive: true, force: true });
    return median(train.slice(1).map((l) => l.tokens_per_sec as number));
  };
  const samples: Record<string, number[]> = { "train.ts (wasm)": [], "train.py (torch, 1 thread)": [], "train.py (torch, 2 threads)": [] };
  for (let round = 0; round < ROUNDS; round++) {
    samples["train.ts (wasm)"]!.push(run(ts).tokensPerSec);
    samples["train.py (torch, 1 thread)"]!.push(pyRun(1));
    samples["train.py (torch, 2 threads)"]!.push(pyRun(2));
  }
  const base = median(samples["train.ts (wasm)"]!);
  for (const [variant, xs] of Object.entries(samples)) pytorchRows.push({ variant, tokensPerSec: median(xs), ratio: median(xs) / base });
  console.log(`\nthe PyTorch target (char-transformer d64, 2 layers, batch 32, T 12; ${ROUNDS} rounds)`);
  for (const r of pytorchRows) console.log(`  ${r.variant.padEnd(28)} ${String(Math.round(r.tokensPerSec)).padStart(8)} tokens/s   ${r.ratio.toFixed(2)}`);
} else {
  console.log("\nthe PyTorch target: skipped (no torch for /usr/bin/python3; apt-get install python3-torch)");
}

// --- backends: tokens/s per backend and vs the straightforward tfjs formulation (bench/backends.ts).
// One round: its cpu and peer rows take minutes each (npm run bench:backends -- --rounds N for more).
const backendsResult = await benchBackends({ rounds: 1 });

// --- soak: a long run with checkpoints and rotation (bench/soak.ts)
const soakResult = await soak(20_000, BACKEND);
console.log(`\n${formatSoak(soakResult)}`);

const results = { date: new Date().toISOString(), soak: soakResult, backends: backendsResult, pytorch: pytorchRows, gpt2: gpt2Rows, backend: BACKEND, rounds: ROUNDS, steps: STEPS, accumulation, fp16, tuned, modelFit: fitResult, fp16RoundMsPer1M: roundMs, checkpoint: ckpt, overhead, leak, peakMatmulGflops: peak / 1e9, mfu: mfuRows, generatorMsPerSpec: { one: gen1, twenty: gen20 } };
const file = join(ROOT, "bench", "results", `${results.date.slice(0, 19).replace(/:/g, "-")}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${file}`);
