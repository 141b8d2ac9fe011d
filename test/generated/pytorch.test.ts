// The PyTorch target: every committed train.py runs; train.ts and train.py agree step by step on
// the same spec; 2 data-parallel ranks agree with 1 rank at the same global batch; a checkpoint
// written by either program resumes in the other; `gen-trainer report` reads a Python run; what
// cannot run in Python is a located error.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderSpecs } from "../../generator/generate.ts";
import { committedSpecs, generatePrograms, PYTHON, readJsonl, ROOT, runProgram, tempDir, torchMissing } from "../helpers.ts";

const reason = torchMissing();
const DIR = join(ROOT, ".tmp", "pytorch-specs");

function runPy(program: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(PYTHON, [program, ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1", ...env }, timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function losses(out: string): Map<number, number> {
  return new Map(readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "train").map((e) => [e.step as number, e.loss as number]));
}

function expectClose(a: Map<number, number>, b: Map<number, number>, relative: number): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [step, x] of a) expect({ step, diff: Math.abs(x - b.get(step)!) / Math.abs(x) <= relative }).toEqual({ step, diff: true });
}

function spec(name: string, args: string, model = `{ preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 }`): { name: string; text: string } {
  return {
    name,
    text: `import { defineTrainer } from "gen-trainer";
export default defineTrainer({
  name: "${name}",
  model: ${model},
  data: { preset: "addition", digits: 2, trainExamples: 96, evalExamples: 16, fixedWidth: false },
  args: { learningRate: 3e-3, weightDecay: 0.01, loggingSteps: 1, ${args} },
});
`,
  };
}

/** Writes train.ts and train.py of each spec. */
async function both(specs: { name: string; text: string }[]): Promise<Record<string, { ts: string; py: string }>> {
  const written = await generatePrograms(DIR, specs);
  const { programs, diagnostics } = await renderSpecs(
    specs.map((s) => join(DIR, `${s.name}.spec.ts`)),
    join(DIR, "generated"),
    null,
    "pytorch",
  );
  expect(diagnostics).toEqual([]);
  const { writeFileSync } = await import("node:fs");
  for (const p of programs) writeFileSync(join(ROOT, p.outputPath), p.code);
  return Object.fromEntries(Object.entries(written).map(([name, p]) => [name, { ts: p.path, py: p.path.replace(/\.ts$/, ".py") }]));
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

describe.skipIf(reason)(`the PyTorch target${reason ? ` (skipped: ${reason})` : ""}`, () => {
  it("every committed train.py runs a few steps on the CPU", async () => {
    const { programs } = await renderSpecs(committedSpecs(), "generated", null, "all");
    const python = programs.filter((p) => p.target === "pytorch");
    expect(python.length).toBeGreaterThan(10);
    for (const p of python) {
      const out = tempDir();
      const r = runPy(p.outputPath, ["--output-dir", out, "--max-steps", "3", "--quiet"]);
      expect({ program: p.outputPath, status: r.status, stderr: r.stderr.replace(/^warning: fp16 needs a CUDA device.*\n/, "") }).toEqual({ program: p.outputPath, status: 0, stderr: "" });
      expect(losses(out).size).toBeGreaterThan(0);
    }
  }, 600_000);

  it("train.ts (cpu) and train.py (CPU, fp32) log the same losses over 12 steps: accumulation, clipping, cosine warmup, checkpoints", async () => {
    const programs = await both([
      spec("xt-accum-clip-cosine", `perDeviceTrainBatchSize: 4, gradientAccumulationSteps: 3, maxGradNorm: 0.5, lrSchedulerType: "cosine", warmupRatio: 0.25, maxSteps: 12, saveSteps: 4, saveTotalLimit: 2`),
      spec("xt-mlp-epochs", `perDeviceTrainBatchSize: 8, numTrainEpochs: 1, lrSchedulerType: "constant_with_warmup", warmupSteps: 3, saveStrategy: "no"`, `{ preset: "mlp", hidden: [32, 32] }`),
    ]);
    for (const [name, p] of Object.entries(programs)) {
      const tsOut = tempDir();
      const pyOut = tempDir();
      const ts = runProgram(p.ts, ["--output-dir", tsOut, "--backend", "cpu", "--quiet"]);
      expect(ts.status, `${name}: ${ts.stderr}`).toBe(0);
      const py = runPy(p.py, ["--output-dir", pyOut, "--quiet"]);
      expect(py.status, `${name}: ${py.stderr}`).toBe(0);
      expect(losses(tsOut).size).toBeGreaterThanOrEqual(12);
      expectClose(losses(tsOut), losses(pyOut), 1e-4);
      expect(readdirSync(pyOut).filter((f) => f.startsWith("checkpoint-")).sort()).toEqual(readdirSync(tsOut).filter((f) => f.startsWith("checkpoint-")).sort());
    }
  }, 600_000);

  it("2 ranks (gloo) with per-device batch 4 log the same losses as 1 rank with batch 8, within 1e-5", async () => {
    const programs = await both([
      spec("ddp-one", `perDeviceTrainBatchSize: 8, gradientAccumulationSteps: 2, maxSteps: 12, saveStrategy: "no", evalStrategy: "steps", evalSteps: 6`),
      spec("ddp-two", `perDeviceTrainBatchSize: 4, gradientAccumulationSteps: 2, maxSteps: 12, saveStrategy: "no", evalStrategy: "steps", evalSteps: 6`),
    ]);
    const one = tempDir();
    expect(runPy(programs["ddp-one"]!.py, ["--output-dir", one, "--quiet"]).status).toBe(0);
    const two = tempDir();
    const port = await freePort();
    const ranks = [0, 1].map(
      (rank) =>
        new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const env = { ...process.env, OMP_NUM_THREADS: "1", RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: "2", MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port) };
          const child = spawn(PYTHON, [programs["ddp-two"]!.py, "--output-dir", two, "--quiet"], { cwd: ROOT, env });
          let stderr = "";
          child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
          child.on("exit", (code) => resolve({ code, stderr }));
        }),
    );
    const results = await Promise.all(ranks);
    expect(results.map((r) => r.code), results.map((r) => r.stderr).join("\n")).toEqual([0, 0]);
    expectClose(losses(one), losses(two), 1e-5);
    const evals = (out: string) => readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "eval").map((e) => e.eval_loss as number);
    expect(evals(two)).toHaveLength(2);
    evals(two).forEach((x, i) => expect(Math.abs(x - evals(one)[i]!) / x).toBeLessThan(1e-5));
  }, 600_000);

  it("a checkpoint written by train.ts resumes in train.py and the reverse, continuing with the same losses", async () => {
    const programs = await both([spec("xt-resume", `perDeviceTrainBatchSize: 4, gradientAccumulationSteps: 2, lrSchedulerType: "cosine", warmupSteps: 2, maxSteps: 12, saveSteps: 6`)]);
    const p = programs["xt-resume"]!;
    const reference = tempDir();
    expect(runProgram(p.ts, ["--output-dir", reference, "--backend", "cpu", "--quiet"]).status).toBe(0);
    const expected = losses(reference);
    const later = (m: Map<number, number>) => new Map([...m].filter(([s]) => s > 6));
    for (const [first, second] of [
      ["ts", "py"],
      ["py", "ts"],
    ] as const) {
      const out = tempDir();
      const run = (which: "ts" | "py", args: string[]) => (which === "ts" ? runProgram(p.ts, [...args, "--backend", "cpu"]) : runPy(p.py, args));
      expect(run(first, ["--output-dir", out, "--quiet"]).status).toBe(0);
      rmSync(join(out, "checkpoint-12"), { recursive: true });
      const resumed = run(second, ["--output-dir", out, "--quiet", "--resume", join(out, "checkpoint-6")]);
      expect(resumed.status, resumed.stderr).toBe(0);
      expectClose(later(losses(out)), later(expected), 1e-4);
      expect(existsSync(join(out, "checkpoint-12", "checkpoint.json"))).toBe(true);
    }
  }, 600_000);

  it("gen-trainer report reads a Python run's output folder", async () => {
    const programs = await both([spec("py-report", `perDeviceTrainBatchSize: 8, maxSteps: 6, evalStrategy: "steps", evalSteps: 3, saveSteps: 3`)]);
    const out = tempDir();
    expect(runPy(programs["py-report"]!.py, ["--output-dir", out, "--quiet"]).status).toBe(0);
    const r = spawnSync(process.execPath, [join(ROOT, "bin", "gen-trainer.js"), "report", out], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(existsSync(join(out, "report.html"))).toBe(true);
  }, 300_000);

  it("an fp16 spec on a CPU trains in fp32 and says so in one line", async () => {
    const programs = await both([spec("py-fp16-cpu", `perDeviceTrainBatchSize: 8, maxSteps: 3, saveStrategy: "no", fp16: true`)]);
    const r = runPy(programs["py-fp16-cpu"]!.py, ["--output-dir", tempDir(), "--quiet"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("warning: fp16 needs a CUDA device; on cpu this run trains in fp32 (no autocast, no loss scaling)\n");
  }, 300_000);
});

describe("the PyTorch target's limits", () => {
  it("a TypeScript model, data or callback module is a located error for --target pytorch", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "bin", "gen-trainer.js"), "--target", "pytorch", "--stdout", "test/specs/user-modules.spec.ts"], { cwd: ROOT, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^test\/specs\/user-modules\.spec\.ts:\d+:\d+ error E_TARGET: model\.module "\.\/modules\/.*" is TypeScript, which a PyTorch program cannot run/m);
    const callbacks = spawnSync(process.execPath, [join(ROOT, "bin", "gen-trainer.js"), "--target", "pytorch", "--stdout", "test/specs/user-callback-evaluate.spec.ts"], { cwd: ROOT, encoding: "utf8" });
    expect(callbacks.status).toBe(1);
    expect(callbacks.stderr).toMatch(/error E_TARGET: callback EvalReporter from "\.\/modules\/eval-reporter\.ts" is a TypeScript class/);
  });
});
