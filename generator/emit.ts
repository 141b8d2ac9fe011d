/**
 * generator/emit.ts — TrainingPlan → the text of a program, per output language.
 *
 * typescript (train.ts): the plan is lowered by lower-typescript.ts; Handlebars renders the
 * sections the lowering lists, each with the partial of templates/typescript/ named after it; the
 * imports are derived from the identifiers the rendered code uses (imports.ts); one prettier pass
 * with a pinned prettier and fixed options gives byte-identical output on any machine.
 * pytorch (train.py): lowered by lower-python.ts and rendered from templates/python/ the same
 * way; its imports come from python/gen_trainer/'s definitions; the templates are written in
 * their final layout (no formatter runs), trailing spaces stripped.
 *
 * Templates are compiled with noEscape, strict and knownHelpersOnly: they print what the lowering
 * hands them and decide nothing.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import * as prettier from "prettier";
import { importsFor, pythonImportsFor } from "./imports.ts";
import { lowerPython } from "./lower-python.ts";
import { lowerTypeScript } from "./lower-typescript.ts";
import type { TrainingPlan } from "./plan.ts";

export type Target = "typescript" | "pytorch";
export const TARGETS: readonly Target[] = ["typescript", "pytorch"];
/** The file each target writes into generated/<name>/. */
export const PROGRAM_FILE: Record<Target, string> = { typescript: "train.ts", pytorch: "train.py" };

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PRETTIER_OPTIONS: prettier.Options = { parser: "typescript", printWidth: 110, trailingComma: "all", endOfLine: "lf" };

interface Templates {
  header: HandlebarsTemplateDelegate;
  body: HandlebarsTemplateDelegate;
}
const compiled = new Map<Target, Templates>();

/** templates/<language>/: <program>.hbs (the list of sections) and partials/<section>.hbs. */
function templates(target: Target): Templates {
  const cached = compiled.get(target);
  if (cached) return cached;
  const dir = join(ROOT, "templates", target === "typescript" ? "typescript" : "python");
  const hbs = Handlebars.create();
  const options = { noEscape: true, strict: true, knownHelpersOnly: true };
  const partials = join(dir, "partials");
  for (const file of readdirSync(partials).sort()) {
    if (file.endsWith(".hbs")) hbs.registerPartial(basename(file, ".hbs"), hbs.compile(readFileSync(join(partials, file), "utf8"), options));
  }
  const made = {
    header: hbs.compile(readFileSync(join(partials, "header.hbs"), "utf8"), options),
    body: hbs.compile(readFileSync(join(dir, `${PROGRAM_FILE[target]}.hbs`), "utf8"), options),
  };
  compiled.set(target, made);
  return made;
}

export async function emitProgram(plan: TrainingPlan, target: Target = "typescript"): Promise<string> {
  const { header, body } = templates(target);
  if (target === "typescript") {
    const program = lowerTypeScript(plan);
    const code = body(program);
    return prettier.format(`${header(program.header)}${importsFor(code, program.externals)}\n${code}`, PRETTIER_OPTIONS);
  }
  const programDir = dirname(resolve(plan.files.program));
  const runtimePath = relative(programDir, join(ROOT, "python")).split(sep).join("/");
  const program = lowerPython(plan, runtimePath);
  const code = body(program);
  const imports = pythonImportsFor(code);
  const preamble = [
    "import sys",
    "from pathlib import Path",
    "",
    imports.standard,
    "",
    "HERE = Path(__file__).resolve().parent",
    `sys.path.insert(0, str(HERE / ${JSON.stringify(runtimePath)}))  # python/: the gen_trainer runtime`,
    "",
    imports.runtime,
  ].join("\n");
  const text = `${header(program.header)}${preamble}\n${code}`;
  return `${text
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n")
    .replace(/\n{4,}/g, "\n\n\n")
    .trimEnd()}\n`;
}
