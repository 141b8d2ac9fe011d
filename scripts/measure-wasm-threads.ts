/**
 * scripts/measure-wasm-threads.ts — the wasm backend single-threaded vs `--threads N`, side by side.
 *
 *   tsx scripts/measure-wasm-threads.ts [--rounds 5] [--threads 2] [--steps 6] [--warmup 2] [model flags]
 *
 * Each round runs one process per configuration (a process holds one wasm module, so the build
 * and thread count cannot change inside one), in an order rotated every round; each process
 * trains the d=128 char-transformer (batch 32, context 64, 2 layers, 4 heads by default; flags as
 * scripts/wasm-threads-steps.ts) for warm-up + steps steps. Prints the median ms per step of each
 * configuration, the ratio to the single-threaded build, the CPU ms per step (all threads), how
 * busy the machine's cores were with other work meanwhile, whether every process computed
 * bit-identical losses and parameters, and whether any leaked tensors.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  strict: false,
  options: { rounds: { type: "string", default: "5" }, threads: { type: "string", default: "2" } },
});
const passThrough = process.argv.slice(2).filter((a, i, all) => !["--rounds", "--threads"].includes(a) && !["--rounds", "--threads"].includes(all[i - 1]!));
const rounds = Number(values.rounds);
const n = Number(values.threads);
const configs = [
  { label: "single-threaded SIMD build (today)", args: [] as string[] },
  { label: "threaded build, --threads 1", args: ["--threads", "1"] },
  { label: `threaded build, --threads ${n}`, args: ["--threads", String(n)] },
];

interface ChildResult {
  description: string;
  threads: number;
  lossBits: string[];
  paramChecksumBits: string;
  ms: number[];
  cpuMsPerStep: number;
  tensorsBefore: number;
  tensorsAfter: number;
}

/** Busy and total jiffies of all cores (/proc/stat), to see how much other work ran meanwhile. */
function cpuTimes(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - fields[3]! - (fields[4] ?? 0), total };
  } catch {
    return null;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const results = configs.map(() => [] as ChildResult[]);
let ourCpuMs = 0;
const before = cpuTimes();
const t0 = performance.now();
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < configs.length; k++) {
    const i = (k + round) % configs.length;
    const child = spawnSync(process.execPath, ["--import", "tsx", "scripts/wasm-threads-steps.ts", ...configs[i]!.args, ...passThrough], { encoding: "utf8" });
    if (child.status !== 0) throw new Error(`${configs[i]!.label} failed (exit ${child.status}):\n${child.stderr}`);
    const result = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as ChildResult;
    results[i]!.push(result);
    process.stderr.write(`round ${round + 1} ${configs[i]!.label}: median ${median(result.ms).toFixed(1)} ms/step, ${result.cpuMsPerStep} cpu ms/step\n`);
  }
}
const wallMs = performance.now() - t0;
const after = cpuTimes();
const all = results.flat();
const first = all[0]!;
const identical = all.every((r) => r.lossBits.join() === first.lossBits.join() && r.paramChecksumBits === first.paramChecksumBits);
const leaks = all.filter((r) => r.tensorsAfter !== r.tensorsBefore).length;
const base = median(results[0]!.map((r) => median(r.ms)));
console.log(`${rounds} rounds, ${cpus().length} cores, ${passThrough.join(" ") || "defaults (d=128, batch 32, context 64, 2 layers, 4 heads)"}`);
for (const [i, c] of configs.entries()) {
  const perRound = results[i]!.map((r) => median(r.ms));
  const m = median(perRound);
  const cpuMs = median(results[i]!.map((r) => r.cpuMsPerStep));
  for (const r of results[i]!) ourCpuMs += r.cpuMsPerStep * r.ms.length;
  console.log(`${c.label.padEnd(40)} ${m.toFixed(1).padStart(8)} ms/step  (rounds: ${perRound.map((x) => x.toFixed(0)).join(", ")})  ${(m / base).toFixed(3)}x  cpu ${cpuMs} ms/step  threads ${results[i]![0]!.threads}`);
}
if (before && after) {
  const busyShare = (after.busy - before.busy) / (after.total - before.total);
  console.log(`cores busy during the measurement: ${(busyShare * 100).toFixed(0)}% of ${cpus().length} (all processes, ours included; our measured steps alone: ~${((ourCpuMs / wallMs / cpus().length) * 100).toFixed(0)}%)`);
}
console.log(`losses and parameters bit-identical across all ${all.length} processes: ${identical ? "yes" : "NO"}; processes with leaked tensors: ${leaks}`);
