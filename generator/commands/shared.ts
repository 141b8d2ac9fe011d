/**
 * generator/commands/shared.ts — what the subcommands share: strict flag parsing that reports
 * problems as UsageErrors (exit 2), checks of file paths given on the command line, and loading
 * one spec through the generator's own pipeline (load → validate → plan), so a subcommand reports
 * exactly the diagnostics generation would.
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { type Diagnostic, formatDiagnostic, UsageError } from "../diagnostics.ts";
import { createSpecProject, type LoadedSpec, loadSpecs, toDisplayPath } from "../load-spec.ts";
import { buildPlan, type TrainingPlan } from "../plan.ts";
import { validateSpec } from "../validate.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs, strict, with its errors turned into usage errors that name the fix. */
export function parseFlags<T extends Options>(argv: string[], options: T, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new UsageError(`${message}\nusage: ${usage}`);
  }
}

/** A path given on the command line that must be a regular file ("spec file" → "spec file not found"). */
export function requireFile(path: string, what: string, example: string): string {
  const absolute = resolve(path);
  const shown = toDisplayPath(absolute) || path;
  if (!existsSync(absolute)) throw new UsageError(`${shown}: ${what} not found. Pass the path of ${example}.`);
  if (!statSync(absolute).isFile()) throw new UsageError(`${shown} is a ${statSync(absolute).isDirectory() ? "directory" : "special file"}, not a ${what}. Pass the path of ${example}.`);
  return absolute;
}

export interface PlannedSpec {
  spec: LoadedSpec;
  plan: TrainingPlan;
  outputPath: string;
}

/** Loads, validates and plans one spec; diagnostics (exit 1) when it is invalid. */
export async function planSpec(specPath: string, outDir: string): Promise<{ planned: PlannedSpec | null; diagnostics: Diagnostic[] }> {
  requireFile(specPath, "spec file", "a .spec.ts file, e.g. examples/addition.spec.ts");
  const [result] = await loadSpecs([specPath], createSpecProject());
  const { spec, diagnostics: loadDiagnostics } = result!;
  const diagnostics = [...loadDiagnostics];
  if (spec) diagnostics.push(...validateSpec(spec));
  if (!spec || diagnostics.length > 0) return { planned: null, diagnostics };
  const outputPath = join(outDir, (spec.value as { name: string }).name, "train.ts");
  return { planned: { spec, plan: buildPlan(spec, outputPath), outputPath: toDisplayPath(resolve(outputPath)) }, diagnostics: [] };
}

/** Prints diagnostics as generation does; returns exit code 1. */
export function reportDiagnostics(diagnostics: readonly Diagnostic[], tail = "nothing was written."): number {
  for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
  process.stderr.write(`${diagnostics.length} problem${diagnostics.length === 1 ? "" : "s"}; ${tail}\n`);
  return 1;
}

/** 12,345 */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** Bytes as B, KB, MB, GB (powers of 1000). */
export function bytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${units[unit]}`;
}

/** A learning rate or other small number, in at most 3 significant digits: 0.003, 7.41e-9. */
export function short(x: number): string {
  if (x === 0) return "0";
  return String(Number(x.toPrecision(3)));
}
