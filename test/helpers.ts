/**
 * test/helpers.ts — shared by the tests: the committed specs, generation into memory, and
 * running a generated program in a child process.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderSpecs } from "../generator/generate.ts";

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

/** Writes a spec under test/specs-tmp-like folder inside the repo (so "gen-trainer" resolves) and returns its path. */
export function writeSpec(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export async function generateOne(specPath: string, outDir = "generated") {
  return renderSpecs([specPath], outDir);
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
