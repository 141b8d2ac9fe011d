/**
 * generator/plan-constants.ts — which config constants a program has, named and grouped, for
 * every output language.
 *
 * Both lowerings (lower-typescript.ts, lower-python.ts) print the same constants under the same
 * names (RUN_NAME, DIGITS, LEARNING_RATE, LOGGING_STEPS, ...) in the same groups and order, each
 * with the spec author's comment and its provenance note; only the literal syntax differs. This
 * module decides that once. It also says how each cadence is named in expressions: a constant
 * (`LOGGING_STEPS`), or a value derived from max steps when the spec gave a ratio
 * (`LOGGING_STEPS_RATIO` → a derived `loggingSteps`, which each language spells in its own case).
 */
import type { CallbackPlan } from "./plan-callbacks.ts";
import type { Cadence, Setting, TrainingPlan } from "./plan.ts";

export interface NamedSetting {
  group: string;
  name: string;
  setting: Setting<unknown>;
  /** Overrides the setting's own note (printed unless the author commented). */
  note?: string | null;
}

/** How an interval appears in the loop's conditions. */
export type IntervalName =
  | { kind: "epoch" }
  | { kind: "constant"; name: string }
  /** derived: camelCase name of the value derived from max steps; key: the spec's argument. */
  | { kind: "ratio"; constant: string; derived: string; key: string; value: number };

export interface ProgramConstants {
  constants: NamedSetting[];
  dataSeed: string;
  warmup: { kind: "none" } | { kind: "constant"; name: string } | { kind: "ratio"; constant: string; derived: string };
  logging: IntervalName | null;
  evaluation: IntervalName | null;
  saving: IntervalName | null;
}

/** The constants of a built-in callback (generationSample, earlyStopping), in the callbacks group. */
export function builtInCallbackConstants(cb: CallbackPlan): NamedSetting[] {
  const group = "callbacks";
  if (cb.kind === "generationSample") {
    return [
      { group, name: "SAMPLE_PROMPTS", setting: cb.prompts },
      { group, name: "SAMPLE_EVERY_STEPS", setting: cb.everySteps },
      { group, name: "SAMPLE_MAX_NEW_TOKENS", setting: cb.maxNewTokens },
      { group, name: "SAMPLE_TEMPERATURE", setting: cb.temperature },
      ...(cb.topK ? [{ group, name: "SAMPLE_TOP_K", setting: cb.topK }] : []),
      { group, name: "SAMPLE_SEED", setting: cb.seed },
    ];
  }
  if (cb.kind === "earlyStopping") {
    return [
      { group, name: "EARLY_STOPPING_PATIENCE", setting: cb.patience },
      { group, name: "EARLY_STOPPING_THRESHOLD", setting: cb.threshold },
    ];
  }
  return [];
}

/**
 * Every constant but the callbacks' (which each lowering adds after these, in the spec's order)
 * and the language-specific ones (e.g. train.ts's MODEL_FORMULATION). `fp16Group`: the title of
 * the fp16 group, which says what fp16 means in that language.
 */
export function programConstants(plan: TrainingPlan, fp16Group: string): ProgramConstants {
  const constants: NamedSetting[] = [];
  const add = (group: string, name: string, setting: Setting<unknown>, note?: string | null) => {
    constants.push(note === undefined ? { group, name, setting } : { group, name, setting, note });
    return name;
  };
  const interval = (group: string, name: string, derived: string, cadence: Cadence): IntervalName => {
    if (cadence === "epoch") return { kind: "epoch" };
    if (!cadence.ratioOfMaxSteps) return { kind: "constant", name: add(group, name, cadence.every) };
    return { kind: "ratio", constant: add(group, `${name}_RATIO`, cadence.every), derived, key: cadence.every.path!.slice("args.".length), value: cadence.every.value };
  };

  add("run", "RUN_NAME", plan.run.name);
  add("run", "OUTPUT_DIR", plan.run.outputDir);
  add("run", "SEED", plan.run.seed);
  let dataSeed = "SEED";
  const data = plan.data;
  if (data.kind === "addition") {
    add("data", "DIGITS", data.digits);
    add("data", "TRAIN_EXAMPLES", data.trainExamples);
    add("data", "EVAL_EXAMPLES", data.evalExamples);
    add("data", "REVERSE_ANSWER", data.reverseAnswer);
    add("data", "FIXED_WIDTH", data.fixedWidth);
    if (data.seed) dataSeed = add("data", "DATA_SEED", data.seed);
  } else if (data.kind === "text") {
    add("data", "TEXT_FILE", data.file);
    add("data", "EVAL_FRACTION", data.evalFraction);
    add("data", "SEQUENCE_LENGTH", data.sequenceLength);
  } else if (data.kind === "jsonl") {
    add("data", "JSONL_FILE", data.file);
    add("data", "EVAL_FRACTION", data.evalFraction);
    add("data", "MAX_LENGTH", data.maxLength);
    add("data", "COMPLETION_ONLY_LOSS", data.completionOnlyLoss);
  }
  const tokenizer = plan.tokenizer;
  if (tokenizer?.kind === "file") add("tokenizer", "TOKENIZER_FILE", tokenizer.file);
  if (tokenizer?.kind === "train") add("tokenizer", "TOKENIZER_VOCAB_SIZE", tokenizer.vocabSize);
  const model = plan.model;
  if (model.kind === "char-transformer") {
    add("model", "D_MODEL", model.dModel);
    add("model", "LAYERS", model.layers);
    add("model", "HEADS", model.heads);
    add("model", "CONTEXT_LENGTH", model.contextLength);
  } else if (model.kind === "mlp") {
    add("model", "HIDDEN", model.hidden);
    add("model", "WINDOW", model.window);
    add("model", "EMBEDDING", model.embedding);
  } else if (model.kind === "gpt2") {
    add("model", "N_LAYER", model.nLayer);
    add("model", "N_HEAD", model.nHead);
    add("model", "N_EMBD", model.nEmbd);
    add("model", "N_POSITIONS", model.nPositions);
    add("model", "LAYER_NORM_EPSILON", model.layerNormEpsilon);
    if (model.from) add("model", "FROM_DIR", model.from.dir);
  }

  add("training", "BATCH_SIZE", plan.batch.perDevice);
  if (plan.batch.accumulation) add("training", "GRADIENT_ACCUMULATION_STEPS", plan.batch.accumulation.steps);
  if ("maxSteps" in plan.length) add("training", "MAX_STEPS", plan.length.maxSteps);
  else add("training", "NUM_TRAIN_EPOCHS", plan.length.epochs);
  const opt = plan.optimizer;
  add("AdamW optimizer", "LEARNING_RATE", opt.learningRate);
  add("AdamW optimizer", "WEIGHT_DECAY", opt.weightDecay);
  add("AdamW optimizer", "ADAM_BETA1", opt.beta1);
  add("AdamW optimizer", "ADAM_BETA2", opt.beta2);
  add("AdamW optimizer", "ADAM_EPSILON", opt.epsilon);
  const schedule = `learning-rate schedule: ${plan.schedule.type.value}`;
  const w = plan.schedule.warmup;
  const warmup: ProgramConstants["warmup"] = w === null ? { kind: "none" } : "steps" in w ? { kind: "constant", name: add(schedule, "WARMUP_STEPS", w.steps) } : { kind: "ratio", constant: add(schedule, "WARMUP_RATIO", w.ratio), derived: "warmupSteps" };
  if (plan.clipping) add("gradient clipping", "MAX_GRAD_NORM", plan.clipping.maxGradNorm);
  const fp16 = plan.fp16;
  if (fp16) {
    add(fp16Group, "LOSS_SCALE_INIT", fp16.initScale);
    add(fp16Group, "LOSS_SCALE_GROWTH_FACTOR", fp16.growthFactor);
    add(fp16Group, "LOSS_SCALE_BACKOFF_FACTOR", fp16.backoffFactor);
    add(fp16Group, "LOSS_SCALE_GROWTH_INTERVAL", fp16.growthInterval);
    if (fp16.minScale) add(fp16Group, "LOSS_SCALE_MIN", fp16.minScale);
  }

  const log = "logging and evaluation";
  const logging = plan.logging?.cadence && plan.logging.cadence !== "epoch" ? interval(log, "LOGGING_STEPS", "loggingSteps", plan.logging.cadence) : null;
  let evaluation: IntervalName | null = null;
  if (plan.evaluation) {
    add(log, "EVAL_BATCH_SIZE", plan.evaluation.batchSize);
    evaluation = interval(log, "EVAL_STEPS", "evalSteps", plan.evaluation.cadence);
  }
  const ckpt = plan.checkpointing;
  let saving: IntervalName | null = null;
  if (ckpt) {
    const group = `checkpoints (saveStrategy "${ckpt.strategy.value}"${ckpt.strategy.from === "spec" ? "" : ", HF default"})`;
    if (ckpt.cadence !== "best") saving = interval(group, "SAVE_STEPS", "saveSteps", ckpt.cadence);
    if (ckpt.totalLimit) add(group, "SAVE_TOTAL_LIMIT", ckpt.totalLimit);
  }
  if (plan.metric) {
    add("best model", "METRIC_FOR_BEST_MODEL", plan.metric.name);
    add("best model", "GREATER_IS_BETTER", plan.metric.greaterIsBetter);
  }
  return { constants, dataSeed, warmup, logging, evaluation, saving };
}
