// Faults a long run meets: a diverging run stops with a message and saves nothing non-finite;
// one run per output folder (a second is refused; a killed run's lock is taken over).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSafetensorsFile } from "../../runtime/safetensors.ts";
import { generatePrograms, readJsonl, ROOT, runProgram, tempDir } from "../helpers.ts";

const DIR = join(ROOT, ".tmp", "fault-specs");

function spec(name: string, args: string): { name: string; text: string } {
  return {
    name,
    text: `import { defineTrainer } from "gen-trainer";
export default defineTrainer({
  name: "${name}",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 64, evalExamples: 16 },
  args: { perDeviceTrainBatchSize: 8, loggingSteps: 1, ${args} },
});
`,
  };
}

const programs = await generatePrograms(DIR, [
  spec("diverge-fp32", `maxSteps: 20, learningRate: 1e30, maxGradNorm: 0, saveSteps: 1`),
  spec("diverge-fp32-clip", `maxSteps: 20, learningRate: 1e30, saveStrategy: "no"`),
  spec("diverge-fp16", `maxSteps: 20, learningRate: 1e30, maxGradNorm: 0, saveStrategy: "no", fp16: true, fp16Scaler: { initScale: 4, minScale: 1 }`),
  spec("long-run", `maxSteps: 100000, learningRate: 1e-3, saveSteps: 2, saveTotalLimit: 1`),
]);
const path = (name: string) => programs[name]!.path;

/** Every float in every safetensors file under `dir`, checked finite. */
async function allWeightsFinite(dir: string): Promise<boolean> {
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".safetensors"));
  for (const f of files) {
    const { tensors } = await readSafetensorsFile(join(dir, f));
    for (const t of Object.values(tensors)) if (!(t.data as Float32Array).every(Number.isFinite)) return false;
  }
  return files.length > 0;
}

describe("divergence", () => {
  it("fp32: a non-finite loss stops the run at that step, names it and the last good checkpoint, and saves nothing non-finite", async () => {
    const out = tempDir();
    const r = runProgram(path("diverge-fp32"), ["--output-dir", out, "--backend", "cpu", "--quiet"]);
    expect(r.status).toBe(65);
    const events = readJsonl(join(out, "metrics.jsonl"));
    const diverged = events.find((e) => e.type === "diverged")!;
    const step = diverged.step as number;
    expect(step).toBeGreaterThan(1);
    expect(step).toBeLessThan(20);
    expect(r.stderr).toMatch(new RegExp(`^\\nerror: training diverged at step ${step}: .*loss (NaN|-?Infinity)`));
    expect(r.stderr).toContain(`the last good checkpoint is ${join(out, `checkpoint-${step - 1}`)}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // no step after the divergence ran, and nothing non-finite reached the disk
    expect(Math.max(...events.filter((e) => e.type === "train").map((e) => e.step as number))).toBe(step - 1);
    expect(existsSync(join(out, "model.safetensors"))).toBe(false);
    expect(existsSync(join(out, `checkpoint-${step}`))).toBe(false);
    expect(await allWeightsFinite(out)).toBe(true);
  });

  it("fp32 with clipping: the gradient norm clipping computed is what is checked; no checkpoint was saved", () => {
    const out = tempDir();
    const r = runProgram(path("diverge-fp32-clip"), ["--output-dir", out, "--backend", "cpu", "--quiet"]);
    expect(r.status).toBe(65);
    expect(r.stderr).toContain("no checkpoint had been saved");
    expect(readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "diverged")).toHaveLength(1);
  });

  it("fp16: overflowing steps are skipped while the scale backs off; an overflow at the floor stops the run", () => {
    const out = tempDir();
    const r = runProgram(path("diverge-fp16"), ["--output-dir", out, "--backend", "cpu", "--quiet"]);
    expect(r.status).toBe(65);
    const events = readJsonl(join(out, "metrics.jsonl"));
    const train = events.filter((e) => e.type === "train");
    // scale 4 → 2 → 1 (the floor): two skipped steps, then an overflow at the floor
    const skipped = train.filter((e, i) => i > 0 && (e.skipped_steps as number) > (train[i - 1]!.skipped_steps as number)).map((e) => e.loss_scale);
    expect(skipped).toEqual([2, 1]);
    const diverged = events.find((e) => e.type === "diverged")!;
    expect(diverged.step).toBe((train.at(-1)!.step as number) + 1);
    expect(r.stderr).toContain("gradients overflow even at the loss scale's floor (1)");
  });
});

describe("one run per output folder", () => {
  it("a second run on a folder in use is refused at once, naming the running one", async () => {
    const out = tempDir();
    const first = spawn(process.execPath, ["--import", "tsx", path("long-run"), "--output-dir", out, "--backend", "cpu", "--quiet"], { cwd: ROOT });
    try {
      const deadline = Date.now() + 240_000;
      while (!existsSync(join(out, "checkpoint-2")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(join(out, "checkpoint-2"))).toBe(true);
      const second = runProgram(path("long-run"), ["--output-dir", out, "--backend", "cpu", "--quiet", "--resume"]);
      expect(second.status).toBe(75);
      expect(second.stderr).toContain(`${out} is in use by another run: pid ${first.pid} on this host`);
      expect(second.stderr).not.toMatch(/\n\s+at /);
    } finally {
      first.kill("SIGKILL");
      await new Promise((r) => first.once("exit", r));
    }
    // the first was killed with kill -9: its lock stays, and --resume takes it over
    expect(JSON.parse(readFileSync(join(out, "run.lock"), "utf8")).pid).toBe(first.pid);
    const resumed = runProgram(path("long-run"), ["--output-dir", out, "--backend", "cpu", "--resume", "--max-steps", "6"]);
    expect(resumed.stderr).toBe("");
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toContain(`took over the lock of pid ${first.pid}`);
    expect(resumed.stdout).toMatch(/resumed from .*checkpoint-\d+ at step \d+/);
    expect(existsSync(join(out, "run.lock"))).toBe(false); // released at exit
  }, 400_000);

  it("a lock from another host is never taken over", () => {
    const out = tempDir();
    writeFileSync(join(out, "run.lock"), JSON.stringify({ pid: 1, host: `not-${hostname()}`, started: "2026-01-01T00:00:00.000Z" }));
    const r = runProgram(path("long-run"), ["--output-dir", out, "--backend", "cpu", "--quiet", "--max-steps", "1"]);
    expect(r.status).toBe(75);
    expect(r.stderr).toContain(`is in use by pid 1 on host not-${hostname()}`);
    expect(r.stderr).toContain(`delete ${join(out, "run.lock")}`);
    expect(existsSync(join(out, "metrics.jsonl"))).toBe(false); // nothing was written
  });

  it("a stale lock (its pid gone) is taken over with a note", () => {
    const out = tempDir();
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(join(out, "run.lock"), JSON.stringify({ pid: Number(gone.stdout), host: hostname(), started: "2026-01-01T00:00:00.000Z" }));
    const r = runProgram(path("long-run"), ["--output-dir", out, "--backend", "cpu", "--max-steps", "1"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`took over the lock of pid ${gone.stdout}`);
  });
});
