/**
 * generator/commands/explain.ts — `gen-trainer explain <spec.ts> [--json] [--out-dir DIR]`.
 *
 * Prints the resolved plan of a spec, for a person to check before spending hours on a run:
 * the effective batch, the number of optimizer steps and epochs, the learning-rate schedule,
 * which features are on and what code each adds to the program, a timeline of the run's events
 * (sampling, evaluation, checkpoints and their rotation), and the size on disk of the model and
 * of each checkpoint. `--json` prints the same as one JSON object.
 *
 * It runs the generator's pipeline up to the plan (an invalid spec gets generation's diagnostics
 * and exit 1) and writes nothing. Presence of each feature is read from the TrainingPlan; numbers
 * are resolved from the spec with the defaults of generator/defaults.ts, and the training-set size
 * is computed as the runtime does (runtime/data/addition.ts, text.ts, sampler.ts): known at
 * generation time for the addition and text presets, only at run time for a data module.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { constantWithWarmup, cosineWithWarmup, linearWithWarmup } from "../../runtime/schedule.ts";
import { inspectCallbackClass } from "../callback-classes.ts";
import { ADDITION_DEFAULTS, ARG_DEFAULTS, FP16_SCALER_DEFAULTS, MLP_DEFAULTS, TEXT_DEFAULTS } from "../defaults.ts";
import { UsageError } from "../diagnostics.ts";
import type { LoadedSpec } from "../load-spec.ts";
import type { TrainingPlan } from "../plan.ts";
import type { AdditionPreset, CharTransformerPreset, MlpPreset, ModuleRef, TextData, TrainerSpec, TrainingArgs, UserCallbackRef } from "../spec-types.ts";
import { ADDITION_VOCABULARY, modelShapes, optimizerShapes, parameterCount, safetensorsBytes } from "./model-size.ts";
import { bytes, count, parseFlags, planSpec, reportDiagnostics, short } from "./shared.ts";

const USAGE = "gen-trainer explain <spec.ts> [--json] [--out-dir DIR]";

export interface Feature {
  feature: string;
  /** What the feature adds to the generated program. */
  code: string;
}

export interface TimelineEntry {
  step: number;
  /** In the order the loop runs them: sample, eval, save (with rotation), end. */
  events: string[];
  /** Steps with events left out between this entry and the next one shown. */
  skippedAfter?: number;
}

export interface Explanation {
  spec: string;
  program: string;
  run: string;
  outputDir: string;
  model: { kind: string; description: string; parameters: number | null; vocabularySize: number | null };
  data: { kind: "addition" | "text" | "module"; description: string; trainExamples: number | null; evalExamples: number | null; sequenceLength: number | null };
  batch: { perDevice: number; accumulationSteps: number; effective: number; tokensPerStep: number | null; description: string };
  length: { from: "maxSteps" | "numTrainEpochs"; maxSteps: number | null; stepsPerEpoch: number | null; epochs: number | null; description: string };
  schedule: { type: string; peak: number; warmupSteps: number | null; peakStep: number | null; firstStepLearningRate: number | null; finalLearningRate: number | null; description: string };
  features: { on: Feature[]; off: string[] };
  /** Steps with events (the first and last ones when there are many; none when the length is unknown). */
  timeline: { entries: TimelineEntry[]; eventSteps: number; note: string | null };
  disk: {
    parameters: number | null;
    modelBytes: number | null;
    checkpointBytes: number | null;
    withOptimizerState: boolean;
    checkpointsSaved: number | null;
    checkpointsKept: number | null;
    description: string;
  };
  warnings: string[];
}

type Args = Required<Pick<TrainingArgs, keyof typeof ARG_DEFAULTS>> & TrainingArgs;

function resolvedArgs(spec: TrainerSpec): Args {
  const out: Record<string, unknown> = { ...ARG_DEFAULTS };
  for (const [k, v] of Object.entries(spec.args)) if (v !== undefined) out[k] = v;
  return out as unknown as Args;
}

/** Code points, as Array.from (the runtime's characters). */
function characters(text: string): string[] {
  return Array.from(text);
}

interface DataFacts {
  kind: Explanation["data"]["kind"];
  description: string;
  train: number | null;
  held: number | null;
  sequenceLength: number | null;
  vocab: number | null;
  warnings: string[];
}

function dataFacts(spec: TrainerSpec, loaded: LoadedSpec): DataFacts {
  const data = spec.data;
  if ("module" in data) {
    return { kind: "module", description: `user module ${(data as ModuleRef).module}: sizes, sequence length and vocabulary are known only when the program runs`, train: null, held: null, sequenceLength: null, vocab: null, warnings: [] };
  }
  if ("text" in data) {
    const t = data as TextData;
    const contextLength = "contextLength" in spec.model ? (spec.model as CharTransformerPreset).contextLength : undefined;
    const T = t.sequenceLength ?? contextLength ?? TEXT_DEFAULTS.sequenceLength;
    const fraction = t.evalFraction ?? TEXT_DEFAULTS.evalFraction;
    // As runtime/data/text.ts: the tail is held out, each split cut into windows of T+1 with stride T.
    const chars = characters(readFileSync(resolve(dirname(loaded.path), t.text), "utf8"));
    const evalLength = Math.floor(chars.length * fraction);
    const windows = (n: number) => Math.max(0, Math.floor((n - 1) / T));
    const train = windows(chars.length - evalLength);
    const held = windows(evalLength);
    const vocab = new Set(chars).size;
    const warnings: string[] = [];
    if (train < 1) warnings.push(`data.text ${t.text} has ${count(chars.length - evalLength)} training characters, not more than sequenceLength (${T}): the program will stop at start. Use a longer text or a shorter data.sequenceLength.`);
    if (fraction > 0 && held < 1) warnings.push(`the held-out ${count(evalLength)} characters of ${t.text} are fewer than sequenceLength + 1 (${T + 1}): the program will stop at start. Raise data.evalFraction or use a longer text.`);
    return {
      kind: "text",
      description: `characters of ${t.text} (${count(chars.length)} characters, vocabulary ${vocab}): ${count(train)} training windows of ${T}, ${count(held)} held out (the last ${short(fraction * 100)}%)`,
      train,
      held,
      sequenceLength: T,
      vocab,
      warnings,
    };
  }
  const d = data as AdditionPreset;
  const train = d.trainExamples ?? ADDITION_DEFAULTS.trainExamples;
  const held = d.evalExamples ?? ADDITION_DEFAULTS.evalExamples;
  return {
    kind: "addition",
    description: `addition: ${d.digits}-digit sums, ${count(train)} training problems, ${count(held)} held out (never seen in training); sequences of ${3 * d.digits + 3} tokens`,
    train,
    held,
    sequenceLength: 3 * d.digits + 3,
    vocab: ADDITION_VOCABULARY,
    warnings: [],
  };
}

function modelDescription(spec: TrainerSpec): { kind: string; description: string } {
  const m = spec.model;
  if ("module" in m) return { kind: "module", description: `user module ${(m as ModuleRef).module}` };
  if ((m as CharTransformerPreset).preset === "char-transformer") {
    const c = m as CharTransformerPreset;
    return { kind: "char-transformer", description: `char-transformer: dModel ${c.dModel}, ${c.layers} layer${c.layers === 1 ? "" : "s"}, ${c.heads} heads, contextLength ${c.contextLength}` };
  }
  const p = m as MlpPreset;
  return { kind: "mlp", description: `mlp: hidden [${p.hidden.join(", ")}], window ${p.window ?? MLP_DEFAULTS.window}, embedding ${p.embedding ?? MLP_DEFAULTS.embedding}` };
}

/** Greatest common divisor / least common multiple, for counting steps with events. */
function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}

/** How many of 1..n are a multiple of at least one interval (inclusion-exclusion). */
function multiplesCount(intervals: readonly number[], n: number): number {
  let total = 0;
  for (let mask = 1; mask < 1 << intervals.length; mask++) {
    let l = 1;
    let bits = 0;
    for (let i = 0; i < intervals.length; i++) {
      if (mask & (1 << i)) {
        l = lcm(l, intervals[i]!);
        bits++;
      }
    }
    total += (bits % 2 === 1 ? 1 : -1) * Math.floor(n / l);
  }
  return total;
}

const TIMELINE_HEAD = 8;
const TIMELINE_TAIL = 3;

export function explainSpec(loaded: LoadedSpec, plan: TrainingPlan, programPath: string): Explanation {
  const spec = loaded.value as TrainerSpec;
  const a = resolvedArgs(spec);
  const warnings: string[] = [];
  const data = dataFacts(spec, loaded);
  warnings.push(...data.warnings);
  const model = modelDescription(spec);
  const shapes = data.vocab !== null ? modelShapes(spec.model, data.vocab) : null;
  const parameters = shapes ? parameterCount(shapes) : null;

  // --- batch and length (runtime/sampler.ts: a step takes up to k batches and never spans two epochs)
  const b = a.perDeviceTrainBatchSize;
  const k = a.gradientAccumulationSteps;
  const effective = b * k;
  const stepsPerEpoch = data.train !== null && data.train > 0 ? Math.ceil(Math.ceil(data.train / b) / k) : null;
  let maxSteps: number | null;
  let epochs: number | null;
  let lengthDescription: string;
  const fromMaxSteps = a.maxSteps > 0;
  if (fromMaxSteps) {
    maxSteps = a.maxSteps;
    epochs = stepsPerEpoch ? maxSteps / stepsPerEpoch : null;
    lengthDescription = `${count(maxSteps)} optimizer steps (args.maxSteps)${stepsPerEpoch ? `: ${epochs! < 10 ? short(epochs!) : count(Math.round(epochs! * 10) / 10)} epoch${epochs === 1 ? "" : "s"} of ${count(stepsPerEpoch)} step${stepsPerEpoch === 1 ? "" : "s"}` : "; the epoch length is known only when the program runs"}`;
  } else {
    epochs = a.numTrainEpochs;
    maxSteps = stepsPerEpoch ? Math.ceil(epochs * stepsPerEpoch) : null;
    lengthDescription = stepsPerEpoch
      ? `${short(epochs)} epoch${epochs === 1 ? "" : "s"} (args.numTrainEpochs${spec.args.numTrainEpochs === undefined ? ", HF default" : ""}) of ${count(stepsPerEpoch)} step${stepsPerEpoch === 1 ? "" : "s"}: ${count(maxSteps!)} optimizer steps`
      : `${short(epochs)} epoch${epochs === 1 ? "" : "s"} (args.numTrainEpochs); the steps per epoch, and so the number of steps, are known only when the program runs (it logs them)`;
  }
  lengthDescription += "; --max-steps N overrides it at run time";
  if (data.train !== null && data.train > 0 && effective > data.train) warnings.push(`the effective batch (${count(effective)}) is larger than the training set (${count(data.train)}): every optimizer step is the whole epoch.`);
  const tokensPerStep = data.sequenceLength !== null ? effective * data.sequenceLength : null;

  // --- schedule (runtime/schedule.ts; step s runs at the multiplier of scheduler step s-1)
  const type = a.lrSchedulerType;
  const peak = a.learningRate;
  let warmup: number | null = 0;
  let warmupRatio: number | null = null;
  if (type !== "constant") {
    const ws = spec.args.warmupSteps ?? 0;
    if (ws >= 1) warmup = ws;
    else if (ws > 0 || (spec.args.warmupRatio ?? 0) > 0) {
      // As the plan: warmupSteps in (0, 1) is itself a ratio; either becomes ceil(maxSteps * ratio).
      warmupRatio = ws > 0 ? ws : spec.args.warmupRatio!;
      warmup = maxSteps !== null ? Math.ceil(maxSteps * warmupRatio) : null;
    }
  }
  const warmupNote = warmupRatio !== null ? ` (ratio ${warmupRatio} of the steps)` : "";
  const multiplier = (schedulerStep: number, total: number, w: number): number =>
    type === "linear" ? linearWithWarmup(schedulerStep, w, total) : type === "cosine" ? cosineWithWarmup(schedulerStep, w, total) : type === "constant_with_warmup" ? constantWithWarmup(schedulerStep, w) : 1;
  const known = maxSteps !== null && warmup !== null;
  const firstLr = known ? peak * multiplier(0, maxSteps!, warmup!) : warmup === 0 ? peak : 0;
  const finalLr = known ? peak * multiplier(maxSteps! - 1, maxSteps!, warmup!) : type === "constant" || type === "constant_with_warmup" ? peak : null;
  const peakStep = warmup !== null ? warmup + 1 : null;
  const decay = { linear: "linear decay to 0 at the end", cosine: "cosine decay to 0 at the end", constant_with_warmup: "constant", constant: "constant" }[type];
  const scheduleParts: string[] = [`${type}${spec.args.lrSchedulerType === undefined ? " (HF default)" : ""}, peak ${short(peak)}`];
  if (warmup === null) scheduleParts.push(`linear warmup from 0 over a ratio ${warmupRatio} of the steps, then ${decay}`);
  else if (warmup > 0) scheduleParts.push(`linear warmup from 0 over steps 1-${count(warmup)}${warmupNote}, peak at step ${count(warmup + 1)}, then ${decay}`);
  else scheduleParts.push(type === "constant" || type === "constant_with_warmup" ? "constant from step 1" : `from step 1, ${decay}`);
  if (finalLr !== null && maxSteps !== null) scheduleParts.push(`the last step (${count(maxSteps)}) runs at ${short(finalLr)}`);
  if (warmup !== null && maxSteps !== null && warmup >= maxSteps) warnings.push(`the warmup (${count(warmup)} steps) is not shorter than the run (${count(maxSteps)} steps): the peak learning rate ${short(peak)} is never reached.`);
  if (plan.fp16) scheduleParts.push("a step skipped for fp16 overflow does not advance the schedule");

  // --- features
  const on: Feature[] = [];
  const off: string[] = [];
  const defaultNote = (key: keyof TrainingArgs) => (spec.args[key] === undefined ? " (HF default)" : "");
  if (plan.accumulation) {
    on.push({
      feature: `gradient accumulation ×${k} (${plan.accumulation.unrolled ? "unrolled" : "loop"})`,
      code: `${k} micro-batches of ${b} per optimizer step${plan.accumulation.unrolled ? ", written out as straight-line code" : ", in a loop"}; each micro-batch's loss is divided by the loss items of the whole step (accumulate)`,
    });
  } else off.push("gradient accumulation");
  if (plan.clipping) on.push({ feature: `clipping at ${a.maxGradNorm}${defaultNote("maxGradNorm")}`, code: `clipGradientsByGlobalNorm by global L2 norm${plan.fp16 ? " after unscaling" : ""}, before the update; grad_norm is logged` });
  else off.push("gradient clipping");
  if (plan.fp16) {
    const s = { ...FP16_SCALER_DEFAULTS, ...(spec.args.fp16Scaler ?? {}) };
    on.push({
      feature: `fp16 loss scaling (emulated binary16; scale ${count(s.initScale)}, ×${s.growthFactor} after ${count(s.growthInterval)} good steps, ×${s.backoffFactor} on overflow${spec.args.fp16Scaler?.minScale !== undefined ? `, floor ${spec.args.fp16Scaler.minScale}` : ""})`,
      code: "LossScaler, rounding of every gradient and the residual stream to binary16, one unscale and inf/NaN check per step; an overflowing step skips the update and the schedule; loss_scale and skipped_steps are logged",
    });
  } else off.push("fp16");
  if (plan.optimizer.weightDecay) on.push({ feature: `AdamW weight decay ${a.weightDecay}`, code: "decoupled weight decay in each AdamW update" });
  else off.push("weight decay");

  const loggingEvery = a.loggingStrategy === "steps" ? (a.loggingSteps < 1 ? (maxSteps !== null ? Math.ceil(maxSteps * a.loggingSteps) : null) : a.loggingSteps) : null;
  const sinks = [plan.reportTo.console ? "the console" : null, plan.reportTo.jsonl ? "metrics.jsonl" : null].filter(Boolean).join(" and ") || "nowhere but trainer_state.json (reportTo [])";
  if (plan.logging.condition) {
    const when = a.loggingStrategy === "epoch" ? "at each epoch end" : loggingEvery !== null ? `every ${count(loggingEvery)} steps` : `every ${a.loggingSteps} of the steps`;
    on.push({ feature: `log ${when}${a.loggingFirstStep ? ", at step 1" : ""} and at the last step, to ${sinks}`, code: "a running mean of the loss and TrainingLog.train (loss, learning_rate, tokens_per_sec)" });
  } else off.push("train logging");

  const evalEvery = plan.evaluation && a.evalStrategy === "steps" ? (() => {
    const e = spec.args.evalSteps ?? a.loggingSteps;
    return e < 1 ? (maxSteps !== null ? Math.ceil(maxSteps * e) : null) : e;
  })() : null;
  if (plan.evaluation) {
    const when = a.evalStrategy === "epoch" ? "at each epoch end" : evalEvery !== null ? `every ${count(evalEvery)} steps` : "at a ratio of the steps";
    on.push({
      feature: `evaluation ${when} and at the last step${data.held !== null ? ` on ${count(data.held)} held-out examples` : ""}`,
      code: `evaluateLoss (eval_loss) in batches of ${a.perDeviceEvalBatchSize}${plan.evaluation.exactMatch ? ", plus greedy decoding of every held-out problem for eval_exact_match" : ""}`,
    });
  } else off.push("evaluation");

  const saveEvery = plan.checkpointing && a.saveStrategy === "steps" ? (a.saveSteps < 1 ? (maxSteps !== null ? Math.ceil(maxSteps * a.saveSteps) : null) : a.saveSteps) : null;
  const limit = spec.args.saveTotalLimit ?? null;
  if (plan.checkpointing) {
    const c = plan.checkpointing;
    const when = a.saveStrategy === "steps" ? `every ${saveEvery !== null ? count(saveEvery) : `${a.saveSteps} of the`} steps and at the last step` : a.saveStrategy === "epoch" ? "at each epoch end and at the last step" : `at each new best ${plan.best?.metric ?? "eval_loss"}`;
    const keep = limit !== null ? `, keep ${limit}${plan.best ? " + best" : ""} + latest` : ", all kept";
    on.push({
      feature: `checkpoints ${when}${keep}${c.onlyModel ? " (weights only)" : ""}`,
      code: `saveCheckpoint (model${c.onlyModel ? "" : ", AdamW moments, resume state"} and trainer state, written to a temporary folder and renamed)${c.limit ? " and rotateCheckpoints" : ""}${plan.resumable ? "; the program takes --resume" : "; saveOnlyModel: the program cannot resume"}`,
    });
    if (plan.best) on.push({ feature: `best model tracked by ${plan.best.metric} (${plan.best.greaterIsBetter ? "higher" : "lower"} is better)`, code: `BestMetric after each evaluation${plan.best.improvedFlag ? ", which decides the save" : ", protecting the best checkpoint from rotation"}` });
    if (c.loadBestAtEnd) on.push({ feature: "load the best checkpoint at the end", code: "loadModelWeights of the best checkpoint before model.safetensors is written" });
  } else off.push("checkpoints");

  const callbacks = spec.callbacks ?? [];
  let sampleEvery: number | null = null;
  for (const cb of callbacks) {
    if ("module" in cb) {
      const ref = cb as UserCallbackRef;
      const hooks = inspectCallbackClass(resolve(dirname(loaded.path), ref.module), ref.export)?.hooks ?? [];
      on.push({ feature: `callback ${ref.export} from ${ref.module}${ref.every ? ` (onStepEnd every ${ref.every} steps)` : ""}`, code: `one direct call per hook it implements: ${hooks.join(", ") || "none"}` });
    } else if (cb.callback === "generationSample") {
      sampleEvery = cb.everySteps;
      on.push({
        feature: `sample ${cb.prompts.length} prompt${cb.prompts.length === 1 ? "" : "s"} every ${count(cb.everySteps)} steps (${cb.maxNewTokens} new tokens, ${cb.temperature ? `temperature ${cb.temperature}${cb.topK ? `, top-k ${cb.topK}` : ""}` : "greedy"})`,
        code: "sampleGenerations at the end of the step, with the model being trained",
      });
    } else if (cb.callback === "earlyStopping") {
      on.push({ feature: `early stopping after ${cb.patience} evaluation${cb.patience === 1 ? "" : "s"} without improvement of ${plan.callbacks?.earlyStopping ? evalMetric(spec) : "the metric"}${cb.threshold ? ` by more than ${cb.threshold}` : ""}`, code: "EarlyStopping after each evaluation; training may end before the last step of the timeline" });
    } else {
      on.push({ feature: `callback ${cb.callback}()`, code: cb.callback === "progressBar" ? "console logging (as reportTo \"console\")" : "metrics.jsonl logging (as reportTo \"jsonl\")" });
    }
  }
  if (!plan.callbacks && !callbacks.length) off.push("callbacks");

  // --- timeline
  const epochBased = [a.loggingStrategy === "epoch" && plan.logging.condition, plan.evaluation?.atEpoch, plan.checkpointing?.atEpoch].some(Boolean);
  const timeline = buildTimeline({
    maxSteps,
    sampleEvery,
    evalEvery: plan.evaluation ? (plan.evaluation.atEpoch ? stepsPerEpoch : evalEvery) : null,
    evaluation: plan.evaluation !== null,
    evalAtEpoch: plan.evaluation?.atEpoch ?? false,
    saveAtEpoch: plan.checkpointing?.atEpoch ?? false,
    save: plan.checkpointing ? (a.saveStrategy === "best" ? "best" : "every") : null,
    saveEvery: plan.checkpointing ? (a.saveStrategy === "epoch" ? stepsPerEpoch : a.saveStrategy === "steps" ? saveEvery : null) : null,
    epochEvery: epochBased ? stepsPerEpoch : null,
    epochBased,
    limit,
    best: plan.best !== null,
    bestMetric: plan.best?.metric ?? "eval_loss",
    loadBestAtEnd: plan.checkpointing?.loadBestAtEnd ?? false,
    earlyStopping: plan.callbacks?.earlyStopping ?? false,
  });

  // --- disk (model.safetensors; a checkpoint adds optimizer.safetensors unless saveOnlyModel)
  const modelBytes = shapes ? safetensorsBytes(shapes, { format: "pt" }) : null;
  const withOptimizer = plan.checkpointing ? !plan.checkpointing.onlyModel : false;
  const checkpointBytes = shapes && plan.checkpointing ? modelBytes! + (withOptimizer ? safetensorsBytes(optimizerShapes(shapes), { step: String(maxSteps ?? 1000) }) : 0) : null;
  const saved = timeline.saves;
  const kept = plan.checkpointing ? (limit !== null ? (saved !== null ? Math.min(saved, limit + (plan.best ? 1 : 0)) : limit + (plan.best ? 1 : 0)) : saved) : null;
  let diskDescription: string;
  if (parameters === null) {
    diskDescription = `the parameter count of a model module is known only when the program runs (it logs it); each float32 parameter takes 4 bytes in model.safetensors${plan.checkpointing ? `, ${withOptimizer ? "12 in a checkpoint (weights + the two AdamW moments)" : "4 in a checkpoint (saveOnlyModel)"}` : ""}`;
  } else {
    diskDescription = `${count(parameters)} parameters: model.safetensors ≈ ${bytes(modelBytes!)}`;
    if (plan.checkpointing) {
      diskDescription += `; each checkpoint ≈ ${bytes(checkpointBytes!)} (${withOptimizer ? "weights + AdamW moments, ×3" : "weights only"}) plus a few KB of JSON`;
      if (kept !== null) diskDescription += `; at most ${kept} on disk${saved !== null ? ` (${count(saved)} saved${limit !== null && saved > kept ? `, rotation deletes ${count(saved - kept)}` : ""})` : ""} ≈ ${bytes(kept * checkpointBytes!)}, plus one being written`;
    } else diskDescription += "; no checkpoints";
  }

  return {
    spec: loaded.displayPath,
    program: programPath,
    run: `npx tsx ${programPath}`,
    outputDir: a.outputDir,
    model: { ...model, parameters, vocabularySize: data.vocab },
    data: { kind: data.kind, description: data.description, trainExamples: data.train, evalExamples: data.held, sequenceLength: data.sequenceLength },
    batch: {
      perDevice: b,
      accumulationSteps: k,
      effective,
      tokensPerStep,
      description: `effective batch ${count(effective)} = ${count(b)} per device × ${k} accumulation step${k === 1 ? "" : "s"}${tokensPerStep !== null ? ` (${count(tokensPerStep)} tokens per optimizer step)` : ""}`,
    },
    length: { from: fromMaxSteps ? "maxSteps" : "numTrainEpochs", maxSteps, stepsPerEpoch, epochs, description: lengthDescription },
    schedule: { type, peak, warmupSteps: warmup, peakStep, firstStepLearningRate: firstLr, finalLearningRate: finalLr, description: scheduleParts.join("; ") },
    features: { on, off },
    timeline: { entries: timeline.entries, eventSteps: timeline.eventSteps, note: timeline.note },
    disk: { parameters, modelBytes, checkpointBytes, withOptimizerState: withOptimizer, checkpointsSaved: saved, checkpointsKept: kept, description: diskDescription },
    warnings,
  };
}

function evalMetric(spec: TrainerSpec): string {
  const m = spec.args.metricForBestModel ?? "loss";
  return m.startsWith("eval_") ? m : `eval_${m}`;
}

interface TimelineInput {
  maxSteps: number | null;
  sampleEvery: number | null;
  evaluation: boolean;
  /** null with evaluation on: only the last step is known (epoch ends unknown). */
  evalEvery: number | null;
  /** Evaluation / saving run at the loop's end-of-epoch point (epoch strategies). */
  evalAtEpoch: boolean;
  saveAtEpoch: boolean;
  save: "every" | "best" | null;
  saveEvery: number | null;
  epochEvery: number | null;
  epochBased: boolean;
  limit: number | null;
  best: boolean;
  bestMetric: string;
  loadBestAtEnd: boolean;
  earlyStopping: boolean;
}

function buildTimeline(t: TimelineInput): { entries: TimelineEntry[]; eventSteps: number; saves: number | null; note: string | null } {
  const n = t.maxSteps;
  if (n === null) {
    return { entries: [], eventSteps: 0, saves: null, note: "the number of steps depends on the size of the training set, known only when the program runs" };
  }
  const notes: string[] = [];
  if (t.epochBased && t.epochEvery === null) notes.push("epoch ends are known only when the program runs, so only the last step is shown for epoch events");
  if (t.earlyStopping) notes.push("early stopping may end the run at any evaluation");
  const intervals = [...new Set([t.sampleEvery, t.evalEvery, t.save === "every" ? t.saveEvery : null, t.epochEvery].filter((x): x is number => x !== null && x >= 1 && x <= n))];
  const isMultiple = (s: number, every: number | null) => every !== null && every >= 1 && s % every === 0;
  const saveAt = (s: number) => t.save === "every" && (isMultiple(s, t.saveEvery) || s === n);
  const savesUpTo = (s: number) => (t.save !== "every" ? 0 : (t.saveEvery !== null && t.saveEvery >= 1 ? Math.floor(s / t.saveEvery) : 0) + (s === n && !isMultiple(n, t.saveEvery) ? 1 : 0));
  const previousSave = (s: number) => (t.saveEvery !== null && t.saveEvery >= 1 ? Math.floor((s - 1) / t.saveEvery) * t.saveEvery : 0);

  // In the loop's order: the step's callbacks (sample), its step-strategy actions (log, eval, save),
  // then the end-of-epoch point with the epoch-strategy actions.
  const eventsAt = (s: number): string[] => {
    const atStep: string[] = [];
    const atEpoch: string[] = [];
    if (isMultiple(s, t.sampleEvery)) atStep.push("sample");
    if (t.evaluation && (isMultiple(s, t.evalEvery) || s === n)) (t.evalAtEpoch ? atEpoch : atStep).push(t.save === "best" ? `eval + save checkpoint-${s} if ${t.bestMetric} improved` : "eval");
    if (saveAt(s)) {
      let save = `save checkpoint-${s}`;
      if (t.limit !== null && savesUpTo(s) > t.limit) {
        const kept = [s];
        for (let p = previousSave(s); kept.length < t.limit && p > 0; p = previousSave(p)) kept.unshift(p);
        save += `, rotation keeps checkpoint-${kept.join("/")}${t.best ? " + best" : ""}`;
      }
      (t.saveAtEpoch ? atEpoch : atStep).push(save);
    }
    const epochEnd = t.epochBased && isMultiple(s, t.epochEvery) ? [`end of epoch ${count(s / t.epochEvery!)}`] : [];
    const events = [...atStep, ...epochEnd, ...atEpoch];
    if (s === n) events.push(`last step: log, then ${t.loadBestAtEnd ? "load the best checkpoint's weights, " : ""}write model.safetensors and trainer_state.json`);
    return events;
  };

  // Steps with events: multiples of any interval, and the last step.
  const lastCovered = intervals.some((i) => n % i === 0);
  const eventSteps = multiplesCount(intervals, n) + (lastCovered ? 0 : 1);
  const next = (s: number) => Math.min(n, ...intervals.map((i) => (Math.floor(s / i) + 1) * i));
  const previous = (s: number) => Math.max(0, ...intervals.map((i) => Math.floor((s - 1) / i) * i));
  // Shown: the first TIMELINE_HEAD steps with events, the first checkpoint and the first save after
  // which rotation deletes one, and the last TIMELINE_TAIL; the formatter marks how many steps with events lie between.
  const shown = new Set<number>();
  for (let s = next(0), i = 0; i < TIMELINE_HEAD; s = next(s), i++) {
    shown.add(s);
    if (s >= n) break;
  }
  for (let s = n, i = 0; i < TIMELINE_TAIL && s > 0; s = previous(s), i++) shown.add(s);
  if (t.save === "every" && t.saveEvery !== null && t.saveEvery < n) {
    shown.add(t.saveEvery); // the first checkpoint
    if (t.limit !== null && t.saveEvery * (t.limit + 1) < n) shown.add(t.saveEvery * (t.limit + 1)); // the first rotation that deletes one
  }
  const steps = [...shown].sort((x, y) => x - y);
  const between = (x: number, y: number) => multiplesCount(intervals, y - 1) - multiplesCount(intervals, x);
  const entries: TimelineEntry[] = steps.map((step, i) => {
    const skipped = i + 1 < steps.length ? between(step, steps[i + 1]!) : 0;
    return skipped > 0 ? { step, events: eventsAt(step), skippedAfter: skipped } : { step, events: eventsAt(step) };
  });
  const saves = t.save === "every" ? savesUpTo(n) : t.save === "best" ? null : 0;
  return { entries, eventSteps, saves, note: notes.length ? notes.join("; ") : null };
}

export function formatExplanation(e: Explanation): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(text ? `${label.padEnd(11)}${text}` : label);
  lines.push(`${e.spec} → ${e.program}`, `run it: ${e.run}   (writes to ${e.outputDir})`, "");
  row("model", `${e.model.description}${e.model.parameters !== null ? `: ${count(e.model.parameters)} parameters` : ""}${e.model.vocabularySize !== null ? ` (vocabulary ${e.model.vocabularySize})` : ""}`);
  row("data", e.data.description);
  row("batch", e.batch.description);
  row("length", e.length.description);
  row("schedule", e.schedule.description);
  row("features", "");
  for (const f of e.features.on) lines.push(`  + ${f.feature}`, `      ${f.code}`);
  if (e.features.off.length) lines.push(`  off: ${e.features.off.join(", ")}`);
  row("timeline", e.timeline.note && e.timeline.entries.length === 0 ? e.timeline.note : "");
  for (const entry of e.timeline.entries) {
    lines.push(`  step ${count(entry.step).padEnd(9)} ${entry.events.join("; ")}`);
    if (entry.skippedAfter) lines.push(`  … ${count(entry.skippedAfter)} more step${entry.skippedAfter === 1 ? "" : "s"} with events …`);
  }
  if (e.timeline.note && e.timeline.entries.length > 0) lines.push(`  (${e.timeline.note})`);
  row("disk", e.disk.description);
  for (const w of e.warnings) lines.push(`warning: ${w}`);
  return `${lines.join("\n")}\n`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { json: { type: "boolean" }, "out-dir": { type: "string" }, help: { type: "boolean", short: "h" } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n\nPrints the resolved plan of a spec (batch, steps, schedule, features, timeline, size on disk); writes nothing.\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`explain takes one spec file${positionals.length ? `, got ${positionals.length}` : ""}.\nusage: ${USAGE}`);
  const { planned, diagnostics } = await planSpec(positionals[0]!, (values["out-dir"] as string | undefined) ?? "generated");
  if (!planned) return reportDiagnostics(diagnostics, "nothing to explain.");
  const explanation = explainSpec(planned.spec, planned.plan, planned.outputPath);
  process.stdout.write(values.json ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanation(explanation));
  return 0;
}
