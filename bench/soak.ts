/**
 * bench/soak.ts — `npm run bench:soak` (and the last section of `npm run bench`): a long run of a
 * small generated program with checkpoints and rotation, to show what stays flat.
 *
 * 20,000 steps (--soak-steps) of a small MLP on the addition preset, saving every 500 steps and
 * keeping 2 checkpoints, with GEN_TRAINER_TRACE_TENSORS=1 so each train line records
 * num_tensors, rss_mb and open_fds. Prints those at the first log line (step 500) and at the
 * end, the checkpoints left on disk, and the run's wall time. Flat is the target: a leak of one
 * tensor or one file descriptor per step or per save shows as thousands or dozens here.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { renderSpecs } from "../generator/generate.ts";

const ROOT = join(import.meta.dirname, "..");

export interface SoakResult {
  steps: number;
  seconds: number;
  start: { step: number; tensors: number; rssMb: number; openFds: number };
  end: { step: number; tensors: number; rssMb: number; openFds: number };
  /** RSS over all train lines: it swings with garbage collection, so a leak shows as a rising floor. */
  rssMb: { min: number; max: number; lastQuarterMin: number };
  checkpointsKept: string[];
  saves: number;
}

export async function soak(steps = 20_000, backend = "wasm"): Promise<SoakResult> {
  const work = join(ROOT, ".tmp", "bench-soak");
  mkdirSync(work, { recursive: true });
  const spec = join(work, "soak.spec.ts");
  writeFileSync(
    spec,
    `import { defineTrainer } from "gen-trainer";
export default defineTrainer({
  name: "soak",
  model: { preset: "mlp", hidden: [32] },
  data: { preset: "addition", digits: 2 },
  args: { maxSteps: ${steps}, perDeviceTrainBatchSize: 8, learningRate: 1e-3, loggingSteps: 500, saveSteps: 500, saveTotalLimit: 2 },
});
`,
  );
  const { programs, diagnostics } = await renderSpecs([spec], join(work, "generated"));
  if (diagnostics.length) throw new Error(JSON.stringify(diagnostics));
  const path = programs[0]!.outputPath;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, programs[0]!.code);
  const out = mkdtempSync(join(tmpdir(), "gen-trainer-soak-"));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--import", "tsx", path, "--output-dir", out, "--backend", backend, "--quiet"], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, GEN_TRAINER_TRACE_TENSORS: "1" },
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`soak run failed: ${r.stderr}`);
  const events = readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>);
  const train = events.filter((e) => e.type === "train");
  const point = (e: Record<string, number | string>) => ({ step: e.step as number, tensors: e.num_tensors as number, rssMb: e.rss_mb as number, openFds: e.open_fds as number });
  const result: SoakResult = {
    steps,
    seconds,
    start: point(train[0]!),
    end: point(train.at(-1)!),
    rssMb: {
      min: Math.min(...train.map((e) => e.rss_mb as number)),
      max: Math.max(...train.map((e) => e.rss_mb as number)),
      lastQuarterMin: Math.min(...train.slice(Math.floor((train.length * 3) / 4)).map((e) => e.rss_mb as number)),
    },
    checkpointsKept: readdirSync(out).filter((f) => f.startsWith("checkpoint-")).sort(),
    saves: events.filter((e) => e.type === "save").length,
  };
  rmSync(out, { recursive: true, force: true });
  return result;
}

export function formatSoak(s: SoakResult): string {
  return [
    `soak (${s.steps.toLocaleString("en-US")} steps of an MLP, save every 500, keep 2: ${s.saves} saves in ${Math.round(s.seconds)} s)`,
    `  num_tensors ${s.start.tensors} at step ${s.start.step} → ${s.end.tensors} at step ${s.end.step}`,
    `  rss ${s.start.rssMb} → ${s.end.rssMb} MB (between ${s.rssMb.min} and ${s.rssMb.max} with garbage collection; lowest in the last quarter ${s.rssMb.lastQuarterMin})`,
    `  open file descriptors ${s.start.openFds} → ${s.end.openFds}`,
    `  checkpoints left: ${s.checkpointsKept.join(", ")}`,
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({ options: { "soak-steps": { type: "string", default: "20000" }, backend: { type: "string", default: "wasm" } } });
  console.log(formatSoak(await soak(Number(values["soak-steps"]), values.backend!)));
}
