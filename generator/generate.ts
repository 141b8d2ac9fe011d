/**
 * generator/generate.ts — the whole pipeline for a list of specs: load → validate → plan → emit,
 * then write (or compare, with --check; or print, with --stdout).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { type Diagnostic, formatDiagnostic, UsageError } from "./diagnostics.ts";
import { emitProgram, PROGRAM_FILE, type Target } from "./emit.ts";
import { pythonUnsupported } from "./lower-python.ts";
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
  /** --target: which programs to write (default typescript). */
  targets?: TargetSelection;
}

/**
 * typescript: train.ts; pytorch: train.py (a spec the PyTorch target cannot honour is an error);
 * all: train.ts for every spec and train.py for every spec the PyTorch target supports.
 */
export type TargetSelection = "typescript" | "pytorch" | "all";

export interface GeneratedProgram {
  target: Target;
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
export async function renderSpecs(specPaths: readonly string[], outDir: string, tuneBackend: string | null = null, targets: TargetSelection = "typescript"): Promise<Omit<GenerateResult, "differences">> {
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
    const written = (target: Target) => relative(process.cwd(), join(outDir, name, PROGRAM_FILE[target])).split(sep).join("/");
    if (targets !== "pytorch") programs.push({ target: "typescript", specPath: spec.displayPath, outputPath: written("typescript"), plan, code: await emitProgram(plan, "typescript") });
    if (targets === "typescript") continue;
    const unsupported = pythonUnsupported(plan);
    if (unsupported && targets === "all") notes.push(`${spec.displayPath}: no train.py: ${unsupported.reason}`);
    else if (unsupported) {
      let path = unsupported.path;
      while (!spec.source.positions.has(path) && path.includes(".")) path = path.slice(0, path.lastIndexOf("."));
      const at = spec.source.positions.get(path) ?? spec.source.root;
      diagnostics.push({ file: spec.displayPath, ...at, code: "E_TARGET", message: `${unsupported.reason}.` });
    } else programs.push({ target: "pytorch", specPath: spec.displayPath, outputPath: written("pytorch"), plan, code: await emitProgram(plan, "pytorch") });
  }
  return { programs, diagnostics, notes };
}

export async function generate(specPaths: readonly string[], options: GenerateOptions): Promise<GenerateResult> {
  const { programs, diagnostics, notes } = await renderSpecs(specPaths, options.outDir, options.tuneBackend ?? null, options.targets ?? "typescript");
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
