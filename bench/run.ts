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
 *
 * Options: --rounds N (default 3), --steps N (training steps per run, default 60),
 * --backend wasm|cpu (default wasm).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { renderSpecs } from "../generator/generate.ts";
import { AdamW, charTransformer, EpochSampler, fp16Round, saveCheckpoint, selectBackend, trainerState } from "../runtime/index.ts";

const ROOT = join(import.meta.dirname, "..");
const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" }, steps: { type: "string", default: "60" }, backend: { type: "string", default: "wasm" } } });
const ROUNDS = Number(values.rounds);
const STEPS = Number(values.steps);
const BACKEND = values.backend!;
const WORK = join(ROOT, ".tmp", "bench");

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function program(name: string, args: string): Promise<string> {
  mkdirSync(WORK, { recursive: true });
  const spec = join(WORK, `${name}.spec.ts`);
  writeFileSync(
    spec,
    `import { defineTrainer } from "gen-trainer";
export default defineTrainer({
  name: "${name}",
  model: { preset: "char-transformer", dModel: 64, layers: 2, heads: 4, contextLength: 12 },
  data: { preset: "addition", digits: 3, trainExamples: 20000, evalExamples: 100 },
  args: { maxSteps: ${STEPS}, learningRate: 1e-3, loggingSteps: 10, saveStrategy: "no", ${args} },
});
`,
  );
  const { programs, diagnostics } = await renderSpecs([spec], join(WORK, "generated"));
  if (diagnostics.length) throw new Error(JSON.stringify(diagnostics));
  const path = programs[0]!.outputPath;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, programs[0]!.code);
  return path;
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
const roundMs = await fp16RoundCost();
console.log(`\nfp16Round: ${roundMs.toFixed(1)} ms per 1M values on ${BACKEND}`);
const ckpt = await checkpointMBps();
console.log(`checkpoint save: ${ckpt.mbPerSec.toFixed(0)} MB/s (${ckpt.mb.toFixed(1)} MB of weights + AdamW moments, fsynced)`);

const results = { date: new Date().toISOString(), backend: BACKEND, rounds: ROUNDS, steps: STEPS, accumulation, fp16, fp16RoundMsPer1M: roundMs, checkpoint: ckpt };
const file = join(ROOT, "bench", "results", `${results.date.slice(0, 19).replace(/:/g, "-")}.json`);
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${file}`);
