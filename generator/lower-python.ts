/**
 * generator/lower-python.ts — TrainingPlan → what the PyTorch templates print (train.py).
 *
 * The second rendering of the same plan (lower-typescript.ts is the first): config constants as
 * Python literals with the author's comments, the data, model and schedule calls of the Python
 * runtime (python/gen_trainer/), and the ordered sections of the program and of its loop, each
 * printed by the partial of templates/python/ named after it. The loop runs in the same fixed
 * order as train.ts. Under torchrun the program is data parallel (DDP): every rank trains on its
 * share of each global batch, gradients are all-reduced (no_sync on all micro-batches but the
 * last), and rank 0 logs, evaluates, samples and saves.
 *
 * What cannot run in Python — a model, data or callback module written in TypeScript — is
 * reported by `pythonUnsupported` at the spec property that asks for it.
 */
import { commentLines } from "./literals.ts";
import type { CallbackEvent } from "./plan-callbacks.ts";
import { builtInCallbackConstants, type IntervalName, programConstants } from "./plan-constants.ts";
import type { Cadence, Setting, TrainingPlan } from "./plan.ts";

/** A value as Python source: JSON's string escapes are valid Python; True/False/None. */
export function pyLiteral(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot emit ${value} as a literal`);
    return Object.is(value, -0) ? "0" : String(value);
  }
  if (typeof value === "boolean") return value ? "True" : "False";
  if (value === null) return "None";
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(", ")}]`;
  if (typeof value === "object") return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}: ${pyLiteral(v)}`).join(", ")}}`;
  throw new Error(`cannot emit ${typeof value} as a literal`);
}

export interface PythonConstant {
  name: string;
  value: string;
  comment: string[];
  trailer: string;
}

export interface PythonSection {
  partial: string;
  [field: string]: unknown;
}

export interface PythonProgram {
  header: { name: string; spec: string; regenerate: string; program: string; flags: string; stepOrder: string };
  /** Path from the program's folder to python/ (the gen_trainer package's parent). */
  runtimePath: string;
  sections: PythonSection[];
}

/** A spec property that the PyTorch target cannot honour, and why; null when it can. */
export function pythonUnsupported(plan: TrainingPlan): { path: string; reason: string } | null {
  if (plan.model.kind === "module") return { path: "model.module", reason: `model.module ${JSON.stringify(plan.model.source)} is TypeScript, which a PyTorch program cannot run; use a built-in preset (char-transformer or mlp) for --target pytorch` };
  if (plan.data.kind === "module") return { path: "data.module", reason: `data.module ${JSON.stringify(plan.data.source)} is TypeScript, which a PyTorch program cannot run; use a built-in data preset (addition or text) for --target pytorch` };
  if (plan.model.kind === "gpt2") return { path: "model.preset", reason: `model.preset "gpt2" is not in the PyTorch runtime yet (python/gen_trainer has the char-transformer and the MLP); use --target typescript for GPT-2` };
  if (plan.data.kind === "jsonl") return { path: "data.jsonl", reason: `data.jsonl rows and their tokenizers are not in the PyTorch runtime yet; use --target typescript for JSON Lines data` };
  const user = plan.callbacks?.list.findIndex((c) => c.kind === "user") ?? -1;
  if (user >= 0) {
    const cb = plan.callbacks!.list[user]!;
    return { path: `callbacks.${user}.module`, reason: `callback ${cb.kind === "user" ? cb.export : ""} from ${cb.kind === "user" ? JSON.stringify(cb.source) : ""} is a TypeScript class, which a PyTorch program cannot run; remove it for --target pytorch (generationSample and earlyStopping are built in)` };
  }
  return null;
}

class Constants {
  readonly groups: { title: string; constants: PythonConstant[] }[] = [];
  add(title: string, name: string, s: Setting<unknown>, note: string | null = s.from === "spec" ? null : s.note): string {
    let g = this.groups.find((x) => x.title === title);
    if (!g) this.groups.push((g = { title, constants: [] }));
    const shown = s.comment ? null : note;
    g.constants.push({ name, value: pyLiteral(s.value), comment: s.comment ?? [], trailer: shown ? `  # ${shown}` : "" });
    return name;
  }
}

export function lowerPython(plan: TrainingPlan, runtimePath: string): PythonProgram {
  const c = new Constants();
  const derived: { name: string; expression: string; comment: string }[] = [];
  const named = programConstants(plan, "fp16: CUDA autocast with dynamic loss scaling (torch GradScaler); fp32 on a CPU");
  for (const n of named.constants) c.add(n.group, n.name, n.setting, n.note === undefined ? undefined : n.note);
  const snake = (camel: string) => camel.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);
  /** How a cadence reads in a condition; a ratio of max steps becomes a value derived once max steps are known. */
  const every = (i: IntervalName | null): string | null => {
    if (!i || i.kind === "epoch") return null;
    if (i.kind === "constant") return i.name;
    derived.push({ name: snake(i.derived), expression: `math.ceil(max_steps * ${i.constant})`, comment: `${i.key} ${i.value} is a ratio of max steps` });
    return snake(i.derived);
  };
  const when = (cadence: Cadence, name: string | null): string => (cadence === "epoch" ? "sampler.epoch_ended" : `step % ${name} == 0`);

  const data = plan.data;
  let dataCall: string;
  let dataSummary: string;
  if (data.kind === "addition") {
    const seed = named.dataSeed;
    dataCall = `addition_data(digits=DIGITS, train_examples=TRAIN_EXAMPLES, eval_examples=EVAL_EXAMPLES, reverse_answer=REVERSE_ANSWER, fixed_width=FIXED_WIDTH, seed=${seed})`;
    dataSummary = `data: ${data.example}; only the answer and "$" are loss targets`;
  } else if (data.kind === "text") {
    dataCall = "text_data(path=HERE / TEXT_FILE, eval_fraction=EVAL_FRACTION, sequence_length=SEQUENCE_LENGTH)";
    dataSummary = `data: characters of ${data.source}, the last EVAL_FRACTION held out`;
  } else throw new Error(`lowerPython: ${data.kind} data cannot be lowered to Python (pythonUnsupported says so first)`);
  const model = plan.model;
  let modelCall: string;
  let modelSummary: string;
  if (model.kind === "char-transformer") {
    modelCall = "char_transformer(d_model=D_MODEL, layers=LAYERS, heads=HEADS, context_length=CONTEXT_LENGTH, vocabulary_size=len(data.vocabulary.tokens))";
    modelSummary = "model: causal transformer decoder over characters (pre-LayerNorm, GELU MLP)";
  } else if (model.kind === "mlp") {
    modelCall = "mlp(hidden=HIDDEN, window=WINDOW, embedding=EMBEDDING, vocabulary_size=len(data.vocabulary.tokens))";
    modelSummary = "model: MLP over the embeddings of the previous WINDOW tokens";
  } else throw new Error(`lowerPython: a ${model.kind} model cannot be lowered to Python (pythonUnsupported says so first)`);

  const accumulation = plan.batch.accumulation;
  let maxSteps: string;
  if ("maxSteps" in plan.length) {
    maxSteps = "flags.max_steps or MAX_STEPS  # optimizer steps to run (--max-steps overrides)";
  } else {
    maxSteps = `flags.max_steps or math.ceil(NUM_TRAIN_EPOCHS * sampler.steps_per_epoch(${accumulation ? "GRADIENT_ACCUMULATION_STEPS" : "1"}))  # NUM_TRAIN_EPOCHS epochs of optimizer steps (--max-steps overrides)`;
  }
  const opt = plan.optimizer;
  const w = named.warmup;
  if (w.kind === "ratio") derived.push({ name: snake(w.derived), expression: `math.ceil(max_steps * ${w.constant})`, comment: "warmup as a ratio of max steps" });
  const warmup = w.kind === "none" ? "0" : w.kind === "constant" ? w.name : snake(w.derived);
  const schedule = {
    linear: { expression: `LEARNING_RATE * linear_with_warmup(scheduler_step, ${warmup}, max_steps)`, summary: warmup === "0" ? "linear decay from LEARNING_RATE to 0 at max_steps" : `linear warmup over ${warmup} steps, then linear decay to 0 at max_steps` },
    cosine: { expression: `LEARNING_RATE * cosine_with_warmup(scheduler_step, ${warmup}, max_steps)`, summary: warmup === "0" ? "cosine decay from LEARNING_RATE to 0 at max_steps" : `linear warmup over ${warmup} steps, then cosine decay to 0 at max_steps` },
    constant_with_warmup: { expression: `LEARNING_RATE * constant_with_warmup(scheduler_step, ${warmup})`, summary: `linear warmup over ${warmup} steps, then constant` },
    constant: { expression: "LEARNING_RATE", summary: "constant" },
  }[plan.schedule.type.value];
  const fp16 = plan.fp16;

  // --- callbacks: only the built-ins reach here
  const callbacks = plan.callbacks;
  const callbackConstants = new Constants();
  let sample: { topK: string } | null = null;
  const hooks: Partial<Record<CallbackEvent, string[]>> = {};
  for (const cb of callbacks?.list ?? []) {
    for (const n of builtInCallbackConstants(cb)) callbackConstants.add(n.group, n.name, n.setting);
    if (cb.kind === "generationSample") {
      sample = { topK: cb.topK ? "SAMPLE_TOP_K" : "0" };
      (hooks.onStepEnd ??= []).push("if step % SAMPLE_EVERY_STEPS == 0 and dist.is_main:", "    sample_generations(step)");
    } else if (cb.kind === "earlyStopping") {
      (hooks.onEvaluate ??= []).push("if early_stopping.update(metrics):  # patience exhausted", "    stop_training = True");
    }
  }

  const logging = plan.logging;
  const logEvery = every(named.logging);
  const evaluation = plan.evaluation;
  const evalEvery = every(named.evaluation);
  const ckpt = plan.checkpointing;
  const saveCondition = !ckpt ? "" : ckpt.cadence === "best" ? "improved" : `${when(ckpt.cadence, every(named.saving))} or step == max_steps`;
  for (const g of callbackConstants.groups) c.groups.push(g);

  const best = ckpt?.tracksBest ?? false;
  const resumable = ckpt?.resumable ?? false;
  const improved = ckpt?.cadence === "best";
  const earlyStopping = callbacks?.earlyStopping ?? false;
  const stops = earlyStopping;
  const exactMatch = evaluation?.metrics.includes("eval_exact_match") ?? false;

  const trainerState = (fields: string[], globalStep: string): string[] =>
    fields.flatMap((f) => {
      const value = { global_step: globalStep, epoch: "sampler.epoch_progress", max_steps: "max_steps", train_batch_size: "BATCH_SIZE", log_history: "log.history", skipped_steps: "skipped_steps", stateful_callbacks: '{"EarlyStoppingCallback": early_stopping.state()}' }[f];
      if (value) return [`${f}=${value},`];
      return f === "best_metric" ? ["**best.fields(),"] : [];
    });

  const sections: PythonSection[] = [];
  const add = (partial: string, fields: Record<string, unknown> = {}) => sections.push({ partial, ...fields });
  add("config", { spec: commentLines(plan.files.spec).join(" "), groups: c.groups.filter((g) => g.constants.length > 0) });
  add("setup", { resumable: resumable ? "True" : "False", dataSummary: commentLines(dataSummary).join(" "), dataCall, maxSteps, derived });
  add("model", {
    summary: commentLines(modelSummary).join(" "),
    call: modelCall,
    weightDecayComment: opt.weightDecay.value > 0 ? "AdamW; biases and LayerNorm parameters get no weight decay (HF's rule)." : "AdamW (no weight decay).",
  });
  if (fp16) add("loss-scaler", { minScale: fp16.minScale ? "LOSS_SCALE_MIN" : "None" });
  if (best) add("best-metric");
  if (earlyStopping) add("early-stopping");
  add("schedule", { summary: schedule.summary, expression: schedule.expression });
  add(fp16 ? "backward-fp16" : "backward");
  if (resumable) add("resume", { lossScale: fp16 ? ", loss scale" : "", scaler: fp16 ? ", scaler=scaler" : "" });
  const meters: string[] = [];
  if (plan.clipping) meters.push("grad_norm = LatestValue()  # global gradient norm of the latest step, before clipping");
  meters.push("throughput = Throughput()", "scheduler_step = 0  # updates the learning-rate schedule has seen");
  if (fp16) meters.push("skipped_steps = 0  # steps whose fp16 gradients overflowed, so no update was applied");
  if (stops) meters.push("stop_training = False  # earlyStopping ran out of patience", "last_step = max_steps  # the step training ends at (earlier if earlyStopping stops it)");
  add("run-log", { console: plan.reportTo.console ? "dist.is_main and not flags.quiet" : "False", jsonl: plan.reportTo.jsonl ? "dist.is_main" : "False", append: resumable ? "resumed is not None" : "False", meters });
  if (evaluation) add(exactMatch ? "evaluate-exact-match" : "evaluate");
  if (sample) add("samples", sample);
  if (ckpt) {
    const resumeFields = (ckpt.resumeState ?? []).map(
      (f) => ({ sampler: '"sampler": sampler.state(),', schedulerStep: '"schedulerStep": scheduler_step,', skippedSteps: '"skippedSteps": skipped_steps,', scaler: '"scaler": scaler.state(),', lossMean: '"lossMean": loss_mean.state(),' })[f]!,
    );
    add("save", {
      onlyModel: ckpt.onlyModel,
      optimizer: ckpt.onlyModel ? "None" : "optimizer",
      trainerState: trainerState(ckpt.trainerState, "step"),
      resume: ckpt.resumeState ? ["resume={", ...resumeFields.map((f) => `    ${f}`), "},"] : ["resume=None,"],
      markSaved: [...(resumable ? ["global saved_at", "saved_at = step"] : []), ...(best ? ["best.saved(step, directory)"] : [])],
      before: resumable ? ["saved_at = 0  # step of the latest checkpoint"] : [],
      after: ckpt.totalLimit ? [`rotate_checkpoints(output_dir, SAVE_TOTAL_LIMIT, [${best ? "best.checkpoint" : ""}])`] : [],
    });
  }
  if (resumable) {
    const restore = ["start_step = resumed.global_step + 1", 'scheduler_step = resumed.resume["schedulerStep"]', 'if resumed.resume.get("lossMean"):', '    loss_mean.restore(resumed.resume["lossMean"])'];
    if (fp16) restore.push('skipped_steps = resumed.resume.get("skippedSteps", 0)');
    if (best) restore.push("best.restore(resumed.trainer_state)");
    if (earlyStopping) restore.push('early_stopping.restore(resumed.trainer_state.get("stateful_callbacks", {}).get("EarlyStoppingCallback"))');
    add("restore", { restore });
  }

  // --- the loop body, in train.ts's order
  const body: PythonSection[] = [];
  const step = (partial: string, fields: Record<string, unknown> = {}) => body.push({ partial, ...fields });
  step("learning-rate");
  step(accumulation ? "micro-batches" : "single-batch");
  if (fp16) step("unscale");
  if (plan.clipping) step("clip");
  if (!fp16) step("divergence-check", { norm: plan.clipping ? "norm" : "None" });
  step(fp16 ? "update-unless-overflow" : "update");
  if (hooks.onStepEnd) step("lines", { lines: ["", "# the step ends", ...hooks.onStepEnd] });
  const logCondition = logging ? [logging.firstStep ? "step == 1" : null, logEvery ? `step % ${logEvery} == 0` : null, logging.cadence === "epoch" ? "sampler.epoch_ended" : null, "step == max_steps"].filter(Boolean).join(" or ") : "";
  const logFields = logging
    ? logging.fields.map((f) => ({ epoch: '"epoch": sampler.epoch_progress', loss: '"loss": loss_mean.take()', grad_norm: '"grad_norm": grad_norm.read()', learning_rate: '"learning_rate": lr', loss_scale: '"loss_scale": scaler.get_scale()', skipped_steps: '"skipped_steps": skipped_steps', tokens_per_sec: '"tokens_per_sec": throughput.take()' })[f]!).join(", ")
    : "";
  const logAction: PythonSection = { partial: "guarded", title: "log", condition: logCondition, before: [], lines: [`log.train(step, {${logFields}})`] };
  const evalAction = (): PythonSection => {
    const lines = ["metrics = evaluate(sampler.epoch_progress)", "log.eval(step, metrics)"];
    if (best) lines.push(`${improved ? "improved = " : ""}best.update(metrics, step)`);
    lines.push(...(hooks.onEvaluate ?? []));
    return { partial: "guarded", title: "eval", condition: `${when(evaluation!.cadence, evalEvery)} or step == max_steps`, before: improved ? ['improved = False  # a new best evaluation at this step: saveStrategy "best" saves it'] : [], lines };
  };
  const saveAction: PythonSection = { partial: "guarded", title: "save (rank 0 writes; the others wait for it)", condition: saveCondition, before: [], lines: ["save(step)"] };
  const evalAtEpoch = evaluation?.cadence === "epoch";
  const saveAtEpoch = ckpt !== null && (ckpt.cadence === "epoch" || (ckpt.cadence === "best" && evalAtEpoch));
  if (logging && logging.cadence !== "epoch") body.push(logAction);
  if (evaluation && !evalAtEpoch) body.push(evalAction());
  if (ckpt && !saveAtEpoch) body.push(saveAction);
  if (logging && logging.cadence === "epoch") body.push(logAction);
  if (evaluation && evalAtEpoch) body.push(evalAction());
  if (ckpt && saveAtEpoch) body.push(saveAction);
  if (resumable) step("interrupt");
  if (stops) step("stop-request");
  add("loop", { firstStep: resumable ? "start_step" : "1", body });
  if (ckpt?.loadBestAtEnd) add("load-best");
  add("finish", { trainerState: trainerState(plan.trainerState, stops ? "last_step" : "max_steps"), finalStep: stops ? "last_step" : "max_steps" });

  return {
    header: {
      name: plan.name,
      spec: commentLines(plan.files.spec).join(" "),
      regenerate: commentLines(`npx gen-trainer ${plan.files.spec} --target pytorch${plan.files.outDir ? ` --out-dir ${plan.files.outDir}` : ""}`).join(" "),
      program: commentLines(plan.files.program.replace(/\.ts$/, ".py")).join(" "),
      flags: `[--max-steps N] [--output-dir DIR] [--device auto|cpu|cuda] [--quiet]${resumable ? " [--resume [CHECKPOINT_DIR]]" : ""}`,
      stepOrder: plan.stepOrder.join(" → "),
    },
    runtimePath,
    sections,
  };
}
