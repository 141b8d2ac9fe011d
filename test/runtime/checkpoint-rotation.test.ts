// runtime/checkpoint.ts on folders written by saveCheckpoint (tiny variables on the cpu backend)
// and on hand-made ones: which checkpoints rotation keeps, which folder a resume picks, and what
// happens to temporary, torn and damaged folders.
import * as fs from "node:fs";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  checkpointDir,
  findResumeCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  removeTemporaryCheckpoints,
  rotateCheckpoints,
  saveCheckpoint,
} from "../../runtime/checkpoint.ts";
import { AdamW } from "../../runtime/optimizer.ts";
import { EpochSampler } from "../../runtime/sampler.ts";
import { trainerState } from "../../runtime/trainer-state.ts";
import type { NamedParams } from "../../runtime/types.ts";
import { UserError } from "../../runtime/user-error.ts";
import { tempDir } from "../helpers.ts";

// rmSync passes through, except where a test makes one call "die" half-way (a kill mid-delete).
vi.mock("node:fs", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:fs")>();
  return { ...original, rmSync: vi.fn(original.rmSync) };
});

/** Steps whose name order ("checkpoint-10" < "checkpoint-100" < "checkpoint-2") is not their numeric order. */
const STEPS = [2, 10, 30, 100, 250];
/** The order the folders are created in, and (reversed) their mtimes: neither is the step order. */
const CREATION_ORDER = [30, 250, 2, 100, 10];

let template: string; // one folder holding checkpoint-<step> for every STEPS, made by saveCheckpoint
const dirs: string[] = [];

function tinyParams(seed: number): NamedParams {
  return {
    "w.weight": tf.variable(tf.randomNormal([3, 2], 0, 1, "float32", seed), true, `w.weight.${seed}.${Math.random()}`),
    "w.bias": tf.variable(tf.randomNormal([2], 0, 1, "float32", seed + 1), true, `w.bias.${seed}.${Math.random()}`),
  };
}

const ADAMW = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 };

/** A parameter set, its AdamW after a few steps, and a sampler part-way through epoch 1. */
function trainingObjects(seed = 1) {
  const params = tinyParams(seed);
  const optimizer = new AdamW(params, ADAMW);
  for (let i = 0; i < 3; i++) {
    const grads = tf.tidy(() => Object.fromEntries(Object.entries(params).map(([name, p]) => [name, p.mul(0.5 + i)])));
    optimizer.step(grads, 0.01);
    tf.dispose(Object.values(grads));
  }
  const sampler = new EpochSampler(10, 3, 7);
  for (let i = 0; i < 5; i++) sampler.nextBatch(); // epoch 1, position 3
  return { params, optimizer, sampler };
}

async function save(outputDir: string, step: number, objects = trainingObjects()): Promise<string> {
  return saveCheckpoint(outputDir, step, {
    params: objects.params,
    optimizer: objects.optimizer,
    trainerState: trainerState({ global_step: step, epoch: objects.sampler.epochProgress, max_steps: 300, train_batch_size: 3, log_history: [{ loss: 1, step }] }),
    resume: { sampler: objects.sampler.state(), schedulerStep: step, skippedSteps: 0, scaler: null },
  });
}

/** A copy of the template with the folders' mtimes inverted (the oldest step is the newest file). */
function copyOfTemplate(): string {
  const dir = tempDir("gen-trainer-rotation-");
  dirs.push(dir);
  for (const step of CREATION_ORDER) cpSync(join(template, `checkpoint-${step}`), join(dir, `checkpoint-${step}`), { recursive: true });
  const now = Date.now() / 1000;
  for (const step of STEPS) utimesSync(join(dir, `checkpoint-${step}`), now - 1000 + (1000 - step), now - 1000 + (1000 - step));
  return dir;
}

function remaining(dir: string): number[] {
  return readdirSync(dir)
    .map((name) => /^checkpoint-(\d+)$/.exec(name))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

beforeAll(async () => {
  await tf.setBackend("cpu");
  template = tempDir("gen-trainer-rotation-template-");
  dirs.push(template);
  const objects = trainingObjects();
  for (const step of CREATION_ORDER) await save(template, step, objects);
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("rotateCheckpoints", () => {
  // saveTotalLimit n keeps the n newest by global step, plus the best, plus always the latest (250).
  const table: { limit: number; best: number; keep: number[] }[] = [
    { limit: 1, best: 2, keep: [2, 250] },
    { limit: 1, best: 30, keep: [30, 250] },
    { limit: 1, best: 250, keep: [250] },
    { limit: 2, best: 2, keep: [2, 100, 250] },
    { limit: 2, best: 30, keep: [30, 100, 250] },
    { limit: 2, best: 250, keep: [100, 250] },
    { limit: 3, best: 2, keep: [2, 30, 100, 250] },
    { limit: 3, best: 30, keep: [30, 100, 250] },
    { limit: 3, best: 250, keep: [30, 100, 250] },
  ];
  for (const { limit, best, keep } of table) {
    const position = best === 2 ? "oldest" : best === 250 ? "newest" : "middle";
    it(`saveTotalLimit ${limit}, best checkpoint the ${position} (checkpoint-${best}): keeps ${keep.join(", ")}`, () => {
      const dir = copyOfTemplate();
      const deleted = rotateCheckpoints(dir, limit, [join(dir, `checkpoint-${best}`)]);
      expect(remaining(dir)).toEqual(keep);
      expect(readdirSync(dir).sort()).toEqual(keep.map((s) => `checkpoint-${s}`).sort()); // nothing else left behind
      expect(deleted.map((d) => resolve(d)).sort()).toEqual(
        STEPS.filter((s) => !keep.includes(s))
          .map((s) => resolve(dir, `checkpoint-${s}`))
          .sort(),
      );
      // What is kept is intact: still complete checkpoints.
      expect(listCheckpoints(dir).complete.map((c) => c.step)).toEqual(keep);
    });
  }

  it("without a best checkpoint keeps exactly the n newest; a relative best path is protected too", () => {
    const dir = copyOfTemplate();
    rotateCheckpoints(dir, 2, [null]);
    expect(remaining(dir)).toEqual([100, 250]);
    const other = copyOfTemplate();
    const relativeBest = join(other, "checkpoint-10").replace(`${process.cwd()}/`, "");
    rotateCheckpoints(other, 1, [relativeBest]);
    expect(remaining(other)).toEqual([10, 250]);
  });

  it("never counts or deletes torn and temporary folders: the latest complete checkpoint is kept", () => {
    const dir = copyOfTemplate();
    // A torn checkpoint-900 (no marker) must not count as the latest, nor be deleted.
    cpSync(join(dir, "checkpoint-250"), join(dir, "checkpoint-900"), { recursive: true });
    rmSync(join(dir, "checkpoint-900", "checkpoint.json"));
    mkdirSync(join(dir, ".checkpoint-950.tmp-4242"));
    rotateCheckpoints(dir, 1, []);
    expect(remaining(dir)).toEqual([250, 900]);
    expect(existsSync(join(dir, ".checkpoint-950.tmp-4242"))).toBe(true);
  });
});

describe("saveCheckpoint", () => {
  it("writes the files, a marker recording each size, and leaves no temporary folder", async () => {
    const dir = tempDir("gen-trainer-save-");
    dirs.push(dir);
    const path = await save(dir, 3);
    expect(path).toBe(checkpointDir(dir, 3));
    expect(readdirSync(dir)).toEqual(["checkpoint-3"]);
    expect(readdirSync(path).sort()).toEqual(["checkpoint.json", "model.safetensors", "optimizer.safetensors", "resume_state.json", "trainer_state.json"]);
    const marker = JSON.parse(readFileSync(join(path, "checkpoint.json"), "utf8")) as { global_step: number; files: Record<string, number> };
    expect(marker.global_step).toBe(3);
    expect(Object.keys(marker.files).sort()).toEqual(["model.safetensors", "optimizer.safetensors", "resume_state.json", "trainer_state.json"]);
    for (const [name, size] of Object.entries(marker.files)) expect(readFileSync(join(path, name)).length).toBe(size);
  });

  it("saving a step again replaces the old folder whole (a torn one included)", async () => {
    const dir = tempDir("gen-trainer-save-");
    dirs.push(dir);
    mkdirSync(join(dir, "checkpoint-4"));
    writeFileSync(join(dir, "checkpoint-4", "model.safetensors"), "torn");
    await save(dir, 4);
    expect(readdirSync(dir)).toEqual(["checkpoint-4"]);
    expect(listCheckpoints(dir).complete.map((c) => c.step)).toEqual([4]);
  });

  it("round trip: loadCheckpoint restores weights, AdamW moments and step, and the data order", async () => {
    const dir = tempDir("gen-trainer-save-");
    dirs.push(dir);
    const saved = trainingObjects(5);
    const path = await save(dir, 7, saved);
    const fresh = { params: tinyParams(99), sampler: new EpochSampler(10, 3, 7) };
    const optimizer = new AdamW(fresh.params, ADAMW);
    const loaded = await loadCheckpoint(path, { params: fresh.params, optimizer, sampler: fresh.sampler });
    expect(loaded.globalStep).toBe(7);
    expect(loaded.resume.schedulerStep).toBe(7);
    for (const name of Object.keys(saved.params)) {
      expect(Array.from(fresh.params[name]!.dataSync())).toEqual(Array.from(saved.params[name]!.dataSync()));
      expect(Array.from(optimizer.m[name]!.dataSync())).toEqual(Array.from(saved.optimizer.m[name]!.dataSync()));
      expect(Array.from(optimizer.v[name]!.dataSync())).toEqual(Array.from(saved.optimizer.v[name]!.dataSync()));
    }
    expect(optimizer.stepCount).toBe(3);
    expect(fresh.sampler.state()).toEqual(saved.sampler.state());
    expect(fresh.sampler.nextBatch()).toEqual(saved.sampler.nextBatch());
  });

  it("loadCheckpoint into a model of another shape fails with a UserError and changes nothing", async () => {
    const dir = tempDir("gen-trainer-save-");
    dirs.push(dir);
    const path = await save(dir, 7);
    const other: NamedParams = { "w.weight": tf.variable(tf.zeros([4, 2])), "w.bias": tf.variable(tf.zeros([2])) };
    const optimizer = new AdamW(other, ADAMW);
    const sampler = new EpochSampler(10, 3, 7);
    const error = await loadCheckpoint(path, { params: other, optimizer, sampler }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(`${join(path, "model.safetensors")}: "w.weight" has shape [3,2] but this model's is [4,2]; the checkpoint is from a model of another shape.`);
    expect(Array.from(other["w.bias"]!.dataSync())).toEqual([0, 0]);
    expect(optimizer.stepCount).toBe(0);
    expect(sampler.state()).toEqual({ epoch: 0, position: 0 });
  });

  it("loadCheckpoint with a data-order state that does not fit the training set: a UserError, nothing changed", async () => {
    const dir = tempDir("gen-trainer-save-");
    dirs.push(dir);
    const path = await save(dir, 7); // position 3 of 10 examples
    const state = JSON.parse(readFileSync(join(path, "resume_state.json"), "utf8")) as { sampler: { position: number } };
    state.sampler.position = 11; // beyond a 10-example training set
    const text = JSON.stringify(state);
    writeFileSync(join(path, "resume_state.json"), text);
    const marker = JSON.parse(readFileSync(join(path, "checkpoint.json"), "utf8")) as { files: Record<string, number> };
    marker.files["resume_state.json"] = Buffer.byteLength(text);
    writeFileSync(join(path, "checkpoint.json"), JSON.stringify(marker));
    const params = tinyParams(3);
    const before = Array.from(params["w.bias"]!.dataSync());
    const optimizer = new AdamW(params, ADAMW);
    const error = await loadCheckpoint(path, { params, optimizer, sampler: new EpochSampler(10, 3, 7) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain(join(path, "resume_state.json"));
    expect(Array.from(params["w.bias"]!.dataSync())).toEqual(before);
    expect(optimizer.stepCount).toBe(0);
  });
});

describe("findResumeCheckpoint and listCheckpoints", () => {
  /** checkpoint-2 and checkpoint-5 (complete) in a fresh folder. */
  function twoCheckpoints(): string {
    const dir = tempDir("gen-trainer-resume-");
    dirs.push(dir);
    cpSync(join(template, "checkpoint-2"), join(dir, "checkpoint-2"), { recursive: true });
    cpSync(join(template, "checkpoint-30"), join(dir, "checkpoint-5"), { recursive: true });
    return dir;
  }

  it("a temporary folder is never listed or chosen, even if it looks complete, and is removed", () => {
    const dir = twoCheckpoints();
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    cpSync(join(dir, "checkpoint-5"), join(dir, ".checkpoint-7.tmp-123"), { recursive: true });
    expect(listCheckpoints(dir).complete.map((c) => c.step)).toEqual([2, 5]);
    expect(findResumeCheckpoint("latest", dir)).toBe(join(dir, "checkpoint-5"));
    expect(existsSync(join(dir, ".checkpoint-7.tmp-123"))).toBe(false);
    expect(stderr.mock.calls.join("")).toContain(".checkpoint-7.tmp-123");
    expect(readdirSync(dir).sort()).toEqual(["checkpoint-2", "checkpoint-5"]);
  });

  it("a torn checkpoint-9 (no checkpoint.json) is reported and skipped, the newest complete one chosen, and it is kept", () => {
    const dir = twoCheckpoints();
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    cpSync(join(dir, "checkpoint-5"), join(dir, "checkpoint-9"), { recursive: true });
    rmSync(join(dir, "checkpoint-9", "checkpoint.json"));
    const listing = listCheckpoints(dir);
    expect(listing.complete.map((c) => c.step)).toEqual([2, 5]);
    expect(listing.damaged).toEqual([{ dir: join(dir, "checkpoint-9"), reason: expect.stringContaining("checkpoint.json") }]);
    expect(findResumeCheckpoint("latest", dir)).toBe(join(dir, "checkpoint-5"));
    expect(stderr.mock.calls.join("")).toMatch(/skipping .*checkpoint-9: .*checkpoint\.json/);
    expect(existsSync(join(dir, "checkpoint-9", "model.safetensors"))).toBe(true);
  });

  it("a checkpoint whose file does not match its marker (truncated) is damaged: skipped, named, kept", () => {
    const dir = twoCheckpoints();
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    truncateSync(join(dir, "checkpoint-5", "model.safetensors"), 50);
    const listing = listCheckpoints(dir);
    expect(listing.damaged[0]!.reason).toMatch(/model\.safetensors has 50 bytes but checkpoint\.json records \d+/);
    expect(findResumeCheckpoint("latest", dir)).toBe(join(dir, "checkpoint-2"));
    expect(() => findResumeCheckpoint(join(dir, "checkpoint-5"), dir)).toThrow(/checkpoint-5: cannot resume from it: model\.safetensors has 50 bytes/);
    expect(existsSync(join(dir, "checkpoint-5"))).toBe(true);
  });

  it("an explicit folder is used as given; a missing one is a UserError", () => {
    const dir = twoCheckpoints();
    expect(findResumeCheckpoint(join(dir, "checkpoint-2"), dir)).toBe(join(dir, "checkpoint-2"));
    expect(() => findResumeCheckpoint(join(dir, "checkpoint-3"), dir)).toThrow(UserError);
    expect(() => findResumeCheckpoint(join(dir, "checkpoint-3"), dir)).toThrow(/checkpoint-3: no such checkpoint folder/);
  });

  it("no complete checkpoint: a UserError that says so and how to start instead", () => {
    const dir = tempDir("gen-trainer-resume-");
    dirs.push(dir);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    mkdirSync(join(dir, "checkpoint-3")); // torn, no marker
    mkdirSync(join(dir, ".checkpoint-4.tmp-99"));
    let error: unknown;
    try {
      findResumeCheckpoint("latest", dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(1);
    expect((error as Error).message).toBe(`--resume: ${dir} has no complete checkpoint to resume from (run without --resume to start training).`);
    expect(() => findResumeCheckpoint("latest", join(dir, "missing"))).toThrow(/has no complete checkpoint/);
  });

  it("a save killed while swapping out an older checkpoint of the same step loses neither", () => {
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    // Killed between the two renames: the old checkpoint-5 is in ...-old, the new one in the temporary folder.
    const between = twoCheckpoints();
    cpSync(join(between, "checkpoint-5"), join(between, ".checkpoint-5.tmp-321"), { recursive: true });
    cpSync(join(between, "checkpoint-5"), join(between, ".checkpoint-5.tmp-321-old"), { recursive: true });
    rmSync(join(between, "checkpoint-5"), { recursive: true });
    expect(findResumeCheckpoint("latest", between)).toBe(join(between, "checkpoint-5"));
    expect(readdirSync(between).sort()).toEqual(["checkpoint-2", "checkpoint-5"]);
    // Killed after both renames: the new checkpoint-5 is in place, the old one left in ...-old.
    const after = twoCheckpoints();
    cpSync(join(after, "checkpoint-5"), join(after, ".checkpoint-5.tmp-321-old"), { recursive: true });
    expect(removeTemporaryCheckpoints(after)).toEqual([".checkpoint-5.tmp-321-old"]);
    expect(readdirSync(after).sort()).toEqual(["checkpoint-2", "checkpoint-5"]);
  });

  it("rotation deletes a checkpoint by renaming it away first: dying mid-delete leaves no torn checkpoint-<step>", () => {
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const dir = twoCheckpoints();
    const realRm = vi.mocked(fs.rmSync).getMockImplementation()!;
    vi.mocked(fs.rmSync).mockImplementationOnce((path) => {
      // The process dies after removing the marker (the first file rm happened to take).
      realRm(join(String(path), "checkpoint.json"));
      throw new Error("killed");
    });
    expect(() => rotateCheckpoints(dir, 1, [])).toThrow("killed");
    expect(listCheckpoints(dir).damaged).toEqual([]);
    expect(existsSync(join(dir, "checkpoint-2"))).toBe(false);
    expect(findResumeCheckpoint("latest", dir)).toBe(join(dir, "checkpoint-5"));
    expect(readdirSync(dir)).toEqual(["checkpoint-5"]);
  });

  it("a rotation killed while deleting a checkpoint leaves a temporary folder (removed later), never a torn checkpoint", () => {
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const dir = twoCheckpoints();
    // What a kill in the middle of rotation's removal of checkpoint-2 leaves: part of its files.
    cpSync(join(dir, "checkpoint-2"), join(dir, ".checkpoint-2.tmp-55-deleted"), { recursive: true });
    rmSync(join(dir, "checkpoint-2"), { recursive: true });
    rmSync(join(dir, ".checkpoint-2.tmp-55-deleted", "checkpoint.json"));
    expect(listCheckpoints(dir)).toEqual({ complete: [{ step: 5, dir: join(dir, "checkpoint-5") }], damaged: [] });
    expect(findResumeCheckpoint("latest", dir)).toBe(join(dir, "checkpoint-5"));
    expect(readdirSync(dir)).toEqual(["checkpoint-5"]); // removed, not moved back
  });
});
