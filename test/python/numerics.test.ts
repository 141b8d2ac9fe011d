/**
 * test/python/numerics.test.ts — the numerics half of python/gen_trainer (rng, sampler, data,
 * models, optim, schedule, gradients) against the TypeScript runtime it mirrors, computed here
 * in-process on the tfjs cpu backend.
 *
 * Exact where the runtime is exact (integers, seeds, permutations, data, batches, initial weights,
 * schedules, sampling draws from given logits); within float32 rounding where the two programs
 * compute with different kernels (model losses and gradients, AdamW, gradient clipping). Every
 * test compares values, not shapes only, so a port that drifts fails here.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
// tf.randomNormal's generator itself, to compare the doubles it draws before they are stored as float32.
import { MPRandGauss } from "@tensorflow/tfjs-core/dist/ops/rand_util.js";
import { beforeAll, describe, expect, it } from "vitest";
import {
  AdamW,
  additionData,
  charTransformer,
  clipGradientsByGlobalNorm,
  constantWithWarmup,
  cosineWithWarmup,
  EpochSampler,
  globalNorm,
  linearWithWarmup,
  mixSeed,
  mlp,
  permutation,
  Rng,
  textData,
  type Batch,
  type ModelDefinition,
  type NamedParams,
  type NamedTensors,
} from "../../runtime/index.ts";
import { parameterSeed } from "../../runtime/models/char-transformer.ts";
import { generateWithForward, mulberry32 } from "../../runtime/models/generate.ts";
import { additionText } from "../../runtime/presets/addition.ts";
import { describeInvalidUtf8, findInvalidUtf8 } from "../../runtime/presets/text.ts";
import { runPython, torchMissing } from "../helpers.ts";

const skip = torchMissing();

/** Prepended to every script: INPUT (the JSON the test passes), b64(tensor), out(value). */
const PRELUDE = `
import base64, json, sys
from array import array
import torch
torch.set_num_threads(1)
INPUT = json.load(open(sys.argv[1]))
def b64(t):
    return base64.b64encode(array("f", t.detach().cpu().reshape(-1).tolist()).tobytes()).decode()
def f32(values, shape=None):
    t = torch.tensor(values, dtype=torch.float32)
    return t.reshape(shape) if shape is not None else t
def out(value):
    print(json.dumps(value))
`;

/** Runs `body` (after PRELUDE) with `input` as INPUT; returns what it printed with out(). */
function py<T>(body: string, input: unknown = null): T {
  const dir = mkdtempSync(join(tmpdir(), "numerics-"));
  try {
    const path = join(dir, "input.json");
    writeFileSync(path, JSON.stringify(input));
    const r = runPython(`${PRELUDE}\n${body}`, [path]);
    if (r.status !== 0) throw new Error(`python exited with ${r.status}:\n${r.stderr}`);
    return r.json() as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fromB64(text: string): Float32Array {
  const bytes = Buffer.from(text, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Indices whose float32 bit patterns differ. */
function differingBits(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let count = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) count++;
  return count;
}

/** ‖a − b‖∞ / ‖b‖∞ (normwise relative difference). */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

function batchOf(x: number[], y: number[], mask: number[], b: number, t: number): Batch {
  return {
    x: tf.tensor2d(x, [b, t], "int32"),
    y: tf.tensor2d(y, [b, t], "int32"),
    mask: tf.tensor2d(mask, [b, t], "float32"),
    items: mask.reduce((s, m) => s + m, 0),
  };
}

/** Parity figures, printed once at the end (for the report). */
const figures: Record<string, number | string> = {};

describe.skipIf(skip !== null)(`python/gen_trainer numerics against runtime/${skip ? ` (skipped: ${skip})` : ""}`, () => {
  beforeAll(async () => {
    await tf.setBackend("cpu");
  });

  it("mix_seed, Rng, permutation, mulberry32 and parameter_seed give the same integers and floats", () => {
    const seeds = [0, 1, 42, 12345, 0x7fffffff, 0x80000000, 0xffffffff, -7, 2 ** 40 + 3];
    const expected = seeds.map((seed) => {
      const rng = new Rng(seed);
      const next = Array.from({ length: 20 }, () => rng.next());
      const ints = Array.from({ length: 20 }, (_, i) => rng.int(i + 1));
      const draw = mulberry32(seed);
      return {
        mix: [mixSeed(seed), mixSeed(seed, 0), mixSeed(seed, 1), mixSeed(seed, 7, 3), mixSeed(3, seed, -1)],
        next,
        ints,
        state: rng.state,
        permutation: Array.from(permutation(37, seed)),
        mulberry32: Array.from({ length: 10 }, () => draw()),
        parameterSeeds: Array.from({ length: 12 }, (_, i) => parameterSeed(seed, i)),
      };
    });
    const actual = py<unknown[]>(
      `
from gen_trainer.rng import Rng, mix_seed, mulberry32, parameter_seed, permutation
result = []
for seed in INPUT:
    rng = Rng(seed)
    nxt = [rng.next() for _ in range(20)]
    ints = [rng.int(i + 1) for i in range(20)]
    draw = mulberry32(seed)
    result.append({
        "mix": [mix_seed(seed), mix_seed(seed, 0), mix_seed(seed, 1), mix_seed(seed, 7, 3), mix_seed(3, seed, -1)],
        "next": nxt, "ints": ints, "state": rng.state,
        "permutation": permutation(37, seed),
        "mulberry32": [draw() for _ in range(10)],
        "parameterSeeds": [parameter_seed(seed, i) for i in range(12)],
    })
out(result)
`,
      seeds,
    );
    expect(actual).toEqual(expected);
    // Rng's state setter and a resumed stream.
    const rng = new Rng(5);
    rng.next();
    const saved = rng.state;
    const resumed = new Rng(0);
    resumed.state = saved;
    expect(py<number[]>(`from gen_trainer.rng import Rng\nr = Rng(0)\nr.state = INPUT\nout([r.next() for _ in range(5)])`, saved)).toEqual(Array.from({ length: 5 }, () => resumed.next()));
  });

  it("tfjs_random_normal is tf.randomNormal bit for bit (shapes, means, standard deviations, seeds; 100,000 values)", () => {
    const cases: { shape: number[]; mean: number; std: number; seed: number }[] = [
      { shape: [7], mean: 0, std: 1, seed: 1 },
      { shape: [3, 5], mean: 0.5, std: 2, seed: 42 },
      { shape: [64, 64], mean: 0, std: 0.02, seed: parameterSeed(42, 0) },
      { shape: [33, 17], mean: 0, std: 0.02 / Math.sqrt(4), seed: parameterSeed(7, 5) },
      { shape: [48, 32], mean: 0, std: 5 / 3 / Math.sqrt(48), seed: 0xffffffff },
      { shape: [100000], mean: 0, std: 1, seed: 12345 },
      { shape: [2, 3, 4], mean: -1, std: 0.1, seed: 987654321 },
    ];
    const actual = py<string[]>(
      `
from gen_trainer.rng import tfjs_random_normal
out([b64(tfjs_random_normal(c["shape"], c["mean"], c["std"], c["seed"])) for c in INPUT])
`,
      cases,
    );
    let total = 0;
    let differing = 0;
    cases.forEach(({ shape, mean, std, seed }, i) => {
      const expected = tf.randomNormal(shape, mean, std, "float32", seed).dataSync() as Float32Array;
      const got = fromB64(actual[i]!);
      total += got.length;
      differing += differingBits(got, expected);
      expect(Array.from(got.slice(0, 4))).toEqual(Array.from(expected.slice(0, 4)));
    });
    figures["randomNormal values compared"] = total;
    figures["randomNormal values differing (bits)"] = differing;
    expect(differing).toBe(0);
  });

  it("random_normal_values are MPRandGauss's doubles exactly (V8's Math.log, not the C library's): 300,000 values", () => {
    const cases = [
      { count: 100000, mean: 0, std: 1, seed: 12345 },
      { count: 100001, mean: 0, std: 0.02, seed: parameterSeed(1, 3) },
      { count: 99999, mean: 0.25, std: 3, seed: 777 },
    ];
    const actual = py<string[]>(
      `
from gen_trainer.rng import random_normal_values
out([base64.b64encode(array("d", random_normal_values(c["count"], c["mean"], c["std"], c["seed"])).tobytes()).decode() for c in INPUT])
`,
      cases,
    );
    let differing = 0;
    cases.forEach(({ count, mean, std, seed }, i) => {
      const gauss = new MPRandGauss(mean, std, "float32", false, seed);
      const bytes = Buffer.from(actual[i]!, "base64");
      const got = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      expect(got.length).toBe(count);
      for (let k = 0; k < count; k++) if (got[k] !== gauss.nextValue()) differing++;
    });
    figures["randomNormal doubles (before float32) differing"] = differing;
    expect(differing).toBe(0);
  });

  it("EpochSampler: the same batches over epochs with accumulation, the same state() and restore()", () => {
    const run = (sampler: EpochSampler) => {
      const steps: unknown[] = [];
      for (let step = 0; step < 17; step++) {
        if (step === 11) sampler.endEpoch();
        const batches = sampler.nextBatches(2);
        steps.push({ batches, state: sampler.state(), ended: sampler.epochEnded, starts: sampler.startsEpoch, progress: sampler.epochProgress, epoch: sampler.epoch });
      }
      return steps;
    };
    const sampler = new EpochSampler(23, 4, 9);
    const expected = {
      stepsPerEpoch: [1, 2, 3, 7].map((a) => sampler.stepsPerEpoch(a)),
      steps: run(sampler),
      restored: (() => {
        const s = new EpochSampler(23, 4, 9);
        s.restore({ epoch: 3, position: 8 });
        return [s.nextBatch(), s.nextBatches(5), s.state(), s.nextBatch(), s.state()];
      })(),
      big: new EpochSampler(1000, 64, 123).nextBatches(3),
    };
    const actual = py(`
from gen_trainer.sampler import EpochSampler
def run(sampler):
    steps = []
    for step in range(17):
        if step == 11:
            sampler.end_epoch()
        batches = sampler.next_batches(2)
        steps.append({"batches": batches, "state": sampler.state(), "ended": sampler.epoch_ended, "starts": sampler.starts_epoch, "progress": sampler.epoch_progress, "epoch": sampler.epoch})
    return steps
sampler = EpochSampler(23, 4, 9)
per_epoch = [sampler.steps_per_epoch(a) for a in (1, 2, 3, 7)]
s = EpochSampler(23, 4, 9)
s.restore({"epoch": 3, "position": 8})
restored = [s.next_batch(), s.next_batches(5), s.state(), s.next_batch(), s.state()]
out({"stepsPerEpoch": per_epoch, "steps": run(sampler), "restored": restored, "big": EpochSampler(1000, 64, 123).next_batches(3)})
`);
    expect(actual).toEqual(expected);
  });

  it("addition_data: the same sizes, vocabulary and batches (fixedWidth and reverseAnswer on and off) and the same exact_match", async () => {
    const configs = [
      { digits: 2, trainExamples: 300, evalExamples: 40, reverseAnswer: true, fixedWidth: true, seed: 5 },
      { digits: 2, trainExamples: 300, evalExamples: 40, reverseAnswer: false, fixedWidth: true, seed: 6 },
      { digits: 3, trainExamples: 500, evalExamples: 25, reverseAnswer: true, fixedWidth: false, seed: 7 },
      { digits: 1, trainExamples: 90, evalExamples: 10, reverseAnswer: false, fixedWidth: false, seed: 8 },
    ];
    const trainIndices = [0, 5, 17, 89, 3];
    const evalIndices = [9, 0, 4];
    const expected = [];
    for (const c of configs) {
      const data = additionData(c);
      const dump = (b: Batch) => ({ x: Array.from(b.x.dataSync()), y: Array.from(b.y.dataSync()), mask: Array.from(b.mask.dataSync()), items: b.items, shape: b.x.shape });
      // A stand-in for a model's generate: right for every prompt but each third, and the options it got.
      const seenOptions: unknown[] = [];
      const metrics = await data.generationMetrics!(async (prompts, options) => {
        seenOptions.push(options);
        return prompts.map((p, i) => {
          const [a, b] = data.vocabulary!.decode(p).slice(0, -1).split("+").map(Number) as [number, number];
          const answer = additionText(a, b, c).answer;
          return data.vocabulary!.encode(i % 3 === 0 ? `${answer}0$` : `${answer}$`);
        });
      });
      expected.push({
        tokens: data.vocabulary!.tokens,
        T: data.sequenceLength,
        sizes: [data.trainSize, data.evalSize],
        train: dump(data.trainBatch(trainIndices)),
        eval: dump(data.evalBatch(evalIndices)),
        all: Array.from(data.trainBatch(Array.from({ length: data.trainSize }, (_, i) => i)).x.dataSync()),
        metrics,
        options: seenOptions,
      });
    }
    const actual = py(
      `
from gen_trainer.data import addition_data, addition_text
result = []
for c in INPUT["configs"]:
    data = addition_data(c["digits"], c["trainExamples"], c["evalExamples"], c["reverseAnswer"], c["fixedWidth"], c["seed"])
    dump = lambda b: {"x": b.x.reshape(-1).tolist(), "y": b.y.reshape(-1).tolist(), "mask": b.mask.reshape(-1).tolist(), "items": b.items, "shape": list(b.x.shape)}
    seen = []
    def generate(prompts, **options):
        seen.append(options)
        outputs = []
        for i, p in enumerate(prompts):
            a, b = [int(n) for n in data.vocabulary.decode(p)[:-1].split("+")]
            answer = addition_text(a, b, c["digits"], c["reverseAnswer"], c["fixedWidth"])[1]
            outputs.append(data.vocabulary.encode(answer + "0$" if i % 3 == 0 else answer + "$"))
        return outputs
    metrics = data.generation_metrics(generate)
    result.append({
        "tokens": data.vocabulary.tokens, "T": data.sequence_length, "sizes": [data.train_size, data.eval_size],
        "train": dump(data.train_batch(INPUT["train"])), "eval": dump(data.eval_batch(INPUT["eval"])),
        "all": data.train_batch(range(data.train_size)).x.reshape(-1).tolist(),
        "metrics": metrics,
        "options": [{"maxNewTokens": o["max_new_tokens"], "temperature": o["temperature"], "stopToken": o["stop_token"]} for o in seen],
    })
out(result)
`,
      { configs, train: trainIndices, eval: evalIndices },
    );
    expect(actual).toEqual(expected);
  });

  it("text_data: the same vocabulary (JavaScript's UTF-16 order), split sizes and batches; invalid UTF-8 described alike", () => {
    const dir = mkdtempSync(join(tmpdir(), "numerics-text-"));
    try {
      // Characters above U+FFFF (surrogate pairs in UTF-16) and above U+E000 sort differently by code point.
      const text = "\uFEFFThe quick brown fox 😀 jumps over ｔｈｅ lazy dog — ünïcödé 𝄞 text\n".repeat(9) + "tail ￼ end";
      const path = join(dir, "corpus.txt");
      writeFileSync(path, text);
      const cases = [
        { evalFraction: 0.1, sequenceLength: 8 },
        { evalFraction: 0, sequenceLength: 16 },
        { evalFraction: 0.25, sequenceLength: 5 },
      ];
      const expected = cases.map(({ evalFraction, sequenceLength }) => {
        const data = textData({ path, evalFraction, sequenceLength });
        const dump = (b: Batch) => ({ x: Array.from(b.x.dataSync()), y: Array.from(b.y.dataSync()), mask: Array.from(b.mask.dataSync()), items: b.items });
        const last = data.trainSize - 1;
        return {
          tokens: data.vocabulary!.tokens,
          sizes: [data.trainSize, data.evalSize, data.sequenceLength],
          train: dump(data.trainBatch([0, last, 3])),
          eval: data.evalSize > 0 ? dump(data.evalBatch([data.evalSize - 1, 0])) : null,
        };
      });
      const invalid = [
        Buffer.from([0x61, 0x0a, 0x62, 0xe9, 0x20, 0x63]),
        Buffer.from([0x61, 0xed, 0xa0, 0x80]),
        Buffer.from("ok\nstill ok\n\u00e9\u00e9x"),
        Buffer.concat([Buffer.from("ab\ncd"), Buffer.from([0xf0, 0x9f, 0x98])]),
        Buffer.from([0xc0, 0xaf]),
        Buffer.from([0x80]),
      ];
      const described = invalid.map((b) => {
        const found = findInvalidUtf8(b);
        return found ? describeInvalidUtf8(found) : null;
      });
      const actual = py<{ data: unknown; described: unknown }>(
        `
from gen_trainer.data import text_data, find_invalid_utf8, describe_invalid_utf8
result = []
for c in INPUT["cases"]:
    data = text_data(INPUT["path"], c["evalFraction"], c["sequenceLength"])
    dump = lambda b: {"x": b.x.reshape(-1).tolist(), "y": b.y.reshape(-1).tolist(), "mask": b.mask.reshape(-1).tolist(), "items": b.items}
    last = data.train_size - 1
    result.append({
        "tokens": data.vocabulary.tokens,
        "sizes": [data.train_size, data.eval_size, data.sequence_length],
        "train": dump(data.train_batch([0, last, 3])),
        "eval": dump(data.eval_batch([data.eval_size - 1, 0])) if data.eval_size > 0 else None,
    })
described = []
for h in INPUT["invalid"]:
    found = find_invalid_utf8(bytes.fromhex(h))
    described.append(describe_invalid_utf8(found) if found else None)
out({"data": result, "described": described})
`,
        { path, cases, invalid: invalid.map((b) => b.toString("hex")) },
      );
      expect(actual.data).toEqual(expected);
      expect(actual.described).toEqual(described);
      expect(described.filter((d) => d === null)).toEqual([null]); // the one valid text
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The same model in both runtimes: names, shapes, initial values, loss and gradients. */
  async function compareModel(label: string, model: ModelDefinition, pythonModel: string, seed: number, b: number, t: number, vocab: number) {
    const rng = new Rng(mixSeed(seed, 99));
    const x = Array.from({ length: b * t }, () => rng.int(vocab));
    const y = Array.from({ length: b * t }, () => rng.int(vocab));
    const mask = Array.from({ length: b * t }, (_, i) => (i % 5 === 1 ? 0 : 1));
    const params = model.createParameters(seed);
    const batch = batchOf(x, y, mask, b, t);
    const { value, grads } = tf.variableGrads(() => model.lossSum(params, batch), Object.values(params));
    const loss = value.dataSync()[0]!;
    const tsNorm = globalNorm(Object.fromEntries(Object.values(params).map((p) => [p.name, grads[p.name]!]))).dataSync()[0]!;

    const actual = py<{ names: string[]; shapes: number[][]; stateNames: string[]; values: string[]; loss: number; grads: string[]; norm: number }>(
      `
from gen_trainer.models import char_transformer, mlp
from gen_trainer.gradients import global_norm
model = ${pythonModel}
model.initialize(INPUT["seed"])
named = model.named_tensors()
values = [b64(p) for p in named.values()]
b, t = INPUT["b"], INPUT["t"]
x = torch.tensor(INPUT["x"], dtype=torch.long).reshape(b, t)
y = torch.tensor(INPUT["y"], dtype=torch.long).reshape(b, t)
mask = torch.tensor(INPUT["mask"], dtype=torch.float32).reshape(b, t)
loss = model(x, y, mask)
loss.backward()
out({
    "names": list(named), "shapes": [list(p.shape) for p in named.values()],
    "stateNames": list(model.state_dict()),
    "values": values, "loss": loss.item(),
    "grads": [b64(p.grad) for p in named.values()], "norm": global_norm(named).item(),
})
`,
      { seed, b, t, x, y, mask },
    );
    expect(actual.names).toEqual(Object.keys(params));
    expect(actual.shapes).toEqual(Object.values(params).map((p) => p.shape));
    expect([...actual.stateNames].sort()).toEqual(Object.keys(params).sort()); // state_dict keys are runtime/'s names
    let differing = 0;
    Object.values(params).forEach((p, i) => {
      differing += differingBits(fromB64(actual.values[i]!), p.dataSync() as Float32Array);
    });
    expect(differing).toBe(0);

    const lossDiff = Math.abs(actual.loss - loss) / Math.abs(loss);
    const normDiff = Math.abs(actual.norm - tsNorm) / tsNorm;
    let gradDiff = 0;
    Object.values(params).forEach((p, i) => {
      const g = grads[p.name]!.dataSync() as Float32Array;
      gradDiff = Math.max(gradDiff, relativeDifference(fromB64(actual.grads[i]!), g));
    });
    figures[`${label}: loss_sum relative difference`] = lossDiff;
    figures[`${label}: gradient global norm relative difference`] = normDiff;
    figures[`${label}: largest per-parameter gradient relative difference (‖Δ‖∞/‖g‖∞)`] = gradDiff;
    expect(loss).toBeGreaterThan(0);
    expect(lossDiff).toBeLessThan(1e-5);
    expect(normDiff).toBeLessThan(1e-4);
    expect(gradDiff).toBeLessThan(1e-4);
  }

  it("char_transformer: the same parameters (names, order, shapes, bit-identical initial values), loss_sum and gradients", async () => {
    const context = { vocabularySize: 14, sequenceLength: 12 };
    const model = charTransformer({ dModel: 16, layers: 2, heads: 2, contextLength: 12 }, context);
    await compareModel("char_transformer", model, "char_transformer(16, 2, 2, 12, 14)", 42, 3, 12, 14);
    const deeper = charTransformer({ dModel: 24, layers: 3, heads: 4, contextLength: 10 }, { vocabularySize: 30, sequenceLength: 7 });
    await compareModel("char_transformer (3 layers, T < context)", deeper, "char_transformer(24, 3, 4, 10, 30)", 7, 2, 7, 30);
  });

  it("mlp: the same parameters (names, order, shapes, bit-identical initial values), loss_sum and gradients", async () => {
    const model = mlp({ hidden: [32, 24], window: 3, embedding: 8 }, { vocabularySize: 14, sequenceLength: 9 });
    await compareModel("mlp", model, "mlp([32, 24], 3, 8, 14)", 11, 4, 9, 14);
    const gelu = mlp({ hidden: [20], window: 1, embedding: 6, activation: "gelu" }, { vocabularySize: 9, sequenceLength: 5 });
    await compareModel("mlp (gelu, window 1)", gelu, 'mlp([20], 1, 6, 9, activation="gelu")', 3, 2, 5, 9);
  });

  /** Deterministic gradients for AdamW and clipping: sin waves of different phases and scales. */
  function waves(shapes: Record<string, number[]>, phase: number, scale: number): Record<string, number[]> {
    return Object.fromEntries(
      Object.entries(shapes).map(([name, shape], k) => {
        const n = shape.reduce((a, d) => a * d, 1);
        return [name, Array.from({ length: n }, (_, i) => Math.fround(scale * Math.sin(0.37 * i + phase + k) * (1 + (i % 7) / 3)))];
      }),
    );
  }

  it("AdamW: three steps with weight decay (and a fourth after restore) match, with the same step_count and state names", () => {
    const shapes: Record<string, number[]> = { wte: [5, 4], "h.0.ln_1.gain": [4], "h.0.mlp.b_fc": [6], "fc.0.weight": [4, 3], "head.bias": [3], lm_head: [4, 5] };
    const initial = Object.fromEntries(Object.entries(shapes).map(([name, shape], k) => [name, Array.from(tf.randomNormal(shape, 0, 0.5, "float32", 100 + k).dataSync())]));
    const config = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 };
    const lrs = [1e-2, 5e-3, 2e-3, 1e-3];
    const gradSteps = lrs.map((_, s) => waves(shapes, s * 1.3, 0.1 * (s + 1)));

    const params: NamedParams = Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, tf.variable(tf.tensor(initial[name]!, shape, "float32"))]));
    const optimizer = new AdamW(params, config);
    const tensorsOf = (g: Record<string, number[]>): NamedTensors => Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, tf.tensor(g[name]!, shape, "float32")]));
    for (let s = 0; s < 3; s++) optimizer.step(tensorsOf(gradSteps[s]!), lrs[s]!);
    const afterThree = Object.fromEntries(Object.entries(params).map(([name, p]) => [name, Array.from(p.dataSync())]));
    const state = Object.fromEntries(Object.entries(optimizer.stateTensors()).map(([name, t]) => [name, Array.from(t.dataSync())]));
    optimizer.step(tensorsOf(gradSteps[3]!), lrs[3]!);
    const afterFour = Object.fromEntries(Object.entries(params).map(([name, p]) => [name, Array.from(p.dataSync())]));

    const actual = py<{ afterThree: Record<string, number[]>; state: Record<string, number[]>; stateNames: string[]; stepCount: number; afterFour: Record<string, number[]>; stepCountAfter: number }>(
      `
from gen_trainer.optim import AdamW
shapes, cfg = INPUT["shapes"], INPUT["config"]
def make(values):
    return {name: torch.nn.Parameter(f32(values[name], shape)) for name, shape in shapes.items()}
named = make(INPUT["initial"])
opt = AdamW(named, cfg["beta1"], cfg["beta2"], cfg["epsilon"], cfg["weightDecay"])
for s in range(3):
    for name, p in named.items():
        p.grad = f32(INPUT["grads"][s][name], shapes[name])
    opt.step(INPUT["lrs"][s])
after_three = {name: p.detach().reshape(-1).tolist() for name, p in named.items()}
state = {name: t.reshape(-1).tolist() for name, t in opt.state_tensors().items()}
# Resume from the TypeScript optimizer's state and weights, then one more step.
named2 = make(INPUT["tsAfterThree"])
opt2 = AdamW(named2, cfg["beta1"], cfg["beta2"], cfg["epsilon"], cfg["weightDecay"])
opt2.restore({name: f32(values) .reshape(opt2.state_tensors()[name].shape) for name, values in INPUT["tsState"].items()}, 3)
for name, p in named2.items():
    p.grad = f32(INPUT["grads"][3][name], shapes[name])
opt2.step(INPUT["lrs"][3])
out({"afterThree": after_three, "state": state, "stateNames": list(opt.state_tensors()), "stepCount": opt.step_count,
     "afterFour": {name: p.detach().reshape(-1).tolist() for name, p in named2.items()}, "stepCountAfter": opt2.step_count})
`,
      { shapes, config, initial, lrs, grads: gradSteps, tsAfterThree: afterThree, tsState: state },
    );
    expect(actual.stepCount).toBe(3);
    expect(actual.stepCountAfter).toBe(4);
    expect(actual.stateNames).toEqual(Object.keys(optimizer.stateTensors()));
    let paramDiff = 0;
    let stateDiff = 0;
    let resumedDiff = 0;
    let differing = 0;
    for (const name of Object.keys(shapes)) {
      paramDiff = Math.max(paramDiff, relativeDifference(actual.afterThree[name]!, afterThree[name]!));
      resumedDiff = Math.max(resumedDiff, relativeDifference(actual.afterFour[name]!, afterFour[name]!));
      differing += differingBits(new Float32Array(actual.afterThree[name]!), new Float32Array(afterThree[name]!));
      // A parameter moved (decay or not): the test is not comparing untouched values.
      expect(relativeDifference(afterThree[name]!, initial[name]!)).toBeGreaterThan(1e-4);
    }
    for (const name of Object.keys(state)) stateDiff = Math.max(stateDiff, relativeDifference(actual.state[name]!, state[name]!));
    figures["AdamW: parameters after 3 steps, relative difference"] = paramDiff;
    figures["AdamW: parameters after 3 steps, float32 values differing"] = differing;
    figures["AdamW: moments after 3 steps, relative difference"] = stateDiff;
    figures["AdamW: step 4 after restore, relative difference"] = resumedDiff;
    expect(paramDiff).toBeLessThan(1e-6);
    expect(stateDiff).toBeLessThan(1e-6);
    expect(resumedDiff).toBeLessThan(1e-6);
  });

  it("schedules are identical (V8's Math.cos) and clip_by_global_norm gives the same norm and clipped gradients", () => {
    const settings = [
      [10, 1000],
      [0, 1],
      [0, 777],
      [37, 300],
      [5, 5],
    ] as const;
    const expected = settings.map(([warmup, total]) => {
      const steps = Array.from({ length: total + 20 }, (_, s) => s);
      return {
        linear: steps.map((s) => linearWithWarmup(s, warmup, total)),
        cosine: steps.map((s) => cosineWithWarmup(s, warmup, total)),
        constant: steps.map((s) => constantWithWarmup(s, warmup)),
      };
    });
    const shapes: Record<string, number[]> = { a: [13, 7], b: [31], c: [4, 4, 3] };
    const gradients = waves(shapes, 0.4, 0.8);
    const clipped = [0.5, 1e6].map((maxNorm) => {
      const grads: NamedTensors = Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, tf.tensor(gradients[name]!, shape, "float32")]));
      const norm = clipGradientsByGlobalNorm(grads, maxNorm).dataSync()[0]!;
      return { norm, grads: Object.fromEntries(Object.entries(grads).map(([name, g]) => [name, Array.from(g.dataSync())])) };
    });
    const actual = py<{ schedules: unknown; clipped: { norm: number; plainNorm: number; grads: Record<string, number[]> }[] }>(
      `
from gen_trainer.schedule import linear_with_warmup, cosine_with_warmup, constant_with_warmup
from gen_trainer.gradients import clip_by_global_norm, global_norm
schedules = []
for warmup, total in INPUT["settings"]:
    steps = range(total + 20)
    schedules.append({
        "linear": [linear_with_warmup(s, warmup, total) for s in steps],
        "cosine": [cosine_with_warmup(s, warmup, total) for s in steps],
        "constant": [constant_with_warmup(s, warmup) for s in steps],
    })
clipped = []
for max_norm in (0.5, 1e6):
    named = {}
    for name, shape in INPUT["shapes"].items():
        p = torch.nn.Parameter(torch.zeros(shape))
        p.grad = f32(INPUT["grads"][name], shape)
        named[name] = p
    plain = global_norm(named).item()
    norm = clip_by_global_norm(list(named.values()), max_norm).item()
    clipped.append({"norm": norm, "plainNorm": plain, "grads": {name: p.grad.reshape(-1).tolist() for name, p in named.items()}})
out({"schedules": schedules, "clipped": clipped})
`,
      { settings, shapes, grads: gradients },
    );
    expect(actual.schedules).toEqual(expected);
    let normDiff = 0;
    let gradDiff = 0;
    clipped.forEach((c, i) => {
      const got = actual.clipped[i]!;
      normDiff = Math.max(normDiff, Math.abs(got.norm - c.norm) / c.norm, Math.abs(got.plainNorm - c.norm) / c.norm);
      for (const name of Object.keys(shapes)) gradDiff = Math.max(gradDiff, relativeDifference(got.grads[name]!, c.grads[name]!));
    });
    expect(clipped[0]!.norm).toBeGreaterThan(0.5); // the first case clips
    expect(relativeDifference(clipped[0]!.grads.a!, gradients.a!)).toBeGreaterThan(0.1);
    figures["clip_by_global_norm: norm relative difference"] = normDiff;
    figures["clip_by_global_norm: clipped gradients relative difference"] = gradDiff;
    expect(normDiff).toBeLessThan(1e-6);
    expect(gradDiff).toBeLessThan(1e-6);
  });

  it("sampling from given logits: the same tokens for temperatures, topK (ties included), seeds and stop tokens", async () => {
    // Logits of the next token depend on the last token only: table[last], the same at every position.
    const V = 9;
    const L = 4;
    const draw = new Rng(2024);
    const table = Array.from({ length: V }, (_, r) => Array.from({ length: V }, (_, j) => (r === 3 && j < 4 ? 0.5 : Math.fround(draw.next() * 6 - 3))));
    const logitsFn = (tokens: tf.Tensor2D) => {
      const ids = tokens.arraySync();
      return tf.tensor3d(ids.map((row) => row.map((token) => table[token]!)), [ids.length, L, V], "float32");
    };
    const prompts = [[1, 2], [], [3], [8, 7, 6, 5, 4, 3], [0]];
    const options = [
      { maxNewTokens: 12, temperature: 0 },
      { maxNewTokens: 12, temperature: 0.7, seed: 1 },
      { maxNewTokens: 12, temperature: 1, seed: 99, topK: 3 },
      { maxNewTokens: 12, temperature: 2.5, seed: 123456, topK: 1 },
      { maxNewTokens: 12, temperature: 1.3, seed: 5, topK: 4, stopToken: 2 },
      { maxNewTokens: 9, temperature: 0.2, seed: 0xffffffff, topK: V },
      { maxNewTokens: 0, temperature: 1, seed: 3 },
    ];
    const expected = [];
    for (const o of options) expected.push(await generateWithForward(logitsFn, L, prompts, o));
    const actual = py(
      `
from gen_trainer.models import generate_with_forward
table = f32(INPUT["table"])
def logits_fn(tokens):
    return table[tokens]  # [N, L, V]
result = []
for o in INPUT["options"]:
    result.append(generate_with_forward(logits_fn, INPUT["L"], INPUT["prompts"], o["maxNewTokens"], o.get("temperature", 0), o.get("topK", 0), o.get("seed", 0), o.get("stopToken")))
out(result)
`,
      { table, L, prompts, options },
    );
    expect(actual).toEqual(expected);
    expect(new Set(expected.slice(1, 5).map((e) => JSON.stringify(e))).size).toBe(4); // the settings do change the draws
  });

  it("generate: the same greedy and sampled continuations from the same initial weights (char_transformer and mlp)", async () => {
    const context = { vocabularySize: 14, sequenceLength: 8 };
    const models: [ModelDefinition, string][] = [
      [charTransformer({ dModel: 16, layers: 2, heads: 2, contextLength: 8 }, context), "char_transformer(16, 2, 2, 8, 14)"],
      [mlp({ hidden: [32], window: 3, embedding: 8 }, context), "mlp([32], 3, 8, 14)"],
    ];
    const prompts = [[1, 2, 10], [], [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 11], [13]];
    const options = [
      { maxNewTokens: 10, temperature: 0 },
      { maxNewTokens: 10, temperature: 0, stopToken: 12 },
      { maxNewTokens: 10, temperature: 1, topK: 5, seed: 17 },
    ];
    for (const [model, pythonModel] of models) {
      const params = model.createParameters(31);
      // Sharpen the head so that greedy choices are far from ties: both sides scale the same float32 values by 50.
      const head = Object.keys(params).find((n) => n === "lm_head" || n === "head.weight")!;
      params[head]!.assign(tf.mul(params[head]!, 50));
      const expected = [];
      for (const o of options) expected.push(await model.generate!(params, prompts, o));
      const actual = py(
        `
from gen_trainer.models import char_transformer, mlp
model = ${pythonModel}
model.initialize(31)
with torch.no_grad():
    model.named_tensors()[INPUT["head"]].mul_(50)
out([model.generate(INPUT["prompts"], o["maxNewTokens"], o.get("temperature", 0), o.get("topK", 0), o.get("seed", 0), o.get("stopToken")) for o in INPUT["options"]])
`,
        { prompts, options, head },
      );
      expect(actual).toEqual(expected);
      expect(expected[0]!.some((row) => row.some((token) => token !== row[0]))).toBe(true); // not one token repeated
    }
  });

  it("reports the parity figures", () => {
    console.log(`python/gen_trainer numerics parity:\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v}`).join("\n")}`);
    expect(Object.keys(figures).length).toBeGreaterThan(10);
  });
});
