// Every generated program runs: a few steps on the cpu backend (wasm for the example), into a
// temporary output dir, with a finite loss in metrics.jsonl and the final files written.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderSpecs } from "../../generator/generate.ts";
import { committedSpecs, readJsonl, ROOT, runProgram, tempDir } from "../helpers.ts";

const { programs } = await renderSpecs(committedSpecs(), "generated");
// The optional native packages fail to install where libtensorflow cannot be downloaded.
const nativeInstalled = ["@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"].some((name) => existsSync(join(ROOT, "node_modules", name)));

describe.concurrent("generated programs run", () => {
  for (const program of programs) {
    const backend = program.plan.name === "addition" ? "wasm" : "cpu";
    it(`${program.outputPath} trains 3 steps on ${backend}`, () => {
      const out = tempDir();
      const r = runProgram(join(ROOT, program.outputPath), ["--max-steps", "3", "--output-dir", out, "--backend", backend]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`3 steps on ${backend}`);
      const events = readJsonl(join(out, "metrics.jsonl"));
      const train = events.filter((e) => e.type === "train");
      expect(train.length).toBeGreaterThan(0);
      for (const e of train) expect(Number.isFinite(e.loss)).toBe(true);
      expect(existsSync(join(out, "model.safetensors"))).toBe(true);
      expect(existsSync(join(out, "trainer_state.json"))).toBe(true);
    });
  }

  it.skipIf(nativeInstalled)("an unavailable backend is a clear error (tfjs-node is optional and not installed here)", () => {
    const r = runProgram(join(ROOT, "generated/minimal/train.ts"), ["--max-steps", "1", "--backend", "tensorflow", "--output-dir", tempDir()]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("rejects bad flags with a clear message and exit 2", () => {
    const r = runProgram(join(ROOT, "generated/minimal/train.ts"), ["--max-steps", "zero"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--max-steps must be a positive integer, got "zero"');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
