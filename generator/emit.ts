/**
 * generator/emit.ts — TrainingPlan → the text of train.ts.
 *
 * Handlebars renders templates/train.ts.hbs and its partials (compiled with noEscape, strict and
 * knownHelpersOnly: the templates read the plan and nothing else), then one prettier pass with
 * a pinned prettier and fixed options gives byte-identical output on any machine.
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";
import * as prettier from "prettier";
import type { TrainingPlan } from "./plan.ts";

const TEMPLATES = join(dirname(fileURLToPath(import.meta.url)), "..", "templates");
const PRETTIER_OPTIONS: prettier.Options = { parser: "typescript", printWidth: 110, trailingComma: "all", endOfLine: "lf" };

let compiled: HandlebarsTemplateDelegate<TrainingPlan> | null = null;

function template(): HandlebarsTemplateDelegate<TrainingPlan> {
  if (compiled) return compiled;
  const hbs = Handlebars.create();
  const options = { noEscape: true, strict: true, knownHelpersOnly: true };
  for (const file of readdirSync(join(TEMPLATES, "partials")).sort()) {
    if (file.endsWith(".hbs")) hbs.registerPartial(basename(file, ".hbs"), hbs.compile(readFileSync(join(TEMPLATES, "partials", file), "utf8"), options));
  }
  compiled = hbs.compile<TrainingPlan>(readFileSync(join(TEMPLATES, "train.ts.hbs"), "utf8"), options);
  return compiled;
}

export async function emitProgram(plan: TrainingPlan): Promise<string> {
  const raw = template()(plan);
  return prettier.format(raw, PRETTIER_OPTIONS);
}
