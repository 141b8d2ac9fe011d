// The foundation's promises about a run: it learns, it is deterministic for a seed, and it does
// not leak tensors.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateProgram, readJsonl, ROOT, runProgram, tempDir } from "../helpers.ts";

const DIR = join(ROOT, ".tmp", "training-specs");

async function program(name: string, args: string): Promise<string> {
  const text = `import { defineTrainer } from "gen-trainer";
export default defineTrainer({
  name: "${name}",
  model: { preset: "char-transformer", dModel: 32, layers: 2, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 3000, evalExamples: 200 },
  args: { ${args} },
});
`;
  return (await generateProgram(DIR, name, text)).path;
}

describe("a generated program trains for real", () => {
  it("learns 2-digit addition: eval_loss far below the uniform baseline, some sums exactly right", async () => {
    const path = await program(
      "learns",
      `perDeviceTrainBatchSize: 32, perDeviceEvalBatchSize: 200, maxSteps: 800, learningRate: 3e-3, lrSchedulerType: "cosine", warmupSteps: 40, loggingSteps: 100, evalStrategy: "steps", evalSteps: 400, saveStrategy: "no"`,
    );
    const out = tempDir();
    const r = runProgram(path, ["--output-dir", out, "--backend", "wasm"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const evals = readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "eval");
    const last = evals[evals.length - 1]!;
    // Uniform over the 14 tokens: ln 14 ≈ 2.64 nats per answer token.
    expect(last.eval_loss as number).toBeLessThan(0.5 * Math.log(14));
    // Guessing 3 answer digits gets about 0.001 right; 800 steps of a tiny model get several %.
    expect(last.eval_exact_match as number).toBeGreaterThan(0.02);
    const state = JSON.parse(readFileSync(join(out, "trainer_state.json"), "utf8")) as Record<string, unknown>;
    expect(state.global_step).toBe(800);
    expect((state.log_history as unknown[]).length).toBeGreaterThan(5);
  }, 240_000);

  it("is deterministic: same seed, same losses and the same weights, byte for byte", async () => {
    const path = await program("deterministic", `perDeviceTrainBatchSize: 16, maxSteps: 12, learningRate: 1e-3, loggingSteps: 1, saveStrategy: "no"`);
    const runs = [tempDir(), tempDir()].map((out) => {
      const r = runProgram(path, ["--output-dir", out, "--backend", "cpu", "--quiet"]);
      expect(r.status).toBe(0);
      return {
        losses: readJsonl(join(out, "metrics.jsonl"))
          .filter((e) => e.type === "train")
          .map((e) => e.loss),
        weights: readFileSync(join(out, "model.safetensors")),
      };
    });
    expect(runs[0]!.losses).toHaveLength(12);
    expect(runs[1]!.losses).toEqual(runs[0]!.losses);
    expect(runs[1]!.weights.equals(runs[0]!.weights)).toBe(true);
  });

  it("leaks no tensors: numTensors is the same at every step", async () => {
    const path = await program("no-leaks", `perDeviceTrainBatchSize: 16, maxSteps: 8, loggingSteps: 1, evalStrategy: "steps", evalSteps: 3, perDeviceEvalBatchSize: 64, saveStrategy: "no"`);
    const out = tempDir();
    const r = runProgram(path, ["--output-dir", out, "--backend", "wasm", "--quiet"], { GEN_TRAINER_TRACE_TENSORS: "1" });
    expect(r.status).toBe(0);
    const counts = readJsonl(join(out, "metrics.jsonl"))
      .filter((e) => e.type === "train")
      .map((e) => e.num_tensors as number);
    expect(counts).toHaveLength(8);
    // The first step creates the cached causal mask; from then on nothing may accumulate.
    expect(new Set(counts.slice(1)).size).toBe(1);
  });
});
