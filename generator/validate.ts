/**
 * generator/validate.ts — every rule a spec's values must satisfy, checked in one pass.
 *
 * Types are checked by the compiler (load-spec.ts); this checks what types cannot say: unknown
 * keys (with did-you-mean), ranges, integers, files that must exist, and HF's cross-field
 * rules (training_args.py __post_init__, see shared/reference/hf-trainer-semantics.md §4). All
 * problems are collected, so a spec with several gets all of them in one run.
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ARG_DEFAULTS, evalMetricName } from "./defaults.ts";
import { ARGUMENTS, ARG_KEYS, type ArgName, type Argument, FP16_SCALER_ARGUMENTS, argument } from "./arguments.ts";
import { ADDITION_METRICS, ADDITION_TOKENS, additionProblemCount, additionSequenceLength, additionSizes } from "../runtime/presets/addition.ts";
import { TEXT_DEFAULTS, TEXT_METRICS, describeInvalidUtf8, findInvalidUtf8, textCharacterCount, textMinimumCharacters, textSplits } from "../runtime/presets/text.ts";
import { inspectCallbackClass, moduleDefinesGenerate } from "./callback-classes.ts";
import { validateGpt2, validateJsonl, validateTokenizer } from "./validate-language.ts";
import { GPT2_DEFAULTS } from "../runtime/presets/gpt2.ts";
import { type Diagnostic, didYouMean } from "./diagnostics.ts";
import type { LoadedSpec } from "./load-spec.ts";

export type Obj = Record<string, unknown>;

const SPEC_KEYS = ["name", "model", "data", "tokenizer", "args", "callbacks"];
const MODEL_KEYS: Record<string, string[]> = {
  "char-transformer": ["preset", "dModel", "layers", "heads", "contextLength"],
  mlp: ["preset", "hidden", "window", "embedding"],
};
const DATA_KEYS: Record<string, string[]> = {
  addition: ["preset", "digits", "trainExamples", "evalExamples", "reverseAnswer", "fixedWidth", "seed"],
};
const TEXT_KEYS = ["text", "evalFraction", "sequenceLength"];
// The training arguments (keys, types, ranges, choices) are the argument table's: generator/arguments.ts.
export { ARG_KEYS };

function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export class Checker {
  readonly diagnostics: Diagnostic[] = [];
  constructor(readonly spec: LoadedSpec) {}

  error(path: string, code: string, message: string): void {
    // Point at the property itself, or at the closest enclosing one written in the source.
    let p = path;
    let position = this.spec.source.positions.get(p);
    while (!position && p.includes(".")) {
      p = p.slice(0, p.lastIndexOf("."));
      position = this.spec.source.positions.get(p);
    }
    position ??= this.spec.source.positions.get(p) ?? this.spec.source.root;
    this.diagnostics.push({ file: this.spec.displayPath, line: position.line, column: position.column, code, message });
  }

  keys(obj: Obj, path: string, known: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (known.includes(key)) continue;
      const guess = didYouMean(key, known);
      const where = path || "the spec";
      this.error(path ? `${path}.${key}` : key, "E_UNKNOWN_KEY", `unknown key "${key}" in ${where}${guess ? `; did you mean "${guess}"?` : `; known keys: ${known.join(", ")}.`}`);
    }
  }

  /** A number with a range; returns it when valid. */
  number(obj: Obj, key: string, path: string, rule: { integer?: boolean; min?: number; minExclusive?: number; max?: number; maxExclusive?: number; hint?: string }): number | undefined {
    const value = obj[key];
    if (value === undefined) return undefined;
    const at = `${path}.${key}`;
    const fix = rule.hint ? ` ${rule.hint}` : "";
    if (typeof value !== "number" || Number.isNaN(value)) {
      this.error(at, "E_TYPE", `${at} must be a number, got ${JSON.stringify(value)}.${fix}`);
      return undefined;
    }
    const ranges: string[] = [];
    if (rule.min !== undefined) ranges.push(`>= ${rule.min}`);
    if (rule.minExclusive !== undefined) ranges.push(`> ${rule.minExclusive}`);
    if (rule.max !== undefined) ranges.push(`<= ${rule.max}`);
    if (rule.maxExclusive !== undefined) ranges.push(`< ${rule.maxExclusive}`);
    const bad =
      !Number.isFinite(value) ||
      (rule.integer && !Number.isInteger(value)) ||
      (rule.min !== undefined && value < rule.min) ||
      (rule.minExclusive !== undefined && value <= rule.minExclusive) ||
      (rule.max !== undefined && value > rule.max) ||
      (rule.maxExclusive !== undefined && value >= rule.maxExclusive);
    if (bad) {
      this.error(at, "E_RANGE", `${at} is ${value} but must be ${rule.integer ? "an integer " : "a finite number "}${ranges.join(" and ")}.${fix}`);
      return undefined;
    }
    return value;
  }

  /** A step count: an integer >= 1, or a ratio of max steps in (0, 1) (HF rule). */
  steps(obj: Obj, key: string, path: string): number | undefined {
    const value = this.number(obj, key, path, { minExclusive: 0 });
    if (value !== undefined && value > 1 && !Number.isInteger(value)) {
      this.error(`${path}.${key}`, "E_RANGE", `${path}.${key} is ${value}: values above 1 are step counts and must be integers; values in (0, 1) are ratios of max steps.`);
      return undefined;
    }
    return value;
  }

  oneOf(obj: Obj, key: string, path: string, allowed: readonly string[]): string | undefined {
    const value = obj[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || !allowed.includes(value)) {
      const guess = typeof value === "string" ? didYouMean(value, allowed) : null;
      this.error(`${path}.${key}`, "E_VALUE", `${path}.${key} is ${JSON.stringify(value)}; use one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}${guess ? ` (did you mean "${guess}"?)` : ""}.`);
      return undefined;
    }
    return value;
  }

  boolean(obj: Obj, key: string, path: string): boolean | undefined {
    const value = obj[key];
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") {
      this.error(`${path}.${key}`, "E_TYPE", `${path}.${key} must be true or false, got ${JSON.stringify(value)}.`);
      return undefined;
    }
    return value;
  }

  /** A path relative to the spec that must name a readable file; returns its absolute path when it does. */
  file(obj: Obj, key: string, path: string, what: string): string | undefined {
    const value = obj[key];
    const at = `${path}.${key}`;
    if (typeof value !== "string" || value === "") {
      this.error(at, "E_TYPE", `${at} must be a path (relative to the spec file), got ${JSON.stringify(value)}.`);
      return undefined;
    }
    const absolute = resolve(dirname(this.spec.path), value);
    const wanted = what === "text file" ? "a UTF-8 text file" : what.endsWith("module") ? `a ${what} (.ts)` : `a ${what}`;
    if (!existsSync(absolute)) {
      this.error(at, "E_FILE", `${at}: ${what} ${JSON.stringify(value)} not found (looked for ${JSON.stringify(absolute)}); paths are relative to the spec file.`);
    } else if (!statSync(absolute).isFile()) {
      this.error(at, "E_FILE", `${at}: ${JSON.stringify(value)} is a ${statSync(absolute).isDirectory() ? "directory" : "special file"} (${JSON.stringify(absolute)}); give the path of ${wanted}, relative to the spec file.`);
    } else {
      try {
        accessSync(absolute, constants.R_OK);
        return absolute;
      } catch (error) {
        this.error(at, "E_FILE", `${at}: ${what} ${JSON.stringify(value)} cannot be read (${(error as NodeJS.ErrnoException).code}); give it read permission (chmod +r ${JSON.stringify(absolute)}).`);
      }
    }
    return undefined;
  }
}

/** The sequence length the data will have, when it is known at generation time. */
function dataSequenceLength(data: Obj, model: Obj): number | null {
  if (data.preset === "addition" && typeof data.digits === "number") return additionSequenceLength(data.digits);
  if (typeof data.text === "string") {
    if (typeof data.sequenceLength === "number") return data.sequenceLength;
    return typeof model.contextLength === "number" ? model.contextLength : TEXT_DEFAULTS.sequenceLength;
  }
  return null;
}

function validateModel(c: Checker, model: unknown): void {
  if (!isObject(model)) return c.error("model", "E_TYPE", `model must be an object: { preset: "char-transformer", ... }, { preset: "mlp", ... }, { preset: "gpt2", ... } or { module: "./my-model.ts" }.`);
  if (model.preset === "gpt2") return validateGpt2(c, model, dirname(c.spec.path));
  if ("module" in model) {
    c.keys(model, "model", ["module"]);
    c.file(model, "module", "model", "model module");
    return;
  }
  const preset = c.oneOf(model, "preset", "model", Object.keys(MODEL_KEYS));
  if (model.preset === undefined) c.error("model", "E_VALUE", `model needs "preset" ("char-transformer", "mlp" or "gpt2") or "module".`);
  if (!preset) return;
  c.keys(model, "model", MODEL_KEYS[preset]!);
  if (preset === "char-transformer") {
    const dModel = c.number(model, "dModel", "model", { integer: true, min: 1 });
    c.number(model, "layers", "model", { integer: true, min: 1 });
    const heads = c.number(model, "heads", "model", { integer: true, min: 1 });
    c.number(model, "contextLength", "model", { integer: true, min: 2 });
    if (dModel !== undefined && heads !== undefined && dModel % heads !== 0) {
      c.error("model.heads", "E_RANGE", `model.heads (${heads}) must divide model.dModel (${dModel}); e.g. heads ${[1, 2, 4, 8].filter((h) => dModel % h === 0).pop()}.`);
    }
  } else {
    const hidden = model.hidden;
    if (!Array.isArray(hidden) || hidden.length === 0) c.error("model.hidden", "E_TYPE", `model.hidden must be a non-empty array of layer sizes, e.g. [128].`);
    else hidden.forEach((_, i) => c.number(hidden as unknown as Obj, String(i), "model.hidden", { integer: true, min: 1 }));
    c.number(model, "window", "model", { integer: true, min: 1 });
    c.number(model, "embedding", "model", { integer: true, min: 1 });
  }
}

/**
 * A text corpus the program can train on, read where generation reads it: valid UTF-8 (the first
 * invalid sequence is reported with its line, column and bytes), not empty (0 bytes: a file of
 * only whitespace is text, judged by its length like any other), and long enough for one window
 * of sequenceLength + 1 characters in the training head and, when evalFraction > 0, in the
 * held-out tail, without which runtime/data/text.ts stops at start (it checks the same again at
 * run time, with the same functions of runtime/presets/text.ts). `evalFraction` is null when the
 * spec's is invalid (reported already): then the sizes are not checked.
 */
function validateTextFile(c: Checker, data: Obj, model: Obj, absolute: string, evalFraction: number | null, sequenceLengthValid: boolean): void {
  const at = "data.text";
  const name = JSON.stringify(data.text);
  let bytes: Buffer;
  try {
    bytes = readFileSync(absolute);
  } catch (error) {
    return c.error(at, "E_FILE", `${at}: text file ${name} cannot be read (${(error as NodeJS.ErrnoException).code}); give it read permission (chmod +r ${JSON.stringify(absolute)}).`);
  }
  const invalid = findInvalidUtf8(bytes);
  if (invalid) {
    return c.error(at, "E_TEXT_UTF8", `${at}: text file ${name} is not valid UTF-8 (${JSON.stringify(absolute)}): ${describeInvalidUtf8(invalid)}. The program reads it as UTF-8: save it as UTF-8 (e.g. iconv -f <its encoding> -t UTF-8) or fix line ${invalid.line}.`);
  }
  // The sequence length the program will use (data.sequenceLength, else the model's contextLength, else the default).
  const T = sequenceLengthValid ? dataSequenceLength(data, model) : null;
  const sizes = T !== null && Number.isInteger(T) && T >= 1 && evalFraction !== null ? { T, evalFraction, minimum: textMinimumCharacters(evalFraction, T) } : null;
  const perSplit = (s: { T: number; evalFraction: number }) => `one window of sequenceLength + 1 = ${s.T + 1} characters for training${s.evalFraction > 0 ? " and one for the held-out split" : ""}`;
  if (bytes.length === 0) {
    const need = sizes ? ` (at least ${sizes.minimum} characters: ${perSplit(sizes)})` : "";
    return c.error(at, "E_TEXT_EMPTY", `${at}: text file ${name} is empty (0 bytes, ${JSON.stringify(absolute)}); the model learns from its characters: put the training text in it${need}, or point data.text at another file.`);
  }
  if (!sizes) return;
  const characters = textCharacterCount(bytes);
  const { trainWindows, evalWindows, evalCharacters } = textSplits(characters, sizes.evalFraction, sizes.T);
  const from = data.sequenceLength !== undefined ? "data.sequenceLength" : typeof model.contextLength === "number" ? "the model's contextLength" : "the default";
  const window = `one window of sequenceLength + 1 = ${sizes.T + 1} characters (sequenceLength ${sizes.T}: ${from})`;
  if (trainWindows < 1) {
    const split = evalCharacters > 0 ? `holding out the last ${evalCharacters} (evalFraction ${sizes.evalFraction}) leaves ${characters - evalCharacters} for training` : `none are held out, so all ${characters} are for training`;
    return c.error(at, "E_TEXT_SHORT", `${at}: text file ${name} has ${characters} characters; ${split}: fewer than ${window}. Use a longer text (at least ${sizes.minimum} characters: ${perSplit(sizes)}) or a shorter data.sequenceLength.`);
  }
  if (sizes.evalFraction > 0 && evalWindows < 1) {
    // The smallest evalFraction (in hundredths) that leaves one window in each split, if any does.
    let raise: number | null = null;
    for (let f = Math.ceil(((sizes.T + 1) / characters) * 100); f < 100 && raise === null; f++) {
      const s = textSplits(characters, f / 100, sizes.T);
      if (s.trainWindows >= 1 && s.evalWindows >= 1) raise = f / 100;
    }
    c.error(at, "E_TEXT_EVAL_SHORT", `${at}: the held-out split of text file ${name} is its last ${evalCharacters} of ${characters} characters (evalFraction ${sizes.evalFraction}), fewer than ${window}, so evaluation would have nothing to score and the program would stop at start. ${raise !== null ? `Raise data.evalFraction to ${raise}, use` : "Use"} a longer text (at least ${sizes.minimum} characters), or set data.evalFraction: 0 to hold nothing out (and evalStrategy "no").`);
  }
}

/** Returns whether the data has a held-out split (null: unknown, a user module). */
function validateData(c: Checker, data: unknown, model: Obj = {}): boolean | null {
  if (!isObject(data)) {
    c.error("data", "E_TYPE", `data must be an object: { preset: "addition", digits }, { text: "corpus.txt" }, { jsonl: "rows.jsonl" } or { module: "./my-data.ts" }.`);
    return null;
  }
  if ("module" in data) {
    c.keys(data, "data", ["module"]);
    c.file(data, "module", "data", "data module");
    return null;
  }
  if ("jsonl" in data) return validateJsonl(c, data);
  if ("text" in data) {
    c.keys(data, "data", TEXT_KEYS);
    const absolute = c.file(data, "text", "data", "text file");
    const fraction = c.number(data, "evalFraction", "data", { min: 0, maxExclusive: 1 });
    const sequenceLength = c.number(data, "sequenceLength", "data", { integer: true, min: 1 });
    if (absolute) {
      const evalFraction = fraction ?? (data.evalFraction === undefined ? TEXT_DEFAULTS.evalFraction : null);
      validateTextFile(c, data, model, absolute, evalFraction, data.sequenceLength === undefined || sequenceLength !== undefined);
    }
    return (fraction ?? TEXT_DEFAULTS.evalFraction) > 0;
  }
  const preset = c.oneOf(data, "preset", "data", Object.keys(DATA_KEYS));
  if (data.preset === undefined) c.error("data", "E_VALUE", `data needs "preset" ("addition"), "text", "jsonl" or "module".`);
  if (!preset) return null;
  c.keys(data, "data", DATA_KEYS[preset]!);
  const digits = c.number(data, "digits", "data", { integer: true, min: 1, max: 6 });
  const train = c.number(data, "trainExamples", "data", { integer: true, min: 1 });
  const held = c.number(data, "evalExamples", "data", { integer: true, min: 0 });
  c.boolean(data, "reverseAnswer", "data");
  c.boolean(data, "fixedWidth", "data");
  c.number(data, "seed", "data", { integer: true, min: 0 });
  if (digits === undefined) return held === undefined || held > 0;
  // Sizes left out default to what fits (additionSizes); only given ones can ask for too many.
  const total = additionProblemCount(digits);
  const sizes = additionSizes(digits, { trainExamples: train, evalExamples: held });
  const wanted = sizes.trainExamples + sizes.evalExamples;
  if (wanted > total) c.error("data.trainExamples", "E_RANGE", `data asks for ${wanted} distinct problems but only ${total} exist with ${digits}-digit operands; lower trainExamples/evalExamples or raise digits.`);
  else if (sizes.trainExamples < 1) c.error("data.evalExamples", "E_RANGE", `data.evalExamples (${sizes.evalExamples}) takes all ${total} problems that exist with ${digits}-digit operands and leaves none for training; lower evalExamples or raise digits.`);
  return sizes.evalExamples > 0;
}

/**
 * Checks `obj[arg.name]` against the argument's own rule in the table (type, range, choices) and
 * reports what is wrong; returns the value when it is valid (undefined when absent or invalid). An
 * "object" is checked for its shape and keys only: its fields are checked by the caller.
 */
function checkArgument(c: Checker, obj: Obj, path: string, arg: Argument): unknown {
  const value = obj[arg.name];
  const at = `${path}.${arg.name}`;
  switch (arg.type) {
    case "integer":
    case "number":
      // A step count or ratio; the default itself (warmupSteps 0: no warmup) is always valid.
      if (arg.range?.steps) return value === arg.default ? value : c.steps(obj, arg.name, path);
      return c.number(obj, arg.name, path, { integer: arg.type === "integer", ...arg.range });
    case "boolean":
      return c.boolean(obj, arg.name, path);
    case "enum":
      return c.oneOf(obj, arg.name, path, arg.values ?? []);
    case "enum[]": {
      if (value === undefined) return undefined;
      const values = arg.values ?? [];
      if (!Array.isArray(value)) {
        c.error(at, "E_TYPE", `${at} must be an array such as [${values.map((v) => JSON.stringify(v)).join(", ")}].`);
        return undefined;
      }
      const before = c.diagnostics.length;
      value.forEach((_, i) => c.oneOf(value as unknown as Obj, String(i), at, values));
      return c.diagnostics.length === before ? value : undefined;
    }
    case "string":
      if (value === undefined) return undefined;
      if (typeof value !== "string" || value === "") {
        c.error(at, "E_TYPE", `${at} must be ${arg.expects ?? "a non-empty string"}.`);
        return undefined;
      }
      return value;
    case "object": {
      if (value === undefined) return undefined;
      const fields = (arg.fields ?? []).map((f) => f.name);
      if (!isObject(value)) {
        c.error(at, "E_TYPE", `${at} must be an object { ${fields.join(", ")} }.`);
        return undefined;
      }
      c.keys(value, at, fields);
      return value;
    }
  }
}

function validateArgs(c: Checker, args: unknown, hasEvalData: boolean | null, data: Obj): void {
  if (!isObject(args)) return c.error("args", "E_TYPE", `args must be an object of TrainingArguments (camelCase), e.g. { learningRate: 1e-3 }.`);
  const p = "args";
  c.keys(args, p, ARG_KEYS);

  // Each argument's own rule comes from the table, checked in table order; `v` holds the valid
  // values. A cross-field rule runs right after the argument named by its key in `rules`. The rules
  // after fp16 and loadBestModelAtEnd check bf16 and greaterIsBetter early (check runs once per
  // argument), so that diagnostics keep the order they have always come in.
  const v: Partial<Record<ArgName, unknown>> = {};
  const check = (name: ArgName): unknown => (name in v ? v[name] : (v[name] = checkArgument(c, args, p, argument(name))));
  const num = (name: ArgName) => v[name] as number | undefined;
  /** The value a run will use: the spec's when valid, the default when absent, undefined when invalid. */
  const used = (name: ArgName) => v[name] ?? (args[name] === undefined ? argument(name).default : undefined);
  const evalStrategy = () => used("evalStrategy") as string | undefined;
  const evalSteps = () => num("evalSteps") ?? (args.evalSteps === undefined ? (num("loggingSteps") ?? ARG_DEFAULTS.loggingSteps) : undefined);

  const rules: Partial<Record<ArgName, () => void>> = {
    maxSteps: () => {
      if (v.maxSteps === 0) c.error("args.maxSteps", "E_RANGE", `args.maxSteps is 0; use a positive number of optimizer steps, or -1 to train for numTrainEpochs.`);
    },
    warmupRatio: () => {
      const warmupSteps = num("warmupSteps");
      const warmupRatio = num("warmupRatio");
      if (warmupSteps && warmupRatio) c.error("args.warmupRatio", "E_CONFLICT", `args.warmupSteps (${warmupSteps}) and args.warmupRatio (${warmupRatio}) are both set; keep one (warmupSteps may itself be a ratio in (0, 1)).`);
      if (args.lrSchedulerType === "constant" && (warmupSteps || warmupRatio)) c.error("args.lrSchedulerType", "E_CONFLICT", `lrSchedulerType "constant" has no warmup, but warmup is set; use "constant_with_warmup".`);
    },
    evalSteps: () => {
      const strategy = evalStrategy();
      if (strategy && strategy !== "no" && hasEvalData === false) {
        const fix = data.preset === "addition" ? "set data.evalExamples > 0" : "set data.evalFraction > 0";
        c.error("args.evalStrategy", "E_EVAL_DATA", `args.evalStrategy is "${strategy}" but the data has no held-out split; ${fix}, or use evalStrategy "no".`);
      }
    },
    fp16: () => {
      const bf16 = check("bf16");
      if (bf16) c.error("args.bf16", "E_BF16", `args.bf16 is not supported: TensorFlow.js has no bfloat16 dtype, so bf16 cannot be trained or emulated faithfully here. Remove it, or use fp16: true (emulated binary16 with dynamic loss scaling).`);
      if (v.fp16 && bf16) c.error("args.fp16", "E_CONFLICT", `args.fp16 and args.bf16 are both true; choose one (HF rule).`);
    },
    fp16Scaler: () => {
      const s = v.fp16Scaler as Obj | undefined;
      if (s === undefined) return;
      const sp = "args.fp16Scaler";
      if (!v.fp16) c.error(sp, "E_CONFLICT", `args.fp16Scaler is set but args.fp16 is not true; set fp16: true or remove fp16Scaler.`);
      const scaler: Record<string, unknown> = {};
      for (const field of FP16_SCALER_ARGUMENTS) scaler[field.name] = checkArgument(c, s, sp, field);
      const init = scaler.initScale as number | undefined;
      const min = scaler.minScale as number | undefined;
      if (min !== undefined && init !== undefined && min > init) c.error(`${sp}.minScale`, "E_RANGE", `${sp}.minScale (${min}) is above initScale (${init}); the floor must not exceed the starting scale.`);
    },
    loadBestModelAtEnd: () => {
      check("greaterIsBetter");
      const loadBest = v.loadBestModelAtEnd;
      const strategy = evalStrategy();
      const save = used("saveStrategy") as string | undefined;
      const saveSteps = used("saveSteps") as number | undefined;
      const every = evalSteps();
      if (loadBest && save !== "best") {
        if (strategy && save && strategy !== save) {
          c.error("args.loadBestModelAtEnd", "E_LOAD_BEST", `args.loadBestModelAtEnd needs evalStrategy and saveStrategy to match, but they are "${strategy}" and "${save}" (HF rule): set saveStrategy: "${strategy}" or use saveStrategy "best".`);
        } else if (save === "steps" && saveSteps !== undefined && every !== undefined) {
          if ((saveSteps < 1) !== (every < 1)) {
            c.error("args.saveSteps", "E_LOAD_BEST", `args.saveSteps (${saveSteps}) and evalSteps (${every}) mix a ratio and a step count; with loadBestModelAtEnd both must be ratios or both counts.`);
          } else if (Math.round(saveSteps * 1e6) % Math.round(every * 1e6) !== 0) {
            c.error("args.saveSteps", "E_LOAD_BEST", `args.saveSteps (${saveSteps}) must be a multiple of evalSteps (${every}) with loadBestModelAtEnd, so every checkpoint has an eval to compare (HF rule); e.g. saveSteps: ${Math.max(1, Math.round(saveSteps / every)) * every}.`);
          }
        }
      }
      if (loadBest && save === "no") c.error("args.loadBestModelAtEnd", "E_LOAD_BEST", `args.loadBestModelAtEnd needs checkpoints, but saveStrategy is "no".`);
      if ((save === "best" || loadBest) && strategy === "no") {
        c.error(save === "best" ? "args.saveStrategy" : "args.loadBestModelAtEnd", "E_NEEDS_EVAL", `${save === "best" ? 'saveStrategy "best"' : "loadBestModelAtEnd"} compares eval metrics, but evalStrategy is "no"; set evalStrategy "steps" or "epoch".`);
      }
    },
    metricForBestModel: () => {
      const metric = v.metricForBestModel as string | undefined;
      if (metric === undefined) return;
      const known = data.preset === "addition" ? ADDITION_METRICS : "module" in data ? null : TEXT_METRICS;
      if (known && !known.includes(evalMetricName(metric))) {
        c.error("args.metricForBestModel", "E_VALUE", `args.metricForBestModel is "${metric}" but this run's evaluation reports ${known.join(", ")}; use one of those (the "eval_" prefix is optional).`);
      }
    },
  };

  for (const arg of ARGUMENTS) {
    check(arg.name);
    rules[arg.name]?.();
  }
}

export function validateSpec(spec: LoadedSpec): Diagnostic[] {
  const c = new Checker(spec);
  const value = spec.value;
  if (!isObject(value)) {
    c.error("", "E_TYPE", `the default export must be defineTrainer({ name, model, data, args }), got ${value === undefined ? "undefined" : typeof value}.`);
    return c.diagnostics;
  }
  c.keys(value, "", SPEC_KEYS);
  for (const key of ["name", "model", "data", "args"]) {
    if (value[key] === undefined) c.error("", "E_MISSING", `the spec has no "${key}"; a spec needs name, model, data and args.`);
  }
  if (value.name !== undefined && (typeof value.name !== "string" || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(value.name))) {
    c.error("name", "E_NAME", `name ${JSON.stringify(value.name)} must be a slug (lowercase letters, digits and single dashes, e.g. "my-run"): it becomes the folder generated/<name>/.`);
  }
  if (value.model !== undefined) validateModel(c, value.model);
  const hasEvalData = value.data !== undefined ? validateData(c, value.data, isObject(value.model) ? value.model : {}) : null;
  if (value.args !== undefined) validateArgs(c, value.args, hasEvalData, isObject(value.data) ? value.data : {});
  if (value.callbacks !== undefined) validateCallbacks(c, spec, value);
  if (value.tokenizer !== undefined) validateTokenizer(c, value, dirname(spec.path));
  if (isObject(value.model) && isObject(value.data) && typeof value.data.jsonl === "string") {
    // A row's tokens must fit the model's positions.
    const context = value.model.preset === "char-transformer" ? value.model.contextLength : value.model.preset === "gpt2" && value.model.from === undefined ? (value.model.nPositions ?? GPT2_DEFAULTS.nPositions) : null;
    if (typeof context === "number" && typeof value.data.maxLength === "number" && value.data.maxLength > context) {
      c.error("data.maxLength", "E_CONTEXT", `data.maxLength (${value.data.maxLength}) is longer than the model's ${context} positions; lower maxLength to at most ${context} (rows are truncated to it) or give the model more positions.`);
    }
  }
  if (isObject(value.model) && isObject(value.data) && value.model.preset === "char-transformer" && typeof value.model.contextLength === "number") {
    const T = dataSequenceLength(value.data, value.model);
    if (T !== null && T > value.model.contextLength) {
      c.error("model.contextLength", "E_CONTEXT", `model.contextLength (${value.model.contextLength}) is shorter than the data's sequences (${T} tokens${value.data.preset === "addition" ? ` for ${value.data.digits}-digit sums` : ""}); raise contextLength to at least ${T}.`);
    }
  }
  return c.diagnostics;
}

const BUILT_IN_CALLBACKS: Record<string, string[]> = {
  generationSample: ["callback", "prompts", "everySteps", "maxNewTokens", "temperature", "topK", "seed"],
  earlyStopping: ["callback", "patience", "threshold"],
  progressBar: ["callback"],
  jsonlLogger: ["callback"],
};
const USER_CALLBACK_KEYS = ["module", "export", "options", "every"];

function isJson(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJson);
  return isObject(v) && Object.getPrototypeOf(v) === Object.prototype && Object.values(v).every(isJson);
}

/** Characters the data's vocabulary holds, when known at generation time. */
function knownCharacters(spec: LoadedSpec, data: Obj): Set<string> | null {
  if (data.preset === "addition") return new Set(ADDITION_TOKENS);
  if (typeof data.text === "string") {
    try {
      return new Set(Array.from(readFileSync(resolve(dirname(spec.path), data.text), "utf8")));
    } catch {
      return null;
    }
  }
  return null;
}

function validateCallbacks(c: Checker, spec: LoadedSpec, value: Obj): void {
  const list = value.callbacks;
  if (!Array.isArray(list)) return c.error("callbacks", "E_TYPE", `callbacks must be an array, e.g. [generationSample({ ... })].`);
  const args = isObject(value.args) ? value.args : {};
  const data = isObject(value.data) ? value.data : {};
  const seen = new Set<string>();
  list.forEach((cb, i) => {
    const path = `callbacks.${i}`;
    if (!isObject(cb)) return c.error(path, "E_TYPE", `${path} must be a built-in callback (generationSample(...), earlyStopping(...), progressBar(), jsonlLogger()) or { module, export }.`);
    if ("module" in cb) {
      c.keys(cb, path, USER_CALLBACK_KEYS);
      c.file(cb, "module", path, "callback module");
      if (typeof cb.export !== "string" || cb.export === "") return c.error(path, "E_TYPE", `${path}.export must name the exported callback class, e.g. "MyCallback".`);
      if (cb.options !== undefined && (!isObject(cb.options) || !isJson(cb.options))) c.error(`${path}.options`, "E_TYPE", `${path}.options must be a plain object of JSON values (strings, numbers, booleans, null, arrays, objects): it is written into the program as a literal.`);
      const every = c.number(cb, "every", path, { integer: true, min: 1 });
      if (typeof cb.module !== "string") return;
      const modulePath = resolve(dirname(spec.path), cb.module);
      if (!existsSync(modulePath)) return;
      const cls = inspectCallbackClass(modulePath, cb.export);
      if (!cls) return c.error(`${path}.export`, "E_CALLBACK_CLASS", `${cb.module} exports no class named "${cb.export}"; export a class implementing TrainerCallback (from "gen-trainer/runtime").`);
      c.diagnostics.push(...cls.problems);
      if (cls.hooks.length === 0 && cls.problems.length === 0) c.error(`${path}.export`, "E_CALLBACK_CLASS", `${cb.export} implements no callback event; implement e.g. onStepEnd or onEvaluate.`);
      if (every !== undefined && !cls.hooks.includes("onStepEnd")) c.error(`${path}.every`, "E_CALLBACK_EVERY", `${path}.every filters calls of onStepEnd, which ${cb.export} does not implement.`);
      return;
    }
    const kind = c.oneOf(cb, "callback", path, Object.keys(BUILT_IN_CALLBACKS));
    if (!kind) return;
    c.keys(cb, path, BUILT_IN_CALLBACKS[kind]!);
    if ((kind === "generationSample" || kind === "earlyStopping") && seen.has(kind)) c.error(path, "E_CALLBACK_DUPLICATE", `${kind} is listed twice; use one.`);
    seen.add(kind);
    if (kind === "generationSample") {
      const prompts = cb.prompts;
      if (!Array.isArray(prompts) || prompts.length === 0 || !prompts.every((p) => typeof p === "string")) {
        c.error(`${path}.prompts`, "E_TYPE", `${path}.prompts must be a non-empty array of strings.`);
      } else {
        const chars = knownCharacters(spec, data);
        prompts.forEach((p: string, j) => {
          const bad = chars ? Array.from(p).filter((ch) => !chars.has(ch)) : [];
          if (bad.length > 0) c.error(`${path}.prompts.${j}`, "E_PROMPT", `prompt ${JSON.stringify(p)} has characters the data's vocabulary lacks: ${[...new Set(bad)].map((ch) => JSON.stringify(ch)).join(", ")}.`);
        });
      }
      c.number(cb, "everySteps", path, { integer: true, min: 1 });
      c.number(cb, "maxNewTokens", path, { integer: true, min: 1 });
      c.number(cb, "temperature", path, { min: 0 });
      c.number(cb, "topK", path, { integer: true, min: 1 });
      c.number(cb, "seed", path, { integer: true, min: 0 });
      if (cb.everySteps === undefined || cb.maxNewTokens === undefined || cb.prompts === undefined) c.error(path, "E_MISSING", `generationSample needs prompts, everySteps and maxNewTokens.`);
      const model = isObject(value.model) ? value.model : {};
      if (typeof model.module === "string") {
        const modulePath = resolve(dirname(spec.path), model.module);
        if (existsSync(modulePath) && statSync(modulePath).isFile() && !moduleDefinesGenerate(modulePath)) {
          c.error(path, "E_NO_GENERATE", `generationSample needs a model that can generate, but ${model.module} defines no generate(); add generate to its ModelDefinition (see runtime/types.ts) or remove generationSample.`);
        }
      }
    } else if (kind === "earlyStopping") {
      c.number(cb, "patience", path, { integer: true, min: 1 });
      c.number(cb, "threshold", path, { min: 0 });
      if (cb.patience === undefined) c.error(path, "E_MISSING", `earlyStopping needs patience (evaluations without improvement before stopping).`);
      const evalStrategy = args.evalStrategy ?? ARG_DEFAULTS.evalStrategy;
      if (evalStrategy === "no") c.error(path, "E_NEEDS_EVAL", `earlyStopping compares evaluations, but args.evalStrategy is "no"; set evalStrategy "steps" or "epoch" (HF rule).`);
      const metric = args.metricForBestModel ?? (args.loadBestModelAtEnd || args.saveStrategy === "best" ? "loss" : undefined);
      if (metric === undefined) c.error(path, "E_NEEDS_METRIC", `earlyStopping needs args.metricForBestModel (e.g. "loss") to know what improves (HF rule).`);
    }
  });
}
