/**
 * bench/backends.ts — `npm run bench:backends` (and a section of `npm run bench`): tokens/s of the
 * generated char-transformer program per backend, and against the same model written the
 * straightforward tfjs way (bench/peer-transformer.ts).
 *
 * Model: the char-transformer preset at d = 64, 128, 256 (2 layers, 4 heads), batch 32, context
 * 64, trained on examples/data/rhymes.txt repeated 100 times (a character-level text corpus).
 * The generated programs come from specs written here and rendered with generator/generate.ts
 * renderSpecs, as bench/run.ts does; they keep the spec defaults (AdamW, gradient clipping at
 * norm 1), so they do a little more work per step than the peer (Adam, no clipping).
 *
 * Backends, each as one row per d:
 *   cpu              tfjs's pure-JS backend
 *   wasm 1 thread    tfjs-backend-wasm's default single-threaded SIMD build (no --threads)
 *   wasm N threads   --threads N, N = the machine's available parallelism; only when the
 *                    generated program has a --threads flag and a short run with it succeeds
 *   webgpu           only when the program accepts --backend webgpu and Dawn (the `webgpu`
 *                    package) finds an adapter; a software adapter (llvmpipe) is measured and
 *                    labelled as such: it runs on the CPU
 *   peer (wasm)      bench/peer-transformer.ts on wasm, 1 thread
 *   peer, own LN     the same with LayerNorm written from tf.moments instead of
 *                    tf.layers.layerNormalization, whose Tile gradient (one slice + add per tiled
 *                    row, in tfjs-core) dominates the peer's step: the ratio without that one cost
 * What is not available is printed with the reason.
 *
 * tokens/s is the median over the logged steps (loggingSteps 1) after the first WARMUP_STEPS (2;
 * 1 on cpu, which compiles nothing).
 * Variants are interleaved within each round (the machine is noisy; ratios of medians measured
 * side by side are what mean something). Targets stated by the project: generated ≥ 2.5× the peer
 * on wasm, and wasm N threads ≥ 1.3× one thread at d = 128.
 *
 * Options (alone): --rounds N (default 1), --sizes 64,128,256, --threads N (default: available
 * parallelism), --skip cpu,wasm,threads,webgpu,peer,peer-own-ln (rows to leave out).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { renderSpecs } from "../generator/generate.ts";

const ROOT = join(import.meta.dirname, "..");
const WORK = join(ROOT, ".tmp", "bench-backends");
const LAYERS = 2;
const HEADS = 4;
const BATCH = 32;
const CONTEXT = 64;
/** Logged steps dropped before taking the median (the first steps compile kernels and warm caches; cpu has nothing to compile). */
const WARMUP_STEPS = 2;
const CPU_WARMUP_STEPS = 1;

/** Steps per run, by backend kind and d: enough for a few measured steps, few on the slow cpu backend. */
const STEPS: Record<"cpu" | "wasm" | "webgpu" | "peer", Record<number, number>> = {
  cpu: { 64: 4, 128: 3, 256: 3 },
  wasm: { 64: 10, 128: 8, 256: 6 },
  webgpu: { 64: 8, 128: 6, 256: 5 },
  peer: { 64: 8, 128: 6, 256: 5 },
};
const PEER = "peer (wasm)";
const PEER_OWN_LN = "peer, own LN (wasm)";
const stepsFor = (kind: keyof typeof STEPS, d: number) => STEPS[kind][d] ?? 5;

export interface BackendsOptions {
  rounds?: number;
  sizes?: number[];
  /** Threads for the "wasm N threads" row (default: the machine's available parallelism). */
  threads?: number;
  /** Row kinds to leave out: "cpu", "wasm", "threads", "webgpu", "peer", "peer-own-ln". */
  skip?: string[];
  /** Per-run timeout in seconds (default 900). */
  timeoutSeconds?: number;
}

export interface BackendsRow {
  variant: string;
  d: number;
  /** Median tokens/s over the rounds; null when every run failed. */
  tokensPerSec: number | null;
  error?: string;
}

export interface BackendsResult {
  model: { layers: number; heads: number; batch: number; context: number; sizes: number[] };
  rounds: number;
  rows: BackendsRow[];
  /** Rows that could not be measured, with the reason. */
  unavailable: Record<string, string>;
  /** wasm N threads / wasm 1 thread at d = 128 (null when not measured). */
  threadsRatio: { threads: number; d: number; ratio: number | null };
  /** generated / peer on wasm, per d; ownLayerNorm: against the peer with its own LayerNorm instead of tf.layers'. */
  peerRatios: { d: number; ratio: number | null; ownLayerNorm: number | null }[];
  webgpuAdapter: string | null;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function corpus(): string {
  mkdirSync(WORK, { recursive: true });
  const path = join(WORK, "corpus.txt");
  const rhymes = readFileSync(join(ROOT, "examples", "data", "rhymes.txt"), "utf8");
  writeFileSync(path, rhymes.repeat(100));
  return path;
}

/** Generates the d-model char-transformer program over the corpus and returns its path. */
async function generateProgram(d: number): Promise<string> {
  const name = `bench-backends-d${d}`;
  const spec = join(WORK, `${name}.spec.ts`);
  writeFileSync(
    spec,
    `import { defineTrainer } from "gen-trainer";
export default defineTrainer({
  name: "${name}",
  model: { preset: "char-transformer", dModel: ${d}, layers: ${LAYERS}, heads: ${HEADS}, contextLength: ${CONTEXT} },
  data: { text: "corpus.txt", evalFraction: 0, sequenceLength: ${CONTEXT} },
  args: { perDeviceTrainBatchSize: ${BATCH}, maxSteps: 1000, learningRate: 1e-3, loggingSteps: 1, saveStrategy: "no" },
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

type Measured = { tokensPerSec: number; device: string } | { error: string };

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).pop() ?? "";
}

/** Runs a generated program for `steps` steps; tokens/s is the median over the logged steps after the warm-up. */
function runProgram(path: string, backend: string, steps: number, extra: string[], timeoutSeconds: number): Measured {
  const warmup = backend === "cpu" ? CPU_WARMUP_STEPS : WARMUP_STEPS;
  const out = mkdtempSync(join(tmpdir(), "gen-trainer-bench-backends-"));
  try {
    const r = spawnSync(process.execPath, ["--import", "tsx", path, "--output-dir", out, "--backend", backend, "--max-steps", String(steps), ...extra], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: timeoutSeconds * 1000,
    });
    if (r.error || r.status !== 0) return { error: r.error?.message.includes("ETIMEDOUT") ? `timed out after ${timeoutSeconds} s` : lastLine(r.stderr || r.error?.message || `exit ${r.status}`) };
    const train = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, number | string>)
      .filter((l) => l.type === "train");
    const rates = train.slice(Math.min(warmup, train.length - 1)).map((l) => l.tokens_per_sec as number);
    // The first console line says what it trains on: "<name>: N parameters, ... steps on <backend>".
    const device = /steps on (.*)$/m.exec(r.stdout)?.[1]?.trim() ?? backend;
    return { tokensPerSec: median(rates), device };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function runPeer(corpusPath: string, d: number, steps: number, extra: string[], timeoutSeconds: number): Measured {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "bench", "peer-transformer.ts"), "--corpus", corpusPath, "--backend", "wasm", "--d-model", String(d), "--layers", String(LAYERS), "--heads", String(HEADS), "--context", String(CONTEXT), "--batch", String(BATCH), "--steps", String(steps), "--log-every", "1", "--warmup", String(WARMUP_STEPS), ...extra],
    { cwd: ROOT, encoding: "utf8", timeout: timeoutSeconds * 1000 },
  );
  if (r.error || r.status !== 0) return { error: r.error?.message.includes("ETIMEDOUT") ? `timed out after ${timeoutSeconds} s` : lastLine(r.stderr || r.error?.message || `exit ${r.status}`) };
  const result = JSON.parse(lastLine(r.stdout)) as { tokens_per_sec: number };
  return { tokensPerSec: result.tokens_per_sec, device: "wasm" };
}

/** The program's --help line: its flags and its --backend choices. */
function programUsage(path: string): string {
  const r = spawnSync(process.execPath, ["--import", "tsx", path, "--help"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return r.stdout ?? "";
}

/** Asks Dawn (the `webgpu` package) for an adapter in a child process: its description, or why there is none. */
function probeWebgpuAdapter(): { adapter: string; software: boolean } | { reason: string } {
  const script = `
let webgpu;
try { webgpu = await import("webgpu"); } catch (e) { console.log(JSON.stringify({ reason: "the webgpu package (Dawn's Node bindings) is not installed or failed to load: " + String(e.message).split("\\n")[0] })); process.exit(0); }
Object.assign(globalThis, webgpu.globals);
const adapter = await webgpu.create([]).requestAdapter({ powerPreference: "high-performance" }).catch(() => null);
if (!adapter) { console.log(JSON.stringify({ reason: "Dawn found no adapter (no Vulkan driver for a GPU here)" })); process.exit(0); }
const i = adapter.info ?? {};
const text = [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(", ");
console.log(JSON.stringify({ adapter: text, software: i.isFallbackAdapter === true || i.architecture === "software" || /llvmpipe|lavapipe|swiftshader/i.test(text) }));
process.exit(0);
`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  try {
    return JSON.parse(lastLine(r.stdout)) as { adapter: string; software: boolean } | { reason: string };
  } catch {
    return { reason: `the adapter probe failed: ${lastLine(r.stderr || r.error?.message || "no output")}` };
  }
}

const fmt = (x: number | null | undefined): string => (x === null || x === undefined ? "—" : String(Math.round(x)));

export async function benchBackends(options: BackendsOptions = {}): Promise<BackendsResult> {
  const rounds = options.rounds ?? 1;
  const sizes = options.sizes ?? [64, 128, 256];
  const threads = options.threads ?? availableParallelism();
  const skip = new Set(options.skip ?? []);
  const timeout = options.timeoutSeconds ?? 900;
  const corpusPath = corpus();
  const programs = new Map<number, string>();
  for (const d of sizes) programs.set(d, await generateProgram(d));
  const usage = programUsage(programs.get(sizes[0]!)!);
  const backendChoices = /--backend ([a-z|]+)/.exec(usage)?.[1]?.split("|") ?? [];
  const hasThreadsFlag = /--threads\b/.test(usage);
  const unavailable: Record<string, string> = {};

  // Which variants run: [label, kind, backend, extra flags]
  type Variant = { label: string; kind: "cpu" | "wasm" | "webgpu" | "peer"; backend: string; extra: string[] };
  const variants: Variant[] = [];
  if (!skip.has("cpu")) variants.push({ label: "cpu", kind: "cpu", backend: "cpu", extra: [] });
  // Without --threads: the wasm backend's default single-threaded SIMD build, as the peer runs.
  const oneThread = { label: "wasm 1 thread", kind: "wasm" as const, backend: "wasm", extra: [] as string[] };
  if (!skip.has("wasm")) variants.push(oneThread);
  const threadsLabel = `wasm ${threads} threads`;
  if (!skip.has("threads")) {
    if (!hasThreadsFlag) unavailable[threadsLabel] = "not available: the generated program has no --threads flag (runtime/run-flags.ts)";
    else if (threads < 2) unavailable[threadsLabel] = `not available: this machine has ${threads} CPU`;
    else {
      const probe = runProgram(programs.get(sizes[0]!)!, "wasm", 2, ["--threads", String(threads)], timeout);
      if ("error" in probe) unavailable[threadsLabel] = `not available: --threads ${threads} failed: ${probe.error}`;
      else variants.push({ label: threadsLabel, kind: "wasm", backend: "wasm", extra: ["--threads", String(threads)] });
    }
  }
  let webgpuAdapter: string | null = null;
  let webgpuLabel = "webgpu";
  let webgpuDevice: string | null = null;
  if (!skip.has("webgpu")) {
    if (!backendChoices.includes("webgpu")) unavailable.webgpu = `not available: the generated program has no --backend webgpu (its choices: ${backendChoices.join(", ") || "?"})`;
    else {
      const probe = probeWebgpuAdapter();
      if ("reason" in probe) unavailable.webgpu = `not available: ${probe.reason}`;
      else {
        webgpuAdapter = probe.adapter;
        webgpuLabel = probe.software ? "webgpu (software)" : "webgpu";
        variants.push({ label: webgpuLabel, kind: "webgpu", backend: "webgpu", extra: [] });
      }
    }
  }
  if (!skip.has("peer")) variants.push({ label: PEER, kind: "peer", backend: "wasm", extra: [] });
  if (!skip.has("peer-own-ln")) variants.push({ label: PEER_OWN_LN, kind: "peer", backend: "wasm", extra: ["--layer-norm", "own"] });

  const samples = new Map<string, number[]>();
  const errors = new Map<string, string>();
  const key = (label: string, d: number) => `${label}@${d}`;
  for (let round = 0; round < rounds; round++) {
    for (const d of sizes) {
      for (const v of variants) {
        const steps = stepsFor(v.kind, d);
        const r = v.kind === "peer" ? runPeer(corpusPath, d, steps, v.extra, timeout) : runProgram(programs.get(d)!, v.backend, steps, v.extra, timeout);
        if ("error" in r) errors.set(key(v.label, d), r.error);
        else {
          samples.set(key(v.label, d), [...(samples.get(key(v.label, d)) ?? []), r.tokensPerSec]);
          if (v.kind === "webgpu") webgpuDevice = r.device;
        }
      }
    }
  }
  const value = (label: string, d: number): number | null => {
    const s = samples.get(key(label, d));
    return s && s.length ? median(s) : null;
  };
  const rows: BackendsRow[] = variants.flatMap((v) => sizes.map((d) => ({ variant: v.label, d, tokensPerSec: value(v.label, d), ...(errors.has(key(v.label, d)) ? { error: errors.get(key(v.label, d))! } : {}) })));
  const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);
  const threadsD = sizes.includes(128) ? 128 : sizes[0]!;
  const threadsRatio = { threads, d: threadsD, ratio: ratio(value(threadsLabel, threadsD), value(oneThread.label, threadsD)) };
  const peerRatios = sizes.map((d) => ({ d, ratio: ratio(value(oneThread.label, d), value(PEER, d)), ownLayerNorm: ratio(value(oneThread.label, d), value(PEER_OWN_LN, d)) }));

  // --- print
  const labels = variants.map((v) => v.label);
  const width = Math.max(14, ...labels.map((l) => l.length + 2));
  console.log(`\nbackends: generated char-transformer (${LAYERS} layers, ${HEADS} heads), batch ${BATCH} × context ${CONTEXT}, text corpus; tokens/s, median of steps after the first ${WARMUP_STEPS} (cpu: ${CPU_WARMUP_STEPS}); ${rounds} round${rounds === 1 ? "" : "s"}`);
  console.log(`  ${"d".padEnd(6)}${labels.map((l) => l.padStart(width)).join("")}`);
  for (const d of sizes) console.log(`  ${String(d).padEnd(6)}${labels.map((l) => (errors.has(key(l, d)) && value(l, d) === null ? "failed" : fmt(value(l, d))).padStart(width)).join("")}`);
  for (const [k, e] of errors) console.log(`  ${k.replace("@", " at d=")}: failed: ${e}`);
  if (webgpuAdapter) console.log(`  webgpu adapter: ${webgpuAdapter}${webgpuDevice ? ` (the program says: ${webgpuDevice})` : ""}`);
  for (const [label, reason] of Object.entries(unavailable)) console.log(`  ${label}: ${reason}`);
  const times = (x: number | null) => (x === null ? "—" : `${x.toFixed(2)}×`);
  if (!skip.has("peer") && !skip.has("wasm")) {
    console.log(`generated vs peer (straightforward tfjs with tf.layers, bench/peer-transformer.ts) on wasm, 1 thread: ${peerRatios.map((p) => `d=${p.d} ${times(p.ratio)}`).join(", ")}   (target ≥ 2.5×)`);
  }
  if (!skip.has("peer-own-ln") && !skip.has("wasm")) {
    console.log(`generated vs the peer with its own LayerNorm (no tf.layers.layerNormalization, whose Tile gradient dominates the peer): ${peerRatios.map((p) => `d=${p.d} ${times(p.ownLayerNorm)}`).join(", ")}`);
  }
  if (!skip.has("threads")) {
    console.log(`wasm ${threads} threads vs 1 thread at d=${threadsD}: ${threadsRatio.ratio === null ? `not measured (${unavailable[threadsLabel] ?? errors.get(key(threadsLabel, threadsD)) ?? "failed"})` : `${threadsRatio.ratio.toFixed(2)}×`}   (target ≥ 1.3×)`);
  }
  return { model: { layers: LAYERS, heads: HEADS, batch: BATCH, context: CONTEXT, sizes }, rounds, rows, unavailable, threadsRatio, peerRatios, webgpuAdapter };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: { rounds: { type: "string", default: "1" }, sizes: { type: "string", default: "64,128,256" }, threads: { type: "string" }, skip: { type: "string", default: "" }, "timeout-seconds": { type: "string", default: "900" } },
  });
  const result = await benchBackends({
    rounds: Number(values.rounds),
    sizes: values.sizes!.split(",").map(Number),
    ...(values.threads ? { threads: Number(values.threads) } : {}),
    skip: values.skip!.split(",").filter(Boolean),
    timeoutSeconds: Number(values["timeout-seconds"]),
  });
  if (!existsSync(join(ROOT, "bench", "results"))) mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  const file = join(ROOT, "bench", "results", `backends-${new Date().toISOString().slice(0, 19).replace(/:/g, "-")}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}
