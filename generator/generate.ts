/**
 * generator/generate.ts — the whole pipeline for a list of specs: load → validate → plan → emit,
 * then write (or compare, with --check; or print, with --stdout).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { type Diagnostic, formatDiagnostic, UsageError } from "./diagnostics.ts";
import { emitProgram } from "./emit.ts";
import { createSpecProject, loadSpecs } from "./load-spec.ts";
import { buildPlan, type TrainingPlan, withTuning } from "./plan.ts";
import { unifiedDiff } from "./unified-diff.ts";
import { validateSpec } from "./validate.ts";

export interface GenerateOptions {
  outDir: string;
  check: boolean;
  stdout: boolean;
  /** --tune: time the model's formulations on this backend and record the fastest. */
  tuneBackend?: string | null;
}

export interface GeneratedProgram {
  specPath: string;
  outputPath: string;
  plan: TrainingPlan;
  code: string;
}

export interface GenerateResult {
  programs: GeneratedProgram[];
  diagnostics: Diagnostic[];
  /** Remarks for the user (e.g. why a spec was not tuned). */
  notes: string[];
  /** --check: files that differ from what the generator emits, with their diffs. */
  differences: { path: string; diff: string }[];
}

/** Loads, validates, plans and renders every spec; writes nothing. */
export async function renderSpecs(specPaths: readonly string[], outDir: string, tuneBackend: string | null = null): Promise<Omit<GenerateResult, "differences">> {
  const project = createSpecProject();
  const programs: GeneratedProgram[] = [];
  const diagnostics: Diagnostic[] = [];
  const notes: string[] = [];
  const names = new Map<string, string>();
  for (const { spec, diagnostics: loadDiagnostics } of await loadSpecs(specPaths, project)) {
    diagnostics.push(...loadDiagnostics);
    if (!spec) continue;
    const problems = validateSpec(spec);
    diagnostics.push(...problems);
    if (problems.length > 0 || loadDiagnostics.length > 0) continue;
    const name = (spec.value as { name: string }).name;
    const clash = names.get(name);
    if (clash) {
      const at = spec.source.positions.get("name") ?? spec.source.root;
      diagnostics.push({ file: spec.displayPath, ...at, code: "E_NAME_CLASH", message: `name "${name}" is also used by ${clash}; both would write ${outDir}/${name}/train.ts. Rename one.` });
      continue;
    }
    names.set(name, spec.displayPath);
    const outputPath = join(outDir, name, "train.ts");
    let plan = buildPlan(spec, outputPath);
    if (tuneBackend) {
      const { tunePlan } = await import("./tune.ts");
      const tuned = await tunePlan(plan, tuneBackend);
      plan = withTuning(plan, tuned.tuning);
      if (tuned.reason) notes.push(`${spec.displayPath}: not tuned: ${tuned.reason}`);
    }
    programs.push({ specPath: spec.displayPath, outputPath: relative(process.cwd(), outputPath).split(sep).join("/"), plan, code: await emitProgram(plan) });
  }
  return { programs, diagnostics, notes };
}

export async function generate(specPaths: readonly string[], options: GenerateOptions): Promise<GenerateResult> {
  const { programs, diagnostics, notes } = await renderSpecs(specPaths, options.outDir, options.tuneBackend ?? null);
  const differences: GenerateResult["differences"] = [];
  if (diagnostics.length > 0) return { programs, diagnostics, notes, differences };
  for (const program of programs) {
    if (options.stdout) continue;
    if (options.check) {
      const current = existsSync(program.outputPath) ? readFileSync(program.outputPath, "utf8") : "";
      if (current !== program.code) differences.push({ path: program.outputPath, diff: unifiedDiff(program.outputPath, current, program.code) });
    } else {
      try {
        mkdirSync(dirname(program.outputPath), { recursive: true });
        writeFileSync(program.outputPath, program.code);
      } catch (error) {
        throw writeError(program.outputPath, options.outDir, error as NodeJS.ErrnoException);
      }
    }
  }
  return { programs, diagnostics, notes, differences };
}

/** A write that failed, as a usage error naming the path, why, and what --out-dir must be. */
function writeError(path: string, outDir: string, error: NodeJS.ErrnoException): UsageError {
  let existing = dirname(path);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  const reason =
    existsSync(existing) && !statSync(existing).isDirectory()
      ? `${existing} is a file, not a folder`
      : error.code === "EACCES" || error.code === "EPERM" || error.code === "EROFS"
        ? `no permission to write there (${error.code})`
        : (error.code ?? error.message);
  return new UsageError(`cannot write ${path}: ${reason}. --out-dir ${outDir} must be a folder you can write (it is created if missing).`);
}

export { formatDiagnostic };
