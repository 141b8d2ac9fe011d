// A generated program whose disk fills up mid-run: its --output-dir is a tmpfs with room for one
// checkpoint and a half, so the second save hits ENOSPC. The program must stop with exit code 74
// and one plain `error:` line (no stack trace) naming the file, the cause and the checkpoint to
// resume from; the first checkpoint stays complete (rotation runs only after a save completes),
// nothing temporary is left, metrics.jsonl holds whole lines; and --resume — in a copy of the
// folder on a bigger disk, or in place once space is freed — finishes the run with the same
// weights as a run that never failed.
//
// The tmpfs needs root and a mount that is allowed; elsewhere the test is skipped with the
// reason, except when CI is set (then it fails). The spec is written at run time under .tmp/.
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { generateProgram, itOnTmpfs, mountTmpfs, readJsonl, ROOT, runProgram, tempDir, unmountTmpfs } from "../helpers.ts";

const SPEC = `import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: "disk-full",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 40, evalExamples: 20 },
  args: {
    outputDir: "out/disk-full",
    perDeviceTrainBatchSize: 16,
    maxSteps: 8,
    learningRate: 3e-3,
    loggingSteps: 1,
    maxGradNorm: 0,
    saveStrategy: "steps",
    saveSteps: 2,
    saveTotalLimit: 1,
  },
});
`;

const PAGE = 4096;

// Mounted while the file is collected (so skipIf knows); resized with remount once the
// checkpoint size is known.
const mount = mountTmpfs("64k", "gen-trainer-disk-full-run-");
const onTmpfs = itOnTmpfs(mount.skip);
const cleanup: string[] = [];
let program = "";

beforeAll(async () => {
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  const work = mkdtempSync(join(ROOT, ".tmp", "disk-full-test-"));
  cleanup.push(work);
  program = (await generateProgram(work, "disk-full", SPEC)).path;
});

afterAll(() => {
  unmountTmpfs(mount);
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

function remount(bytes: number): void {
  const r = spawnSync("mount", ["-o", `remount,size=${Math.ceil(bytes / PAGE) * 4}k`, mount.dir], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
}

/** Bytes the files of `dir` take on a tmpfs (whole pages), folders included. */
function pagesOf(dir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    bytes += statSync(path).isDirectory() ? pagesOf(path) : Math.ceil(statSync(path).size / PAGE) * PAGE;
  }
  return bytes;
}

function sha(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function run(out: string, resume = false) {
  return runProgram(program, ["--output-dir", out, "--backend", "cpu", ...(resume ? ["--resume"] : [])]);
}

/** Each line of metrics.jsonl is whole JSON; returns the steps of its train events. */
function trainSteps(out: string): number[] {
  const text = readFileSync(join(out, "metrics.jsonl"), "utf8");
  expect(text.endsWith("\n")).toBe(true);
  return readJsonl(join(out, "metrics.jsonl"))
    .filter((e) => e.type === "train")
    .map((e) => e.step as number);
}

describe("a generated program on a disk that fills up", () => {
  onTmpfs("stops with one plain error line and exit code 74, keeps checkpoint-2, and --resume finishes the run", () => {
    // An uninterrupted run on a normal disk: the weights to match, and the size of a checkpoint.
    const reference = tempDir("gen-trainer-disk-full-ref-");
    cleanup.push(reference);
    const full = run(reference);
    expect(full.stderr).toBe("");
    expect(full.status).toBe(0);
    const checkpoint = pagesOf(join(reference, "checkpoint-8"));

    // Room for one checkpoint and a half, plus metrics.jsonl and small files.
    remount(checkpoint + checkpoint / 2 + 4 * PAGE);
    const out = join(mount.dir, "out");
    const failed = run(out);
    expect(failed.status, failed.stderr).toBe(74);
    expect(failed.stderr).not.toMatch(/\n\s+at /);
    const lines = failed.stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("note: "));
    expect(lines).toHaveLength(1);
    const message = lines[0]!;
    expect(message).toMatch(/^error: cannot save checkpoint \S+\/checkpoint-4: writing \S+\/\.checkpoint-4\.tmp-\d+\/\S+ failed: the disk is full \(ENOSPC\)\. /);
    expect(message).toContain(`then continue with --resume ${join(out, "checkpoint-2")}, the last complete checkpoint.`);
    expect(message).toContain("--output-dir");
    expect(readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "save").map((e) => e.step)).toEqual([2]);

    // checkpoint-2 complete (rotation did not delete it before checkpoint-4 was done), nothing temporary.
    expect(readdirSync(out).filter((n) => n.startsWith("checkpoint-") || n.includes(".tmp-"))).toEqual(["checkpoint-2"]);
    expect(trainSteps(out)).toEqual([1, 2, 3, 4]);

    // (a) On a bigger disk: a copy of the folder, resumed there.
    const copy = tempDir("gen-trainer-disk-full-copy-");
    cleanup.push(copy);
    cpSync(out, copy, { recursive: true });
    const moved = run(copy, true);
    expect(moved.stderr.replace(/note: .*\n/g, "")).toBe("");
    expect(moved.status).toBe(0);
    expect(moved.stdout).toContain(`resumed from ${join(copy, "checkpoint-2")} at step 2\n`);
    expect(sha(join(copy, "model.safetensors"))).toBe(sha(join(reference, "model.safetensors")));
    expect(trainSteps(copy)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    // (b) In place, once space is freed.
    remount(8 * checkpoint + 16 * PAGE);
    const resumed = run(out, true);
    expect(resumed.stderr.replace(/note: .*\n/g, "")).toBe("");
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toContain(`resumed from ${join(out, "checkpoint-2")} at step 2\n`);
    expect(sha(join(out, "model.safetensors"))).toBe(sha(join(reference, "model.safetensors")));
    expect(trainSteps(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(existsSync(join(out, "checkpoint-8"))).toBe(true);
    expect(readdirSync(out).filter((n) => n.includes(".tmp-"))).toEqual([]);
  });
});
