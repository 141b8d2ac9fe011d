/**
 * generator/emit.ts — TrainingPlan → the text of train.ts.
 *
 * The plan is lowered to TypeScript (lower-typescript.ts); Handlebars renders the sections the
 * lowering lists, each with the partial named after it (compiled with noEscape, strict and
 * knownHelpersOnly: the templates print what the lowering hands them and decide nothing). The
 * imports are then derived from the identifiers the rendered code uses (imports.ts), and one
 * prettier pass with a pinned prettier and fixed options gives byte-identical output on any
 * machine.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import * as prettier from "prettier";
import { importsFor } from "./imports.ts";
import { lowerTypeScript, type TypeScriptProgram } from "./lower-typescript.ts";
import type { TrainingPlan } from "./plan.ts";

const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), "..", "templates");
const PRETTIER_OPTIONS: prettier.Options = { parser: "typescript", printWidth: 110, trailingComma: "all", endOfLine: "lf" };

interface Templates {
  header: HandlebarsTemplateDelegate<TypeScriptProgram["header"]>;
  body: HandlebarsTemplateDelegate<TypeScriptProgram>;
}
let compiled: Templates | null = null;

function templates(): Templates {
  if (compiled) return compiled;
  const hbs = Handlebars.create();
  const options = { noEscape: true, strict: true, knownHelpersOnly: true };
  const partials = join(TEMPLATES, "partials");
  for (const file of readdirSync(partials).sort()) {
    if (file.endsWith(".hbs")) hbs.registerPartial(basename(file, ".hbs"), hbs.compile(readFileSync(join(partials, file), "utf8"), options));
  }
  compiled = {
    header: hbs.compile(readFileSync(join(partials, "header.hbs"), "utf8"), options),
    body: hbs.compile(readFileSync(join(TEMPLATES, "train.ts.hbs"), "utf8"), options),
  };
  return compiled;
}

export async function emitProgram(plan: TrainingPlan): Promise<string> {
  const program = lowerTypeScript(plan);
  const { header, body } = templates();
  const code = body(program);
  return prettier.format(`${header(program.header)}${importsFor(code, program.externals)}\n${code}`, PRETTIER_OPTIONS);
}
