// A disk that fills up mid-run: saveCheckpoint, writeModel, writeTrainerState and the
// metrics.jsonl append on a small tmpfs (a real ENOSPC from the kernel, no mocks) must stop with a
// UserError (exit code 74) naming the file, "the disk is full" and the checkpoint to resume from;
// earlier checkpoints stay complete and loadable, nothing temporary is left or listed, and
// metrics.jsonl never ends in a torn line. Plus the torn-tail repair of metrics.jsonl on resume
// (no tmpfs needed).
//
// The tmpfs needs root and a mount that is allowed (not in every container); elsewhere those
// tests are skipped with the reason — except under CI, where they must run, and fail instead.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from "../../runtime/checkpoint.ts";
import { dropTornTail, WRITE_ERROR_EXIT_CODE } from "../../runtime/files.ts";
import { TrainingLog } from "../../runtime/logging.ts";
import { writeModel } from "../../runtime/model-io.ts";
import { AdamW } from "../../runtime/optimizer.ts";
import { EpochSampler } from "../../runtime/sampler.ts";
import { trainerState, writeTrainerState } from "../../runtime/trainer-state.ts";
import type { NamedParams } from "../../runtime/types.ts";
import { UserError } from "../../runtime/user-error.ts";
import { itOnTmpfs, mountTmpfs, tempDir, unmountTmpfs } from "../helpers.ts";

// ---------------------------------------------------------------------------------------------
// the tmpfs: mounted while the file is collected, so that skipIf knows whether it is there

const mount = mountTmpfs("256k", "gen-trainer-disk-full-");
const onTmpfs = itOnTmpfs(mount.skip);

beforeAll(async () => {
  await tf.setBackend("cpu");
});

afterAll(() => unmountTmpfs(mount));

// ---------------------------------------------------------------------------------------------
// helpers

/**
 * Parameters of ~49 KB (and so checkpoints of ~150 KB with AdamW's two moments): the first
 * checkpoint fits the 256k tmpfs, a second one does not.
 */
function params(seed: number): NamedParams {
  return {
    "w.weight": tf.variable(tf.randomNormal([96, 128], 0, 1, "float32", seed), true, `dfw.${seed}.${Math.random()}`),
    "w.bias": tf.variable(tf.randomNormal([128], 0, 1, "float32", seed + 1), true, `dfb.${seed}.${Math.random()}`),
  };
}

function trainingObjects(seed = 1) {
  const p = params(seed);
  const optimizer = new AdamW(p, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 });
  const grads = tf.tidy(() => Object.fromEntries(Object.entries(p).map(([name, v]) => [name, v.mul(0.5)])));
  optimizer.step(grads, 0.01);
  tf.dispose(Object.values(grads));
  const sampler = new EpochSampler(10, 3, 7);
  sampler.nextBatch();
  return { params: p, optimizer, sampler };
}

function save(outputDir: string, step: number, objects: ReturnType<typeof trainingObjects>): Promise<string> {
  return saveCheckpoint(outputDir, step, {
    params: objects.params,
    optimizer: objects.optimizer,
    trainerState: trainerState({ global_step: step, epoch: 0.1, max_steps: 100, train_batch_size: 3, log_history: [{ loss: 1, step }] }),
    resume: { sampler: objects.sampler.state(), schedulerStep: step, skippedSteps: 0, scaler: null },
  });
}

/** The error `promise` rejects with (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the write to fail, but it succeeded");
}

/** Fills the disk of `dir` with a file until the kernel says ENOSPC; returns the file, to remove. */
function fillDisk(dir: string): string {
  const path = join(dir, "filler");
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
  } finally {
    closeSync(fd);
  }
  return path;
}

function temporaries(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.includes(".tmp-"));
}

/** Every line of a JSON-lines file parses and the file ends with a newline. */
function expectWholeLines(path: string): string[] {
  const text = readFileSync(path, "utf8");
  if (text !== "") expect(text.endsWith("\n")).toBe(true);
  const lines = text.split("\n").filter(Boolean);
  for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  return lines;
}

function expectDiskFullMessage(error: Error, path: string, resumeFrom: string | null): void {
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).exitCode).toBe(WRITE_ERROR_EXIT_CODE);
  expect(error.message).toContain(path);
  expect(error.message).toContain("the disk is full (ENOSPC)");
  expect(error.message).toContain("--output-dir");
  expect(error.message).not.toContain("\n");
  if (resumeFrom) expect(error.message).toContain(`--resume ${resumeFrom}, the last complete checkpoint`);
  else expect(error.message).toContain("no complete checkpoint");
}

// ---------------------------------------------------------------------------------------------

describe("a full disk", () => {
  onTmpfs("while saving a checkpoint: a plain message, the earlier checkpoint intact and loadable, no temporary folder", async () => {
    const out = join(mount.dir, "save");
    const objects = trainingObjects(1);
    const first = await save(out, 10, objects);
    const log = new TrainingLog({ outputDir: out, console: false, jsonl: true, maxSteps: 100, append: false });
    log.train(10, { loss: 1.5 });

    const error = await rejection(save(out, 20, objects));
    expectDiskFullMessage(error, join(out, "checkpoint-20"), first);
    expect(error.message).toMatch(/^cannot save checkpoint \S+checkpoint-20: writing \S+\.checkpoint-20\.tmp-\d+\/\S+ failed: the disk is full \(ENOSPC\)\./);

    // The failed save's temporary folder is gone, and it was never a checkpoint.
    expect(temporaries(out)).toEqual([]);
    expect(existsSync(join(out, "checkpoint-20"))).toBe(false);
    const listing = listCheckpoints(out);
    expect(listing.complete.map((c) => c.step)).toEqual([10]);
    expect(listing.damaged).toEqual([]);

    // checkpoint-10 still loads, and holds what was saved.
    const fresh = trainingObjects(2);
    const loaded = await loadCheckpoint(first, fresh);
    expect(loaded.globalStep).toBe(10);
    expect(Array.from(fresh.params["w.weight"]!.dataSync())).toEqual(Array.from(objects.params["w.weight"]!.dataSync()));
    expectWholeLines(join(out, "metrics.jsonl"));
    rmSync(out, { recursive: true, force: true });
  });

  onTmpfs("while writing model.safetensors and trainer_state.json: a plain message naming them, no temporary file", async () => {
    const out = join(mount.dir, "final");
    mkdirSync(out);
    writeFileSync(join(out, "checkpoint-3"), ""); // not a checkpoint folder: never named for --resume
    const filler = fillDisk(mount.dir);
    try {
      const model = await rejection(writeModel(out, params(3)));
      expectDiskFullMessage(model, join(out, "model.safetensors"), null);
      expect(model.message).toMatch(/^cannot write \S+model\.safetensors: the disk is full \(ENOSPC\)\. Free some space/);
      const state = await rejection(writeTrainerState(out, { global_step: 5, epoch: 1, max_steps: 5, train_batch_size: 3, log_history: [{ loss: 1, step: 5, text: "x".repeat(20_000) }] }));
      expectDiskFullMessage(state, join(out, "trainer_state.json"), null);
      expect(temporaries(out)).toEqual([]);
      expect(existsSync(join(out, "model.safetensors"))).toBe(false);
    } finally {
      rmSync(filler);
    }
    // With a complete checkpoint there, the message names it.
    rmSync(join(out, "checkpoint-3"));
    const saved = await save(out, 4, trainingObjects(4));
    const filler2 = fillDisk(mount.dir);
    try {
      expectDiskFullMessage(await rejection(writeModel(out, params(3))), join(out, "model.safetensors"), saved);
    } finally {
      rmSync(filler2);
    }
    rmSync(out, { recursive: true, force: true });
  });

  onTmpfs("while appending to metrics.jsonl: a plain message, and the file keeps only whole lines", async () => {
    const out = join(mount.dir, "log");
    const log = new TrainingLog({ outputDir: out, console: false, jsonl: true, maxSteps: 100, append: false });
    for (let step = 1; step <= 3; step++) log.train(step, { loss: 2 / step });
    const path = join(out, "metrics.jsonl");
    const before = readFileSync(path, "utf8");
    const filler = fillDisk(mount.dir);
    try {
      // Longer than what is left in the file's last page: the write goes part-way, then ENOSPC.
      const error = (() => {
        try {
          log.event("sample", 4, { text: "y".repeat(20_000) });
        } catch (e) {
          return e as Error;
        }
        throw new Error("expected the append to fail");
      })();
      expectDiskFullMessage(error, path, null);
      expect(readFileSync(path, "utf8")).toBe(before); // cut back: no torn line
      expect(expectWholeLines(path)).toHaveLength(3);
      // A short line may still fit in the last page: if it does, it is whole.
      try {
        log.train(5, { loss: 0.5 });
      } catch (e) {
        expectDiskFullMessage(e as Error, path, null);
      }
      expectWholeLines(path);
    } finally {
      rmSync(filler);
    }
    log.train(6, { loss: 0.25 });
    expect(expectWholeLines(path).at(-1)).toContain('"step":6');
    expect(statSync(path).size).toBeGreaterThan(before.length);
    rmSync(out, { recursive: true, force: true });
  });
});

describe("metrics.jsonl's torn tail", () => {
  const lines = ['{"type":"train","loss":2,"step":1}', '{"type":"train","loss":1,"step":2}', '{"type":"save","step":2,"checkpoint":"c"}'];

  it("dropTornTail drops a last line without its newline, or that is not JSON, and nothing else", () => {
    const dir = tempDir("gen-trainer-torn-");
    const path = join(dir, "metrics.jsonl");
    const whole = lines.map((l) => `${l}\n`).join("");
    for (const [tail, dropped] of [
      ['{"type":"train","lo', 19], // killed mid-write
      ['{"type":"train","loss":3,"step":3}', 34], // complete JSON, but no newline: the write was cut
      ["\0\0\0\0\0\0", 6], // a crash left zeros
      ["\0\0\0\n", 4],
      ['{"type":"tr\n\0\0', 14],
      ["", 0],
    ] as const) {
      writeFileSync(path, whole + tail);
      expect(dropTornTail(path)).toBe(dropped);
      expect(readFileSync(path, "utf8")).toBe(whole);
    }
    writeFileSync(path, "");
    expect(dropTornTail(path)).toBe(0);
    writeFileSync(path, '{"a":');
    expect(dropTornTail(path)).toBe(5);
    expect(readFileSync(path, "utf8")).toBe("");
    expect(dropTornTail(join(dir, "missing.jsonl"))).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a log opened to append (a resumed run) repairs the tail before its first line", () => {
    const dir = tempDir("gen-trainer-torn-");
    const path = join(dir, "metrics.jsonl");
    writeFileSync(path, `${lines.join("\n")}\n{"type":"train","loss":0.`);
    const log = new TrainingLog({ outputDir: dir, console: false, jsonl: true, maxSteps: 10, append: true });
    expect(readFileSync(path, "utf8")).toBe(`${lines.join("\n")}\n`);
    log.resumeFrom(1, [{ loss: 2, step: 1 }]); // the events after step 1 were of lost work
    expect(readFileSync(path, "utf8")).toBe(`${lines[0]}\n`);
    log.train(2, { loss: 1.5 });
    const kept = expectWholeLines(path);
    expect(kept.map((l) => (JSON.parse(l) as { step: number }).step)).toEqual([1, 2]);
    rmSync(dir, { recursive: true, force: true });
  });
});
