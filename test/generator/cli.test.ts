// The gen-trainer command: exit codes, --check with a diff, --stdout, --out-dir, usage errors.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { committedSpecs, ROOT } from "../helpers.ts";

const BIN = join(ROOT, "bin", "gen-trainer.js");
const TMP = join(ROOT, ".tmp", "cli");
mkdirSync(TMP, { recursive: true });

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("gen-trainer CLI", () => {
  it("--check passes over every committed spec", () => {
    const r = cli("--check", ...committedSpecs());
    expect(r.stderr).toMatch(/generated programs up to date/);
    expect(r.status).toBe(0);
  });

  it("--check exits 1 with a unified diff when generated code differs", () => {
    const out = join(TMP, "check");
    cpSync(join(ROOT, "generated", "minimal"), join(out, "minimal"), { recursive: true });
    const path = join(out, "minimal", "train.ts");
    writeFileSync(path, readFileSync(path, "utf8").replace("const SEED = 42;", "const SEED = 43;"));
    const r = cli("--check", "--out-dir", ".tmp/cli/check", "test/specs/minimal.spec.ts");
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("-const SEED = 43;");
    expect(r.stdout).toContain("+const SEED = 42;");
    expect(r.stdout).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@$/m);
    expect(r.stderr).toMatch(/out of date: run `npm run generate`/);
  });

  it("writes <out-dir>/<name>/train.ts and prints what it wrote", () => {
    const r = cli("--out-dir", ".tmp/cli/write", "test/specs/minimal.spec.ts");
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("wrote .tmp/cli/write/minimal/train.ts");
    const written = readFileSync(join(TMP, "write", "minimal", "train.ts"), "utf8");
    expect(written).toContain("--out-dir .tmp/cli/write");
  });

  it("--stdout prints the program and writes nothing", () => {
    const r = cli("--stdout", "--out-dir", ".tmp/cli/stdout", "test/specs/minimal.spec.ts");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('const RUN_NAME = "minimal";');
    expect(existsSync(join(TMP, "stdout"))).toBe(false);
  });

  it("an invalid spec exits 1 with file:line:col diagnostics and no stack trace", () => {
    const path = join(TMP, "bad.spec.ts");
    writeFileSync(path, `import { defineTrainer } from "gen-trainer";\nexport default defineTrainer({\n  name: "bad",\n  model: { preset: "mlp", hidden: [8] },\n  data: { preset: "addition", digits: 2 },\n  args: { bf16: true },\n});\n`);
    const r = cli("--out-dir", ".tmp/cli/bad", ".tmp/cli/bad.spec.ts");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\.tmp\/cli\/bad\.spec\.ts:6:11 error E_BF16: /m);
    expect(r.stderr).toContain("nothing was written");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("a missing spec file exits 2 with a clear message", () => {
    const r = cli("no/such.spec.ts");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no\/such\.spec\.ts: spec file not found/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("usage errors exit 2", () => {
    expect(cli().status).toBe(2);
    expect(cli("--no-such-flag", "test/specs/minimal.spec.ts").status).toBe(2);
    expect(cli("--check", "--stdout", "test/specs/minimal.spec.ts").status).toBe(2);
  });
});
