/**
 * generator/plan.ts — spec → TrainingPlan: every decision about the generated program.
 *
 * The plan is a plain JSON-able object. A feature the spec does not enable is `null`; the
 * templates test presence only and render what the plan says, so all defaults, derived
 * values, names and small expressions are decided here and nowhere else.
 */
import { dirname, relative, resolve, sep } from "node:path";
import { ADDITION_DEFAULTS, ARG_DEFAULTS, FP16_SCALER_DEFAULTS, MLP_DEFAULTS, TEXT_DEFAULTS, evalMetricName } from "./defaults.ts";
import { commentLines, literal } from "./literals.ts";
import type { LoadedSpec } from "./load-spec.ts";
import { type CallbacksPlan, planCallbacks } from "./plan-callbacks.ts";
import type { Tuning } from "./tune.ts";
import type { AdditionPreset, CharTransformerPreset, MlpPreset, ModuleRef, TextData, TrainerSpec, TrainingArgs } from "./spec-types.ts";

export interface ConfigConstant {
  name: string;
  /** TypeScript source of the value. */
  value: string;
  /** The spec author's comment, one entry per line (null: none). */
  comment: string[] | null;
  /** Short trailing note, e.g. "HF default" (null: none). */
  note: string | null;
}

export interface ConfigGroup {
  title: string;
  constants: ConfigConstant[];
}

/** A value computed when the program runs, after the data and max steps are known. */
export interface DerivedValue {
  name: string;
  expression: string;
  comment: string;
}

export interface TrainingPlan {
  name: string;
  header: { specPath: string; regenerate: string; run: string };
  runtimeImports: string[];
  moduleImports: { name: string; from: string }[];
  nodeImports: { names: string; from: string }[];
  config: ConfigGroup[];
  derived: DerivedValue[];
  data: {
    summary: string;
    addition: { call: string } | null;
    text: { call: string } | null;
    module: { call: string } | null;
  };
  model: { summary: string; call: string };
  /** Stopping point: `maxSteps` from the spec or from epochs × steps per epoch. */
  maxSteps: { expression: string; comment: string };
  schedule: { summary: string; expression: string };
  optimizer: { weightDecay: boolean };
  accumulation: null | {
    steps: number;
    /** Unrolled micro-batches 2..k (null when the loop form is used). */
    unrolled: { index: number; ordinal: number }[] | null;
    /** A callback implements onSubstepEnd: call it before each micro-batch but the first. */
    substepHook: boolean;
  };
  clipping: null | { constant: string };
  /** Emulated fp16 with dynamic loss scaling; minScale is the identifier of the floor or "null". */
  fp16: null | { minScale: string };
  /**
   * When a train line is logged (null: loggingStrategy "no"). `atEpoch`: the action runs at the
   * end-of-epoch point of the loop (epoch strategy), else right after the step (HF's order).
   */
  logging: { condition: string | null; atEpoch: boolean };
  evaluation: null | { condition: string; atEpoch: boolean; exactMatch: boolean; keepMetrics: boolean };
  callbacks: CallbacksPlan | null;
  /** The step trainer_state.json reports at the end: maxSteps, or where a callback stopped. */
  finalStep: string;
  /** The loop's first step: 1, or startStep after a resume. */
  firstStep: string;
  /** Whether the program takes --resume (it saves checkpoints with optimizer state). */
  resumable: boolean;
  /** Tracking of the best evaluation (metricForBestModel), when anything needs it. */
  best: null | { metric: string; greaterIsBetter: boolean; improvedFlag: boolean };
  checkpointing: null | {
    /** When a checkpoint is saved, e.g. "step % SAVE_STEPS === 0 || step === maxSteps". */
    condition: string;
    atEpoch: boolean;
    /** Rotation: the constant of saveTotalLimit, null without rotation. */
    limit: string | null;
    /** saveOnlyModel: weights and trainer state only; such a program cannot resume. */
    onlyModel: boolean;
    loadBestAtEnd: boolean;
  };
  reportTo: { console: boolean; jsonl: boolean };
}

/** Up to this many micro-batches are unrolled into straight-line code; more use a loop. */
export const UNROLL_LIMIT = 8;

interface Context {
  spec: TrainerSpec;
  comments: Map<string, string>;
  specDir: string;
  programDir: string;
}

function constant(ctx: Context, name: string, path: string | null, value: unknown, fallbackNote: string | null = null): ConfigConstant {
  const authored = path ? ctx.comments.get(path) : undefined;
  return { name, value: literal(value), comment: authored ? commentLines(authored) : null, note: authored ? null : fallbackNote };
}

/** `args.<key>` with HF's default; the note says when the default was used. */
function argConstant(ctx: Context, name: string, key: keyof typeof ARG_DEFAULTS): ConfigConstant {
  const given = ctx.spec.args[key as keyof TrainingArgs];
  return constant(ctx, name, `args.${key}`, given ?? ARG_DEFAULTS[key], given === undefined ? "HF default" : null);
}

function importPath(ctx: Context, specRelative: string): string {
  const target = resolve(ctx.specDir, specRelative);
  const path = relative(ctx.programDir, target).split(sep).join("/");
  return path.startsWith(".") ? path : `./${path}`;
}

/** A step interval: a count is a constant; a ratio of max steps becomes a derived value. */
function interval(ctx: Context, constantName: string, derivedName: string, key: "loggingSteps" | "evalSteps" | "saveSteps", value: number, group: ConfigConstant[], derived: DerivedValue[], fromDefault: string | null): string {
  const path = `args.${key}`;
  if (value < 1) {
    group.push(constant(ctx, `${constantName}_RATIO`, path, value, fromDefault));
    derived.push({ name: derivedName, expression: `Math.ceil(maxSteps * ${constantName}_RATIO)`, comment: `${key} ${value} is a ratio of max steps` });
    return derivedName;
  }
  group.push(constant(ctx, constantName, path, value, fromDefault));
  return constantName;
}

/** How the addition preset writes a problem, for the program's comment. */
function additionExample(d: AdditionPreset): string {
  const digits = d.digits;
  const a = Number("123456".slice(0, digits));
  const b = Number("456789".slice(0, digits));
  const fixed = d.fixedWidth ?? ADDITION_DEFAULTS.fixedWidth;
  const reverse = d.reverseAnswer ?? ADDITION_DEFAULTS.reverseAnswer;
  const sum = fixed ? String(a + b).padStart(digits + 1, "0") : String(a + b);
  const answer = reverse ? [...sum].reverse().join("") : sum;
  const notes = [fixed ? `answer zero-padded to ${digits + 1} digits` : null, reverse ? "written least-significant digit first" : null].filter(Boolean);
  return `${digits}-digit sums written like "${a}+${b}=${answer}$"${notes.length ? ` (${a + b}: ${notes.join(", ")})` : ""}`;
}

export function buildPlan(loaded: LoadedSpec, outputPath: string, tuning: Tuning | null = null): TrainingPlan {
  const spec = loaded.value as TrainerSpec;
  const args = spec.args;
  const ctx: Context = { spec, comments: loaded.source.comments, specDir: dirname(loaded.path), programDir: dirname(resolve(outputPath)) };
  const runtime = new Set<string>(["AdamW", "EpochSampler", "RunningMean", "Throughput", "TrainingLog", "disposeAll", "parseRunFlags", "selectBackend", "writeModel", "writeTrainerState", "type Batch", "type NamedTensors", "type StepGradients"]);
  const nodeImports: { names: string; from: string }[] = [];
  const moduleImports: { name: string; from: string }[] = [];
  const derived: DerivedValue[] = [];
  const config: ConfigGroup[] = [];
  const a = <K extends keyof typeof ARG_DEFAULTS>(key: K): (typeof ARG_DEFAULTS)[K] => (args[key as keyof TrainingArgs] as (typeof ARG_DEFAULTS)[K] | undefined) ?? ARG_DEFAULTS[key];

  // --- run
  config.push({
    title: "run",
    constants: [constant(ctx, "RUN_NAME", "name", spec.name), constant(ctx, "OUTPUT_DIR", "args.outputDir", a("outputDir"), args.outputDir === undefined ? "HF default" : null), argConstant(ctx, "SEED", "seed")],
  });

  // --- data
  const dataGroup: ConfigConstant[] = [];
  const dataPlan: TrainingPlan["data"] = { summary: "", addition: null, text: null, module: null };
  const dataSpec = spec.data;
  let exactMatch = false;
  if ("module" in dataSpec) {
    const m = dataSpec as ModuleRef;
    moduleImports.push({ name: "createData", from: importPath(ctx, m.module) });
    dataPlan.module = { call: "await createData()" };
    dataPlan.summary = `data: user module ${m.module}`;
  } else if ("text" in dataSpec) {
    const t = dataSpec as TextData;
    const modelContext = "contextLength" in spec.model ? (spec.model as CharTransformerPreset).contextLength : undefined;
    dataGroup.push(constant(ctx, "TEXT_FILE", "data.text", importPath(ctx, t.text)));
    dataGroup.push(constant(ctx, "EVAL_FRACTION", "data.evalFraction", t.evalFraction ?? TEXT_DEFAULTS.evalFraction, t.evalFraction === undefined ? "default" : null));
    dataGroup.push(constant(ctx, "SEQUENCE_LENGTH", "data.sequenceLength", t.sequenceLength ?? modelContext ?? TEXT_DEFAULTS.sequenceLength, t.sequenceLength === undefined ? (modelContext ? "the model's contextLength" : "default") : null));
    runtime.add("textData");
    nodeImports.push({ names: "dirname, resolve", from: "node:path" }, { names: "fileURLToPath", from: "node:url" });
    dataPlan.text = { call: "textData({ path: resolve(dirname(fileURLToPath(import.meta.url)), TEXT_FILE), evalFraction: EVAL_FRACTION, sequenceLength: SEQUENCE_LENGTH })" };
    dataPlan.summary = `data: characters of ${t.text}, the last EVAL_FRACTION held out`;
  } else {
    const d = dataSpec as AdditionPreset;
    dataGroup.push(constant(ctx, "DIGITS", "data.digits", d.digits));
    dataGroup.push(constant(ctx, "TRAIN_EXAMPLES", "data.trainExamples", d.trainExamples ?? ADDITION_DEFAULTS.trainExamples, d.trainExamples === undefined ? "default" : null));
    dataGroup.push(constant(ctx, "EVAL_EXAMPLES", "data.evalExamples", d.evalExamples ?? ADDITION_DEFAULTS.evalExamples, d.evalExamples === undefined ? "default" : null));
    dataGroup.push(constant(ctx, "REVERSE_ANSWER", "data.reverseAnswer", d.reverseAnswer ?? ADDITION_DEFAULTS.reverseAnswer, d.reverseAnswer === undefined ? "default: least-significant digit first" : null));
    dataGroup.push(constant(ctx, "FIXED_WIDTH", "data.fixedWidth", d.fixedWidth ?? ADDITION_DEFAULTS.fixedWidth, d.fixedWidth === undefined ? "default: zero-padded, digits at fixed positions" : null));
    const dataSeed = d.seed !== undefined ? "DATA_SEED" : "SEED";
    if (d.seed !== undefined) dataGroup.push(constant(ctx, "DATA_SEED", "data.seed", d.seed));
    runtime.add("additionData");
    dataPlan.addition = { call: `additionData({ digits: DIGITS, trainExamples: TRAIN_EXAMPLES, evalExamples: EVAL_EXAMPLES, reverseAnswer: REVERSE_ANSWER, fixedWidth: FIXED_WIDTH, seed: ${dataSeed} })` };
    dataPlan.summary = `data: ${additionExample(d)}; only the answer and "$" are loss targets`;
    exactMatch = (d.evalExamples ?? ADDITION_DEFAULTS.evalExamples) > 0;
  }
  config.push({ title: "data", constants: dataGroup });

  // --- model
  const modelGroup: ConfigConstant[] = [];
  let modelPlan: TrainingPlan["model"];
  const modelSpec = spec.model;
  if ("module" in modelSpec) {
    moduleImports.push({ name: "createModel", from: importPath(ctx, (modelSpec as ModuleRef).module) });
    runtime.add("modelContext");
    modelPlan = { summary: `model: user module ${(modelSpec as ModuleRef).module}`, call: "createModel(modelContext(data))" };
  } else if ((modelSpec as CharTransformerPreset).preset === "char-transformer") {
    const m = modelSpec as CharTransformerPreset;
    modelGroup.push(constant(ctx, "D_MODEL", "model.dModel", m.dModel), constant(ctx, "LAYERS", "model.layers", m.layers), constant(ctx, "HEADS", "model.heads", m.heads), constant(ctx, "CONTEXT_LENGTH", "model.contextLength", m.contextLength));
    runtime.add("charTransformer").add("modelContext");
    let formulation = "";
    if (tuning) {
      // Recorded by `gen-trainer --tune`: the fastest formulation measured on that machine.
      const describe = (f: Tuning["choice"]) => `${f.matmul} matmul, ${f.embedding} embedding`;
      modelGroup.push({
        name: "MODEL_FORMULATION",
        value: `${literal(tuning.choice)} as const`,
        comment: [
          `tuned by \`gen-trainer --tune\` on the ${tuning.backend} backend (ms per training step):`,
          ...tuning.measured.map((m) => `  ${describe(m.formulation)}: ${m.msPerStep}${m.formulation === tuning.choice ? "  <- chosen" : ""}`),
        ],
        note: null,
      });
      formulation = ", formulation: MODEL_FORMULATION";
    }
    modelPlan = { summary: "model: causal transformer decoder over characters (pre-LayerNorm, GELU MLP)", call: `charTransformer({ dModel: D_MODEL, layers: LAYERS, heads: HEADS, contextLength: CONTEXT_LENGTH${formulation} }, modelContext(data))` };
  } else {
    const m = modelSpec as MlpPreset;
    modelGroup.push(constant(ctx, "HIDDEN", "model.hidden", m.hidden), constant(ctx, "WINDOW", "model.window", m.window ?? MLP_DEFAULTS.window, m.window === undefined ? "default" : null), constant(ctx, "EMBEDDING", "model.embedding", m.embedding ?? MLP_DEFAULTS.embedding, m.embedding === undefined ? "default" : null));
    runtime.add("mlp").add("modelContext");
    modelPlan = { summary: "model: MLP over the embeddings of the previous WINDOW tokens", call: "mlp({ hidden: HIDDEN, window: WINDOW, embedding: EMBEDDING }, modelContext(data))" };
  }
  config.push({ title: "model", constants: modelGroup });

  // --- training length and batches
  const training: ConfigConstant[] = [argConstant(ctx, "BATCH_SIZE", "perDeviceTrainBatchSize")];
  const accumulationSteps = a("gradientAccumulationSteps");
  if (accumulationSteps > 1) training.push(argConstant(ctx, "GRADIENT_ACCUMULATION_STEPS", "gradientAccumulationSteps"));
  const perStep = accumulationSteps > 1 ? "GRADIENT_ACCUMULATION_STEPS" : "1";
  let maxSteps: TrainingPlan["maxSteps"];
  if (a("maxSteps") > 0) {
    training.push(argConstant(ctx, "MAX_STEPS", "maxSteps"));
    maxSteps = { expression: "flags.maxSteps ?? MAX_STEPS", comment: "optimizer steps to run (--max-steps overrides)" };
  } else {
    training.push(argConstant(ctx, "NUM_TRAIN_EPOCHS", "numTrainEpochs"));
    maxSteps = { expression: `flags.maxSteps ?? Math.ceil(NUM_TRAIN_EPOCHS * sampler.stepsPerEpoch(${perStep}))`, comment: "NUM_TRAIN_EPOCHS epochs of optimizer steps (--max-steps overrides)" };
  }
  config.push({ title: "training", constants: training });

  // --- optimizer and schedule
  const weightDecay = a("weightDecay");
  config.push({
    title: "AdamW optimizer",
    constants: [argConstant(ctx, "LEARNING_RATE", "learningRate"), argConstant(ctx, "WEIGHT_DECAY", "weightDecay"), argConstant(ctx, "ADAM_BETA1", "adamBeta1"), argConstant(ctx, "ADAM_BETA2", "adamBeta2"), argConstant(ctx, "ADAM_EPSILON", "adamEpsilon")],
  });
  const scheduleType = a("lrSchedulerType");
  const scheduleGroup: ConfigConstant[] = [];
  let warmup = "0";
  const warmupSteps = args.warmupSteps ?? 0;
  const warmupRatio = args.warmupRatio ?? 0;
  if (scheduleType !== "constant") {
    if (warmupSteps >= 1) {
      scheduleGroup.push(constant(ctx, "WARMUP_STEPS", "args.warmupSteps", warmupSteps));
      warmup = "WARMUP_STEPS";
    } else if (warmupSteps > 0 || warmupRatio > 0) {
      const ratio = warmupSteps > 0 ? warmupSteps : warmupRatio;
      scheduleGroup.push(constant(ctx, "WARMUP_RATIO", warmupSteps > 0 ? "args.warmupSteps" : "args.warmupRatio", ratio));
      derived.push({ name: "warmupSteps", expression: "Math.ceil(maxSteps * WARMUP_RATIO)", comment: "warmup as a ratio of max steps" });
      warmup = "warmupSteps";
    }
  }
  const schedules = {
    linear: { fn: "linearWithWarmup", expression: `LEARNING_RATE * linearWithWarmup(schedulerStep, ${warmup}, maxSteps)`, summary: warmup === "0" ? "linear decay from LEARNING_RATE to 0 at maxSteps" : `linear warmup over ${warmup} steps, then linear decay to 0 at maxSteps` },
    cosine: { fn: "cosineWithWarmup", expression: `LEARNING_RATE * cosineWithWarmup(schedulerStep, ${warmup}, maxSteps)`, summary: warmup === "0" ? "cosine decay from LEARNING_RATE to 0 at maxSteps" : `linear warmup over ${warmup} steps, then cosine decay to 0 at maxSteps` },
    constant_with_warmup: { fn: "constantWithWarmup", expression: `LEARNING_RATE * constantWithWarmup(schedulerStep, ${warmup})`, summary: `linear warmup over ${warmup} steps, then constant` },
    constant: { fn: null, expression: "LEARNING_RATE", summary: "constant" },
  }[scheduleType];
  if (schedules.fn) runtime.add(schedules.fn);
  config.push({ title: `learning-rate schedule: ${scheduleType}`, constants: scheduleGroup });

  // --- gradient clipping
  const maxGradNorm = a("maxGradNorm");
  let clipping: TrainingPlan["clipping"] = null;
  if (maxGradNorm > 0) {
    config.push({ title: "gradient clipping", constants: [argConstant(ctx, "MAX_GRAD_NORM", "maxGradNorm")] });
    runtime.add("clipGradientsByGlobalNorm").add("LatestValue");
    clipping = { constant: "MAX_GRAD_NORM" };
  }
  // --- fp16
  let fp16: TrainingPlan["fp16"] = null;
  if (a("fp16")) {
    const scaler = args.fp16Scaler ?? {};
    const scalerConstant = (name: string, key: keyof typeof FP16_SCALER_DEFAULTS) =>
      constant(ctx, name, `args.fp16Scaler.${key}`, scaler[key] ?? FP16_SCALER_DEFAULTS[key], scaler[key] === undefined ? "torch default" : null);
    const group = [
      scalerConstant("LOSS_SCALE_INIT", "initScale"),
      scalerConstant("LOSS_SCALE_GROWTH_FACTOR", "growthFactor"),
      scalerConstant("LOSS_SCALE_BACKOFF_FACTOR", "backoffFactor"),
      scalerConstant("LOSS_SCALE_GROWTH_INTERVAL", "growthInterval"),
    ];
    if (scaler.minScale !== undefined) group.push(constant(ctx, "LOSS_SCALE_MIN", "args.fp16Scaler.minScale", scaler.minScale));
    config.push({ title: "fp16: emulated binary16 with dynamic loss scaling (torch GradScaler)", constants: group });
    for (const name of ["LossScaler", "allFinite", "fp16RoundWithGradient", "roundGradientsToFp16", "scaleGradients"]) runtime.add(name);
    fp16 = { minScale: scaler.minScale !== undefined ? "LOSS_SCALE_MIN" : "null" };
  }
  let accumulation: TrainingPlan["accumulation"] = null;
  if (accumulationSteps > 1) {
    runtime.add("accumulate");
    accumulation = {
      steps: accumulationSteps,
      unrolled: accumulationSteps <= UNROLL_LIMIT ? Array.from({ length: accumulationSteps - 1 }, (_, i) => ({ index: i + 1, ordinal: i + 2 })) : null,
      substepHook: false,
    };
  }

  // --- callbacks (their control flags join the conditions of log, eval and save below)
  const callbackGroup: ConfigConstant[] = [];
  const callbackSpecs = spec.callbacks ?? [];
  const callbacks = planCallbacks({
    callbacks: callbackSpecs,
    specDir: ctx.specDir,
    programDir: ctx.programDir,
    constant: (name, path, value, note = null) => callbackGroup.push(constant(ctx, name, path, value, note)),
    runtime,
    moduleImports,
  });
  if (callbacks?.state) {
    const resolvedArgs = Object.fromEntries(Object.keys({ ...ARG_DEFAULTS, ...args }).sort().map((k) => [k, (args as Record<string, unknown>)[k] ?? (ARG_DEFAULTS as Record<string, unknown>)[k]]));
    callbackGroup.unshift(constant(ctx, "TRAINING_ARGS", null, resolvedArgs, "the resolved TrainingArguments callbacks receive"));
  }
  const control = (flag: string): string => (callbacks?.requests ? ` || control.${flag}` : "");

  // --- logging and evaluation
  const logGroup: ConfigConstant[] = [];
  const loggingStrategy = a("loggingStrategy");
  let loggingEvery: string | null = null;
  const loggingSteps = args.loggingSteps ?? ARG_DEFAULTS.loggingSteps;
  if (loggingStrategy === "steps") loggingEvery = interval(ctx, "LOGGING_STEPS", "loggingSteps", "loggingSteps", loggingSteps, logGroup, derived, args.loggingSteps === undefined ? "HF default" : null);
  const firstStep = a("loggingFirstStep");
  const evalStrategy = a("evalStrategy");
  let evaluation: TrainingPlan["evaluation"] = null;
  if (evalStrategy !== "no") {
    runtime.add("evaluateLoss");
    logGroup.push(argConstant(ctx, "EVAL_BATCH_SIZE", "perDeviceEvalBatchSize"));
    let every: string | null = null;
    if (evalStrategy === "steps") {
      // HF: eval_steps defaults to logging_steps.
      const evalSteps = args.evalSteps ?? loggingSteps;
      every = interval(ctx, "EVAL_STEPS", "evalSteps", "evalSteps", evalSteps, logGroup, derived, args.evalSteps === undefined ? "HF default: loggingSteps" : null);
    }
    // Like HF for step strategies, the last step is always evaluated.
    evaluation = {
      condition: `${every ? `step % ${every} === 0` : "sampler.epochEnded"} || step === maxSteps${control("shouldEvaluate")}`,
      atEpoch: every === null,
      exactMatch,
      keepMetrics: false,
    };
  }
  config.push({ title: "logging and evaluation", constants: logGroup });

  // --- checkpoints and the best model
  const saveStrategy = a("saveStrategy");
  const loadBestAtEnd = a("loadBestModelAtEnd");
  let best: TrainingPlan["best"] = null;
  let checkpointing: TrainingPlan["checkpointing"] = null;
  if (saveStrategy !== "no") {
    const group: ConfigConstant[] = [];
    let condition: string;
    if (saveStrategy === "steps") {
      const every = interval(ctx, "SAVE_STEPS", "saveSteps", "saveSteps", args.saveSteps ?? ARG_DEFAULTS.saveSteps, group, derived, args.saveSteps === undefined ? "HF default" : null);
      condition = `step % ${every} === 0 || step === maxSteps${control("shouldSave")}`;
    } else if (saveStrategy === "epoch") {
      condition = `sampler.epochEnded || step === maxSteps${control("shouldSave")}`;
    } else {
      condition = `improved${control("shouldSave")}`;
    }
    if (args.saveTotalLimit !== undefined) group.push(constant(ctx, "SAVE_TOTAL_LIMIT", "args.saveTotalLimit", args.saveTotalLimit));
    const onlyModel = a("saveOnlyModel");
    config.push({ title: `checkpoints (saveStrategy "${saveStrategy}"${args.saveStrategy === undefined ? ", HF default" : ""})`, constants: group });
    for (const name of ["saveCheckpoint", "checkpointDir", "trainerState"]) runtime.add(name);
    if (args.saveTotalLimit !== undefined) runtime.add("rotateCheckpoints");
    if (!onlyModel) runtime.add("findResumeCheckpoint").add("loadCheckpoint").add("watchForInterrupt").add("resumeCommand");
    if (loadBestAtEnd) runtime.add("loadModelWeights");
    checkpointing = { condition, atEpoch: saveStrategy === "epoch" || (saveStrategy === "best" && (evaluation?.atEpoch ?? false)), limit: args.saveTotalLimit !== undefined ? "SAVE_TOTAL_LIMIT" : null, onlyModel, loadBestAtEnd };
  }
  // HF: metricForBestModel defaults to "loss" when saving the best or loading it at the end;
  // the best checkpoint is tracked when there is a metric and an evaluation to read it from.
  const metric = args.metricForBestModel ?? (saveStrategy === "best" || loadBestAtEnd ? "loss" : undefined);
  if (metric !== undefined && evaluation && (checkpointing || callbacks?.earlyStopping)) {
    const name = evalMetricName(metric);
    const greater = args.greaterIsBetter ?? !name.endsWith("loss");
    config.push({
      title: "best model",
      constants: [
        constant(ctx, "METRIC_FOR_BEST_MODEL", "args.metricForBestModel", name, args.metricForBestModel === undefined ? "HF default for best-model tracking" : null),
        constant(ctx, "GREATER_IS_BETTER", "args.greaterIsBetter", greater, args.greaterIsBetter === undefined ? `HF default: ${name.endsWith("loss") ? "a loss" : "not a loss"}` : null),
      ],
    });
    if (checkpointing) {
      runtime.add("BestMetric");
      best = { metric: name, greaterIsBetter: greater, improvedFlag: saveStrategy === "best" };
    }
  }
  if (callbacks) config.push({ title: "callbacks", constants: callbackGroup });
  if (accumulation) accumulation.substepHook = callbacks?.has.onSubstepEnd ?? false;
  if (evaluation) evaluation.keepMetrics = best !== null || (callbacks?.has.onEvaluate ?? false);
  // progressBar() and jsonlLogger() are the loggers reportTo selects; listing them turns them on.
  const listed = (name: string): boolean => callbackSpecs.some((c) => "callback" in c && c.callback === name);
  const reportTo = args.reportTo ?? ARG_DEFAULTS.reportTo;

  const outputFile = relative(process.cwd(), resolve(outputPath)).split(sep).join("/");
  const sortedRuntime = [...runtime].sort((x, y) => x.replace(/^type /, "").localeCompare(y.replace(/^type /, "")));
  const loggingConditions = [firstStep ? "step === 1" : null, loggingEvery ? `step % ${loggingEvery} === 0` : null, loggingStrategy === "epoch" ? "sampler.epochEnded" : null].filter(Boolean);
  const resumable = checkpointing !== null && !checkpointing.onlyModel;
  return {
    name: spec.name,
    header: {
      specPath: commentLines(loaded.displayPath).join(" "),
      regenerate: commentLines(`npx gen-trainer ${loaded.displayPath}${outputFile === `generated/${spec.name}/train.ts` ? "" : ` --out-dir ${dirname(dirname(outputFile))}`}`).join(" "),
      run: commentLines(`npx tsx ${outputFile}`).join(" "),
    },
    runtimeImports: sortedRuntime,
    moduleImports: moduleImports.map((m) => ({ name: m.name, from: literal(m.from) })),
    nodeImports,
    config: config.filter((g) => g.constants.length > 0),
    derived,
    data: dataPlan,
    model: modelPlan,
    maxSteps,
    schedule: { summary: schedules.summary, expression: schedules.expression },
    optimizer: { weightDecay: weightDecay > 0 },
    accumulation,
    clipping,
    fp16,
    // Unlike HF (which ends with a summary line instead), the last step is always logged too.
    logging: {
      condition: loggingConditions.length > 0 ? `${[...loggingConditions, "step === maxSteps"].join(" || ")}${control("shouldLog")}` : null,
      atEpoch: loggingStrategy === "epoch",
    },
    evaluation,
    callbacks,
    finalStep: callbacks?.control ? "lastStep" : "maxSteps",
    firstStep: resumable ? "startStep" : "1",
    resumable,
    best,
    checkpointing,
    reportTo: { console: reportTo.includes("console") || listed("progressBar"), jsonl: reportTo.includes("jsonl") || listed("jsonlLogger") },
  };
}
