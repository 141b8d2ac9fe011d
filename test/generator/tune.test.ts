// gen-trainer --tune: times the built-in model's formulations on a backend and emits the fastest,
// with the measurements in a comment; without --tune nothing machine-dependent is emitted.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderSpecs } from "../../generator/generate.ts";
import { main } from "../../generator/cli.ts";
import { readJsonl, ROOT, runProgram, tempDir } from "../helpers.ts";

describe("--tune", () => {
  it("measures all four formulations, emits the fastest with the measurements, and the program trains", async () => {
    const outDir = join(ROOT, ".tmp", "tune", "generated");
    const { programs, notes, diagnostics } = await renderSpecs(["test/specs/minimal.spec.ts", "test/specs/text-mlp-epoch.spec.ts"], outDir, "cpu");
    expect(diagnostics).toEqual([]);
    expect(notes).toEqual(["test/specs/text-mlp-epoch.spec.ts: not tuned: only the char-transformer preset has alternative formulations"]);
    const minimal = programs[0]!;
    const lines = minimal.code.split("\n");
    const measured = lines.filter((l) => /^\/\/ {3}(explicit-transpose|plain) matmul, (one-hot|gather) embedding: [\d.]+/.test(l));
    expect(measured).toHaveLength(4);
    const ms = (l: string) => Number(/: ([\d.]+)/.exec(l)![1]);
    const chosen = measured.find((l) => l.endsWith("<- chosen"))!;
    expect(ms(chosen)).toBe(Math.min(...measured.map(ms)));
    const [, matmul, embedding] = /(explicit-transpose|plain) matmul, (one-hot|gather)/.exec(chosen)!;
    expect(minimal.code).toMatch(new RegExp(`const MODEL_FORMULATION = \\{\\s*backend: "cpu",\\s*choice: \\{ matmul: "${matmul}", embedding: "${embedding}" \\},?\\s*\\} as const;`));
    expect(minimal.code).toContain("const formulation = formulationFor(backend, MODEL_FORMULATION);");
    expect(minimal.code).toContain("formulation: formulation.formulation");
    expect(programs[1]!.code).not.toContain("MODEL_FORMULATION");
    mkdirSync(dirname(minimal.outputPath), { recursive: true });
    writeFileSync(minimal.outputPath, minimal.code);
    const out = tempDir();
    const r = runProgram(join(ROOT, minimal.outputPath), ["--max-steps", "2", "--output-dir", out, "--backend", "cpu", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readJsonl(join(out, "metrics.jsonl")).some((e) => e.type === "train" && Number.isFinite(e.loss))).toBe(true);
  });

  it("cannot be combined with --check (tuned output depends on the machine)", async () => {
    let stderr = "";
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
    try {
      expect(await main(["--tune", "--check", "test/specs/minimal.spec.ts"])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(stderr).toContain("--tune output depends on the machine");
  });
});
