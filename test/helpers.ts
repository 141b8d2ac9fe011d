/**
 * test/helpers.ts — shared by the tests: the committed specs, generation into memory, and
 * running a generated program in a child process.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { formatDiagnostic } from "../generator/diagnostics.ts";
import { type GeneratedProgram, renderSpecs } from "../generator/generate.ts";

export const ROOT = join(import.meta.dirname, "..");

/** Every committed spec: examples/*.spec.ts and test/specs/*.spec.ts. */
export function committedSpecs(): string[] {
  return ["examples", "test/specs"].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => f.endsWith(".spec.ts"))
      .sort()
      .map((f) => `${dir}/${f}`),
  );
}

export function tempDir(prefix = "gen-trainer-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Writes `text` as <dir>/<name>.spec.ts (dir must lie inside the repository, so that
 * "gen-trainer" resolves), generates it into <dir>/generated and writes the program. Throws
 * with the diagnostics if the spec is invalid. Returns the program's absolute path and more.
 */
export async function generateProgram(dir: string, name: string, text: string): Promise<GeneratedProgram & { path: string }> {
  mkdirSync(dir, { recursive: true });
  const spec = join(dir, `${name}.spec.ts`);
  writeFileSync(spec, text);
  const { programs, diagnostics } = await renderSpecs([spec], join(dir, "generated"));
  if (diagnostics.length > 0) throw new Error(`${spec} is invalid:\n${diagnostics.map(formatDiagnostic).join("\n")}`);
  const program = programs[0]!;
  mkdirSync(dirname(program.outputPath), { recursive: true });
  writeFileSync(program.outputPath, program.code);
  return { ...program, path: join(ROOT, program.outputPath) };
}

/** Runs a generated program with tsx; returns exit code and output. */
export function runProgram(program: string, args: string[], env: Record<string, string> = {}, cwd = ROOT) {
  const result = spawnSync(process.execPath, ["--import", "tsx", program, ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

export function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
