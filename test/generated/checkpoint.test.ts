// Checkpoints of generated programs, run in child processes on the cpu backend (and wasm for
// fp16): rotation on disk, SIGKILL at many points followed by --resume (bit-identical weights
// and identical per-step losses), corrupt checkpoints (a clear error, nothing overwritten),
// loadBestModelAtEnd, and --resume without checkpoints.
//
// The test specs are written at run time under .tmp/ (inside the repository, so that
// "gen-trainer" and "gen-trainer/runtime" resolve) and generated with generatePrograms.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, type FSWatcher, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, watch, writeFileSync, writeSync, closeSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePrograms, readJsonl, ROOT, runProgram, tempDir } from "../helpers.ts";

// ---------------------------------------------------------------------------------------------
// test specs

const MODEL = `{ preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 }`;

/** name → spec source. */
const SPECS: Record<string, string> = {
  // 40 examples in batches of 16: an epoch is 3 steps (16, 16, 8), checkpoints every 2 steps,
  // so most checkpoints are in the middle of an epoch. Every step's loss is logged.
  "ckpt-fault": spec("ckpt-fault", MODEL, 40, `
    perDeviceTrainBatchSize: 16,
    maxSteps: 16,
    learningRate: 3e-3,
    loggingSteps: 1,
    maxGradNorm: 0,
    saveStrategy: "steps",
    saveSteps: 2,
    saveTotalLimit: 2,`),
  // The same with a wider model: its checkpoints do not fit ckpt-fault's model.
  "ckpt-fault-wide": spec("ckpt-fault-wide", MODEL.replace("dModel: 16", "dModel: 32"), 40, `
    perDeviceTrainBatchSize: 16,
    maxSteps: 16,
    learningRate: 3e-3,
    loggingSteps: 1,
    maxGradNorm: 0,
    saveStrategy: "steps",
    saveSteps: 2,
    saveTotalLimit: 2,`),
  // fp16 with 4 micro-batches of 4: an epoch is 10 micro-batches, so steps of 4, 4 and a partial
  // window of 2; a short growth interval so that the loss scale changes during the run.
  "ckpt-fp16-accum": spec("ckpt-fp16-accum", MODEL, 40, `
    perDeviceTrainBatchSize: 4,
    gradientAccumulationSteps: 4,
    fp16: true,
    fp16Scaler: { growthInterval: 3 },
    maxSteps: 10,
    learningRate: 3e-3,
    loggingSteps: 1,
    maxGradNorm: 0,
    saveStrategy: "steps",
    saveSteps: 2,
    saveTotalLimit: 2,`, `generationSample({ prompts: ["12+34="], everySteps: 3, maxNewTokens: 3, temperature: 1, seed: 1 })`),
  // Logs every 3 steps but saves every 2: a resume lands between two log lines.
  "ckpt-log-3": spec("ckpt-log-3", MODEL, 40, `
    perDeviceTrainBatchSize: 16,
    maxSteps: 12,
    learningRate: 3e-3,
    loggingSteps: 3,
    maxGradNorm: 0,
    saveStrategy: "steps",
    saveSteps: 2,`),
  // The best checkpoint is the oldest (greaterIsBetter on a falling loss) and the limit is 1:
  // rotation must keep it, and the final model must be its weights, not the last ones.
  "ckpt-best-oldest": spec("ckpt-best-oldest", MODEL, 400, `
    perDeviceTrainBatchSize: 16,
    maxSteps: 30,
    learningRate: 1e-3,
    loggingSteps: 10,
    maxGradNorm: 0,
    evalStrategy: "steps",
    evalSteps: 10,
    perDeviceEvalBatchSize: 25,
    saveStrategy: "steps",
    saveSteps: 10,
    saveTotalLimit: 1,
    loadBestModelAtEnd: true,
    metricForBestModel: "loss",
    greaterIsBetter: true,`),
};

function spec(name: string, model: string, trainExamples: number, args: string, callbacks = ""): string {
  return `import { defineTrainer, generationSample } from "gen-trainer";
void generationSample;

export default defineTrainer({
  name: "${name}",
  model: ${model},
  data: { preset: "addition", digits: 2, trainExamples: ${trainExamples}, evalExamples: 20 },
  args: {
    outputDir: "out/${name}",${args}
  },
  callbacks: [${callbacks}],
});
`;
}

const program: Record<string, string> = {};
const cleanup: string[] = [];

beforeAll(async () => {
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  const work = mkdtempSync(join(ROOT, ".tmp", "checkpoint-test-"));
  cleanup.push(work);
  // into <work>/generated/<name>/train.ts
  const programs = await generatePrograms(work, Object.entries(SPECS).map(([name, text]) => ({ name, text })));
  for (const [name, p] of Object.entries(programs)) program[name] = p.path;
  expect(Object.keys(program).sort()).toEqual(Object.keys(SPECS).sort());
});

afterAll(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

function outputDir(): string {
  const dir = tempDir("gen-trainer-ckpt-");
  cleanup.push(dir);
  return dir;
}

// ---------------------------------------------------------------------------------------------
// running and killing programs

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
  /** What the kill was waiting for, if it was sent. */
  killedAt: string | null;
}

interface KillPlan {
  /** Kill once stdout has a line matching this, after `delayMs`. */
  afterLine?: RegExp;
  delayMs?: number;
  /** Kill as soon as this run creates its temporary checkpoint folder in `dir` (mid-write). */
  atTemporaryIn?: string;
}

const TEMPORARY = /^\.checkpoint-\d+\.tmp-\d+(-old)?$/;

function start(programPath: string, args: string[], kill: KillPlan = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", programPath, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let killedAt: string | null = null;
    let watcher: FSWatcher | null = null;
    let timer: NodeJS.Timeout | null = null;
    const killNow = (why: string) => {
      if (killedAt !== null || child.exitCode !== null) return;
      killedAt = why;
      child.kill("SIGKILL");
    };
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (kill.afterLine && timer === null && killedAt === null && kill.afterLine.test(stdout)) {
        timer = setTimeout(() => killNow(`${kill.afterLine} + ${kill.delayMs ?? 0} ms`), kill.delayMs ?? 0);
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    if (kill.atTemporaryIn) {
      const dir = kill.atTemporaryIn;
      const mine = new RegExp(`^\\.checkpoint-(\\d+)\\.tmp-${child.pid}$`);
      watcher = watch(dir, (_event, name) => {
        const match = name ? mine.exec(name) : null;
        if (match && existsSync(join(dir, name!))) killNow(`while writing checkpoint-${match[1]}`);
      });
    }
    child.on("error", reject);
    child.on("close", (code, signal) => {
      watcher?.close();
      if (timer) clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, pid: child.pid!, killedAt: signal === "SIGKILL" ? killedAt : null });
    });
  });
}

/** Complete checkpoints by the test's own reading of the format: the marker and all five files. */
function completeSteps(dir: string): number[] {
  return readdirSync(dir)
    .map((name) => /^checkpoint-(\d+)$/.exec(name))
    .filter((m) => m !== null)
    .filter((m) => {
      const markerPath = join(dir, m[0], "checkpoint.json");
      if (!existsSync(markerPath)) return false;
      const marker = JSON.parse(readFileSync(markerPath, "utf8")) as { files: Record<string, number> };
      return Object.entries(marker.files).every(([f, size]) => existsSync(join(dir, m[0], f)) && statSync(join(dir, m[0], f)).size === size);
    })
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

function checkpointFolders(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^checkpoint-\d+$/.test(n))
    .sort((a, b) => Number(a.slice(11)) - Number(b.slice(11)));
}

function temporaries(dir: string): string[] {
  return readdirSync(dir).filter((n) => TEMPORARY.test(n));
}

/** metrics.jsonl's train events without the wall-clock field. */
function trainEvents(dir: string): Record<string, unknown>[] {
  return readJsonl(join(dir, "metrics.jsonl"))
    .filter((e) => e.type === "train")
    .map(({ tokens_per_sec: _, ...rest }) => rest);
}

function trainerStateOf(dir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, "trainer_state.json"), "utf8")) as Record<string, unknown>;
}

function historyWithoutTimes(dir: string): unknown[] {
  return (trainerStateOf(dir).log_history as Record<string, unknown>[]).map(({ tokens_per_sec: _, ...rest }) => rest);
}

function sha(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Every file under `dir` with its hash, every folder with "dir". */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) {
        out[relative(dir, path)] = "dir";
        walk(path);
      } else out[relative(dir, path)] = sha(path);
    }
  };
  walk(dir);
  return out;
}

const NO_STACK = /\n\s+at /;

/**
 * Runs `name` from scratch and then with --resume under the kill plans, one run per plan, then
 * resumes without killing until it finishes. Checks every resume starts from the newest complete
 * checkpoint; returns what happened for the caller's exactness checks.
 */
async function killAndResume(name: string, out: string, args: string[], plans: (KillPlan | ((out: string) => KillPlan))[], beforeResume?: (out: string, round: number) => void) {
  const runs: Run[] = [];
  const resumedFrom: { step: number; position: number }[] = [];
  const leftTemporary: string[] = [];
  for (let round = 0; round <= plans.length + 2; round++) {
    const plan = round < plans.length ? plans[round]! : {};
    const resume = round > 0;
    let expected: number | null = null;
    if (resume) {
      beforeResume?.(out, round);
      const steps = completeSteps(out);
      expect(steps.length, `a complete checkpoint exists before resume ${round}`).toBeGreaterThan(0);
      expected = steps[steps.length - 1]!;
      const state = JSON.parse(readFileSync(join(out, `checkpoint-${expected}`, "resume_state.json"), "utf8")) as { sampler: { position: number } };
      resumedFrom.push({ step: expected, position: state.sampler.position });
    }
    const run = await start(program[name]!, [...args, ...(resume ? ["--resume"] : [])], typeof plan === "function" ? plan(out) : plan);
    runs.push(run);
    if (resume && run.stdout.includes("resumed from")) {
      expect(run.stdout).toContain(`resumed from ${join(out, `checkpoint-${expected}`)} at step ${expected}\n`);
    }
    if (run.signal === "SIGKILL") {
      leftTemporary.push(...temporaries(out));
      continue;
    }
    expect(run.stderr.replace(/note: .*\n/g, ""), `run ${round} stderr`).toBe("");
    expect(run.code, `run ${round} exit code`).toBe(0);
    if (resume) expect(run.stdout).toContain("resumed from");
    if (round >= plans.length) break;
  }
  return { runs, resumedFrom, leftTemporary };
}

// ---------------------------------------------------------------------------------------------

describe("checkpoints of generated programs", () => {
  it("rotation on disk: save-steps-limit keeps checkpoint-20 and checkpoint-30, each complete with HF's trainer_state fields", () => {
    const out = outputDir();
    const r = runProgram(join(ROOT, "generated/save-steps-limit/train.ts"), ["--max-steps", "30", "--output-dir", out, "--backend", "cpu"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["checkpoint-20", "checkpoint-30", "metrics.jsonl", "model.safetensors", "trainer_state.json"]);
    for (const step of [20, 30]) {
      const dir = join(out, `checkpoint-${step}`);
      expect(readdirSync(dir).sort()).toEqual(["checkpoint.json", "model.safetensors", "optimizer.safetensors", "resume_state.json", "trainer_state.json"]);
      const state = trainerStateOf(dir);
      for (const field of ["global_step", "epoch", "max_steps", "log_history", "best_metric", "best_model_checkpoint", "best_global_step"]) expect(state).toHaveProperty(field);
      expect(state.global_step).toBe(step);
      expect(state.max_steps).toBe(30);
      expect(state.epoch).toBeCloseTo((step * 16) / 400, 10);
      expect(state.best_metric).toBeNull();
      expect(state.best_model_checkpoint).toBeNull();
      expect(state.best_global_step).toBeNull();
      expect((state.log_history as { step: number }[]).map((e) => e.step)).toEqual([10, 20, 30].filter((s) => s <= step));
      const resume = JSON.parse(readFileSync(join(dir, "resume_state.json"), "utf8")) as { sampler: { epoch: number; position: number }; schedulerStep: number };
      expect(resume.schedulerStep).toBe(step);
      expect(resume.sampler.epoch * 400 + resume.sampler.position).toBe(step * 16);
      const marker = JSON.parse(readFileSync(join(dir, "checkpoint.json"), "utf8")) as { global_step: number; files: Record<string, number> };
      expect(marker.global_step).toBe(step);
      for (const [f, size] of Object.entries(marker.files)) expect(statSync(join(dir, f)).size).toBe(size);
    }
    // The last checkpoint holds the final weights.
    expect(sha(join(out, "checkpoint-30", "model.safetensors"))).toBe(sha(join(out, "model.safetensors")));
    const saves = readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "save");
    expect(saves).toEqual([10, 20, 30].map((step) => ({ type: "save", step, checkpoint: join(out, `checkpoint-${step}`) })));
  });

  it(
    "SIGKILL at many points (after saves, mid-write, at random), then --resume: same per-step losses and bit-identical weights (cpu)",
    async () => {
      const args = ["--output-dir", "", "--backend", "cpu"];
      const reference = outputDir();
      const out = outputDir();
      const referenceRun = start(program["ckpt-fault"]!, ["--output-dir", reference, "--backend", "cpu"]);
      args[1] = out;
      let planted = "";
      const { runs, resumedFrom, leftTemporary } = await killAndResume(
        "ckpt-fault",
        out,
        args,
        [
          { afterLine: /\[step 4\] saved/ }, // just after a save: resume from checkpoint-4, mid-epoch
          (dir) => ({ atTemporaryIn: dir }), // while the next checkpoint is being written
          { afterLine: /\[step 8\] saved/, delayMs: 15 }, // just after the save that replaced a torn folder
          (dir) => ({ atTemporaryIn: dir }),
          { afterLine: /resumed from/, delayMs: 80 + Math.floor(Math.random() * 250) }, // anywhere
          (dir) => ({ atTemporaryIn: dir }),
        ],
        (dir, round) => {
          if (round !== 1) return;
          // A torn checkpoint (no marker) ahead of the latest: skipped by resume, reported, kept
          // until the run saves that step, which replaces it whole.
          const latest = completeSteps(dir).at(-1)!;
          planted = join(dir, `checkpoint-${latest + 4}`);
          cpSync(join(dir, `checkpoint-${latest}`), planted, { recursive: true });
          rmSync(join(planted, "checkpoint.json"));
        },
      );
      const ref = await referenceRun;
      expect(ref.stderr).toBe("");
      expect(ref.code).toBe(0);

      const killed = runs.filter((r) => r.signal === "SIGKILL");
      expect(killed.length, runs.map((r) => `${r.signal ?? r.code}: ${r.killedAt}`).join("; ")).toBeGreaterThanOrEqual(4);
      // Some kill landed in the middle of a checkpoint write, and the next run removed its folder.
      expect(leftTemporary.length, "a kill left a temporary checkpoint folder").toBeGreaterThan(0);
      expect(runs.some((r) => /note: removing .*\.checkpoint-\d+\.tmp-\d+, an unfinished checkpoint/.test(r.stderr))).toBe(true);
      // The torn folder was reported, never resumed from, and replaced by the real checkpoint.
      expect(runs[1]!.stderr).toContain(`note: skipping ${planted}: it has no checkpoint.json`);
      // A resume in the middle of an epoch (40 examples: positions 16 and 32 are mid-epoch).
      expect(resumedFrom.some((r) => r.position > 0 && r.position < 40), JSON.stringify(resumedFrom)).toBe(true);

      // Exactness: the same train events (loss, learning rate, epoch, per step) and bit-identical weights.
      const expected = trainEvents(reference);
      expect(expected.map((e) => e.step)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      expect(trainEvents(out)).toEqual(expected);
      expect(historyWithoutTimes(out)).toEqual(historyWithoutTimes(reference));
      expect(sha(join(out, "model.safetensors"))).toBe(sha(join(reference, "model.safetensors")));
      expect(sha(join(out, "checkpoint-16", "optimizer.safetensors"))).toBe(sha(join(reference, "checkpoint-16", "optimizer.safetensors")));
      expect(trainerStateOf(out).global_step).toBe(16);
      // On disk: the 2 newest checkpoints, nothing temporary, nothing torn.
      expect(temporaries(out)).toEqual([]);
      expect(checkpointFolders(out)).toEqual(["checkpoint-14", "checkpoint-16"]);
      expect(completeSteps(out)).toEqual([14, 16]);
      // metrics.jsonl: no event of lost work survives (each step's train event is there once).
      const saves = readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "save").map((e) => e.step as number);
      expect(new Set(saves).size).toBe(saves.length);
    },
    240_000,
  );

  it(
    "resume with 4-step gradient accumulation, fp16 and generationSample on wasm, across a partial window at epoch end: exact",
    async () => {
      const reference = outputDir();
      const out = outputDir();
      const ref = await start(program["ckpt-fp16-accum"]!, ["--output-dir", reference, "--backend", "wasm"]);
      expect(ref.stderr).toBe("");
      expect(ref.code).toBe(0);
      const { runs, resumedFrom } = await killAndResume("ckpt-fp16-accum", out, ["--output-dir", out, "--backend", "wasm"], [
        { afterLine: /\[step 2\] saved/ }, // resume at position 32 of 40: the next step is the 2-batch window
        (dir) => ({ atTemporaryIn: dir }),
        { afterLine: /\[step 6\] saved/, delayMs: 10 },
      ]);
      expect(runs.filter((r) => r.signal === "SIGKILL").length).toBeGreaterThanOrEqual(2);
      expect(resumedFrom[0]).toMatchObject({ step: 2, position: 32 });
      const expected = trainEvents(reference);
      expect(expected.map((e) => e.step)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      // The loss scale grows during the run (growthInterval 3), so its restored state matters.
      expect(new Set(expected.map((e) => e.loss_scale)).size).toBeGreaterThan(1);
      expect(trainEvents(out)).toEqual(expected);
      // Samples (seeded by step) are the same too: every 3 steps, once each.
      const samples = (dir: string) => readJsonl(join(dir, "metrics.jsonl")).filter((e) => e.type === "sample").map((e) => [e.step, e.text]);
      expect(samples(reference).map(([step]) => step)).toEqual([3, 6, 9]);
      expect(samples(out)).toEqual(samples(reference));
      expect(historyWithoutTimes(out)).toEqual(historyWithoutTimes(reference));
      expect(sha(join(out, "model.safetensors"))).toBe(sha(join(reference, "model.safetensors")));
      expect(temporaries(out)).toEqual([]);
      expect(checkpointFolders(out)).toEqual(["checkpoint-8", "checkpoint-10"]);
    },
    180_000,
  );

  // Blocked by the templates: the running loss mean between two log lines (RunningMean) is not in
  // the resume state, so with loggingSteps 3 and saveSteps 2 a run resumed at step 4 logs at
  // step 6 the mean of steps 5-6 instead of 4-6 (the weights are still bit-identical). Fix:
  // RunningMean.state()/restore() in runtime/meters.ts, `lossMean: await lossMean.state()` in the
  // resume state written by templates/partials/save.hbs, and `lossMean.restore(...)` in the
  // `if (resumed)` block of templates/partials/loop.hbs.
  it("a resume between two log lines (loggingSteps 3, saveSteps 2) logs the same mean losses as an uninterrupted run", async () => {
    const reference = outputDir();
    expect((await start(program["ckpt-log-3"]!, ["--output-dir", reference, "--backend", "cpu", "--quiet"])).code).toBe(0);
    const out = outputDir();
    // checkpoint-4 lies between the log lines of steps 3 and 6: the mean of steps 4-6 spans it.
    const killed = await start(program["ckpt-log-3"]!, ["--output-dir", out, "--backend", "cpu"], { afterLine: /\[step 4\] saved/ });
    expect(killed.signal).toBe("SIGKILL");
    const resumed = await start(program["ckpt-log-3"]!, ["--output-dir", out, "--backend", "cpu", "--quiet", "--resume", join(out, "checkpoint-4")]);
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    const train = (dir: string) => readJsonl(join(dir, "metrics.jsonl")).filter((e) => e.type === "train").map((e) => [e.step, e.loss]);
    expect(train(out).map(([step]) => step)).toEqual([3, 6, 9, 12]);
    expect(train(out)).toEqual(train(reference));
    expect(readFileSync(join(out, "model.safetensors")).equals(readFileSync(join(reference, "model.safetensors")))).toBe(true);
  });

  describe("corrupt or foreign checkpoints: a clear error naming the file, exit 1, nothing overwritten", () => {
    let base = ""; // ckpt-fault after 4 steps: checkpoint-2, checkpoint-4
    let wide = ""; // ckpt-fault-wide (dModel 32) after 4 steps

    beforeAll(async () => {
      base = outputDir();
      wide = outputDir();
      const [a, b] = await Promise.all([
        start(program["ckpt-fault"]!, ["--max-steps", "4", "--output-dir", base, "--backend", "cpu", "--quiet"]),
        start(program["ckpt-fault-wide"]!, ["--max-steps", "4", "--output-dir", wide, "--backend", "cpu", "--quiet"]),
      ]);
      expect([a.code, a.stderr, b.code, b.stderr]).toEqual([0, "", 0, ""]);
      expect(checkpointFolders(base)).toEqual(["checkpoint-2", "checkpoint-4"]);
    });

    /** A copy of `from` with `damage` applied to its checkpoint-4, then a resume that must fail with `message`. */
    async function expectRefused(damage: (checkpoint: string) => void, message: (checkpoint: string) => RegExp | string, explicit = true, from = () => base) {
      const out = outputDir();
      cpSync(from(), out, { recursive: true });
      const checkpoint = join(out, "checkpoint-4");
      damage(checkpoint);
      const before = snapshot(out);
      const r = await start(program["ckpt-fault"]!, ["--max-steps", "16", "--output-dir", out, "--backend", "cpu", ...(explicit ? ["--resume", checkpoint] : ["--resume"])]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.startsWith("\nerror: "), r.stderr).toBe(true);
      const expected = message(checkpoint);
      if (typeof expected === "string") expect(r.stderr).toContain(expected);
      else expect(r.stderr).toMatch(expected);
      expect(r.stderr).not.toMatch(NO_STACK);
      expect(r.stdout).not.toContain("resumed from");
      expect(snapshot(out)).toEqual(before);
      return r;
    }

    it("(control) --resume <dir> from the older checkpoint-2 redoes steps 3-4 exactly and replaces checkpoint-4", async () => {
      const out = outputDir();
      cpSync(base, out, { recursive: true });
      const r = await start(program["ckpt-fault"]!, ["--max-steps", "4", "--output-dir", out, "--backend", "cpu", "--resume", join(out, "checkpoint-2")]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`resumed from ${join(out, "checkpoint-2")} at step 2`);
      expect(trainEvents(out)).toEqual(trainEvents(base));
      expect(readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "save").map((e) => e.step)).toEqual([2, 4]);
      expect(sha(join(out, "model.safetensors"))).toBe(sha(join(base, "model.safetensors")));
      expect(sha(join(out, "checkpoint-4", "optimizer.safetensors"))).toBe(sha(join(base, "checkpoint-4", "optimizer.safetensors")));
      expect(readdirSync(out).sort()).toEqual(["checkpoint-2", "checkpoint-4", "metrics.jsonl", "model.safetensors", "trainer_state.json"]);
    });

    it("a truncated model.safetensors", async () => {
      await expectRefused(
        (c) => truncateSync(join(c, "model.safetensors"), 100),
        (c) => `--resume ${c}: cannot resume from it: model.safetensors has 100 bytes but checkpoint.json records `,
      );
    });

    it("a safetensors header that claims more bytes than the file holds", async () => {
      await expectRefused(
        (c) => {
          const fd = openSync(join(c, "model.safetensors"), "r+");
          const length = Buffer.alloc(8);
          length.writeBigUInt64LE(10_000_000n);
          writeSync(fd, length, 0, 8, 0);
          closeSync(fd);
        },
        (c) => new RegExp(`error: ${escape(join(c, "model.safetensors"))}: the header claims 10000000 bytes but the file has only \\d+ after the 8-byte length; the file is truncated`),
      );
    });

    it("a tensor whose header dtype was rewritten to F16", async () => {
      await expectRefused(
        (c) => {
          const path = join(c, "model.safetensors");
          const bytes = readFileSync(path);
          const at = bytes.indexOf('"dtype":"F32"');
          expect(at).toBeGreaterThan(8);
          bytes.write('"dtype":"F16"', at);
          writeFileSync(path, bytes);
        },
        (c) => new RegExp(`error: ${escape(join(c, "model.safetensors"))}: tensor "[^"]+": dtype F16 is not supported`),
      );
    });

    it("a missing trainer_state.json", async () => {
      await expectRefused(
        (c) => rmSync(join(c, "trainer_state.json")),
        (c) => `--resume ${c}: cannot resume from it: trainer_state.json is missing.`,
      );
    });

    it("a checkpoint of a model of another shape (dModel 32 for a dModel 16 program), found by --resume", async () => {
      await expectRefused(
        () => {},
        (c) => new RegExp(`error: ${escape(join(c, "model.safetensors"))}: "[^"]+" has shape \\[[\\d,]*32[\\d,]*\\] but this model's is \\[[\\d,]*16[\\d,]*\\]; the checkpoint is from a model of another shape\\.`),
        false,
        () => wide,
      );
    });
  });

  // In save-best the loss falls at every eval, so the best is also the last checkpoint; the next
  // test has the best as the oldest one, where loading it at the end changes the final model.
  it("loadBestModelAtEnd (save-best): the final model is the best checkpoint's; best_metric is the lowest eval_loss", () => {
    const out = outputDir();
    const r = runProgram(join(ROOT, "generated/save-best/train.ts"), ["--output-dir", out, "--backend", "cpu"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const evals = readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "eval") as { step: number; eval_loss: number }[];
    expect(evals.map((e) => e.step)).toEqual([10, 20, 30]);
    const lowest = evals.reduce((b, e) => (e.eval_loss < b.eval_loss ? e : b));
    const state = trainerStateOf(out);
    const bestDir = join(out, `checkpoint-${lowest.step}`);
    expect(state.best_metric).toBe(lowest.eval_loss);
    expect(state.best_global_step).toBe(lowest.step);
    expect(state.best_model_checkpoint).toBe(bestDir);
    expect(sha(join(out, "model.safetensors"))).toBe(sha(join(bestDir, "model.safetensors")));
    // saveStrategy "best": a checkpoint at each strict improvement, and only there.
    const improved = evals.filter((e, i) => evals.slice(0, i).every((p) => e.eval_loss < p.eval_loss)).map((e) => `checkpoint-${e.step}`);
    expect(checkpointFolders(out)).toEqual(improved);
    expect(r.stdout).toContain(`loaded the best model (eval_loss ${lowest.eval_loss}) from ${bestDir}`);
  });

  it("loadBestModelAtEnd with the best checkpoint the oldest and saveTotalLimit 1: kept by rotation, loaded at the end", async () => {
    const out = outputDir();
    const r = await start(program["ckpt-best-oldest"]!, ["--output-dir", out, "--backend", "cpu"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const evals = readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "eval") as { step: number; eval_loss: number }[];
    expect(evals.map((e) => e.step)).toEqual([10, 20, 30]);
    // The loss falls, so with greaterIsBetter the first evaluation stays the best.
    expect(evals[1]!.eval_loss).toBeLessThan(evals[0]!.eval_loss);
    expect(evals[2]!.eval_loss).toBeLessThan(evals[0]!.eval_loss);
    expect(checkpointFolders(out)).toEqual(["checkpoint-10", "checkpoint-30"]); // limit 1 + the best
    const state = trainerStateOf(out);
    expect(state.best_model_checkpoint).toBe(join(out, "checkpoint-10"));
    expect(state.best_metric).toBe(evals[0]!.eval_loss);
    expect(state.best_global_step).toBe(10);
    expect(sha(join(out, "model.safetensors"))).toBe(sha(join(out, "checkpoint-10", "model.safetensors")));
    expect(sha(join(out, "model.safetensors"))).not.toBe(sha(join(out, "checkpoint-30", "model.safetensors")));
  });

  it("--resume with no checkpoint in the output dir: exit 1 and a clear message, nothing written", () => {
    const out = outputDir();
    const r = runProgram(join(ROOT, "generated/save-steps-limit/train.ts"), ["--output-dir", out, "--backend", "cpu", "--resume"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`\nerror: --resume: ${out} has no complete checkpoint to resume from (run without --resume to start training).\n`);
    expect(readdirSync(out)).toEqual([]);
    const missing = join(out, "never-made");
    const m = runProgram(join(ROOT, "generated/save-steps-limit/train.ts"), ["--output-dir", missing, "--backend", "cpu", "--resume"]);
    expect(m.status).toBe(1);
    expect(m.stderr).toContain(`${missing} has no complete checkpoint to resume from`);
    expect(existsSync(missing)).toBe(false);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
