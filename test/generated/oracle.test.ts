// The differential oracle: generated programs against test/reference-trainer.ts (a general
// trainer branching on every flag of the plan) over a matrix of features. Same seed, cpu
// backend: identical logged losses and bit-identical final weights, or the generator is wrong.
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { readSafetensorsFile } from "../../runtime/safetensors.ts";
import { generateProgram, readJsonl, ROOT, runProgram, tempDir } from "../helpers.ts";
import { trainWithReference } from "../reference-trainer.ts";

const DIR = join(ROOT, ".tmp", "oracle-specs");

interface Case {
  name: string;
  args: string;
  model?: string;
  callbacks?: string;
}

const cases: Case[] = [];
for (const k of [1, 4]) {
  for (const fp16 of [false, true]) {
    for (const clip of [false, true]) {
      cases.push({ name: `k${k}-${fp16 ? "fp16" : "fp32"}-${clip ? "clip" : "noclip"}`, args: `gradientAccumulationSteps: ${k}, fp16: ${fp16}, maxGradNorm: ${clip ? 1 : 0}, loggingSteps: 1` });
    }
  }
}
cases.push(
  { name: "cadences", args: `gradientAccumulationSteps: 2, loggingSteps: 3, loggingFirstStep: true, evalStrategy: "steps", evalSteps: 4, lrSchedulerType: "cosine", warmupRatio: 0.25` },
  { name: "samples-epoch-eval", args: `loggingSteps: 2, evalStrategy: "epoch", fp16: true`, callbacks: `generationSample({ prompts: ["1+2="], everySteps: 3, maxNewTokens: 3, temperature: 1, seed: 5 })` },
  { name: "mlp-epochs", args: `numTrainEpochs: 1, maxSteps: -1, loggingStrategy: "epoch", gradientAccumulationSteps: 3, weightDecay: 0.1, lrSchedulerType: "constant_with_warmup", warmupSteps: 2`, model: `{ preset: "mlp", hidden: [16, 16] }` },
);

/** The common args, less those the case sets itself. */
function baseArgs(own: string): string {
  const base = ["perDeviceTrainBatchSize: 4", "perDeviceEvalBatchSize: 20", "maxSteps: 9", "learningRate: 3e-3", "weightDecay: 0.01", `saveStrategy: "no"`];
  return base.filter((a) => !own.includes(`${a.split(":")[0]}:`)).join(", ");
}

function program(c: Case) {
  return generateProgram(
    DIR,
    c.name,
    `import { defineTrainer, generationSample } from "gen-trainer";
export default defineTrainer({
  name: "oracle-${c.name}",
  model: ${c.model ?? `{ preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 }`},
  data: { preset: "addition", digits: 2, trainExamples: 60, evalExamples: 20, fixedWidth: false },
  args: { ${baseArgs(c.args)}, ${c.args} },
  callbacks: [${c.callbacks ?? ""}],
});
void generationSample;
`,
  );
}

beforeAll(async () => {
  await tf.setBackend("cpu");
});

describe.each(cases)("differential oracle: $name", (c) => {
  it("the generated program and the reference trainer agree exactly", async () => {
    const p = await program(c);
    const out = tempDir();
    const r = runProgram(p.path, ["--output-dir", out, "--backend", "cpu", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const logged = new Map(readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "train").map((e) => [e.step as number, e.loss as number]));
    const reference = await trainWithReference(p.plan);
    expect(logged.size).toBeGreaterThan(0);
    expect([...logged.entries()]).toEqual([...reference.losses.entries()]);
    const { tensors } = await readSafetensorsFile(join(out, "model.safetensors"));
    expect(Object.keys(tensors)).toEqual(Object.keys(reference.weights));
    for (const [name, t] of Object.entries(tensors)) {
      expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(reference.weights[name]!.buffer)), name).toBe(true);
    }
  });
});
