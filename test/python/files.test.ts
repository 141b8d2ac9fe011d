/**
 * test/python/files.test.ts — the files half of python/gen_trainer (safetensors_io, checkpoint,
 * logging, meters, best, run, distributed) against the TypeScript runtime it mirrors.
 *
 * Cross-compatibility is the point: a file written by either side is read by the other with the
 * same contents, and where the TypeScript runtime is deterministic the Python one writes the same
 * bytes (safetensors files, whole checkpoints, metrics.jsonl lines, console lines, messages).
 * The TypeScript side runs in-process on the tfjs cpu backend; Python runs in child processes.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { hostname } from "node:os";
import { join, relative } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { BestMetric } from "../../runtime/best-metric.ts";
import { checkpointProblem } from "../../runtime/checkpoint-marker.ts";
import { findResumeCheckpoint, listCheckpoints, loadCheckpoint, rotateCheckpoints, saveCheckpoint } from "../../runtime/checkpoint.ts";
import { stopDiverged } from "../../runtime/divergence.ts";
import { EarlyStopping } from "../../runtime/early-stopping.ts";
import { type LogEntry, TrainingLog } from "../../runtime/logging.ts";
import { RunningMean } from "../../runtime/meters.ts";
import { writeModel } from "../../runtime/model-io.ts";
import { AdamW } from "../../runtime/optimizer.ts";
import { decodeSafetensors, encodeSafetensors, readSafetensorsFile, SafetensorsError, type SafetensorsTensor } from "../../runtime/safetensors.ts";
import { EpochSampler } from "../../runtime/sampler.ts";
import { trainerState, writeTrainerState } from "../../runtime/trainer-state.ts";
import type { NamedParams } from "../../runtime/types.ts";
import { PYTHON, ROOT, runPython, tempDir, torchMissing } from "../helpers.ts";

const skip = torchMissing();

/** Prepended to every script: INPUT (the JSON the test passes as argv[1]), out(value) as JSON.stringify writes it. */
const PRELUDE = `
import json, math, os, sys
import torch
torch.set_num_threads(1)
INPUT = json.loads(sys.argv[1]) if len(sys.argv) > 1 else None
def out(value):
    from gen_trainer.files import js_json
    sys.stdout.write(js_json(value))
def data(t):
    return t.detach().flatten().tolist()
def num(v):
    return float(v) if v in ("NaN", "Infinity", "-Infinity") else v
`;

/** Runs PRELUDE + script with `input` as its argv[1]; fails with its stderr unless it exits 0; returns its JSON. */
function py<T = any>(script: string, input: unknown = null): T {
  const r = runPython(PRELUDE + script, [JSON.stringify(input)]);
  if (r.status !== 0) throw new Error(`python exited with ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.json() as T;
}

const dirs: string[] = [];
function scratch(prefix = "gen-trainer-pyfiles-"): string {
  const dir = tempDir(prefix);
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  await tf.setBackend("cpu");
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const bytesOf = (path: string) => readFileSync(path);

// ---------------------------------------------------------------------------------------------

describe.skipIf(skip)("safetensors_io", () => {
  const tensors: Record<string, SafetensorsTensor> = {
    "w.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, 65504, -0, Math.PI]) },
    ids: { dtype: "I32", shape: [4], data: new Int32Array([0, -1, 2147483647, -2147483648]) },
    scalar: { dtype: "F32", shape: [], data: new Float32Array([7]) },
    empty: { dtype: "F32", shape: [0, 5], data: new Float32Array(0) },
    "h.0.ünï": { dtype: "F32", shape: [1, 1], data: new Float32Array([0.1]) },
  };
  const metadata = { format: "pt", step: "12", note: "é \"quoted\"" };

  it("TS writes, Python reads the same names, shapes and values; Python writes the same tensors back byte for byte; TS reads Python's", async () => {
    const dir = scratch();
    const fromTs = join(dir, "ts.safetensors");
    writeFileSync(fromTs, encodeSafetensors(tensors, metadata));
    const result = py<{ names: string[]; metadata: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; data: number[] }>; negativeZero: boolean; own: Record<string, { dtype: string; shape: number[]; data: number[] }> }>(
      `
from gen_trainer.safetensors_io import read_safetensors, write_safetensors
tensors, metadata = read_safetensors(INPUT["fromTs"])
write_safetensors(INPUT["back"], tensors, metadata)
torch.manual_seed(0)
own = {"b.weight": torch.randn(4, 3), "steps": torch.arange(-3, 3, dtype=torch.int32), "s": torch.tensor(-0.0)}
write_safetensors(INPUT["fromPy"], own, {"format": "pt"})
out({
    "names": list(tensors),
    "metadata": metadata,
    "tensors": {k: {"dtype": str(t.dtype), "shape": list(t.shape), "data": data(t)} for k, t in tensors.items()},
    "negativeZero": math.copysign(1.0, tensors["w.weight"].flatten()[4].item()) < 0,
    "own": {k: {"dtype": str(t.dtype), "shape": list(t.shape), "data": data(t)} for k, t in own.items()},
})
`,
      { fromTs, back: join(dir, "back.safetensors"), fromPy: join(dir, "py.safetensors") },
    );
    expect(result.names).toEqual(Object.keys(tensors));
    expect(result.metadata).toEqual(metadata);
    for (const [name, t] of Object.entries(tensors)) {
      const got = result.tensors[name]!;
      expect(got.dtype).toBe(t.dtype === "F32" ? "torch.float32" : "torch.int32");
      expect(got.shape).toEqual(t.shape);
      expect(got.data).toEqual(Array.from(t.data, (x) => (Object.is(x, -0) ? 0 : x))); // JSON has no -0: checked next
    }
    expect(result.negativeZero).toBe(true);
    // The TS encoder is deterministic: the same tensors and metadata give the same bytes.
    expect(bytesOf(join(dir, "back.safetensors")).equals(bytesOf(fromTs))).toBe(true);

    const read = await readSafetensorsFile(join(dir, "py.safetensors"));
    expect(read.metadata).toEqual({ format: "pt" });
    expect(Object.keys(read.tensors)).toEqual(["b.weight", "steps", "s"]);
    for (const [name, t] of Object.entries(result.own)) {
      expect(read.tensors[name]!.dtype).toBe(t.dtype === "torch.float32" ? "F32" : "I32");
      expect(read.tensors[name]!.shape).toEqual(t.shape);
      expect(Array.from(read.tensors[name]!.data, (x) => (Object.is(x, -0) ? 0 : x))).toEqual(t.data);
    }
    expect(Object.is(read.tensors.s!.data[0], -0)).toBe(true);
    // And TS encoding what it read from Python's file gives Python's bytes.
    expect(Buffer.from(encodeSafetensors(read.tensors, read.metadata)).equals(bytesOf(join(dir, "py.safetensors")))).toBe(true);
  });

  it("damaged files: Python refuses what TS refuses, with the same message", () => {
    const raw = (header: unknown, buffer: Uint8Array = new Uint8Array(0), headerText = JSON.stringify(header)) => {
      const json = new TextEncoder().encode(headerText);
      const bytes = new Uint8Array(8 + json.length + buffer.length);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
      bytes.set(json, 8);
      bytes.set(buffer, 8 + json.length);
      return bytes;
    };
    const good = encodeSafetensors({ a: tensors["w.weight"]!, b: tensors.ids! });
    const cases: Uint8Array[] = [
      new Uint8Array([1, 2, 3, 4]),
      good.subarray(0, good.length - 4),
      raw({ a: { dtype: "F16", shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)),
      raw({ a: { dtype: "X9", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      raw({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      raw({ a: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)),
      raw({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)),
      raw({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(12)),
      raw({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, b: { dtype: "F32", shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      raw({ __metadata__: { step: 3 } }),
      raw({ a: { dtype: "F32", shape: [1] } }, new Uint8Array(4)),
      raw(null, new Uint8Array(0), "[1,2]"),
      raw(null, new Uint8Array(0), " {}"),
    ];
    const expected = cases.map((bytes) => {
      try {
        decodeSafetensors(bytes, "bad.safetensors");
        return "accepted";
      } catch (error) {
        expect(error).toBeInstanceOf(SafetensorsError);
        return (error as Error).message;
      }
    });
    const got = py<string[]>(
      `
import base64
from gen_trainer.safetensors_io import SafetensorsError, decode_safetensors
messages = []
for text in INPUT:
    try:
        decode_safetensors(base64.b64decode(text), "bad.safetensors")
        messages.append("accepted")
    except SafetensorsError as error:
        messages.append(str(error))
out(messages)
`,
      cases.map((c) => Buffer.from(c).toString("base64")),
    );
    expect(got).toEqual(expected);
    expect(expected.every((m) => m.startsWith("bad.safetensors: "))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

const ADAMW = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 };

function tinyParams(seed: number): NamedParams {
  return {
    "w.weight": tf.variable(tf.randomNormal([3, 2], 0, 1, "float32", seed), true, `py.w.weight.${seed}.${Math.random()}`),
    "w.bias": tf.variable(tf.randomNormal([2], 0, 1, "float32", seed + 1), true, `py.w.bias.${seed}.${Math.random()}`),
  };
}

/** Parameters, their AdamW after three steps, and a sampler part-way through epoch 1 (as checkpoint-rotation.test.ts). */
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

function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

const CHECKPOINT_FILES = ["checkpoint.json", "model.safetensors", "optimizer.safetensors", "resume_state.json", "trainer_state.json"];

/** Python's objects for the tiny model: zero weights, a fresh AdamW and EpochSampler(10, 3, 7). */
const PY_OBJECTS = `
from gen_trainer.optim import AdamW
from gen_trainer.sampler import EpochSampler
def fresh():
    named = {"w.weight": torch.nn.Parameter(torch.zeros(3, 2)), "w.bias": torch.nn.Parameter(torch.zeros(2))}
    return named, AdamW(named, 0.9, 0.999, 1e-8, 0.01), EpochSampler(10, 3, 7)
def contents(named, optimizer):
    return {
        "weights": {k: data(p) for k, p in named.items()},
        "m": {k: data(optimizer.m[k]) for k in named},
        "v": {k: data(optimizer.v[k]) for k in named},
        "step_count": optimizer.step_count,
    }
`;

describe.skipIf(skip)("checkpoint", () => {
  it("a TS checkpoint loads in Python (weights, moments, step, data order, lossMean), and Python saves it again byte for byte", async () => {
    const dir = scratch();
    const saved = trainingObjects(5);
    const path = await saveCheckpoint(dir, 7, {
      params: saved.params,
      optimizer: saved.optimizer,
      trainerState: trainerState({
        global_step: 7,
        epoch: saved.sampler.epochProgress,
        max_steps: 300,
        train_batch_size: 3,
        log_history: [
          { epoch: 0.3, loss: 2.6724300384521484, learning_rate: 0.00003, grad_norm: Number.NaN, step: 5 },
          { eval_loss: 1.0625, eval_exact_match: 0.5, epoch: 0.6, step: 6 },
        ],
        best_metric: 1.0625,
        best_global_step: 6,
        best_model_checkpoint: join(dir, "checkpoint-6"),
        stateful_callbacks: { EarlyStoppingCallback: { args: { early_stopping_patience: 3, early_stopping_threshold: 0.001 }, attributes: { early_stopping_patience_counter: 1, best_metric: 1.0625 } } },
      }),
      resume: { sampler: saved.sampler.state(), schedulerStep: 7, lossMean: { sum: Math.fround(3.7), count: 2 } },
    });
    const again = join(scratch(), "again");
    const got = py(
      PY_OBJECTS +
        `
from gen_trainer.checkpoint import load_checkpoint, save_checkpoint
from gen_trainer.meters import RunningMean
named, optimizer, sampler = fresh()
loaded = load_checkpoint(INPUT["path"], named, optimizer, sampler)
mean = RunningMean()
mean.restore(loaded.resume["lossMean"])
result = {
    **contents(named, optimizer),
    "dir": loaded.dir, "global_step": loaded.global_step, "resume": loaded.resume, "trainer_state": loaded.trainer_state,
    "sampler": sampler.state(), "next_batch": list(sampler.next_batch()), "loss_mean": mean.state(),
}
sampler.restore(loaded.resume["sampler"])
result["saved_again"] = save_checkpoint(INPUT["again"], loaded.global_step, named, optimizer, loaded.trainer_state, loaded.resume)
out(result)
`,
      { path, again },
    );
    for (const name of Object.keys(saved.params)) {
      expect(got.weights[name]).toEqual(values(saved.params[name]!));
      expect(got.m[name]).toEqual(values(saved.optimizer.m[name]!));
      expect(got.v[name]).toEqual(values(saved.optimizer.v[name]!));
    }
    expect(got.weights["w.bias"]).not.toEqual([0, 0]);
    expect(got.step_count).toBe(3);
    expect(got.global_step).toBe(7);
    expect(got.dir).toBe(path);
    expect(got.sampler).toEqual({ epoch: 1, position: 3 });
    expect(got.next_batch).toEqual(saved.sampler.nextBatch());
    expect(got.loss_mean).toEqual({ sum: Math.fround(3.7), count: 2 });
    expect(got.resume).toEqual(JSON.parse(readFileSync(join(path, "resume_state.json"), "utf8")));
    expect(got.trainer_state).toEqual(JSON.parse(readFileSync(join(path, "trainer_state.json"), "utf8")));
    expect(got.saved_again).toBe(join(again, "checkpoint-7"));
    expect(readdirSync(again)).toEqual(["checkpoint-7"]);
    expect(readdirSync(got.saved_again).sort()).toEqual(CHECKPOINT_FILES);
    for (const file of CHECKPOINT_FILES) expect(bytesOf(join(got.saved_again, file)).toString("hex"), file).toBe(bytesOf(join(path, file)).toString("hex"));
  });

  it("a Python checkpoint is complete for TS (checkpointProblem null) and loadCheckpoint restores its contents; TS saves it again byte for byte", async () => {
    const dir = scratch();
    const got = py(
      PY_OBJECTS +
        `
from gen_trainer.checkpoint import save_checkpoint, trainer_state, write_model, write_trainer_state
from gen_trainer.meters import RunningMean
named, optimizer, sampler = fresh()
torch.manual_seed(3)
with torch.no_grad():
    for p in named.values():
        p.copy_(torch.randn(p.shape))
for i in range(4):
    for p in named.values():
        p.grad = p.detach() * (0.25 + i)
    optimizer.step(0.01)
sampler.next_batch(); sampler.next_batch()
mean = RunningMean()
for loss in (2.5, 1.1, 0.3):
    mean.add(torch.tensor(loss))
history = [{"epoch": 0.3, "loss": 2.75, "learning_rate": 3e-05, "grad_norm": float("nan"), "step": 2}, {"eval_loss": 1.5, "epoch": 0.6, "step": 4}]
state = trainer_state(global_step=4, epoch=sampler.epoch_progress, max_steps=20, train_batch_size=3, log_history=history, best_metric=1.5, best_global_step=4, best_model_checkpoint=os.path.join(INPUT["dir"], "checkpoint-4"))
resume = {"sampler": sampler.state(), "schedulerStep": 4, "lossMean": mean.state()}
path = save_checkpoint(INPUT["dir"], 4, named, optimizer, state, resume)
only_model = save_checkpoint(INPUT["dir"], 5, named, None, state, None)
write_model(INPUT["dir"], named)
write_trainer_state(INPUT["dir"], state)
out({**contents(named, optimizer), "path": path, "only_model": only_model, "sampler": sampler.state(), "resume": resume, "trainer_state": state})
`,
      { dir },
    );
    const path = join(dir, "checkpoint-4");
    expect(got.path).toBe(path);
    expect(checkpointProblem(path)).toBeNull();
    expect(checkpointProblem(got.only_model)).toBeNull();
    expect(readdirSync(got.only_model).sort()).toEqual(["checkpoint.json", "model.safetensors", "trainer_state.json"]);
    expect(listCheckpoints(dir)).toEqual({ complete: [{ step: 4, dir: path }, { step: 5, dir: join(dir, "checkpoint-5") }], damaged: [] });

    const params = tinyParams(99);
    const optimizer = new AdamW(params, ADAMW);
    const sampler = new EpochSampler(10, 3, 7);
    const loaded = await loadCheckpoint(path, { params, optimizer, sampler });
    expect(loaded.globalStep).toBe(4);
    for (const name of Object.keys(params)) {
      expect(values(params[name]!)).toEqual(got.weights[name]);
      expect(values(optimizer.m[name]!)).toEqual(got.m[name]);
      expect(values(optimizer.v[name]!)).toEqual(got.v[name]);
    }
    expect(optimizer.stepCount).toBe(4);
    expect(sampler.state()).toEqual({ epoch: 0, position: 6 });
    expect(loaded.resume).toEqual(got.resume);
    expect(loaded.resume.lossMean!.sum).toBe(Math.fround(Math.fround(Math.fround(2.5) + Math.fround(1.1)) + Math.fround(0.3)));
    expect(loaded.trainerState).toEqual(got.trainer_state); // grad_norm NaN: null in both
    expect(loaded.trainerState.log_history[0]).toEqual({ epoch: 0.3, loss: 2.75, learning_rate: 0.00003, grad_norm: null, step: 2 });

    // The same contents saved by TS give the same bytes.
    const tsDir = scratch();
    const again = await saveCheckpoint(tsDir, 4, { params, optimizer, trainerState: loaded.trainerState, resume: loaded.resume });
    for (const file of CHECKPOINT_FILES) expect(bytesOf(join(again, file)).toString("hex"), file).toBe(bytesOf(join(path, file)).toString("hex"));
    await writeModel(tsDir, params);
    await writeTrainerState(tsDir, loaded.trainerState);
    for (const file of ["model.safetensors", "trainer_state.json"]) expect(bytesOf(join(tsDir, file)).equals(bytesOf(join(dir, file))), file).toBe(true);
  });

  it("load_checkpoint refuses what TS refuses, with the same message, and changes nothing", async () => {
    const dir = scratch();
    const path = await saveCheckpoint(dir, 7, {
      params: trainingObjects(2).params,
      optimizer: trainingObjects(2).optimizer,
      trainerState: trainerState({ global_step: 7, epoch: 1, max_steps: 10, train_batch_size: 3, log_history: [] }),
      resume: { sampler: { epoch: 1, position: 11 }, schedulerStep: 7 },
    });
    const other = await saveCheckpoint(join(dir, "other"), 3, {
      params: { "w.weight": tf.variable(tf.zeros([4, 2])), "w.bias": tf.variable(tf.zeros([2])) },
      optimizer: null,
      trainerState: trainerState({ global_step: 3, epoch: 1, max_steps: 10, train_batch_size: 3, log_history: [] }),
      resume: null,
    });
    const expected: string[] = [];
    for (const dirToLoad of [path, other]) {
      const params = tinyParams(4);
      const error = await loadCheckpoint(dirToLoad, { params, optimizer: new AdamW(params, ADAMW), sampler: new EpochSampler(10, 3, 7) }).catch((e: unknown) => e);
      expected.push((error as Error).message);
    }
    const got = py<{ messages: string[]; unchanged: boolean }>(
      PY_OBJECTS +
        `
from gen_trainer.checkpoint import load_checkpoint
from gen_trainer.run import UserError
messages, unchanged = [], True
for path in INPUT:
    named, optimizer, sampler = fresh()
    try:
        load_checkpoint(path, named, optimizer, sampler)
        messages.append("loaded")
    except UserError as error:
        messages.append(str(error))
    unchanged = unchanged and all(float(p.abs().sum()) == 0 for p in named.values()) and optimizer.step_count == 0 and sampler.state() == {"epoch": 0, "position": 0}
out({"messages": messages, "unchanged": unchanged})
`,
      [path, other],
    );
    expect(got.messages).toEqual(expected);
    expect(expected[0]).toContain("Invalid data-order state");
    expect(expected[1]).toContain("saveOnlyModel");
    expect(got.unchanged).toBe(true);
  });

  describe("rotation, listing and --resume", () => {
    const STEPS = [2, 10, 30, 100, 250];
    const CREATION_ORDER = [30, 250, 2, 100, 10];
    let template: string;

    beforeAll(async () => {
      template = scratch("gen-trainer-pyrotation-");
      const objects = trainingObjects();
      for (const step of CREATION_ORDER) {
        await saveCheckpoint(template, step, {
          params: objects.params,
          optimizer: objects.optimizer,
          trainerState: trainerState({ global_step: step, epoch: 1, max_steps: 300, train_batch_size: 3, log_history: [{ loss: 1, step }] }),
          resume: { sampler: objects.sampler.state(), schedulerStep: step },
        });
      }
    });

    function copy(): string {
      const dir = scratch("gen-trainer-pyrotation-");
      for (const step of CREATION_ORDER) cpSync(join(template, `checkpoint-${step}`), join(dir, `checkpoint-${step}`), { recursive: true });
      return dir;
    }

    function remaining(dir: string): string[] {
      return readdirSync(dir).sort();
    }

    it("rotate_checkpoints keeps the same set as rotateCheckpoints (limit, best, latest; torn and temporary folders untouched)", () => {
      const table: { limit: number; best: number | null; keep: number[] }[] = [
        { limit: 1, best: 2, keep: [2, 250] },
        { limit: 1, best: 30, keep: [30, 250] },
        { limit: 1, best: 250, keep: [250] },
        { limit: 2, best: 2, keep: [2, 100, 250] },
        { limit: 2, best: 30, keep: [30, 100, 250] },
        { limit: 2, best: 250, keep: [100, 250] },
        { limit: 3, best: 2, keep: [2, 30, 100, 250] },
        { limit: 3, best: 30, keep: [30, 100, 250] },
        { limit: 3, best: 250, keep: [30, 100, 250] },
        { limit: 2, best: null, keep: [100, 250] },
      ];
      const cases = table.map(({ limit, best }) => {
        const ts = copy();
        const python = copy();
        return { ...{ limit, best }, ts, python, protect: best === null ? [null] : [join(python, `checkpoint-${best}`)] };
      });
      // A relative path protects too; a torn checkpoint-900 and a temporary folder are left alone.
      const relativeTs = copy();
      const relativePy = copy();
      const tornTs = copy();
      const tornPy = copy();
      for (const dir of [tornTs, tornPy]) {
        cpSync(join(dir, "checkpoint-250"), join(dir, "checkpoint-900"), { recursive: true });
        rmSync(join(dir, "checkpoint-900", "checkpoint.json"));
        mkdirSync(join(dir, ".checkpoint-950.tmp-4242"));
      }
      const extra = [
        { limit: 1, ts: relativeTs, python: relativePy, protect: [relative(ROOT, join(relativePy, "checkpoint-10"))], tsProtect: [relative(process.cwd(), join(relativeTs, "checkpoint-10"))] },
        { limit: 1, ts: tornTs, python: tornPy, protect: [], tsProtect: [] },
      ];
      const deleted = py<string[][]>(
        `
from gen_trainer.checkpoint import rotate_checkpoints
out([[os.path.basename(d) for d in rotate_checkpoints(c["python"], c["limit"], c["protect"])] for c in INPUT])
`,
        [...cases, ...extra].map(({ python, limit, protect }) => ({ python, limit, protect })),
      );
      cases.forEach((c, i) => {
        const tsDeleted = rotateCheckpoints(c.ts, c.limit, c.best === null ? [null] : [join(c.ts, `checkpoint-${c.best}`)]).map((d) => d.slice(c.ts.length + 1));
        expect(remaining(c.python), `limit ${c.limit}, best ${c.best}`).toEqual(remaining(c.ts));
        expect(remaining(c.python)).toEqual(table[i]!.keep.map((s) => `checkpoint-${s}`).sort());
        expect(deleted[i]).toEqual(tsDeleted);
        expect(deleted[i]!.length).toBe(STEPS.length - table[i]!.keep.length);
      });
      extra.forEach((c, j) => {
        rotateCheckpoints(c.ts, c.limit, c.tsProtect);
        expect(remaining(c.python)).toEqual(remaining(c.ts));
        expect(deleted[cases.length + j]!.length).toBe(j === 0 ? 3 : 4);
      });
      expect(remaining(relativePy)).toEqual(["checkpoint-10", "checkpoint-250"]);
      expect(remaining(tornPy)).toEqual([".checkpoint-950.tmp-4242", "checkpoint-250", "checkpoint-900"]);
    });

    it("list_checkpoints and find_resume_checkpoint: the same listing, choice, notes and messages as TS", () => {
      const make = () => {
        const dir = scratch("gen-trainer-pyresume-");
        cpSync(join(template, "checkpoint-2"), join(dir, "checkpoint-2"), { recursive: true });
        cpSync(join(template, "checkpoint-30"), join(dir, "checkpoint-5"), { recursive: true });
        truncateSync(join(dir, "checkpoint-5", "model.safetensors"), 50);
        cpSync(join(template, "checkpoint-10"), join(dir, "checkpoint-9"), { recursive: true });
        rmSync(join(dir, "checkpoint-9", "checkpoint.json"));
        cpSync(join(template, "checkpoint-100"), join(dir, ".checkpoint-7.tmp-123"), { recursive: true });
        return dir;
      };
      const empty = (root: string) => {
        mkdirSync(join(root, "empty", "checkpoint-3"), { recursive: true });
        return join(root, "empty");
      };
      const tsDir = make();
      const pyDir = make();
      const stderr: string[] = [];
      vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
        stderr.push(String(chunk));
        return true;
      });
      const attempt = (f: () => unknown) => {
        try {
          return f();
        } catch (error) {
          return `error: ${(error as Error).message}`;
        }
      };
      const ts = {
        listing: listCheckpoints(tsDir),
        latest: attempt(() => findResumeCheckpoint("latest", tsDir)),
        damaged: attempt(() => findResumeCheckpoint(join(tsDir, "checkpoint-5"), tsDir)),
        missing: attempt(() => findResumeCheckpoint(join(tsDir, "checkpoint-3"), tsDir)),
        none: attempt(() => findResumeCheckpoint("latest", empty(tsDir))),
      };
      const r = runPython(
        PRELUDE +
          `
from gen_trainer.checkpoint import find_resume_checkpoint, list_checkpoints
from gen_trainer.run import UserError
def attempt(f):
    try:
        return f()
    except UserError as error:
        return "error: " + str(error)
d = INPUT
listing = list_checkpoints(d)
os.makedirs(os.path.join(d, "empty", "checkpoint-3"))
out({
    "listing": {"complete": [{"step": c.step, "dir": c.dir} for c in listing.complete], "damaged": [{"dir": x.dir, "reason": x.reason} for x in listing.damaged]},
    "latest": attempt(lambda: find_resume_checkpoint("latest", d)),
    "damaged": attempt(lambda: find_resume_checkpoint(os.path.join(d, "checkpoint-5"), d)),
    "missing": attempt(lambda: find_resume_checkpoint(os.path.join(d, "checkpoint-3"), d)),
    "none": attempt(lambda: find_resume_checkpoint("latest", os.path.join(d, "empty"))),
})
`,
        [JSON.stringify(pyDir)],
      );
      expect(r.status, r.stderr).toBe(0);
      const got = r.json();
      expect(JSON.parse(JSON.stringify(got).replaceAll(pyDir, "DIR"))).toEqual(JSON.parse(JSON.stringify(ts).replaceAll(tsDir, "DIR")));
      expect(ts.latest).toBe(join(tsDir, "checkpoint-2"));
      expect(r.stderr.replaceAll(pyDir, "DIR")).toBe(stderr.join("").replaceAll(tsDir, "DIR"));
      expect(r.stderr).toContain(".checkpoint-7.tmp-123");
      expect(existsSync(join(pyDir, ".checkpoint-7.tmp-123"))).toBe(false);
      expect(existsSync(join(pyDir, "checkpoint-9", "model.safetensors"))).toBe(true);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe.skipIf(skip)("logging", () => {
  /** The operations of a log, as data both sides replay; "NaN" stands for NaN (JSON has none). */
  type Op = [string, ...unknown[]];
  const ops: Op[] = [
    ["message", "addition: 1234 parameters, 20000 training examples, 100 steps on cpu"],
    ["train", 1, { epoch: 0.0125, loss: 2.6724300384521484, grad_norm: 0.000012345, learning_rate: 0.003, tokens_per_sec: 1234 }],
    ["train", 50, { epoch: 0.625, loss: "NaN", grad_norm: 123456.789, learning_rate: 0.0029999999, tokens_per_sec: 98765 }],
    ["eval", 50, { eval_loss: 1.06255, eval_exact_match: 0.5, epoch: 0.625 }],
    ["event", "sample", 50, { prompt: "12+34=", text: '64"é$\n' }, `[step 50] sample: ${JSON.stringify('12+34=64"é$\n')}`],
    ["event", "save", 50, { checkpoint: "out/x/checkpoint-50" }, "[step 50] saved out/x/checkpoint-50"],
    ["train", 100, { epoch: 1.25, loss: 0, grad_norm: 1e-7, learning_rate: 0.00001, tokens_per_sec: 5, loss_scale: 65536, skipped_steps: 2 }],
    ["eval", 100, { eval_loss: 99999.99995, eval_accuracy: 1, epoch: 1.25 }],
    ["event", "diverged", 101, { loss: "NaN", grad_norm: "Infinity", cause: "the loss or the gradient norm is not finite" }],
    ["summary", 100],
  ];
  const revive = (value: unknown): unknown =>
    value === "NaN" ? Number.NaN : value === "Infinity" ? Number.POSITIVE_INFINITY : value !== null && typeof value === "object" ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)])) : value;

  /** Replays `ops` on a TS TrainingLog in `dir`; returns its console lines. */
  function tsReplay(dir: string, config: { append: boolean; resume?: [number, LogEntry[]] }, replay: Op[]): { console: string; history: unknown } {
    const written: string[] = [];
    const tty = process.stdout.isTTY;
    Object.defineProperty(process.stdout, "isTTY", { value: false, configurable: true, writable: true });
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const log = new TrainingLog({ outputDir: dir, console: true, jsonl: true, maxSteps: 100, append: config.append });
      if (config.resume) log.resumeFrom(...config.resume);
      for (const [kind, ...args] of replay) {
        if (kind === "message") log.message(args[0] as string);
        else if (kind === "train") log.train(args[0] as number, revive(args[1]) as LogEntry);
        else if (kind === "eval") log.eval(args[0] as number, revive(args[1]) as LogEntry);
        else if (kind === "event") log.event(args[0] as string, args[1] as number, revive(args[2]) as Record<string, unknown>, args[3] as string | undefined);
        else if (kind === "summary") log.summary(args[0] as number);
      }
      log.close();
      return { console: written.join(""), history: JSON.parse(JSON.stringify(log.history)) };
    } finally {
      vi.mocked(process.stdout.write).mockRestore();
      Object.defineProperty(process.stdout, "isTTY", { value: tty, configurable: true, writable: true });
    }
  }

  const PY_REPLAY = `
import io
from gen_trainer.logging import TrainingLog
def revive(v):
    if isinstance(v, dict):
        return {k: revive(x) for k, x in v.items()}
    return num(v) if isinstance(v, str) else v
captured = io.StringIO()
real, sys.stdout = sys.stdout, captured
log = TrainingLog(INPUT["dir"], console=True, jsonl=True, max_steps=100, append=INPUT["append"])
if INPUT.get("resume"):
    log.resume_from(INPUT["resume"][0], INPUT["resume"][1])
for op in INPUT["ops"]:
    kind, args = op[0], op[1:]
    if kind == "message": log.message(args[0])
    elif kind == "train": log.train(args[0], revive(args[1]))
    elif kind == "eval": log.eval(args[0], revive(args[1]))
    elif kind == "event": log.event(args[0], args[1], revive(args[2]), args[3] if len(args) > 3 else None)
    elif kind == "summary": log.summary(args[0])
log.close()
sys.stdout = real
out({"console": captured.getvalue(), "history": log.history})
`;

  /** Console text and metrics.jsonl without what depends on the clock: the ETA, the run time. */
  const untimed = (text: string) =>
    text
      .replace(/ \| eta \S+$/gm, " | eta ?")
      .replace(/ in \d+(h\d+m|m\d+s|s)$/gm, " in ?")
      .replace(/"train_runtime":[0-9.e+-]+/g, '"train_runtime":?');

  it("the console lines and metrics.jsonl lines of train/eval/sample/save/summary events equal TS's (except timing)", () => {
    const tsDir = scratch();
    const pyDir = scratch();
    const ts = tsReplay(tsDir, { append: false }, ops);
    const got = py<{ console: string; history: unknown }>(PY_REPLAY, { dir: pyDir, append: false, ops });
    const tsLines = readFileSync(join(tsDir, "metrics.jsonl"), "utf8");
    const pyLines = readFileSync(join(pyDir, "metrics.jsonl"), "utf8");
    expect(untimed(got.console)).toBe(untimed(ts.console));
    expect(untimed(pyLines)).toBe(untimed(tsLines));
    expect(got.history).toEqual(ts.history);
    // Real values, not only equal ones: the number formats of both.
    expect(got.console).toContain("step 1/100 | loss 2.6724 | grad_norm 1.234e-5 | learning_rate 0.0030 | tokens_per_sec 1234 | eta ");
    expect(got.console).toContain("step 50/100 | loss NaN | grad_norm 1.235e+5 | ");
    expect(got.console).toContain("[step 50] eval: eval_loss 1.0626 | eval_exact_match 0.5000\n");
    expect(got.console).toContain("[step 100] eval: eval_loss 99999.9999 | eval_accuracy 1\n"); // the exact value is below the tie
    expect(got.console).toMatch(/\ntrained to step 100 in \d+s\n$/);
    expect(pyLines.split("\n")[1]).toBe('{"type":"train","epoch":0.625,"loss":null,"grad_norm":123456.789,"learning_rate":0.0029999999,"tokens_per_sec":98765,"step":50}');
    expect(pyLines).toContain('{"type":"train","epoch":1.25,"loss":0,"grad_norm":1e-7,"learning_rate":0.00001,"tokens_per_sec":5,"loss_scale":65536,"skipped_steps":2,"step":100}\n');
    expect(pyLines).toContain('{"type":"diverged","step":101,"loss":null,"grad_norm":null,"cause":"the loss or the gradient norm is not finite"}\n');
  });

  it("a torn tail is repaired on append, and resume_from cuts metrics.jsonl back to the checkpoint's step, as TS", () => {
    const lines = [1, 2, 3, 4, 5].map((s) => `{"type":"train","loss":${s / 2},"step":${s}}\n`).join("");
    const starts = [
      `${lines}{"type":"eval","eval_loss":1.5,"st`, // killed mid-line
      `${lines}not json\n\u0000\u0000`, // a crash left garbage and NUL bytes
      `${lines}{"type":"save","step":5,"checkpoint":"x"}\n{"type":"train","loss":`,
    ];
    const history: LogEntry[] = [{ loss: 0.5, step: 1 }];
    for (const [i, start] of starts.entries()) {
      for (const resume of [undefined, [3, history] as [number, LogEntry[]]]) {
        const tsDir = scratch();
        const pyDir = scratch();
        writeFileSync(join(tsDir, "metrics.jsonl"), start);
        writeFileSync(join(pyDir, "metrics.jsonl"), start);
        const more: Op[] = [["event", "save", resume ? 3 : 5, { checkpoint: "out/checkpoint-3" }]];
        const ts = tsReplay(tsDir, { append: true, resume }, more);
        const got = py<{ history: unknown }>(PY_REPLAY, { dir: pyDir, append: true, resume, ops: more });
        const text = readFileSync(join(pyDir, "metrics.jsonl"), "utf8");
        expect(text, `start ${i}, resume ${Boolean(resume)}`).toBe(readFileSync(join(tsDir, "metrics.jsonl"), "utf8"));
        expect(got.history).toEqual(ts.history);
        const kept = resume ? lines.split("\n").slice(0, 3).join("\n") + "\n" : i === 2 ? `${lines}{"type":"save","step":5,"checkpoint":"x"}\n` : lines;
        expect(text).toBe(`${kept}{"type":"save","step":${resume ? 3 : 5},"checkpoint":"out/checkpoint-3"}\n`);
      }
    }
  });

  it("RunningMean, BestMetric and EarlyStopping give TS's values and states", async () => {
    const losses = [2.5, 1.1, 0.3, 1e-8, 7.25];
    const mean = new RunningMean();
    for (const l of losses.slice(0, 3)) mean.add(tf.scalar(l));
    const state = await mean.state();
    const first = await mean.take();
    const empty = await mean.take();
    const resumed = new RunningMean();
    resumed.restore(state);
    for (const l of losses.slice(3)) resumed.add(tf.scalar(l));
    const second = await resumed.take();

    const evals = [1.0, 0.95, 0.95, 0.99, 0.9, 0.92, 0.85, 0.86, 0.87].map((eval_loss, i) => ({ eval_loss, eval_acc: i / 10 }));
    const tsBest = new BestMetric("eval_loss", false);
    const tsStop = new EarlyStopping("eval_loss", false, 2, 0.04);
    const tsUp = new BestMetric("eval_acc", true);
    const ts = evals.map((m, i) => {
      const improved = tsBest.update(m, (i + 1) * 10);
      tsBest.saved((i + 1) * 10, `out/checkpoint-${(i + 1) * 10}`);
      return [improved, tsStop.update(m), tsUp.update(m, i), tsBest.fields(), tsStop.state()];
    });
    const got = py<{ state: unknown; first: number; empty: number | null; second: number; steps: unknown[]; missing: string }>(
      `
from gen_trainer.meters import RunningMean
from gen_trainer.best import BestMetric, EarlyStopping
from gen_trainer.run import UserError
losses = INPUT["losses"]
mean = RunningMean()
for l in losses[:3]:
    mean.add(torch.tensor(l))
state = mean.state()
first = mean.take()
empty = mean.take()
resumed = RunningMean()
resumed.restore(json.loads(json.dumps(state)))
for l in losses[3:]:
    resumed.add(torch.tensor(l))
second = resumed.take()
best, stop, up = BestMetric("eval_loss", False), EarlyStopping("eval_loss", False, 2, 0.04), BestMetric("eval_acc", True)
steps = []
for i, m in enumerate(INPUT["evals"]):
    improved = best.update(m, (i + 1) * 10)
    best.saved((i + 1) * 10, f"out/checkpoint-{(i + 1) * 10}")
    steps.append([improved, stop.update(m), up.update(m, i), best.fields(), stop.state()])
try:
    best.update({"loss": 1, "eval_acc": 2}, 1)
    missing = ""
except UserError as error:
    missing = str(error)
out({"state": state, "first": first, "empty": empty, "second": second, "steps": steps, "missing": missing})
`,
      { losses, evals },
    );
    expect(got.state).toEqual(state);
    expect(got.first).toBe(first);
    expect(got.empty).toBeNull(); // NaN, written as null
    expect(Number.isNaN(empty)).toBe(true);
    expect(got.second).toBe(second);
    expect(got.steps).toEqual(ts);
    expect(got.missing).toBe('metricForBestModel: the evaluation reported no "eval_loss" (it reported loss, eval_acc).');
  });
});

// ---------------------------------------------------------------------------------------------

describe.skipIf(skip)("run: run.lock, plain user errors, flags, divergence", () => {
  let holder: ChildProcess | null = null;
  afterEach(() => {
    if (holder && holder.exitCode === null) holder.kill("SIGKILL");
    holder = null;
  });

  /** Starts a Python process that takes the lock of `dir` and holds it until killed; resolves once it holds it. */
  async function holdLock(dir: string): Promise<ChildProcess> {
    const child = spawn(PYTHON, ["-c", "import sys, time\nfrom gen_trainer.run import lock_output_dir\nlock_output_dir(sys.argv[1])\nprint('locked', flush=True)\ntime.sleep(120)\n", dir], {
      cwd: ROOT,
      env: { ...process.env, PYTHONPATH: join(ROOT, "python") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    holder = child;
    await new Promise<void>((resolve, reject) => {
      let text = "";
      child.stdout!.on("data", (chunk) => {
        text += String(chunk);
        if (text.includes("locked")) resolve();
      });
      child.on("exit", (code) => reject(new Error(`the lock holder exited with ${code}`)));
      setTimeout(() => reject(new Error("the lock holder did not take the lock within 60 s")), 60_000);
    });
    return child;
  }

  const LOCK_SCRIPT = `
import json, sys
from gen_trainer.run import lock_output_dir, parse_run_flags
parse_run_flags([], False)
lock = lock_output_dir(sys.argv[1])
print(json.dumps({"path": lock.path, "note": lock.note}))
`;

  it("a second run is refused with exit 75 naming the pid (Python and TS alike); a dead holder's lock is taken over; the lock goes at exit", async () => {
    const dir = join(scratch(), "out");
    const child = await holdLock(dir);
    const text = readFileSync(join(dir, "run.lock"), "utf8");
    expect(text.endsWith("}\n")).toBe(true);
    const lock = JSON.parse(text) as { pid: number; host: string; started: string };
    expect(Object.keys(lock)).toEqual(["pid", "host", "started"]);
    expect(lock).toEqual({ pid: child.pid, host: hostname(), started: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) });

    const refused = runPython(LOCK_SCRIPT, [dir]);
    expect(refused.status).toBe(75);
    expect(refused.stderr).toBe(`\nerror: ${dir} is in use by another run: pid ${child.pid} on this host, started ${lock.started}. Wait for it to end, or pass --output-dir DIR to write elsewhere.\n`);
    expect(refused.stdout).toBe("");

    // The TypeScript runtime reads Python's lock and refuses the same way.
    const script = join(scratch(), "lock.ts");
    writeFileSync(script, `import { lockOutputDir } from ${JSON.stringify(join(ROOT, "runtime/run-lock.ts"))};\nimport { reportUserErrorsPlainly } from ${JSON.stringify(join(ROOT, "runtime/user-error.ts"))};\nreportUserErrorsPlainly();\nlockOutputDir(process.argv[2]!);\n`);
    const tsRefused = spawnSync(process.execPath, ["--import", "tsx", script, dir], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    expect(tsRefused.status).toBe(75);
    expect(tsRefused.stderr).toBe(refused.stderr);

    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect(existsSync(join(dir, "run.lock"))).toBe(true); // kill -9 leaves it
    const takeover = runPython(LOCK_SCRIPT, [dir]);
    expect(takeover.status, takeover.stderr).toBe(0);
    expect(JSON.parse(takeover.stdout)).toEqual({ path: join(dir, "run.lock"), note: `took over the lock of pid ${child.pid} (started ${lock.started}), which is no longer running` });
    expect(existsSync(join(dir, "run.lock"))).toBe(false); // removed at exit
    expect(existsSync(dir)).toBe(true); // the folder was there before this run

    // A run that wrote nothing leaves no folder behind; a lock from another host is never taken over.
    const fresh = join(scratch(), "a", "b", "c");
    expect(runPython(LOCK_SCRIPT, [fresh]).status).toBe(0);
    expect(existsSync(join(fresh, "..", "..", ".."))).toBe(true);
    expect(existsSync(join(fresh, "..", ".."))).toBe(false);
    writeFileSync(join(dir, "run.lock"), `${JSON.stringify({ pid: 1, host: "elsewhere.example", started: "2020-01-01T00:00:00.000Z" })}\n`);
    const remote = runPython(LOCK_SCRIPT, [dir]);
    expect(remote.status).toBe(75);
    expect(remote.stderr).toBe(
      `\nerror: ${dir} is in use by pid 1 on host elsewhere.example (since 2020-01-01T00:00:00.000Z), which cannot be checked from here. Wait for that run to end, use another --output-dir, or, if it is no longer running, delete ${join(dir, "run.lock")}.\n`,
    );
  });

  it("a UserError prints one line without a traceback and exits with its code; a bug keeps its traceback; bad flags exit 2", () => {
    const user = runPython("from gen_trainer.run import UserError, parse_run_flags\nparse_run_flags([], False)\nraise UserError('the data file data/x.txt is missing', 3)\n");
    expect(user.status).toBe(3);
    expect(user.stderr).toBe("\nerror: the data file data/x.txt is missing\n");
    const bug = runPython("from gen_trainer.run import parse_run_flags\nparse_run_flags([], False)\nraise ValueError('boom')\n");
    expect(bug.status).toBe(70);
    expect(bug.stderr).toContain("Traceback (most recent call last)");
    expect(bug.stderr).toContain("ValueError: boom");
    const flags = (argv: string[], resume = true) =>
      runPython(`from gen_trainer.run import parse_run_flags\nimport json, sys\nprint(json.dumps(parse_run_flags(json.loads(sys.argv[1]), ${resume ? "True" : "False"}).__dict__))\n`, [JSON.stringify(argv)]);
    const parsed = flags(["--max-steps", "1e3", "--output-dir=out/x", "--quiet", "--device", "cpu", "--resume"]);
    expect(parsed.status, parsed.stderr).toBe(0);
    expect(JSON.parse(parsed.stdout)).toEqual({ max_steps: 1000, output_dir: "out/x", device: "cpu", quiet: true, resume: "latest" });
    expect(JSON.parse(flags(["--resume", "out/x/checkpoint-5"]).stdout).resume).toBe("out/x/checkpoint-5");
    expect(JSON.parse(flags([]).stdout)).toEqual({ max_steps: null, output_dir: null, device: "auto", quiet: false, resume: null });
    const cases: [string[], boolean, string][] = [
      [["--max-steps", "0"], true, '--max-steps must be a positive integer, got "0".'],
      [["--max-steps", "2.5"], true, '--max-steps must be a positive integer, got "2.5".'],
      [["--device", "tpu"], true, '--device must be one of auto, cpu, cuda, got "tpu".'],
      [["--backend", "cpu"], true, "Unknown option '--backend'."],
      [["--resume"], false, "Unknown option '--resume'. This program saves no checkpoints (its spec has saveStrategy \"no\"), so it cannot resume."],
      [["extra"], true, "Unexpected argument 'extra'. This command does not take positional arguments."],
      [["--max-steps"], true, "Option '--max-steps <value>' argument missing."],
    ];
    for (const [argv, resume, message] of cases) {
      const r = flags(argv, resume);
      expect(r.status, argv.join(" ")).toBe(2);
      expect(r.stderr).toBe(`\nerror: ${message}\n`);
    }
  });

  it("stop_diverged: a diverged event and the exit-65 message of TS's stopDiverged, naming the last good checkpoint", async () => {
    const dir = scratch();
    const r = runPython(
      PRELUDE +
        `
from gen_trainer.checkpoint import save_checkpoint, trainer_state
from gen_trainer.logging import TrainingLog
from gen_trainer.run import StepValues, parse_run_flags, step_values, stop_diverged, is_finite_step
parse_run_flags([], False)
d = INPUT
named = {"w": torch.nn.Parameter(torch.ones(2))}
save_checkpoint(d, 4, named, None, trainer_state(global_step=4, epoch=0.5, max_steps=10, train_batch_size=2, log_history=[]), None)
values = step_values(torch.tensor(float("nan")), None, torch.tensor(2.5))
assert math.isnan(values.loss) and values.grad_norm == 2.5 and not is_finite_step(values), values
log = TrainingLog(d, console=False, jsonl=True, max_steps=10, append=False)
stop_diverged(7, StepValues(float("nan"), float("inf")), d, log, "the loss or the gradient norm is not finite")
`,
      [JSON.stringify(dir)],
    );
    expect(r.status, r.stderr).toBe(65);
    const pyLines = readFileSync(join(dir, "metrics.jsonl"), "utf8");
    const log = new TrainingLog({ outputDir: dir, console: false, jsonl: true, maxSteps: 10, append: false });
    let message = "";
    try {
      stopDiverged(7, { loss: Number.NaN, gradNorm: Number.POSITIVE_INFINITY }, dir, log, "the loss or the gradient norm is not finite");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(r.stderr).toBe(`\nerror: ${message}\n`);
    expect(message).toContain(`(loss NaN, gradient norm Infinity)`);
    expect(message).toContain(`the last good checkpoint is ${join(dir, "checkpoint-4")} (continue from it with --resume ${join(dir, "checkpoint-4")})`);
    expect(pyLines).toBe(readFileSync(join(dir, "metrics.jsonl"), "utf8"));
    expect(pyLines).toBe('{"type":"diverged","step":7,"loss":null,"grad_norm":null,"cause":"the loss or the gradient norm is not finite"}\n');
  });
});

// ---------------------------------------------------------------------------------------------

describe.skipIf(skip)("distributed", () => {
  const SCRIPT = `
import datetime, json
import torch
from gen_trainer.distributed import Distributed
d = Distributed.from_environment(device="cpu", timeout=datetime.timedelta(seconds=60))
t = torch.tensor([d.rank + 1.0, 10.0 * (d.rank + 1)])
summed = d.all_sum(t)
got = d.broadcast({"from": d.rank, "items": [1, 2, 3]} if d.rank == 0 else "not rank 0")
d.barrier()
result = {
    "rank": d.rank, "world_size": d.world_size, "is_main": d.is_main, "device": str(d.device), "backend": d.backend,
    "sum": summed.tolist(), "in_place": summed is t, "broadcast": got,
    "shards": [d.shard(list(range(100, 100 + n))) for n in (7, 8, 3, 1, 0)],
}
d.barrier()
d.close()
print(json.dumps(result))
`;

  function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
  }

  function run(env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !["RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"].includes(k))) as Record<string, string>;
    const child = spawn(PYTHON, ["-c", SCRIPT], { cwd: ROOT, env: { ...clean, PYTHONPATH: join(ROOT, "python"), OMP_NUM_THREADS: "1", GLOO_SOCKET_IFNAME: "lo", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += String(c)));
    child.stderr.on("data", (c) => (stderr += String(c)));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    return new Promise((resolve) =>
      child.on("close", (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      }),
    );
  }

  it("two gloo processes on 127.0.0.1: all_sum, broadcast, barrier and shard as documented; one process without the variables", async () => {
    const port = String(await freePort());
    const ranks = await Promise.all([0, 1].map((rank) => run({ RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: "2", MASTER_ADDR: "127.0.0.1", MASTER_PORT: port })));
    for (const r of ranks) expect(r.status, r.stderr).toBe(0);
    const [zero, one] = ranks.map((r) => JSON.parse(r.stdout));
    expect(zero).toMatchObject({ rank: 0, world_size: 2, is_main: true, device: "cpu", backend: "gloo", sum: [3, 30], in_place: true });
    expect(one).toMatchObject({ rank: 1, world_size: 2, is_main: false, device: "cpu", backend: "gloo", sum: [3, 30], in_place: true });
    expect(zero.broadcast).toEqual({ from: 0, items: [1, 2, 3] });
    expect(one.broadcast).toEqual({ from: 0, items: [1, 2, 3] });
    // Contiguous near-equal slices, the first ranks taking the extra index; together the whole batch in order.
    expect(zero.shards).toEqual([[100, 101, 102, 103], [100, 101, 102, 103], [100, 101], [100], []]);
    expect(one.shards).toEqual([[104, 105, 106], [104, 105, 106, 107], [102], [], []]);
    for (let i = 0; i < 5; i++) expect([...zero.shards[i], ...one.shards[i]]).toEqual(Array.from({ length: [7, 8, 3, 1, 0][i]! }, (_, k) => 100 + k));

    const single = await run({});
    expect(single.status, single.stderr).toBe(0);
    expect(JSON.parse(single.stdout)).toEqual({
      rank: 0,
      world_size: 1,
      is_main: true,
      device: "cpu",
      backend: null,
      sum: [1, 10],
      in_place: true,
      broadcast: { from: 0, items: [1, 2, 3] },
      shards: [[100, 101, 102, 103, 104, 105, 106], [100, 101, 102, 103, 104, 105, 106, 107], [100, 101, 102], [100], []],
    });
  });
});
