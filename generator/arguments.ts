/**
 * generator/arguments.ts — the table of training arguments: one entry per key of `TrainingArgs`
 * (generator/spec-types.ts), with its Hugging Face name, type, choices, default, where that default
 * comes from, range and a one-line description.
 *
 * It is the one place these facts are written down: the validator checks each argument's own rule
 * from it (validate.ts; cross-field rules stay code there), the defaults the planner fills in are
 * read from it (defaults.ts), and `import-hf` maps HF's snake_case names through it. A test
 * (test/generator/arguments.test.ts) checks that the table and the `TrainingArgs` and
 * `Fp16ScalerArgs` types agree key by key, in order, type by type.
 */
import type { Fp16ScalerArgs, TrainingArgs } from "./spec-types.ts";

/**
 * An argument's type: "integer" and "number" are both TypeScript `number` ("number" allows
 * fractions); "enum" is a union of string literals (`values`), "enum[]" an array of them;
 * "object" a nested interface whose fields are `fields`.
 */
export type ArgumentType = "string" | "integer" | "number" | "boolean" | "enum" | "enum[]" | "object";

/** Where a default comes from: HF's TrainingArguments, torch (GradScaler), or gen-trainer itself. */
export type DefaultFrom = "hf" | "torch" | "ours";

/** The rule a number must satisfy (bounds are ANDed, as validate.ts's Checker.number reads them). */
export interface ArgumentRange {
  min?: number;
  minExclusive?: number;
  max?: number;
  maxExclusive?: number;
  /** A step count: an integer >= 1, or a ratio in (0, 1) of max steps (HF rule); no other bound applies. */
  steps?: true;
  /** Appended to the range error, e.g. what the value does. */
  hint?: string;
}

export interface Argument<Name extends string = string> {
  /** The spec's name (camelCase). */
  name: Name;
  /** HF's TrainingArguments name (snake_case); for fp16Scaler's fields, torch GradScaler's. null: none. */
  hf: string | null;
  type: ArgumentType;
  /** The choices of an "enum" or "enum[]", in the order error messages list them. */
  values?: readonly string[];
  /** The fields of an "object". */
  fields?: readonly Argument[];
  /** The value a run uses when the spec leaves the argument out; null when there is no single one (see doc). */
  default: string | number | boolean | readonly string[] | null;
  /** Where the default comes from; null exactly when default is null. */
  defaultFrom: DefaultFrom | null;
  range?: ArgumentRange;
  /** For a "string": what a valid value is, as the error message says it ("must be <expects>."). */
  expects?: string;
  doc: string;
}

const STEPS = { steps: true } as const;

/** torch.amp.GradScaler's arguments (and one of ours), the fields of `args.fp16Scaler`. */
export const FP16_SCALER_ARGUMENTS = [
  { name: "initScale", hf: "init_scale", type: "number", default: 2 ** 16, defaultFrom: "torch", range: { minExclusive: 0 }, doc: "Loss scale at the first step." },
  { name: "growthFactor", hf: "growth_factor", type: "number", default: 2, defaultFrom: "torch", range: { minExclusive: 1, hint: "The scale grows by this factor after growthInterval good steps (torch default 2.0)." }, doc: "Factor the scale grows by after growthInterval steps without overflow." },
  { name: "backoffFactor", hf: "backoff_factor", type: "number", default: 0.5, defaultFrom: "torch", range: { minExclusive: 0, maxExclusive: 1, hint: "The scale shrinks by this factor on overflow (torch default 0.5)." }, doc: "Factor the scale shrinks by on overflow (the step is skipped)." },
  { name: "growthInterval", hf: "growth_interval", type: "integer", default: 2000, defaultFrom: "torch", range: { min: 1 }, doc: "Steps without overflow before the scale grows." },
  { name: "minScale", hf: null, type: "number", default: null, defaultFrom: null, range: { minExclusive: 0 }, doc: "Floor of the scale, against repeated overflow driving it to 0 (ours; default: no floor)." },
] as const satisfies readonly Argument<keyof Fp16ScalerArgs>[];

/** Every training argument, in the order of `TrainingArgs`. */
export const ARGUMENTS = [
  { name: "outputDir", hf: "output_dir", type: "string", default: "trainer_output", defaultFrom: "hf", expects: "a non-empty path", doc: "Folder of the run's checkpoints, metrics.jsonl and final model." },
  { name: "perDeviceTrainBatchSize", hf: "per_device_train_batch_size", type: "integer", default: 8, defaultFrom: "hf", range: { min: 1 }, doc: "Examples per training micro-batch." },
  { name: "perDeviceEvalBatchSize", hf: "per_device_eval_batch_size", type: "integer", default: 8, defaultFrom: "hf", range: { min: 1 }, doc: "Examples per evaluation batch." },
  { name: "numTrainEpochs", hf: "num_train_epochs", type: "number", default: 3, defaultFrom: "hf", range: { minExclusive: 0 }, doc: "Passes over the training data when maxSteps is -1 (may be fractional)." },
  { name: "maxSteps", hf: "max_steps", type: "integer", default: -1, defaultFrom: "hf", range: { min: -1 }, doc: "Optimizer steps to train for; -1 trains for numTrainEpochs instead (0 is an error)." },
  { name: "learningRate", hf: "learning_rate", type: "number", default: 5e-5, defaultFrom: "hf", range: { min: 0 }, doc: "AdamW's peak learning rate (after warmup, before decay); 0 leaves the weights as they are (e.g. to export a model folder unchanged)." },
  { name: "weightDecay", hf: "weight_decay", type: "number", default: 0, defaultFrom: "hf", range: { min: 0 }, doc: "AdamW's decoupled weight decay." },
  { name: "adamBeta1", hf: "adam_beta1", type: "number", default: 0.9, defaultFrom: "hf", range: { min: 0, maxExclusive: 1 }, doc: "AdamW's decay of the first moment." },
  { name: "adamBeta2", hf: "adam_beta2", type: "number", default: 0.999, defaultFrom: "hf", range: { min: 0, maxExclusive: 1 }, doc: "AdamW's decay of the second moment." },
  { name: "adamEpsilon", hf: "adam_epsilon", type: "number", default: 1e-8, defaultFrom: "hf", range: { minExclusive: 0 }, doc: "AdamW's epsilon, added to the second moment's square root." },
  { name: "lrSchedulerType", hf: "lr_scheduler_type", type: "enum", values: ["linear", "cosine", "constant", "constant_with_warmup"], default: "linear", defaultFrom: "hf", doc: "Learning-rate schedule after warmup." },
  { name: "warmupSteps", hf: "warmup_steps", type: "number", default: 0, defaultFrom: "hf", range: STEPS, doc: "Steps of linear warmup from 0: a count, or a ratio in (0, 1) of max steps (set this or warmupRatio)." },
  { name: "warmupRatio", hf: "warmup_ratio", type: "number", default: 0, defaultFrom: "hf", range: { min: 0, maxExclusive: 1 }, doc: "Warmup as a fraction of max steps (set this or warmupSteps)." },
  { name: "loggingStrategy", hf: "logging_strategy", type: "enum", values: ["no", "steps", "epoch"], default: "steps", defaultFrom: "hf", doc: "When training loss and learning rate are logged." },
  { name: "loggingSteps", hf: "logging_steps", type: "number", default: 500, defaultFrom: "hf", range: STEPS, doc: "Log every this many steps: a count, or a ratio in (0, 1) of max steps." },
  { name: "loggingFirstStep", hf: "logging_first_step", type: "boolean", default: false, defaultFrom: "hf", doc: "Also log after the first optimizer step." },
  { name: "evalStrategy", hf: "eval_strategy", type: "enum", values: ["no", "steps", "epoch"], default: "no", defaultFrom: "hf", doc: "When the held-out split is evaluated (HF 4's evaluation_strategy)." },
  { name: "evalSteps", hf: "eval_steps", type: "number", default: null, defaultFrom: null, range: STEPS, doc: "Evaluate every this many steps: a count, or a ratio of max steps (default: loggingSteps, as in HF)." },
  { name: "seed", hf: "seed", type: "integer", default: 42, defaultFrom: "hf", range: { min: 0 }, doc: "Seed of the weight initialization and the data order." },
  { name: "reportTo", hf: "report_to", type: "enum[]", values: ["console", "jsonl"], default: ["console", "jsonl"], defaultFrom: "ours", doc: "Loggers: the console and metrics.jsonl (HF's default is \"none\", no external tracker)." },
  { name: "gradientAccumulationSteps", hf: "gradient_accumulation_steps", type: "integer", default: 1, defaultFrom: "hf", range: { min: 1 }, doc: "Micro-batches whose gradients are summed into one optimizer step." },
  { name: "maxGradNorm", hf: "max_grad_norm", type: "number", default: 1, defaultFrom: "hf", range: { min: 0, hint: "0 disables clipping." }, doc: "Clip the global gradient norm to this (0: no clipping)." },
  { name: "fp16", hf: "fp16", type: "boolean", default: false, defaultFrom: "hf", doc: "Mixed precision: emulated binary16 with dynamic loss scaling." },
  { name: "fp16Scaler", hf: null, type: "object", fields: FP16_SCALER_ARGUMENTS, default: null, defaultFrom: null, doc: "fp16's loss scaler (torch GradScaler; not a TrainingArguments field); each field has its own default." },
  { name: "bf16", hf: "bf16", type: "boolean", default: false, defaultFrom: "hf", doc: "Rejected when true: TensorFlow.js has no bfloat16 dtype." },
  { name: "saveStrategy", hf: "save_strategy", type: "enum", values: ["no", "steps", "epoch", "best"], default: "steps", defaultFrom: "hf", doc: "When checkpoints are saved (\"best\": when metricForBestModel improves)." },
  { name: "saveSteps", hf: "save_steps", type: "number", default: 500, defaultFrom: "hf", range: STEPS, doc: "Save every this many steps: a count, or a ratio in (0, 1) of max steps." },
  { name: "saveTotalLimit", hf: "save_total_limit", type: "integer", default: null, defaultFrom: null, range: { min: 1 }, doc: "Keep at most this many checkpoints (default: keep all)." },
  { name: "saveOnlyModel", hf: "save_only_model", type: "boolean", default: false, defaultFrom: "hf", doc: "Checkpoints without optimizer state: smaller, but a run cannot resume from them." },
  { name: "loadBestModelAtEnd", hf: "load_best_model_at_end", type: "boolean", default: false, defaultFrom: "hf", doc: "Load the best checkpoint's weights when training ends." },
  { name: "metricForBestModel", hf: "metric_for_best_model", type: "string", default: null, defaultFrom: null, expects: 'a metric name such as "loss"', doc: "Eval metric that decides the best checkpoint, \"eval_\" optional (default: \"loss\" when one is needed, as in HF)." },
  { name: "greaterIsBetter", hf: "greater_is_better", type: "boolean", default: null, defaultFrom: null, doc: "Whether a larger metricForBestModel is better (default: true unless the metric is a loss, as in HF)." },
] as const satisfies readonly Argument<keyof TrainingArgs>[];

export type ArgName = (typeof ARGUMENTS)[number]["name"];
export type ArgumentEntry = (typeof ARGUMENTS)[number];

/** The spec's argument names, in table order (unknown-key checks, import-hf's output order). */
export const ARG_KEYS: readonly ArgName[] = ARGUMENTS.map((a) => a.name);

/** The table entry of one argument. */
export function argument<N extends ArgName>(name: N): Extract<ArgumentEntry, { name: N }> {
  const found = ARGUMENTS.find((a) => a.name === name);
  if (!found) throw new Error(`no training argument named ${JSON.stringify(name)}`);
  return found as Extract<ArgumentEntry, { name: N }>;
}

/** The names of a table's entries that have a default. */
type WithDefault<T extends readonly Argument[]> = Exclude<T[number], { default: null }>["name"];

/** `{ name: default }` for the entries of a table that have one, typed as the spec's type of each. */
export type DefaultsOf<T extends readonly Argument[], Args> = { [K in WithDefault<T> & keyof Args]: NonNullable<Args[K]> };

/** `{ name: default }` for the entries of a table that have one, in table order (arrays copied). */
export function defaultsOf<T extends readonly Argument[], Args>(table: T): DefaultsOf<T, Args> {
  const entries = table.filter((a) => a.default !== null).map((a) => [a.name, Array.isArray(a.default) ? [...a.default] : a.default]);
  return Object.fromEntries(entries) as DefaultsOf<T, Args>;
}
