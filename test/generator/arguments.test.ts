// The argument table (generator/arguments.ts) against the spec's types (generator/spec-types.ts):
// the same keys in the same order, all optional, the same types; and the table against itself
// (HF names, defaults that pass their own rules, fields that fit each type).
import { join } from "node:path";
import { Project, type SourceFile, type Type } from "ts-morph";
import { describe, expect, it } from "vitest";
import { ARGUMENTS, ARG_KEYS, type Argument, FP16_SCALER_ARGUMENTS, argument } from "../../generator/arguments.ts";
import type { LoadedSpec } from "../../generator/load-spec.ts";
import { validateSpec } from "../../generator/validate.ts";

const SPEC_TYPES = join(import.meta.dirname, "..", "..", "generator", "spec-types.ts");
const project = new Project({ skipAddingFilesFromTsConfig: true, compilerOptions: { strict: true, noEmit: true, types: [] } });
const specTypes = project.addSourceFileAtPath(SPEC_TYPES);
let copies = 0;

/** A copy of spec-types.ts, changed by `edit`, to show that the check notices the change. */
function mutated(edit: (file: SourceFile) => void): SourceFile {
  const file = project.createSourceFile(`mutated-${copies++}.ts`, specTypes.getFullText());
  edit(file);
  return file;
}

/** A type as the table would name it: number, string, boolean, enum(a|b), enum(a|b)[], object. */
function describeType(type: Type): string {
  if (type.isNumber()) return "number";
  if (type.isString()) return "string";
  if (type.isBoolean()) return "boolean";
  if (type.isArray()) return `${describeType(type.getArrayElementTypeOrThrow())}[]`;
  if (type.isUnion() && type.getUnionTypes().every((t) => t.isStringLiteral())) {
    return `enum(${type.getUnionTypes().map((t) => String(t.getLiteralValue())).sort().join("|")})`;
  }
  if (type.isInterface()) return "object";
  return `unsupported(${type.getText()})`;
}

function expectedType(arg: Argument): string {
  const choices = `enum(${[...(arg.values ?? [])].sort().join("|")})`;
  return { integer: "number", number: "number", string: "string", boolean: "boolean", enum: choices, "enum[]": `${choices}[]`, object: "object" }[arg.type];
}

/** What differs between an interface of `file` and a table (nested "object"s included); [] when they agree. */
function mismatches(file: SourceFile, interfaceName: string, table: readonly Argument[]): string[] {
  const properties = file.getInterfaceOrThrow(interfaceName).getProperties();
  const names = properties.map((p) => p.getName());
  const problems: string[] = [];
  if (names.join(",") !== table.map((a) => a.name).join(",")) {
    problems.push(`${interfaceName} has keys [${names.join(", ")}] but the table has [${table.map((a) => a.name).join(", ")}]`);
  }
  for (const property of properties) {
    const at = `${interfaceName}.${property.getName()}`;
    if (!property.hasQuestionToken()) problems.push(`${at} is not optional`);
    const arg = table.find((a) => a.name === property.getName());
    if (!arg) continue;
    const type = property.getType().getNonNullableType();
    const actual = describeType(type);
    if (actual !== expectedType(arg)) problems.push(`${at} is ${actual} but the table says ${arg.type} (${expectedType(arg)})`);
    else if (arg.type === "object") problems.push(...mismatches(file, type.getSymbolOrThrow().getName(), arg.fields ?? []));
  }
  return problems;
}

describe("the argument table matches spec-types.ts", () => {
  it("TrainingArgs: same keys, same order, all optional, same types (Fp16ScalerArgs included)", () => {
    expect(mismatches(specTypes, "TrainingArgs", ARGUMENTS)).toEqual([]);
  });

  it("fp16Scaler is an Fp16ScalerArgs, whose fields are FP16_SCALER_ARGUMENTS", () => {
    const type = specTypes.getInterfaceOrThrow("TrainingArgs").getPropertyOrThrow("fp16Scaler").getType().getNonNullableType();
    expect(type.getSymbolOrThrow().getName()).toBe("Fp16ScalerArgs");
    expect(argument("fp16Scaler").fields).toBe(FP16_SCALER_ARGUMENTS);
    expect(mismatches(specTypes, "Fp16ScalerArgs", FP16_SCALER_ARGUMENTS)).toEqual([]);
  });

  it("ARG_KEYS are the table's names, in order", () => {
    expect(ARG_KEYS).toEqual(specTypes.getInterfaceOrThrow("TrainingArgs").getProperties().map((p) => p.getName()));
  });

  // The check itself: each change to spec-types.ts that the table does not follow is reported.
  it("notices a key added to TrainingArgs but not to the table", () => {
    const file = mutated((f) => f.getInterfaceOrThrow("TrainingArgs").addProperty({ name: "labelSmoothingFactor", type: "number", hasQuestionToken: true }));
    expect(mismatches(file, "TrainingArgs", ARGUMENTS)).toEqual([expect.stringContaining("labelSmoothingFactor")]);
  });

  it("notices a key moved, made required, or given another type", () => {
    const moved = mutated((f) => {
      const seed = f.getInterfaceOrThrow("TrainingArgs").getPropertyOrThrow("seed");
      const structure = seed.getStructure();
      seed.remove();
      f.getInterfaceOrThrow("TrainingArgs").addProperty(structure);
    });
    expect(mismatches(moved, "TrainingArgs", ARGUMENTS)).toEqual([expect.stringMatching(/^TrainingArgs has keys .*greaterIsBetter, seed\]/)]);
    const required = mutated((f) => f.getInterfaceOrThrow("TrainingArgs").getPropertyOrThrow("seed").setHasQuestionToken(false));
    expect(mismatches(required, "TrainingArgs", ARGUMENTS)).toEqual(["TrainingArgs.seed is not optional"]);
    const retyped = mutated((f) => f.getInterfaceOrThrow("TrainingArgs").getPropertyOrThrow("maxSteps").setType("string"));
    expect(mismatches(retyped, "TrainingArgs", ARGUMENTS)).toEqual(["TrainingArgs.maxSteps is string but the table says integer (number)"]);
  });

  it("notices a changed enum, enum array or nested field", () => {
    const intervals = mutated((f) => f.getTypeAliasOrThrow("IntervalStrategy").setType(`"no" | "steps" | "epoch" | "best"`));
    expect(mismatches(intervals, "TrainingArgs", ARGUMENTS)).toEqual([
      expect.stringMatching(/^TrainingArgs\.loggingStrategy is enum\(best\|epoch\|no\|steps\)/),
      expect.stringMatching(/^TrainingArgs\.evalStrategy is enum\(best\|epoch\|no\|steps\)/),
    ]);
    const reporters = mutated((f) => f.getTypeAliasOrThrow("ReportTo").setType(`"console" | "jsonl" | "wandb"`));
    expect(mismatches(reporters, "TrainingArgs", ARGUMENTS)).toEqual([expect.stringMatching(/^TrainingArgs\.reportTo is enum\(console\|jsonl\|wandb\)\[\]/)]);
    const scaler = mutated((f) => f.getInterfaceOrThrow("Fp16ScalerArgs").getPropertyOrThrow("growthInterval").setType("boolean"));
    expect(mismatches(scaler, "TrainingArgs", ARGUMENTS)).toEqual(["Fp16ScalerArgs.growthInterval is boolean but the table says integer (number)"]);
  });
});

/** The snake_case of a camelCase name (adamBeta1 → adam_beta1). */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Diagnostics of a valid spec whose args are `args`. */
function diagnose(args: Record<string, unknown>): string[] {
  const spec: LoadedSpec = {
    path: join(import.meta.dirname, "defaults.spec.ts"),
    displayPath: "defaults.spec.ts",
    value: { name: "defaults", model: { preset: "mlp", hidden: [8] }, data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 }, args },
    source: { positions: new Map(), comments: new Map(), root: { line: 1, column: 1 } },
  };
  return validateSpec(spec).map((d) => `${d.code} ${d.message}`);
}


describe("the argument table is consistent", () => {
  const tables = [
    { table: ARGUMENTS, wrap: (arg: Argument) => ({ [arg.name]: arg.default }) },
    { table: FP16_SCALER_ARGUMENTS, wrap: (arg: Argument) => ({ fp16: true, fp16Scaler: { [arg.name]: arg.default } }) },
  ];
  const withDefaults = tables.flatMap(({ table, wrap }) => (table as readonly Argument[]).filter((a) => a.default !== null).map((arg) => ({ name: arg.name, arg, args: wrap(arg) })));

  it.each(withDefaults)("the default of $name passes its own rules", ({ args }) => {
    expect(diagnose(args)).toEqual([]);
  });

  it("all defaults at once pass validation together", () => {
    const args = Object.fromEntries(ARGUMENTS.filter((a) => a.default !== null).map((a) => [a.name, a.default]));
    expect(diagnose(args)).toEqual([]);
  });

  it("HF names are unique snake_case, the snake_case of the spec's name", () => {
    for (const table of [ARGUMENTS, FP16_SCALER_ARGUMENTS] as const) {
      const hf = (table as readonly Argument[]).flatMap((a) => (a.hf === null ? [] : [a.hf]));
      expect(new Set(hf).size).toBe(hf.length);
      for (const name of hf) expect(name).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
      for (const a of table as readonly Argument[]) if (a.hf !== null) expect(a.hf).toBe(snake(a.name));
    }
    // No TrainingArguments equivalent: the GradScaler settings, and GradScaler has no minimum scale.
    expect([...ARGUMENTS, ...FP16_SCALER_ARGUMENTS].filter((a) => a.hf === null).map((a) => a.name)).toEqual(["fp16Scaler", "minScale"]);
  });

  it("each entry has the fields its type needs and no others", () => {
    for (const a of [...ARGUMENTS, ...FP16_SCALER_ARGUMENTS] as readonly Argument[]) {
      expect(a.default === null, `${a.name}: defaultFrom is null exactly when default is`).toBe(a.defaultFrom === null);
      expect(a.values !== undefined, `${a.name}: values`).toBe(a.type === "enum" || a.type === "enum[]");
      expect(a.fields !== undefined, `${a.name}: fields`).toBe(a.type === "object");
      expect(a.expects !== undefined, `${a.name}: expects`).toBe(a.type === "string");
      if (a.range !== undefined) expect(["integer", "number"], `${a.name}: range`).toContain(a.type);
      if (a.range?.steps) expect(Object.keys(a.range), `${a.name}: a step count has no other bound`).toEqual(["steps"]);
      expect(a.doc, `${a.name}: doc`).toMatch(/^\S[^\n]*\.$/);
    }
  });

  it("defaults come from HF, except reportTo (ours) and the GradScaler's (torch)", () => {
    expect(ARGUMENTS.filter((a) => a.defaultFrom !== "hf" && a.default !== null).map((a) => [a.name, a.defaultFrom])).toEqual([["reportTo", "ours"]]);
    expect(FP16_SCALER_ARGUMENTS.filter((a) => a.default !== null).every((a) => a.defaultFrom === "torch")).toBe(true);
  });
});
