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
 * and exit 1) and writes nothing. Everything it says is read from the TrainingPlan — its values
 * (defaults already applied, with where each came from), cadences and features — and the presets'
 * own descriptions (runtime/presets/): the training-set size is known at generation time for the
 * addition and text presets, only at run time for a data module.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { textSplits } from "../../runtime/presets/index.ts";
import { checkJsonlFile } from "../../runtime/presets/jsonl.ts";
import { GPT2_VOCABULARY_SIZE } from "../../runtime/tokenizers/facts.ts";
import { tokenizerFromFile } from "../../runtime/tokenizers/file.ts";
import { constantWithWarmup, cosineWithWarmup, linearWithWarmup } from "../../runtime/schedule.ts";
import { UsageError } from "../diagnostics.ts";
import type { LoadedSpec } from "../load-spec.ts";
import type { Cadence, Setting, TrainingPlan } from "../plan.ts";
import { modelShapes, optimizerShapes, parameterCount, safetensorsBytes } from "./model-size.ts";
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
  data: { kind: "addition" | "text" | "jsonl" | "module"; description: string; trainExamples: number | null; evalExamples: number | null; sequenceLength: number | null };
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

interface DataFacts {
  kind: Explanation["data"]["kind"];
  description: string;
  train: number | null;
  held: number | null;
  sequenceLength: number | null;
  vocab: number | null;
  warnings: string[];
}

function dataFacts(plan: TrainingPlan, loaded: LoadedSpec): DataFacts {
  const data = plan.data;
  if (data.kind === "module") {
    return { kind: "module", description: `user module ${data.source}: sizes, sequence length and vocabulary are known only when the program runs`, train: null, held: null, sequenceLength: null, vocab: null, warnings: [] };
  }
  if (data.kind === "text") {
    const T = data.sequenceLength.value;
    const fraction = data.evalFraction.value;
    // Code points, as the runtime reads them (Array.from).
    const characters = Array.from(readFileSync(resolve(dirname(loaded.path), data.source), "utf8")).length;
    const { trainWindows: train, evalWindows: held } = textSplits(characters, fraction, T);
    // Validation has already refused a corpus too short for one window per split.
    return {
      kind: "text",
      description: `characters of ${data.source} (${count(characters)} characters, vocabulary ${data.vocabularySize}): ${count(train)} training windows of ${T}, ${count(held)} held out (the last ${short(fraction * 100)}%)`,
      train,
      held,
      sequenceLength: T,
      vocab: data.vocabularySize,
      warnings: [],
    };
  }
  if (data.kind === "jsonl") {
    const { rows } = checkJsonlFile(resolve(dirname(loaded.path), data.source), { completionOnlyLoss: data.completionOnlyLoss.value });
    const held = Math.floor(rows * data.evalFraction.value);
    // Known at generation time except a character tokenizer's (its alphabet is counted when the program runs).
    const t = plan.tokenizer;
    const vocab = t?.kind === "gpt2" ? GPT2_VOCABULARY_SIZE : t?.kind === "train" ? t.vocabSize.value : t?.kind === "file" ? tokenizerFromFile(resolve(dirname(loaded.path), t.source)).vocabularySize : null;
    return {
      kind: "jsonl",
      description: `${count(rows)} rows of ${data.source}: ${count(rows - held)} for training, ${count(held)} held out; each row one sequence of at most ${data.maxLength.value} tokens (longer rows truncated, counted when the program starts)${data.completionOnlyLoss.value ? "; loss on completion tokens only" : ""}`,
      train: rows - held,
      held,
      sequenceLength: data.maxLength.value,
      vocab,
      warnings: [],
    };
  }
  const train = data.trainExamples.value;
  const held = data.evalExamples.value;
  return {
    kind: "addition",
    description: `addition: ${data.digits.value}-digit sums, ${count(train)} training problems, ${count(held)} held out (never seen in training); sequences of ${data.sequenceLength} tokens`,
    train,
    held,
    sequenceLength: data.sequenceLength,
    vocab: data.vocabularySize,
    warnings: [],
  };
}

function modelDescription(plan: TrainingPlan): { kind: string; description: string } {
  const m = plan.model;
  if (m.kind === "module") return { kind: "module", description: `user module ${m.source}` };
  if (m.kind === "char-transformer") {
    return { kind: "char-transformer", description: `char-transformer: dModel ${m.dModel.value}, ${m.layers.value} layer${m.layers.value === 1 ? "" : "s"}, ${m.heads.value} heads, contextLength ${m.contextLength.value}` };
  }
  if (m.kind === "gpt2") return { kind: "gpt2", description: `gpt2: ${m.nLayer.value} layer${m.nLayer.value === 1 ? "" : "s"}, ${m.nHead.value} heads, nEmbd ${m.nEmbd.value}, nPositions ${m.nPositions.value}${m.from ? `, from ${m.from.source}` : ", from scratch"}` };
  return { kind: "mlp", description: `mlp: hidden [${m.hidden.value.join(", ")}], window ${m.window.value}, embedding ${m.embedding.value}` };
}

/** " (HF default)" after a value the spec left out. */
function defaultNote(s: Setting<unknown>): string {
  return s.from === "spec" ? "" : ` (${s.from === "hf" ? "HF" : s.from === "torch" ? "torch" : "our"} default)`;
}

/** A cadence's step interval once max steps are known (null: unknown yet, or at epoch ends). */
function interval(cadence: Cadence | null | undefined, maxSteps: number | null): number | null {
  if (!cadence || cadence === "epoch") return null;
  if (!cadence.ratioOfMaxSteps) return cadence.every.value;
  return maxSteps !== null ? Math.ceil(maxSteps * cadence.every.value) : null;
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
  const warnings: string[] = [];
  const data = dataFacts(plan, loaded);
  warnings.push(...data.warnings);
  const model = modelDescription(plan);
  const shapes = data.vocab !== null ? modelShapes(plan.model, data.vocab) : null;
  const parameters = shapes ? parameterCount(shapes) : null;

  // --- batch and length (runtime/sampler.ts: a step takes up to k batches and never spans two epochs)
  const b = plan.batch.perDevice.value;
  const k = plan.batch.accumulation?.steps.value ?? 1;
  const effective = b * k;
  const stepsPerEpoch = data.train !== null && data.train > 0 ? Math.ceil(Math.ceil(data.train / b) / k) : null;
  let maxSteps: number | null;
  let epochs: number | null;
  let lengthDescription: string;
  const fromMaxSteps = "maxSteps" in plan.length;
  if ("maxSteps" in plan.length) {
    maxSteps = plan.length.maxSteps.value;
    epochs = stepsPerEpoch ? maxSteps / stepsPerEpoch : null;
    lengthDescription = `${count(maxSteps)} optimizer steps (args.maxSteps)${stepsPerEpoch ? `: ${epochs! < 10 ? short(epochs!) : count(Math.round(epochs! * 10) / 10)} epoch${epochs === 1 ? "" : "s"} of ${count(stepsPerEpoch)} step${stepsPerEpoch === 1 ? "" : "s"}` : "; the epoch length is known only when the program runs"}`;
  } else {
    const setting = plan.length.epochs;
    epochs = setting.value;
    maxSteps = stepsPerEpoch ? Math.ceil(epochs * stepsPerEpoch) : null;
    lengthDescription = stepsPerEpoch
      ? `${short(epochs)} epoch${epochs === 1 ? "" : "s"} (args.numTrainEpochs${setting.from === "spec" ? "" : ", HF default"}) of ${count(stepsPerEpoch)} step${stepsPerEpoch === 1 ? "" : "s"}: ${count(maxSteps!)} optimizer steps`
      : `${short(epochs)} epoch${epochs === 1 ? "" : "s"} (args.numTrainEpochs); the steps per epoch, and so the number of steps, are known only when the program runs (it logs them)`;
  }
  lengthDescription += "; --max-steps N overrides it at run time";
  if (data.train !== null && data.train > 0 && effective > data.train) warnings.push(`the effective batch (${count(effective)}) is larger than the training set (${count(data.train)}): every optimizer step is the whole epoch.`);
  const tokensPerStep = data.sequenceLength !== null ? effective * data.sequenceLength : null;

  // --- schedule (runtime/schedule.ts; step s runs at the multiplier of scheduler step s-1)
  const type = plan.schedule.type.value;
  const peak = plan.optimizer.learningRate.value;
  const w = plan.schedule.warmup;
  const warmupRatio = w && "ratio" in w ? w.ratio.value : null;
  const warmup: number | null = w === null ? 0 : "steps" in w ? w.steps.value : maxSteps !== null ? Math.ceil(maxSteps * w.ratio.value) : null;
  const warmupNote = warmupRatio !== null ? ` (ratio ${warmupRatio} of the steps)` : "";
  const multiplier = (schedulerStep: number, total: number, w: number): number =>
    type === "linear" ? linearWithWarmup(schedulerStep, w, total) : type === "cosine" ? cosineWithWarmup(schedulerStep, w, total) : type === "constant_with_warmup" ? constantWithWarmup(schedulerStep, w) : 1;
  const known = maxSteps !== null && warmup !== null;
  const firstLr = known ? peak * multiplier(0, maxSteps!, warmup!) : warmup === 0 ? peak : 0;
  const finalLr = known ? peak * multiplier(maxSteps! - 1, maxSteps!, warmup!) : type === "constant" || type === "constant_with_warmup" ? peak : null;
  const peakStep = warmup !== null ? warmup + 1 : null;
  const decay = { linear: "linear decay to 0 at the end", cosine: "cosine decay to 0 at the end", constant_with_warmup: "constant", constant: "constant" }[type];
  const scheduleParts: string[] = [`${type}${plan.schedule.type.from === "spec" ? "" : " (HF default)"}, peak ${short(peak)}`];
  if (warmup === null) scheduleParts.push(`linear warmup from 0 over a ratio ${warmupRatio} of the steps, then ${decay}`);
  else if (warmup > 0) scheduleParts.push(`linear warmup from 0 over steps 1-${count(warmup)}${warmupNote}, peak at step ${count(warmup + 1)}, then ${decay}`);
  else scheduleParts.push(type === "constant" || type === "constant_with_warmup" ? "constant from step 1" : `from step 1, ${decay}`);
  if (finalLr !== null && maxSteps !== null) scheduleParts.push(`the last step (${count(maxSteps)}) runs at ${short(finalLr)}`);
  if (warmup !== null && maxSteps !== null && warmup >= maxSteps) warnings.push(`the warmup (${count(warmup)} steps) is not shorter than the run (${count(maxSteps)} steps): the peak learning rate ${short(peak)} is never reached.`);
  if (plan.fp16) scheduleParts.push("a step skipped for fp16 overflow does not advance the schedule");

  // --- features
  const on: Feature[] = [];
  const off: string[] = [];
  const accumulation = plan.batch.accumulation;
  if (accumulation) {
    on.push({
      feature: `gradient accumulation ×${k} (${accumulation.unrolled ? "unrolled" : "loop"})`,
      code: `${k} micro-batches of ${b} per optimizer step${accumulation.unrolled ? ", written out as straight-line code" : ", in a loop"}; each micro-batch's loss is divided by the loss items of the whole step (accumulate)`,
    });
  } else off.push("gradient accumulation");
  if (plan.clipping) on.push({ feature: `clipping at ${plan.clipping.maxGradNorm.value}${defaultNote(plan.clipping.maxGradNorm)}`, code: `clipGradientsByGlobalNorm by global L2 norm${plan.fp16 ? " after unscaling" : ""}, before the update; grad_norm is logged` });
  else off.push("gradient clipping");
  if (plan.fp16) {
    const s = plan.fp16;
    on.push({
      feature: `fp16 loss scaling (emulated binary16; scale ${count(s.initScale.value)}, ×${s.growthFactor.value} after ${count(s.growthInterval.value)} good steps, ×${s.backoffFactor.value} on overflow${s.minScale ? `, floor ${s.minScale.value}` : ""})`,
      code: "LossScaler, rounding of every gradient and the residual stream to binary16, one unscale and inf/NaN check per step; an overflowing step skips the update and the schedule; loss_scale and skipped_steps are logged",
    });
  } else off.push("fp16");
  const divergence = plan.divergence;
  on.push(
    divergence.stopWhen === "non-finite loss or gradient norm"
      ? { feature: "stop when diverged: a NaN or infinite loss or gradient norm ends the run (exit 65)", code: "one read of the step's loss and gradient norm before the update (stepValues); stopDiverged names the step and the last good checkpoint" }
      : { feature: `stop when diverged: an fp16 overflow at the loss scale's floor (${divergence.floor === 2 ** -24 ? "2^-24" : short(divergence.floor)}) ends the run (exit 65)`, code: "scaler.atFloor() when a step overflows; stopDiverged names the step and the last good checkpoint" },
  );
  const weightDecay = plan.optimizer.weightDecay.value;
  if (weightDecay > 0) on.push({ feature: `AdamW weight decay ${weightDecay}`, code: "decoupled weight decay in each AdamW update" });
  else off.push("weight decay");

  const logging = plan.logging;
  const loggingEvery = interval(logging?.cadence, maxSteps);
  const sinks = [plan.reportTo.console ? "the console" : null, plan.reportTo.jsonl ? "metrics.jsonl" : null].filter(Boolean).join(" and ") || "nowhere but trainer_state.json (reportTo [])";
  if (logging) {
    const c = logging.cadence;
    const when = c === "epoch" ? "at each epoch end" : loggingEvery !== null ? `every ${count(loggingEvery)} steps` : c ? `every ${c.every.value} of the steps` : "";
    on.push({ feature: `log ${when}${logging.firstStep ? `${when ? "," : ""} at step 1` : ""} and at the last step, to ${sinks}`, code: "a running mean of the loss and TrainingLog.train (loss, learning_rate, tokens_per_sec)" });
  } else off.push("train logging");

  const evaluation = plan.evaluation;
  const evalEvery = interval(evaluation?.cadence, maxSteps);
  if (evaluation) {
    const when = evaluation.cadence === "epoch" ? "at each epoch end" : evalEvery !== null ? `every ${count(evalEvery)} steps` : "at a ratio of the steps";
    on.push({
      feature: `evaluation ${when} and at the last step${data.held !== null ? ` on ${count(data.held)} held-out examples` : ""}`,
      code: `evaluateLoss (eval_loss) in batches of ${evaluation.batchSize.value}${evaluation.metrics.includes("eval_exact_match") ? ", plus greedy decoding of every held-out problem for eval_exact_match" : ""}`,
    });
  } else off.push("evaluation");

  const ckpt = plan.checkpointing;
  const saveEvery = ckpt && ckpt.cadence !== "best" ? interval(ckpt.cadence, maxSteps) : null;
  const limit = ckpt?.totalLimit?.value ?? null;
  const best = ckpt?.tracksBest ?? false;
  const bestMetric = plan.metric?.name.value ?? "eval_loss";
  const saveAtEpoch = ckpt !== null && (ckpt.cadence === "epoch" || (ckpt.cadence === "best" && evaluation?.cadence === "epoch"));
  if (ckpt) {
    const c = ckpt.cadence;
    const when = c === "best" ? `at each new best ${bestMetric}` : c === "epoch" ? "at each epoch end and at the last step" : `every ${saveEvery !== null ? count(saveEvery) : `${c.every.value} of the`} steps and at the last step`;
    const keep = limit !== null ? `, keep ${limit}${best ? " + best" : ""} + latest` : ", all kept";
    on.push({
      feature: `checkpoints ${when}${keep}${ckpt.onlyModel ? " (weights only)" : ""}`,
      code: `saveCheckpoint (model${ckpt.onlyModel ? "" : ", AdamW moments, resume state"} and trainer state, written to a temporary folder and renamed)${limit !== null ? " and rotateCheckpoints" : ""}${ckpt.resumable ? "; the program takes --resume" : "; saveOnlyModel: the program cannot resume"}`,
    });
    if (best) on.push({ feature: `best model tracked by ${bestMetric} (${plan.metric!.greaterIsBetter.value ? "higher" : "lower"} is better)`, code: `BestMetric after each evaluation${c === "best" ? ", which decides the save" : ", protecting the best checkpoint from rotation"}` });
    if (ckpt.loadBestAtEnd) on.push({ feature: "load the best checkpoint at the end", code: "loadModelWeights of the best checkpoint before model.safetensors is written" });
  } else off.push("checkpoints");

  let sampleEvery: number | null = null;
  for (const cb of plan.callbacks?.list ?? []) {
    if (cb.kind === "user") {
      on.push({ feature: `callback ${cb.export} from ${cb.source}${cb.every ? ` (onStepEnd every ${cb.every.value} steps)` : ""}`, code: `one direct call per hook it implements: ${cb.hooks.join(", ") || "none"}` });
    } else if (cb.kind === "generationSample") {
      sampleEvery = cb.everySteps.value;
      const n = cb.prompts.value.length;
      const t = cb.temperature.value;
      on.push({
        feature: `sample ${n} prompt${n === 1 ? "" : "s"} every ${count(sampleEvery)} steps (${cb.maxNewTokens.value} new tokens, ${t ? `temperature ${t}${cb.topK ? `, top-k ${cb.topK.value}` : ""}` : "greedy"})`,
        code: "sampleGenerations at the end of the step, with the model being trained",
      });
    } else {
      const threshold = cb.threshold.value;
      on.push({ feature: `early stopping after ${cb.patience.value} evaluation${cb.patience.value === 1 ? "" : "s"} without improvement of ${bestMetric}${threshold ? ` by more than ${threshold}` : ""}`, code: "EarlyStopping after each evaluation; training may end before the last step of the timeline" });
    }
  }
  for (const logger of plan.reportTo.loggerCallbacks) {
    on.push({ feature: `callback ${logger}()`, code: logger === "progressBar" ? 'console logging (as reportTo "console")' : 'metrics.jsonl logging (as reportTo "jsonl")' });
  }
  if (!plan.callbacks && plan.reportTo.loggerCallbacks.length === 0) off.push("callbacks");

  // --- timeline
  const epochBased = logging?.cadence === "epoch" || evaluation?.cadence === "epoch" || saveAtEpoch;
  const timeline = buildTimeline({
    maxSteps,
    sampleEvery,
    evalEvery: evaluation ? (evaluation.cadence === "epoch" ? stepsPerEpoch : evalEvery) : null,
    evaluation: evaluation !== null,
    evalAtEpoch: evaluation?.cadence === "epoch",
    saveAtEpoch,
    save: ckpt ? (ckpt.cadence === "best" ? "best" : "every") : null,
    saveEvery: ckpt ? (ckpt.cadence === "epoch" ? stepsPerEpoch : saveEvery) : null,
    epochEvery: epochBased ? stepsPerEpoch : null,
    epochBased,
    limit,
    best,
    bestMetric,
    loadBestAtEnd: ckpt?.loadBestAtEnd ?? false,
    earlyStopping: plan.callbacks?.earlyStopping ?? false,
  });

  // --- disk (model.safetensors; a checkpoint adds optimizer.safetensors unless saveOnlyModel)
  const modelBytes = shapes ? safetensorsBytes(shapes, { format: "pt" }) : null;
  const withOptimizer = ckpt ? !ckpt.onlyModel : false;
  const checkpointBytes = shapes && ckpt ? modelBytes! + (withOptimizer ? safetensorsBytes(optimizerShapes(shapes), { step: String(maxSteps ?? 1000) }) : 0) : null;
  const saved = timeline.saves;
  const kept = ckpt ? (limit !== null ? (saved !== null ? Math.min(saved, limit + (best ? 1 : 0)) : limit + (best ? 1 : 0)) : saved) : null;
  let diskDescription: string;
  if (parameters === null) {
    diskDescription = `the parameter count of a model module is known only when the program runs (it logs it); each float32 parameter takes 4 bytes in model.safetensors${ckpt ? `, ${withOptimizer ? "12 in a checkpoint (weights + the two AdamW moments)" : "4 in a checkpoint (saveOnlyModel)"}` : ""}`;
  } else {
    diskDescription = `${count(parameters)} parameters: model.safetensors ≈ ${bytes(modelBytes!)}`;
    if (ckpt) {
      diskDescription += `; each checkpoint ≈ ${bytes(checkpointBytes!)} (${withOptimizer ? "weights + AdamW moments, ×3" : "weights only"}) plus a few KB of JSON`;
      if (kept !== null) diskDescription += `; at most ${kept} on disk${saved !== null ? ` (${count(saved)} saved${limit !== null && saved > kept ? `, rotation deletes ${count(saved - kept)}` : ""})` : ""} ≈ ${bytes(kept * checkpointBytes!)}, plus one being written`;
    } else diskDescription += "; no checkpoints";
  }

  return {
    spec: loaded.displayPath,
    program: programPath,
    run: `npx tsx ${programPath}`,
    outputDir: plan.run.outputDir.value,
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
