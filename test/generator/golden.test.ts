// Golden tests: generated/ is exactly what the generator emits for the committed specs (train.ts
// for each, train.py for each the PyTorch target supports), it type-checks, and generation is
// deterministic.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderSpecs } from "../../generator/generate.ts";
import { committedSpecs, ROOT } from "../helpers.ts";

describe("generated/ matches the generator", async () => {
  const specs = committedSpecs();
  const { programs, diagnostics } = await renderSpecs(specs, "generated", null, "all");

  it("every committed spec is valid", () => {
    expect(diagnostics).toEqual([]);
    expect([...new Set(programs.map((p) => p.specPath))]).toEqual(specs);
  });

  for (const program of programs) {
    it(`${program.outputPath} is what ${program.specPath} generates`, async () => {
      await expect(program.code).toMatchFileSnapshot(join(ROOT, program.outputPath));
    });
  }

  it("generated/ has no program without a spec", () => {
    const expected = new Set(programs.map((p) => p.plan.name));
    const folders = readdirSync(join(ROOT, "generated"), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    expect(folders.filter((f) => !expected.has(f))).toEqual([]);
    // and no train.py that the generator would not write (e.g. a spec that now uses a TypeScript module)
    const written = new Set(programs.map((p) => p.outputPath));
    const files = folders.flatMap((f) => readdirSync(join(ROOT, "generated", f)).map((name) => `generated/${f}/${name}`));
    expect(files.filter((f) => !written.has(f))).toEqual([]);
  });

  it("train.py is written for every spec the PyTorch target supports, and only for those", () => {
    const python = programs.filter((p) => p.target === "pytorch").map((p) => p.plan.name);
    expect(python.length).toBeGreaterThan(10);
    for (const unsupported of ["user-modules", "user-callback-evaluate"]) expect(python).not.toContain(unsupported);
  });

  it("is deterministic: a second generation gives the same bytes", async () => {
    const again = await renderSpecs(specs, "generated", null, "all");
    expect(again.programs.map((p) => p.code)).toEqual(programs.map((p) => p.code));
  });

  it("generated code holds no absolute path, timestamp or version", () => {
    for (const p of programs) {
      expect(p.code).not.toContain(ROOT);
      expect(p.code).not.toMatch(/\b20\d\d-\d\d-\d\d\b/);
      expect(p.code).not.toMatch(/\bv?\d+\.\d+\.\d+\b/);
    }
  });

  it("generated/ type-checks (tsc --noEmit, strict)", () => {
    const tsc = join(ROOT, "node_modules", ".bin", "tsc");
    expect(existsSync(tsc)).toBe(true);
    const result = spawnSync(tsc, ["-p", "generated/tsconfig.json"], { cwd: ROOT, encoding: "utf8" });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});
