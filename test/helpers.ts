/**
 * test/helpers.ts — shared by the tests: the committed specs, generation into memory, and
 * running a generated program in a child process.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { it } from "vitest";
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

/** A spec to write: its source, saved as <dir>/<name>.spec.ts. */
export interface SpecText {
  name: string;
  text: string;
}

/** A generated program, written to disk; `path` is its absolute path. */
export type WrittenProgram = GeneratedProgram & { path: string };

/**
 * Writes each spec as <dir>/<name>.spec.ts (dir must lie inside the repository, so that
 * "gen-trainer" resolves) and renders them all in one renderSpecs call into <dir>/generated.
 * Writes no program and throws on nothing: the result is renderSpecs's, diagnostics included.
 */
export async function renderSpecTexts(dir: string, specs: readonly SpecText[]): Promise<Awaited<ReturnType<typeof renderSpecs>>> {
  mkdirSync(dir, { recursive: true });
  const paths = specs.map(({ name, text }) => {
    const path = join(dir, `${name}.spec.ts`);
    writeFileSync(path, text);
    return path;
  });
  return renderSpecs(paths, join(dir, "generated"));
}

/**
 * Writes the specs (see renderSpecTexts), generates them all in one renderSpecs call (one shared
 * ts-morph project) into <dir>/generated/<program name>/train.ts and writes the programs. Throws
 * with the formatted diagnostics if any spec is invalid. Returns the programs keyed by program
 * name (the spec's `name`, which need not be its file name), each with its absolute path.
 */
export async function generatePrograms(dir: string, specs: readonly SpecText[]): Promise<Record<string, WrittenProgram>> {
  const { programs, diagnostics } = await renderSpecTexts(dir, specs);
  if (diagnostics.length > 0) {
    const what = specs.length === 1 ? `${join(dir, `${specs[0]!.name}.spec.ts`)} is invalid` : `specs in ${dir} are invalid`;
    throw new Error(`${what}:\n${diagnostics.map(formatDiagnostic).join("\n")}`);
  }
  const byName: Record<string, WrittenProgram> = {};
  for (const program of programs) {
    const path = resolve(program.outputPath); // renderSpecs gives it relative to the working directory
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, program.code);
    byName[program.plan.name] = { ...program, path };
  }
  return byName;
}

/**
 * Writes `text` as <dir>/<name>.spec.ts, generates it into <dir>/generated and writes the
 * program (see generatePrograms). Throws with the diagnostics if the spec is invalid.
 */
export async function generateProgram(dir: string, name: string, text: string): Promise<WrittenProgram> {
  const programs = Object.values(await generatePrograms(dir, [{ name, text }]));
  if (programs.length !== 1) throw new Error(`${join(dir, `${name}.spec.ts`)} generated ${programs.length} programs`);
  return programs[0]!;
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

/**
 * Mounts a tmpfs of `size` (mount's syntax: "256k") on a new temporary folder, for tests of a
 * full disk; `skip` says why it could not (not Linux, not root, mount refused), else null.
 */
export function mountTmpfs(size: string, prefix: string): { dir: string; skip: string | null } {
  const dir = tempDir(prefix);
  if (process.platform !== "linux") return { dir, skip: `tmpfs mounts need Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { dir, skip: "mounting a tmpfs needs root" };
  const result = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { encoding: "utf8" });
  if (result.error || result.status !== 0) return { dir, skip: `mount -t tmpfs was refused: ${(result.error?.message ?? result.stderr).trim()}` };
  return { dir, skip: null };
}

/** Unmounts what mountTmpfs mounted (if it did) and removes the folder. */
export function unmountTmpfs(mount: { dir: string; skip: string | null }): void {
  if (mount.skip === null) spawnSync("umount", [mount.dir]);
  rmSync(mount.dir, { recursive: true, force: true });
}

/**
 * `it` for tests that need the tmpfs: where it could not be mounted they are skipped with the
 * reason in their name — except when CI is set, where they must run, and fail with the reason.
 */
export function itOnTmpfs(skip: string | null): (name: string, body: () => Promise<void> | void, timeout?: number) => void {
  return (name, body, timeout) => {
    if (skip !== null && process.env.CI) {
      it(name, () => {
        throw new Error(`CI is set, so this test must run, but ${skip}`);
      });
      return;
    }
    it.skipIf(skip !== null)(skip === null ? name : `${name} (skipped: ${skip})`, body, timeout);
  };
}

/**
 * Debian's python3 with torch (python3-torch), for the PyTorch target's tests; null (with the
 * reason) when it is missing. Under CI the tests must run, so a missing torch is an error there.
 */
export const PYTHON = "/usr/bin/python3";
export function torchMissing(): string | null {
  const r = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  const reason = r.error ? `${PYTHON} not found` : r.status !== 0 ? "torch is not installed (apt-get install python3-torch)" : null;
  if (reason && process.env.CI) throw new Error(`PyTorch tests must run under CI, but ${reason}`);
  return reason;
}

/** Runs a Python script (with python/ on the path) and parses its stdout as JSON. */
export function runPython(script: string, args: string[] = [], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string; json: () => unknown } {
  const r = spawnSync(PYTHON, ["-c", script, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: join(ROOT, "python"), OMP_NUM_THREADS: "1", ...env },
    timeout: 300_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) as unknown };
}

/** Imports `module` (a path from the repository root) in a fresh node process; says whether TensorFlow.js got loaded. */
export function loadsTensorFlow(module: string): boolean {
  const code = [
    `import { createRequire } from "node:module";`,
    `await import(${JSON.stringify(module)});`,
    `const cjs = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes("@tensorflow"));`,
    `console.log(JSON.stringify({ engine: globalThis._tfengine !== undefined, cjs: cjs.length }));`,
  ].join("\n");
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`importing ${module} failed: ${r.stderr}`);
  const { engine, cjs } = JSON.parse(r.stdout.trim().split("\n").pop()!) as { engine: boolean; cjs: number };
  return engine || cjs > 0;
}
