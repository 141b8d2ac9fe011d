/**
 * bench/gpu.ts — the entry of the GPU bench bundle (bench-gpu.mjs, built by bench/gpu-bundle.ts;
 * see bench/README.md): tokens/s of generated char-transformer programs on WebGPU, run on a
 * machine with a GPU and no network.
 *
 * Prints the WebGPU adapter Dawn picks (vendor, architecture, device, description), then runs the
 * bundled generated programs (train-d<d>.mjs beside this file: char-transformer, d/64 heads,
 * batch 32 × context 64, a character-level text corpus) one at a time as child processes, each for
 * --steps steps with --backend webgpu, and reports the median tokens/s over the logged steps after
 * the first --warmup (they compile the shader pipelines), ms per step and the achieved model
 * TFLOP/s (6 · parameters + 12 · layers · T · d per token). Then, if the bundle has the wasm
 * backend, the smallest size again on wasm (with --threads N where the program takes it) and the
 * ratio webgpu / wasm.
 *
 *   ./run.sh [--backend webgpu|wasm] [--sizes 256,512,768,1024] [--steps 30] [--warmup 5]
 *            [--wasm-steps 8] [--wasm-threads N] [--no-wasm] [--timeout 300]
 *
 * `--backend wasm` runs every size on wasm instead (to check the bundle on a machine without a GPU).
 * Results also go to bench-gpu-<date>.json in the working directory.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
/** Set by the bundle's registry module: loaders of the packages bundled in (see bench/gpu-bundle.ts). */
const REGISTRY = Symbol.for("gen-trainer.gpu-bundle");

const { values } = parseArgs({
  options: {
    backend: { type: "string", default: "webgpu" },
    sizes: { type: "string" },
    steps: { type: "string", default: "30" },
    warmup: { type: "string", default: "5" },
    "wasm-steps": { type: "string", default: "8" },
    "wasm-threads": { type: "string" },
    "no-wasm": { type: "boolean", default: false },
    timeout: { type: "string", default: "300" },
  },
});
const BACKEND = values.backend!;
const STEPS = Number(values.steps);
const WARMUP = Number(values.warmup);
const TIMEOUT_S = Number(values.timeout);

interface ProgramInfo {
  d: number;
  layers: number;
  heads: number;
  batch: number;
  context: number;
  file: string;
}

/** The bundled programs, from the manifest the build wrote beside this file. */
function programs(): ProgramInfo[] {
  const manifest = join(HERE, "bench-gpu.json");
  if (!existsSync(manifest)) throw new Error(`bench-gpu: ${manifest} is missing; rebuild the bundle with npm run bench:gpu-bundle`);
  return (JSON.parse(readFileSync(manifest, "utf8")) as { programs: ProgramInfo[] }).programs;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

type Loader = () => Promise<Record<string, unknown>>;
function bundled(name: string): Loader | undefined {
  return ((globalThis as Record<symbol, Record<string, Loader> | undefined>)[REGISTRY] ?? {})[name];
}

interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  limits: Record<string, number>;
}

/** Asks Dawn for the adapter tfjs-backend-webgpu will get (high-performance preference). */
async function adapter(): Promise<AdapterReport | { error: string }> {
  const load = bundled("webgpu")!;
  let webgpu: { create(options: string[]): { requestAdapter(o?: object): Promise<unknown> }; globals: Record<string, unknown> };
  try {
    webgpu = (await load()) as typeof webgpu;
  } catch (error) {
    return { error: `Dawn (dawn.node) failed to load: ${(error as Error).message.split("\n")[0]}` };
  }
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(webgpu.globals)) if (!(k in g)) g[k] = v;
  const a = (await webgpu
    .create([])
    .requestAdapter({ powerPreference: "high-performance" })
    .catch(() => null)) as { info?: Record<string, unknown>; limits?: Record<string, number>; isFallbackAdapter?: boolean } | null;
  if (!a) return { error: "Dawn found no adapter" };
  const info = a.info ?? {};
  const limits: Record<string, number> = {};
  for (const k of ["maxBufferSize", "maxStorageBufferBindingSize", "maxComputeWorkgroupStorageSize", "maxComputeInvocationsPerWorkgroup"]) {
    const v = a.limits?.[k];
    if (typeof v === "number") limits[k] = v;
  }
  return {
    vendor: String(info.vendor ?? ""),
    architecture: String(info.architecture ?? ""),
    device: String(info.device ?? ""),
    description: String(info.description ?? ""),
    isFallbackAdapter: info.isFallbackAdapter === true || a.isFallbackAdapter === true,
    limits,
  };
}

interface RunResult {
  tokensPerSec: number;
  parameters: number;
  device: string;
  steps: number;
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).pop() ?? "";
}

/** Runs one bundled program and reads its metrics.jsonl. */
function run(p: ProgramInfo, backend: string, steps: number, warmup: number, extra: string[]): RunResult | { error: string } {
  const out = mkdtempSync(join(tmpdir(), "bench-gpu-"));
  try {
    const r = spawnSync(process.execPath, [join(HERE, p.file), "--backend", backend, "--max-steps", String(steps), "--output-dir", out, ...extra], {
      cwd: HERE,
      encoding: "utf8",
      timeout: TIMEOUT_S * 1000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error || r.status !== 0) {
      const why = r.error?.message.includes("ETIMEDOUT") ? `timed out after ${TIMEOUT_S} s (--timeout)` : lastLine(r.stderr || r.stdout || r.error?.message || `exit ${r.status}`);
      return { error: why };
    }
    const train = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, number | string>)
      .filter((l) => l.type === "train");
    const rates = train.slice(Math.min(warmup, train.length - 1)).map((l) => l.tokens_per_sec as number);
    const first = r.stdout.split("\n")[0] ?? "";
    return {
      tokensPerSec: median(rates),
      parameters: Number(/(\d+) parameters/.exec(first)?.[1] ?? Number.NaN),
      device: /steps on (.*)$/.exec(first)?.[1]?.trim() ?? backend,
      steps: train.length,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The flags a bundled program takes (its --help line). */
function usage(p: ProgramInfo): string {
  return spawnSync(process.execPath, [join(HERE, p.file), "--help"], { cwd: HERE, encoding: "utf8", timeout: 60_000 }).stdout ?? "";
}

const all = programs();
const sizes = values.sizes ? values.sizes.split(",").map(Number) : all.map((p) => p.d);
const chosen = sizes.map((d) => {
  const p = all.find((x) => x.d === d);
  if (!p) throw new Error(`bench-gpu: no program for d=${d} in this bundle (it has ${all.map((x) => x.d).join(", ")})`);
  return p;
});
const help = usage(chosen[0]!);
const choices = /--backend ([a-z|]+)/.exec(help)?.[1]?.split("|") ?? [];
if (!choices.includes(BACKEND)) {
  console.error(`bench-gpu: the bundled programs take --backend ${choices.join("|") || "?"}, not ${BACKEND}${BACKEND === "webgpu" ? " (the runtime they were built from had no WebGPU backend)" : ""}`);
  process.exit(2);
}

const report: Record<string, unknown> = { date: new Date().toISOString(), backend: BACKEND, node: process.version, files: readdirSync(HERE) };
if (BACKEND === "webgpu" && !bundled("webgpu")) {
  console.error("bench-gpu: this bundle was built with --wasm-only (no WebGPU in it); run ./run.sh --backend wasm, or rebuild without --wasm-only");
  process.exit(2);
}
if (BACKEND === "webgpu") {
  const a = await adapter();
  report.adapter = a;
  if ("error" in a) {
    console.error(
      `bench-gpu: no WebGPU adapter: ${a.error}.\n` +
        `  Dawn uses Vulkan on Linux: it needs the Vulkan loader (libvulkan.so.1, shipped in this folder; run through ./run.sh) and the GPU's Vulkan driver (ICD).\n` +
        `  NVIDIA: the driver's Vulkan ICD (/usr/share/vulkan/icd.d/nvidia_icd.json or /etc/vulkan/icd.d/, from the driver's GL/Vulkan package, e.g. libnvidia-gl-<version>);\n` +
        `  in a container, NVIDIA_DRIVER_CAPABILITIES must include graphics (e.g. all or compute,utility,graphics). VK_LOADER_DEBUG=driver shows what the loader tried.`,
    );
    process.exit(1);
  }
  console.log(`adapter: vendor ${a.vendor || "?"}, architecture ${a.architecture || "?"}, device ${a.device || "?"}${a.description ? `, description ${a.description}` : ""}${a.isFallbackAdapter ? " (a software fallback adapter: these are CPU numbers)" : ""}`);
  if (Object.keys(a.limits).length) console.log(`limits: ${Object.entries(a.limits).map(([k, v]) => `${k} ${v}`).join(", ")}`);
}

const flops = (p: ProgramInfo, parameters: number) => 6 * parameters + 12 * p.layers * p.context * p.d;
const rows: Record<string, unknown>[] = [];
console.log(`\n${BACKEND}: generated char-transformer programs, batch ${chosen[0]!.batch} × context ${chosen[0]!.context}; tokens/s = median of steps ${WARMUP + 1}–${STEPS}`);
console.log(`  ${"d".padEnd(6)}${"layers".padStart(7)}${"heads".padStart(6)}${"params".padStart(12)}${"tokens/s".padStart(11)}${"ms/step".padStart(10)}${"TFLOP/s".padStart(9)}   device`);
for (const p of chosen) {
  const r = run(p, BACKEND, STEPS, WARMUP, []);
  if ("error" in r) {
    console.log(`  ${String(p.d).padEnd(6)}${String(p.layers).padStart(7)}${String(p.heads).padStart(6)}   failed: ${r.error}`);
    rows.push({ d: p.d, error: r.error });
    continue;
  }
  const msPerStep = (1000 * p.batch * p.context) / r.tokensPerSec;
  const tflops = (r.tokensPerSec * flops(p, r.parameters)) / 1e12;
  console.log(`  ${String(p.d).padEnd(6)}${String(p.layers).padStart(7)}${String(p.heads).padStart(6)}${String(r.parameters).padStart(12)}${String(Math.round(r.tokensPerSec)).padStart(11)}${msPerStep.toFixed(1).padStart(10)}${tflops.toFixed(3).padStart(9)}   ${r.device}`);
  rows.push({ d: p.d, layers: p.layers, heads: p.heads, parameters: r.parameters, tokensPerSec: r.tokensPerSec, msPerStep, tflops, device: r.device });
}
report.rows = rows;

// --- the same smallest program on wasm, for the ratio
if (BACKEND !== "wasm" && !values["no-wasm"]) {
  const p = chosen[0]!;
  const first = rows[0] as { tokensPerSec?: number } | undefined;
  if (!choices.includes("wasm") || !bundled("@tensorflow/tfjs-backend-wasm")) console.log(`\nwasm: not in this bundle`);
  else {
    const threads = values["wasm-threads"] ? Number(values["wasm-threads"]) : Math.min(8, availableParallelism());
    const tryThreads = /--threads\b/.test(help) && threads > 1;
    let r = run(p, "wasm", Number(values["wasm-steps"]), 2, tryThreads ? ["--threads", String(threads)] : []);
    let label = tryThreads ? `wasm, ${threads} threads` : "wasm, 1 thread";
    if ("error" in r && tryThreads) {
      console.log(`\nwasm --threads ${threads} failed (${r.error}); one thread instead`);
      r = run(p, "wasm", Number(values["wasm-steps"]), 2, []);
      label = "wasm, 1 thread";
    }
    if ("error" in r) console.log(`\n${label} at d=${p.d}: failed: ${r.error}`);
    else {
      const ratio = first?.tokensPerSec ? first.tokensPerSec / r.tokensPerSec : null;
      console.log(`\n${label} at d=${p.d}: ${Math.round(r.tokensPerSec)} tokens/s; ${BACKEND} / wasm = ${ratio === null ? "—" : `${ratio.toFixed(2)}×`}`);
      report.wasm = { d: p.d, label, tokensPerSec: r.tokensPerSec, ratio };
    }
  }
}

const file = `bench-gpu-${(report.date as string).slice(0, 19).replace(/:/g, "-")}.json`;
try {
  writeFileSync(join(process.cwd(), file), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
} catch {
  // a read-only folder: the printed table is the result
}
// Dawn's instance keeps the event loop alive.
process.exit(0);
