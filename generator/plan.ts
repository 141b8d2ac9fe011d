/**
 * generator/plan.ts — spec → TrainingPlan: what a run does, stated as data.
 *
 * The plan is the seam between the spec and every output language. It holds meaning only —
 * numbers, enums, names, cadences, the hooks of each event, the step order, the fields that are
 * logged and saved — as plain JSON, with no code of any language in it. Every value carries where
 * it came from (the spec, HF's or torch's default, ours, or derived) and the spec author's comment,
 * so a lowering can print it with its provenance. A feature the spec does not enable is `null`.
 *
 * Defaults are applied here and nowhere else, from the argument table (generator/arguments.ts)
 * and the presets' own descriptions (runtime/presets/). The TypeScript lowering
 * (lower-typescript.ts) turns a plan into what the templates print; `explain`, `--tune` and the
 * differential oracle (test/reference-trainer.ts) read the plan directly.
 */
import { readFileSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { FP16_SCALE_FLOOR } from "../runtime/loss-scaler.ts";
import { ADDITION_FIXED_DEFAULTS, ADDITION_METRICS, additionExample, additionSequenceLength, additionSizes, ADDITION_TOKENS, MLP_DEFAULTS, TEXT_DEFAULTS, TEXT_METRICS } from "../runtime/presets/index.ts";
import { ARG_DEFAULTS, FP16_SCALER_DEFAULTS, argumentOrigin, evalMetricName } from "./defaults.ts";
import { commentLines } from "./literals.ts";
import type { LoadedSpec } from "./load-spec.ts";
import { type CallbacksPlan, planCallbacks } from "./plan-callbacks.ts";
import type { Formulation, Tuning } from "./tune.ts";
import type { AdditionPreset, CharTransformerPreset, Gpt2Preset, JsonlData, JsonValue, LrSchedulerType, MlpPreset, ModuleRef, SaveStrategy, TextData, TrainerSpec, TrainingArgs } from "./spec-types.ts";
import { GPT2_DEFAULTS, readGpt2Config } from "../runtime/presets/gpt2.ts";
import { defaultTokenizer } from "./validate-language.ts";
import { JSONL_DEFAULTS } from "../runtime/presets/jsonl.ts";

/** The sizes of a `from` folder's GPT-2 (validation has checked that config.json is readable). */
function gpt2FolderConfig(specDir: string, from: string) {
  return readGpt2Config(resolve(specDir, from));
}

/** Where a value comes from. */
export type Origin = "spec" | "hf" | "torch" | "ours" | "derived";

/** One value of the run, with its provenance. */
export interface Setting<T = JsonValue> {
  value: T;
  from: Origin;
  /** The spec property it was read from (e.g. "args.maxSteps"); null when the spec has none. */
  path: string | null;
  /** The spec author's comment on that property, one entry per line (null: none). */
  comment: string[] | null;
  /** Why a default is what it is, for a reader (null: nothing to say). */
  note: string | null;
}

/**
 * When an action runs: every N optimizer steps (N a count, or a ratio of max steps resolved when
 * max steps are known), or at each epoch end.
 */
export type Cadence = { every: Setting<number>; ratioOfMaxSteps: boolean } | "epoch";

export type DataPlan =
  | {
      kind: "addition";
      digits: Setting<number>;
      trainExamples: Setting<number>;
      evalExamples: Setting<number>;
      reverseAnswer: Setting<boolean>;
      fixedWidth: Setting<boolean>;
      /** The problem generator's own seed; null: the run's seed. */
      seed: Setting<number> | null;
      /** How a problem is written, e.g. `2-digit sums written like "12+45=750$" (...)`. */
      example: string;
      vocabularySize: number;
      sequenceLength: number;
      metrics: string[];
    }
  | {
      kind: "text";
      /** The text file as the spec names it (relative to the spec). */
      source: string;
      /** The same file relative to the generated program. */
      file: Setting<string>;
      evalFraction: Setting<number>;
      sequenceLength: Setting<number>;
      /** Distinct characters of the file when it was generated (the program counts them again). */
      vocabularySize: number;
      metrics: string[];
    }
  | {
      kind: "jsonl";
      /** The .jsonl file as the spec names it, and relative to the generated program. */
      source: string;
      file: Setting<string>;
      evalFraction: Setting<number>;
      /** Rows are truncated to this many tokens (default: the model's context). */
      maxLength: Setting<number>;
      completionOnlyLoss: Setting<boolean>;
      metrics: string[];
    }
  | { kind: "module"; source: string; /** relative to the program */ module: string };

/** How text becomes tokens, for data made of rows of text (jsonl); null: the data preset's own characters. */
export type TokenizerPlan =
  | { kind: "char"; from: "spec" | "ours" }
  | { kind: "gpt2" }
  | { kind: "file"; source: string; file: Setting<string>; /** the model folder's own tokenizer.json */ fromModelFolder: boolean }
  | { kind: "train"; vocabSize: Setting<number> };

export type ModelPlan =
  | {
      kind: "char-transformer";
      dModel: Setting<number>;
      layers: Setting<number>;
      heads: Setting<number>;
      contextLength: Setting<number>;
      /** Fixed by `gen-trainer --tune` (null: the backend's default formulation at run time). */
      tuning: Tuning | null;
    }
  | { kind: "mlp"; hidden: Setting<number[]>; window: Setting<number>; embedding: Setting<number> }
  | {
      kind: "gpt2";
      nLayer: Setting<number>;
      nHead: Setting<number>;
      nEmbd: Setting<number>;
      nPositions: Setting<number>;
      layerNormEpsilon: Setting<number>;
      /** A trained GPT-2 in HF layout whose weights the run starts from (its config.json gave the sizes). */
      from: null | { source: string; dir: Setting<string>; vocabSize: number };
    }
  | { kind: "module"; source: string; /** relative to the program */ module: string };

export interface TrainingPlan {
  name: string;
  files: {
    /** The spec, as the user named it. */
    spec: string;
    /** The generated program, relative to the working directory. */
    program: string;
    /** The --out-dir it was generated with, when not the default "generated". */
    outDir: string | null;
  };
  run: { name: Setting<string>; outputDir: Setting<string>; seed: Setting<number> };
  data: DataPlan;
  tokenizer: TokenizerPlan | null;
  model: ModelPlan;
  /** What the run leaves in outputDir: our weights, or an HF model folder (gpt2: config.json, tokenizer, card). */
  output: "weights" | "hf-folder";
  batch: {
    perDevice: Setting<number>;
    /** k micro-batches per optimizer step; `unrolled`: written out as straight-line code. */
    accumulation: null | { steps: Setting<number>; unrolled: boolean };
  };
  /** How long training runs: a number of optimizer steps, or of epochs. */
  length: { maxSteps: Setting<number> } | { epochs: Setting<number> };
  optimizer: { learningRate: Setting<number>; weightDecay: Setting<number>; beta1: Setting<number>; beta2: Setting<number>; epsilon: Setting<number> };
  schedule: {
    type: Setting<LrSchedulerType>;
    /** Linear warmup: a number of steps, or a ratio of max steps. */
    warmup: null | { steps: Setting<number> } | { ratio: Setting<number> };
  };
  clipping: null | { maxGradNorm: Setting<number> };
  /**
   * When the run stops as diverged (before the step's update, so nothing non-finite is saved):
   * fp32, at a step whose loss or gradient norm is not finite; fp16, at a step that overflows
   * while the loss scale is already at its floor (GradScaler's skip-and-back-off before that).
   */
  divergence: { stopWhen: "non-finite loss or gradient norm" } | { stopWhen: "overflow at the loss scale's floor"; floor: number };
  /** Emulated fp16 with dynamic loss scaling (torch GradScaler's settings). */
  fp16: null | { initScale: Setting<number>; growthFactor: Setting<number>; backoffFactor: Setting<number>; growthInterval: Setting<number>; minScale: Setting<number> | null };
  /** Train lines: at the cadence, at step 1 when `firstStep`, and always at the last step. */
  logging: null | { cadence: Cadence | null; firstStep: boolean; fields: string[] };
  /** Evaluation at the cadence and at the last step, in batches of `batchSize`. */
  evaluation: null | { cadence: Cadence; batchSize: Setting<number>; metrics: string[] };
  /** The metric that decides the best model, when a checkpoint or earlyStopping reads it. */
  metric: null | { name: Setting<string>; greaterIsBetter: Setting<boolean> };
  checkpointing: null | {
    strategy: Setting<SaveStrategy>;
    /** steps / epoch; "best": whenever the metric improves. */
    cadence: Cadence | "best";
    totalLimit: Setting<number> | null;
    /** saveOnlyModel: weights and trainer state only, so the program cannot resume. */
    onlyModel: boolean;
    resumable: boolean;
    /** The best checkpoint is tracked (kept by rotation, loaded at the end, or deciding the save). */
    tracksBest: boolean;
    loadBestAtEnd: boolean;
    /** Fields of trainer_state.json and of resume_state.json (null: none) in each checkpoint. */
    trainerState: string[];
    resumeState: string[] | null;
  };
  callbacks: CallbacksPlan | null;
  /** Where train lines go; `loggerCallbacks`: progressBar()/jsonlLogger() listed as callbacks (they turn the same loggers on). */
  reportTo: { console: boolean; jsonl: boolean; loggerCallbacks: string[] };
  /** What one loop iteration does, in order. */
  stepOrder: string[];
  /** Fields of the final trainer_state.json. */
  trainerState: string[];
}

/** Up to this many micro-batches are unrolled into straight-line code; more use a loop. */
export const UNROLL_LIMIT = 8;

interface Context {
  spec: TrainerSpec;
  comments: Map<string, string>;
}

function setting<T>(ctx: Context, path: string | null, given: T | undefined, fallback: T, from: Origin, note: string | null = null): Setting<T> {
  const authored = path ? ctx.comments.get(path) : undefined;
  const comment = authored ? commentLines(authored) : null;
  if (given !== undefined) return { value: given, from: "spec", path, comment, note: null };
  return { value: fallback, from, path, comment, note };
}

/** An `args.<key>` value, or its default from the argument table. */
function arg<K extends keyof typeof ARG_DEFAULTS>(ctx: Context, key: K, note?: string): Setting<(typeof ARG_DEFAULTS)[K]> {
  const given = ctx.spec.args[key as keyof TrainingArgs] as (typeof ARG_DEFAULTS)[K] | undefined;
  const from = argumentOrigin(key);
  return setting(ctx, `args.${key}`, given, ARG_DEFAULTS[key], from, note ?? { hf: "HF default", torch: "torch default" }[from as string] ?? "default");
}

function cadence(every: Setting<number>): Cadence {
  return { every, ratioOfMaxSteps: every.value < 1 };
}

function programRelative(specDir: string, programDir: string, specRelative: string): string {
  const path = relative(programDir, resolve(specDir, specRelative)).split(sep).join("/");
  return path.startsWith(".") ? path : `./${path}`;
}

function planData(ctx: Context, specDir: string, programDir: string): DataPlan {
  const data = ctx.spec.data;
  if ("module" in data) {
    const m = data as ModuleRef;
    return { kind: "module", source: m.module, module: programRelative(specDir, programDir, m.module) };
  }
  if ("jsonl" in data) {
    const j = data as JsonlData;
    const m = ctx.spec.model as { preset?: string; contextLength?: number; nPositions?: number; from?: string };
    const context = m.preset === "char-transformer" ? m.contextLength : m.preset === "gpt2" ? (m.from ? gpt2FolderConfig(specDir, m.from).nPositions : (m.nPositions ?? GPT2_DEFAULTS.nPositions)) : undefined;
    return {
      kind: "jsonl",
      source: j.jsonl,
      file: setting(ctx, "data.jsonl", programRelative(specDir, programDir, j.jsonl), "", "spec"),
      evalFraction: setting(ctx, "data.evalFraction", j.evalFraction, JSONL_DEFAULTS.evalFraction, "ours", "default"),
      maxLength: setting(ctx, "data.maxLength", j.maxLength, context ?? JSONL_DEFAULTS.maxLength, context ? "derived" : "ours", context ? "the model's context" : "default"),
      completionOnlyLoss: setting(ctx, "data.completionOnlyLoss", j.completionOnlyLoss, JSONL_DEFAULTS.completionOnlyLoss, "ours", "default: loss on completions and assistant turns only (text rows: every token)"),
      metrics: ["eval_loss"],
    };
  }
  if ("text" in data) {
    const t = data as TextData;
    const contextLength = "contextLength" in ctx.spec.model ? (ctx.spec.model as CharTransformerPreset).contextLength : undefined;
    return {
      kind: "text",
      source: t.text,
      file: setting(ctx, "data.text", programRelative(specDir, programDir, t.text), "", "spec"),
      evalFraction: setting(ctx, "data.evalFraction", t.evalFraction, TEXT_DEFAULTS.evalFraction, "ours", "default"),
      sequenceLength: setting(ctx, "data.sequenceLength", t.sequenceLength, contextLength ?? TEXT_DEFAULTS.sequenceLength, contextLength ? "derived" : "ours", contextLength ? "the model's contextLength" : "default"),
      vocabularySize: new Set(Array.from(readFileSync(resolve(specDir, t.text), "utf8"))).size,
      metrics: [...TEXT_METRICS],
    };
  }
  const d = data as AdditionPreset;
  const sizes = additionSizes(d.digits, { trainExamples: d.trainExamples, evalExamples: d.evalExamples });
  const reverseAnswer = d.reverseAnswer ?? ADDITION_FIXED_DEFAULTS.reverseAnswer;
  const fixedWidth = d.fixedWidth ?? ADDITION_FIXED_DEFAULTS.fixedWidth;
  return {
    kind: "addition",
    digits: setting(ctx, "data.digits", d.digits, d.digits, "spec"),
    trainExamples: setting(ctx, "data.trainExamples", d.trainExamples, sizes.trainExamples, "ours", "default"),
    evalExamples: setting(ctx, "data.evalExamples", d.evalExamples, sizes.evalExamples, "ours", "default"),
    reverseAnswer: setting(ctx, "data.reverseAnswer", d.reverseAnswer, reverseAnswer, "ours", "default: least-significant digit first"),
    fixedWidth: setting(ctx, "data.fixedWidth", d.fixedWidth, fixedWidth, "ours", "default: zero-padded, digits at fixed positions"),
    seed: d.seed !== undefined ? setting(ctx, "data.seed", d.seed, d.seed, "spec") : null,
    example: additionExample({ digits: d.digits, reverseAnswer, fixedWidth }),
    vocabularySize: ADDITION_TOKENS.length,
    sequenceLength: additionSequenceLength(d.digits),
    metrics: (d.evalExamples ?? sizes.evalExamples) > 0 ? [...ADDITION_METRICS] : ["eval_loss"],
  };
}

function planModel(ctx: Context, specDir: string, programDir: string): ModelPlan {
  const model = ctx.spec.model;
  if ("module" in model) {
    const m = model as ModuleRef;
    return { kind: "module", source: m.module, module: programRelative(specDir, programDir, m.module) };
  }
  if ((model as CharTransformerPreset).preset === "char-transformer") {
    const m = model as CharTransformerPreset;
    const given = (key: "dModel" | "layers" | "heads" | "contextLength") => setting(ctx, `model.${key}`, m[key], m[key], "spec");
    return { kind: "char-transformer", dModel: given("dModel"), layers: given("layers"), heads: given("heads"), contextLength: given("contextLength"), tuning: null };
  }
  if ((model as Gpt2Preset).preset === "gpt2") {
    const g = model as Gpt2Preset;
    if (g.from) {
      const config = gpt2FolderConfig(specDir, g.from);
      const fromFolder = (key: string, value: number) => ({ value, from: "derived" as const, path: "model.from", comment: null, note: `from ${g.from}/config.json (${key})` });
      return {
        kind: "gpt2",
        nLayer: fromFolder("n_layer", config.nLayer),
        nHead: fromFolder("n_head", config.nHead),
        nEmbd: fromFolder("n_embd", config.nEmbd),
        nPositions: fromFolder("n_positions", config.nPositions),
        layerNormEpsilon: fromFolder("layer_norm_epsilon", config.layerNormEpsilon),
        from: { source: g.from, dir: setting(ctx, "model.from", programRelative(specDir, programDir, g.from), "", "spec"), vocabSize: config.vocabSize },
      };
    }
    const size = (key: "nLayer" | "nHead" | "nEmbd" | "nPositions" | "layerNormEpsilon") => setting(ctx, `model.${key}`, g[key], GPT2_DEFAULTS[key], "ours", "GPT-2 small's");
    return { kind: "gpt2", nLayer: size("nLayer"), nHead: size("nHead"), nEmbd: size("nEmbd"), nPositions: size("nPositions"), layerNormEpsilon: size("layerNormEpsilon"), from: null };
  }
  const m = model as MlpPreset;
  return {
    kind: "mlp",
    hidden: setting(ctx, "model.hidden", m.hidden, m.hidden, "spec"),
    window: setting(ctx, "model.window", m.window, MLP_DEFAULTS.window, "ours", "default"),
    embedding: setting(ctx, "model.embedding", m.embedding, MLP_DEFAULTS.embedding, "ours", "default"),
  };
}

/** The tokenizer of row data (jsonl); null for the presets that define their own characters. */
function planTokenizer(ctx: Context, specDir: string, programDir: string): TokenizerPlan | null {
  const spec = ctx.spec;
  if (!("jsonl" in spec.data)) return null;
  const t = spec.tokenizer ?? defaultTokenizer(spec.model as unknown as Record<string, unknown>, specDir);
  if (t === "char") return { kind: "char", from: spec.tokenizer === undefined ? "ours" : "spec" };
  if (t === "gpt2") return { kind: "gpt2" };
  if ("file" in t) return { kind: "file", source: t.file, file: setting(ctx, spec.tokenizer ? "tokenizer.file" : null, programRelative(specDir, programDir, t.file), "", spec.tokenizer ? "spec" : "derived", "the model folder's own tokenizer"), fromModelFolder: spec.tokenizer === undefined };
  return { kind: "train", vocabSize: setting(ctx, "tokenizer.train.vocabSize", t.train.vocabSize, t.train.vocabSize, "spec") };
}

/** A run's plan. `outputPath`: where the program will be written (relative to the working directory or absolute). */
export function buildPlan(loaded: LoadedSpec, outputPath: string): TrainingPlan {
  const spec = loaded.value as TrainerSpec;
  const args = spec.args;
  const ctx: Context = { spec, comments: loaded.source.comments };
  const specDir = dirname(loaded.path);
  const programDir = dirname(resolve(outputPath));
  const value = <K extends keyof typeof ARG_DEFAULTS>(key: K): (typeof ARG_DEFAULTS)[K] => (args[key as keyof TrainingArgs] as (typeof ARG_DEFAULTS)[K] | undefined) ?? ARG_DEFAULTS[key];

  const data = planData(ctx, specDir, programDir);
  const tokenizer = planTokenizer(ctx, specDir, programDir);
  const model = planModel(ctx, specDir, programDir);

  const accumulationSteps = value("gradientAccumulationSteps");
  const batch: TrainingPlan["batch"] = {
    perDevice: arg(ctx, "perDeviceTrainBatchSize"),
    accumulation: accumulationSteps > 1 ? { steps: arg(ctx, "gradientAccumulationSteps"), unrolled: accumulationSteps <= UNROLL_LIMIT } : null,
  };
  const length: TrainingPlan["length"] = value("maxSteps") > 0 ? { maxSteps: arg(ctx, "maxSteps") } : { epochs: arg(ctx, "numTrainEpochs") };

  // HF: warmupSteps wins over warmupRatio; warmupSteps in (0, 1) is itself a ratio. "constant" has none.
  const scheduleType = arg(ctx, "lrSchedulerType");
  let warmup: TrainingPlan["schedule"]["warmup"] = null;
  const warmupSteps = args.warmupSteps ?? 0;
  if (scheduleType.value !== "constant") {
    if (warmupSteps >= 1) warmup = { steps: arg(ctx, "warmupSteps") };
    else if (warmupSteps > 0) warmup = { ratio: arg(ctx, "warmupSteps") };
    else if ((args.warmupRatio ?? 0) > 0) warmup = { ratio: arg(ctx, "warmupRatio") };
  }

  const clipping = value("maxGradNorm") > 0 ? { maxGradNorm: arg(ctx, "maxGradNorm") } : null;

  let fp16: TrainingPlan["fp16"] = null;
  if (value("fp16")) {
    const scaler = args.fp16Scaler ?? {};
    const scalerSetting = (key: keyof typeof FP16_SCALER_DEFAULTS) => setting(ctx, `args.fp16Scaler.${key}`, scaler[key], FP16_SCALER_DEFAULTS[key], "torch", "torch default");
    fp16 = {
      initScale: scalerSetting("initScale"),
      growthFactor: scalerSetting("growthFactor"),
      backoffFactor: scalerSetting("backoffFactor"),
      growthInterval: scalerSetting("growthInterval"),
      minScale: scaler.minScale !== undefined ? setting(ctx, "args.fp16Scaler.minScale", scaler.minScale, scaler.minScale, "spec") : null,
    };
  }

  const callbacks = planCallbacks(spec.callbacks ?? [], specDir, programDir, ctx.comments, args);

  // Logging: HF logs at its cadence; we also always log the last step.
  const loggingStrategy = value("loggingStrategy");
  const loggingSteps: Setting<number> = arg(ctx, "loggingSteps");
  const logging: TrainingPlan["logging"] =
    loggingStrategy === "no" && !value("loggingFirstStep")
      ? null
      : {
          cadence: loggingStrategy === "steps" ? cadence(loggingSteps) : loggingStrategy === "epoch" ? "epoch" : null,
          firstStep: value("loggingFirstStep"),
          fields: ["epoch", "loss", ...(clipping ? ["grad_norm"] : []), "learning_rate", ...(fp16 ? ["loss_scale", "skipped_steps"] : []), "tokens_per_sec"],
        };

  const evalStrategy = value("evalStrategy");
  let evaluation: TrainingPlan["evaluation"] = null;
  if (evalStrategy !== "no") {
    // HF: eval_steps defaults to logging_steps.
    const every = setting(ctx, "args.evalSteps", args.evalSteps, loggingSteps.value, "hf", "HF default: loggingSteps");
    evaluation = {
      cadence: evalStrategy === "steps" ? cadence(every) : "epoch",
      batchSize: arg(ctx, "perDeviceEvalBatchSize"),
      metrics: data.kind === "module" ? ["eval_loss"] : data.metrics,
    };
  }

  // HF: metricForBestModel defaults to "loss" when saving the best or loading it at the end; it is
  // read when there is an evaluation and a checkpoint or earlyStopping to use it.
  const saveStrategy = value("saveStrategy");
  const loadBestAtEnd = value("loadBestModelAtEnd");
  const metricName = args.metricForBestModel ?? (saveStrategy === "best" || loadBestAtEnd ? "loss" : undefined);
  let metric: TrainingPlan["metric"] = null;
  if (metricName !== undefined && evaluation && (saveStrategy !== "no" || callbacks?.earlyStopping)) {
    const name = evalMetricName(metricName);
    const lossLike = name.endsWith("loss");
    metric = {
      name: setting(ctx, "args.metricForBestModel", args.metricForBestModel !== undefined ? name : undefined, name, "hf", "HF default for best-model tracking"),
      greaterIsBetter: setting(ctx, "args.greaterIsBetter", args.greaterIsBetter, !lossLike, "hf", `HF default: ${lossLike ? "a loss" : "not a loss"}`),
    };
  }

  const trainerStateFields = (bestFields: boolean) => [
    "global_step",
    "epoch",
    "max_steps",
    "train_batch_size",
    "log_history",
    ...(bestFields ? ["best_metric", "best_global_step", "best_model_checkpoint"] : []),
    ...(fp16 ? ["skipped_steps"] : []),
    ...(callbacks?.earlyStopping ? ["stateful_callbacks"] : []),
  ];

  let checkpointing: TrainingPlan["checkpointing"] = null;
  if (saveStrategy !== "no") {
    const onlyModel = value("saveOnlyModel");
    const tracksBest = metric !== null;
    checkpointing = {
      strategy: arg(ctx, "saveStrategy"),
      cadence: saveStrategy === "steps" ? cadence(arg(ctx, "saveSteps")) : saveStrategy === "epoch" ? "epoch" : "best",
      totalLimit: args.saveTotalLimit !== undefined ? setting(ctx, "args.saveTotalLimit", args.saveTotalLimit, args.saveTotalLimit, "spec") : null,
      onlyModel,
      resumable: !onlyModel,
      tracksBest,
      loadBestAtEnd,
      trainerState: trainerStateFields(tracksBest),
      resumeState: onlyModel ? null : ["sampler", "schedulerStep", ...(fp16 ? ["skippedSteps", "scaler"] : []), "lossMean"],
    };
  }

  // progressBar() and jsonlLogger() are the loggers reportTo selects; listing them turns them on.
  const listed = (name: string): boolean => (spec.callbacks ?? []).some((c) => "callback" in c && c.callback === name);
  const reportTo = value("reportTo");

  const program = relative(process.cwd(), resolve(outputPath)).split(sep).join("/");
  const stepOrder = [
    "learning rate",
    "forward/backward",
    ...(fp16 ? ["unscale/overflow check"] : []),
    ...(clipping ? ["clip"] : []),
    ...(fp16 ? [] : ["divergence check"]),
    "update",
    ...(logging ? ["log"] : []),
    ...(evaluation ? ["eval"] : []),
    ...(checkpointing ? ["save"] : []),
  ];
  return {
    name: spec.name,
    files: { spec: loaded.displayPath, program, outDir: program === `generated/${spec.name}/train.ts` ? null : dirname(dirname(program)) },
    run: { name: setting(ctx, "name", spec.name, spec.name, "spec"), outputDir: arg(ctx, "outputDir"), seed: arg(ctx, "seed") },
    data,
    tokenizer,
    model,
    output: model.kind === "gpt2" ? "hf-folder" : "weights",
    batch,
    length,
    optimizer: { learningRate: arg(ctx, "learningRate"), weightDecay: arg(ctx, "weightDecay"), beta1: arg(ctx, "adamBeta1"), beta2: arg(ctx, "adamBeta2"), epsilon: arg(ctx, "adamEpsilon") },
    schedule: { type: scheduleType, warmup },
    clipping,
    divergence: fp16 ? { stopWhen: "overflow at the loss scale's floor", floor: fp16.minScale?.value ?? FP16_SCALE_FLOOR } : { stopWhen: "non-finite loss or gradient norm" },
    fp16,
    logging,
    evaluation,
    metric,
    checkpointing,
    callbacks,
    reportTo: {
      console: reportTo.includes("console") || listed("progressBar"),
      jsonl: reportTo.includes("jsonl") || listed("jsonlLogger"),
      loggerCallbacks: (spec.callbacks ?? []).flatMap((c) => ("callback" in c && (c.callback === "progressBar" || c.callback === "jsonlLogger") ? [c.callback] : [])),
    },
    stepOrder,
    trainerState: trainerStateFields(checkpointing?.tracksBest ?? false),
  };
}

/** The plan with a tuned formulation recorded (char-transformer only). */
export function withTuning(plan: TrainingPlan, tuning: Tuning | null): TrainingPlan {
  if (!tuning || plan.model.kind !== "char-transformer") return plan;
  return { ...plan, model: { ...plan.model, tuning } };
}

export type { Formulation, Tuning };
