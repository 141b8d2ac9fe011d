/**
 * generator/lower-typescript.ts — TrainingPlan → what the TypeScript templates print.
 *
 * The plan says what a run does; this says how TypeScript over gen-trainer/runtime does it: the
 * names of the config constants and their literals, the expressions of conditions and schedules,
 * the statements each callback hook becomes, and the ordered list of sections of the program and
 * of the loop body. Each section names the partial (templates/partials/<section>.hbs) that prints
 * it; a section the plan does not need is simply not in the list, so the templates decide
 * nothing. Imports are not decided here: emit.ts derives them from what the rendered program
 * uses, choosing among `externals` (the user modules a program may import) and the runtime's
 * exports.
 */
import { commentLines, literal } from "./literals.ts";
import type { CallbackEvent, CallbackPlan } from "./plan-callbacks.ts";
import { builtInCallbackConstants, type IntervalName, programConstants } from "./plan-constants.ts";
import type { Cadence, Setting, TrainingPlan } from "./plan.ts";

export interface Constant {
  name: string;
  /** TypeScript source of the value. */
  value: string;
  comment: string[] | null;
  note: string | null;
}

/** A symbol a program may import from a user module, when it uses it. */
export interface External {
  name: string;
  from: string;
  kind: "default" | "named";
}

/** One section of the output: `partial` names the template that prints it. */
export interface Section {
  partial: string;
  [field: string]: unknown;
}

export interface TypeScriptProgram {
  header: { name: string; spec: string; regenerate: string; run: string; flags: string; stepOrder: string; callbacks: string };
  externals: External[];
  sections: Section[];
}

/** Names of the constants a setting is printed as. */
class Constants {
  readonly groups: { title: string; constants: Constant[] }[] = [];
  private group(title: string): Constant[] {
    let g = this.groups.find((x) => x.title === title);
    if (!g) this.groups.push((g = { title, constants: [] }));
    return g.constants;
  }
  /** `note` (default: the setting's own, for a default value) is printed unless the author commented. */
  add(title: string, name: string, s: Setting<unknown>, note: string | null = s.from === "spec" ? null : s.note): string {
    this.group(title).push({ name, value: literal(s.value), comment: s.comment, note: s.comment ? null : note });
    return name;
  }
  raw(title: string, constant: Constant): string {
    this.group(title).push(constant);
    return constant.name;
  }
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function upperSnake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

function tokenizerDescription(t: NonNullable<TrainingPlan["tokenizer"]>): string {
  return { char: "a character tokenizer", gpt2: "GPT-2's byte-level BPE", file: "its tokenizer.json", train: "a byte-level BPE trained on its training rows" }[t.kind];
}

const HOOK_CONTEXT: Partial<Record<CallbackEvent, string>> = { onEvaluate: "{ ...callbackContext, metrics }", onLog: "{ ...callbackContext, logs }" };

/** Lines of a block: statements, comments, blank lines (""). */
type Lines = string[];

export function lowerTypeScript(plan: TrainingPlan): TypeScriptProgram {
  const c = new Constants();
  const externals: External[] = [];
  const derived: { name: string; expression: string; comment: string }[] = [];

  const named = programConstants(plan, "fp16: emulated binary16 with dynamic loss scaling (torch GradScaler)");
  for (const n of named.constants) c.add(n.group, n.name, n.setting, n.note === undefined ? undefined : n.note);
  /** How a cadence reads in a condition; a ratio of max steps becomes a value derived once max steps are known. */
  const every = (i: IntervalName | null): string | null => {
    if (!i || i.kind === "epoch") return null;
    if (i.kind === "constant") return i.name;
    derived.push({ name: i.derived, expression: `Math.ceil(maxSteps * ${i.constant})`, comment: `${i.key} ${i.value} is a ratio of max steps` });
    return i.derived;
  };
  const when = (cadence: Cadence, name: string | null): string => (cadence === "epoch" ? "sampler.epochEnded" : `step % ${name} === 0`);

  // --- run, data, model
  const data = plan.data;
  let dataCall: string;
  let dataSummary: string;
  if (data.kind === "addition") {
    const seed = named.dataSeed;
    dataCall = `additionData({ digits: DIGITS, trainExamples: TRAIN_EXAMPLES, evalExamples: EVAL_EXAMPLES, reverseAnswer: REVERSE_ANSWER, fixedWidth: FIXED_WIDTH, seed: ${seed} })`;
    dataSummary = `data: ${data.example}; only the answer and "$" are loss targets`;
  } else if (data.kind === "text") {
    dataCall = "textData({ path: resolve(dirname(fileURLToPath(import.meta.url)), TEXT_FILE), evalFraction: EVAL_FRACTION, sequenceLength: SEQUENCE_LENGTH })";
    dataSummary = `data: characters of ${data.source}, the last EVAL_FRACTION held out`;
  } else if (data.kind === "jsonl") {
    dataCall = "jsonlData({ path: jsonlPath, tokenizer, evalFraction: EVAL_FRACTION, maxLength: MAX_LENGTH, completionOnlyLoss: COMPLETION_ONLY_LOSS })";
    dataSummary = `data: the rows of ${data.source} (text, prompt/completion or chat messages), one sequence each, the last EVAL_FRACTION held out; ${data.completionOnlyLoss.value ? "only completion (assistant) tokens are loss targets" : "every token is a loss target"}`;
  } else {
    externals.push({ name: "createData", from: data.module, kind: "default" });
    dataCall = "await createData()";
    dataSummary = `data: user module ${data.source}`;
  }
  // The tokenizer of row data, made before the data (which encodes with it).
  const tokenizerLines: Lines = [];
  const tok = plan.tokenizer;
  if (tok && data.kind === "jsonl") {
    tokenizerLines.push("const jsonlPath = resolve(dirname(fileURLToPath(import.meta.url)), JSONL_FILE);");
    if (tok.kind === "char") tokenizerLines.push("// tokenizer: one token per character of the rows, plus <|endoftext|> (ends every row)", 'const tokenizer = charTokenizer(jsonlTexts(jsonlPath, { evalFraction: EVAL_FRACTION }).all.join(""), { specials: ["<|endoftext|>"] });');
    else if (tok.kind === "gpt2") tokenizerLines.push("// tokenizer: GPT-2's byte-level BPE (50,257 tokens; <|endoftext|> ends every row)", "const tokenizer = gpt2Tokenizer();");
    else if (tok.kind === "file") {
      tokenizerLines.push(`// tokenizer: ${tok.fromModelFolder ? "the model folder's own" : "the"} tokenizer.json (Hugging Face format)`, "const tokenizer = tokenizerFromFile(resolve(dirname(fileURLToPath(import.meta.url)), TOKENIZER_FILE));");
    } else {
      tokenizerLines.push(
        "// tokenizer: a byte-level BPE trained on the training rows when the program starts (the same rows",
        "// always give the same tokenizer, so a resumed run has it too); written as tokenizer.json at the end",
        'const tokenizer = trainBpeTokenizer(jsonlTexts(jsonlPath, { evalFraction: EVAL_FRACTION }).train, { vocabSize: TOKENIZER_VOCAB_SIZE, specials: ["<|endoftext|>"] });',
      );
    }
  }
  const model = plan.model;
  const afterBackend: Lines = [];
  const runNotes: Lines = [];
  const modelBefore: Lines = [];
  const modelAfter: Lines = [];
  let modelCall: string;
  let modelSummary: string;
  if (model.kind === "char-transformer") {
    let formulation = "";
    if (model.tuning) {
      const t = model.tuning;
      const describe = (f: typeof t.choice) => `${f.matmul} matmul, ${f.embedding} embedding`;
      c.raw("model", {
        name: "MODEL_FORMULATION",
        value: `${literal({ backend: t.backend, choice: t.choice })} as const`,
        comment: [`tuned by \`gen-trainer --tune\` on the ${t.backend} backend (ms per training step):`, ...t.measured.map((m) => `  ${describe(m.formulation)}: ${m.msPerStep}${JSON.stringify(m.formulation) === JSON.stringify(t.choice) ? "  <- chosen" : ""}`)],
        note: null,
      });
      formulation = ", formulation: formulation.formulation";
      afterBackend.push("// the tuned formulation on its backend; any other backend uses its own defaults (and says so)", "const formulation = formulationFor(backend, MODEL_FORMULATION);");
      runNotes.push("if (formulation.note) log.message(formulation.note);");
    }
    modelCall = `charTransformer({ dModel: D_MODEL, layers: LAYERS, heads: HEADS, contextLength: CONTEXT_LENGTH${formulation} }, modelContext(data))`;
    modelSummary = "model: causal transformer decoder over characters (pre-LayerNorm, GELU MLP)";
  } else if (model.kind === "mlp") {
    modelCall = "mlp({ hidden: HIDDEN, window: WINDOW, embedding: EMBEDDING }, modelContext(data))";
    modelSummary = "model: MLP over the embeddings of the previous WINDOW tokens";
  } else if (model.kind === "gpt2") {
    if (model.from) {
      modelBefore.push("// model.from: a trained GPT-2 in Hugging Face layout (config.json + model.safetensors)", "const pretrained = readGpt2Folder(resolve(dirname(fileURLToPath(import.meta.url)), FROM_DIR));");
      modelAfter.push("loadGpt2Weights(params, pretrained.tensors); // every key checked by name and shape");
    }
    const vocab = model.from ? "pretrained.config.vocabSize" : plan.tokenizer ? "tokenizer.vocabularySize" : "modelContext(data).vocabularySize";
    modelBefore.push(`const modelConfig = { nLayer: N_LAYER, nHead: N_HEAD, nEmbd: N_EMBD, nPositions: N_POSITIONS, layerNormEpsilon: LAYER_NORM_EPSILON, vocabSize: ${vocab}${plan.tokenizer ? ", bosTokenId: tokenizer.bosTokenId ?? tokenizer.eosTokenId ?? undefined, eosTokenId: tokenizer.eosTokenId ?? undefined" : ""} };`);
    modelCall = "gpt2(modelConfig, modelContext(data))";
    modelSummary = `model: GPT-2 (Hugging Face's architecture: learned positions, pre-LayerNorm, gelu_new, fused c_attn, lm_head tied to wte)${model.from ? `, starting from ${model.from.source}` : ", from scratch"}`;
  } else {
    externals.push({ name: "createModel", from: model.module, kind: "default" });
    modelCall = "createModel(modelContext(data))";
    modelSummary = `model: user module ${model.source}`;
  }

  // --- training length, optimizer, schedule, clipping, fp16
  const accumulation = plan.batch.accumulation;
  let maxSteps: { expression: string; comment: string };
  if ("maxSteps" in plan.length) {
    maxSteps = { expression: "flags.maxSteps ?? MAX_STEPS", comment: "optimizer steps to run (--max-steps overrides)" };
  } else {
    maxSteps = { expression: `flags.maxSteps ?? Math.ceil(NUM_TRAIN_EPOCHS * sampler.stepsPerEpoch(${accumulation ? "GRADIENT_ACCUMULATION_STEPS" : "1"}))`, comment: "NUM_TRAIN_EPOCHS epochs of optimizer steps (--max-steps overrides)" };
  }
  const opt = plan.optimizer;
  const w = named.warmup;
  if (w.kind === "ratio") derived.push({ name: w.derived, expression: `Math.ceil(maxSteps * ${w.constant})`, comment: "warmup as a ratio of max steps" });
  const warmup = w.kind === "none" ? "0" : w.kind === "constant" ? w.name : w.derived;
  const schedule = {
    linear: { expression: `LEARNING_RATE * linearWithWarmup(schedulerStep, ${warmup}, maxSteps)`, summary: warmup === "0" ? "linear decay from LEARNING_RATE to 0 at maxSteps" : `linear warmup over ${warmup} steps, then linear decay to 0 at maxSteps` },
    cosine: { expression: `LEARNING_RATE * cosineWithWarmup(schedulerStep, ${warmup}, maxSteps)`, summary: warmup === "0" ? "cosine decay from LEARNING_RATE to 0 at maxSteps" : `linear warmup over ${warmup} steps, then cosine decay to 0 at maxSteps` },
    constant_with_warmup: { expression: `LEARNING_RATE * constantWithWarmup(schedulerStep, ${warmup})`, summary: `linear warmup over ${warmup} steps, then constant` },
    constant: { expression: "LEARNING_RATE", summary: "constant" },
  }[plan.schedule.type.value];
  const fp16 = plan.fp16;

  // --- callbacks (their constants are printed after the best-model group, as a group of their own)
  const callbacks = plan.callbacks;
  const requests = callbacks?.requests ?? false;
  const control = (flag: string): string => (requests ? ` || control.${flag}` : "");
  const hooks = (event: CallbackEvent): Lines => callbacks?.events[event].map((i) => hookCall[i]!(event)) ?? [];
  const hookCall: ((event: CallbackEvent) => string)[] = [];
  const callbackConstants: Constant[] = [];
  const instances: string[] = [];
  let sample: null | { topK: boolean } = null;
  if (callbacks) {
    const cc = new Constants();
    const title = "callbacks";
    if (callbacks.trainingArgs) cc.raw(title, { name: "TRAINING_ARGS", value: literal(callbacks.trainingArgs), comment: null, note: "the resolved TrainingArguments callbacks receive" });
    const variables = new Set<string>();
    callbacks.list.forEach((cb: CallbackPlan) => {
      if (cb.kind === "user") {
        // The same class may be listed more than once: each entry is its own instance.
        let variable = camel(cb.export);
        for (let n = 2; variables.has(variable); n++) variable = `${camel(cb.export)}${n}`;
        variables.add(variable);
        if (!externals.some((e) => e.name === cb.export && e.from === cb.module)) externals.push({ name: cb.export, from: cb.module, kind: "named" });
        const options = cb.options ? cc.add(title, `${upperSnake(variable)}_OPTIONS`, cb.options) : "";
        const everyConstant = cb.every ? cc.add(title, `${upperSnake(variable)}_EVERY`, cb.every, "steps between onStepEnd calls") : null;
        instances.push(`const ${variable} = new ${cb.export}(${options});`);
        hookCall.push((event) => {
          const call = `await runHook(${literal(cb.export)}, "${event}", () => ${variable}.${event}(TRAINING_ARGS, state, control, ${HOOK_CONTEXT[event] ?? "callbackContext"}));`;
          return event === "onStepEnd" && everyConstant ? `if (step % ${everyConstant} === 0) ${call}` : call;
        });
      } else if (cb.kind === "generationSample") {
        for (const n of builtInCallbackConstants(cb)) cc.add(title, n.name, n.setting);
        sample = { topK: cb.topK !== null };
        hookCall.push(() => "if (step % SAMPLE_EVERY_STEPS === 0) await sampleGenerations(step);");
      } else {
        for (const n of builtInCallbackConstants(cb)) cc.add(title, n.name, n.setting);
        hookCall.push(() => "if (earlyStopping.update(metrics)) control.shouldTrainingStop = true; // patience exhausted");
      }
    });
    callbackConstants.push(...(cc.groups[0]?.constants ?? []));
  }

  // --- logging, evaluation, checkpoints, best model
  const logging = plan.logging;
  const logEvery = every(named.logging);
  const evaluation = plan.evaluation;
  const evalEvery = every(named.evaluation);
  const ckpt = plan.checkpointing;
  let saveCondition = "";
  if (ckpt) saveCondition = ckpt.cadence === "best" ? `improved${control("shouldSave")}` : `${when(ckpt.cadence, every(named.saving))} || step === maxSteps${control("shouldSave")}`;
  for (const constant of callbackConstants) c.raw("callbacks", constant);

  // --- what the program's sections need to know
  const best = ckpt?.tracksBest ?? false;
  const improvedFlag = ckpt?.cadence === "best";
  const resumable = ckpt?.resumable ?? false;
  const firstStep = resumable ? "startStep" : "1";
  const finalStep = callbacks?.control ? "lastStep" : "maxSteps";
  const state = callbacks?.state ?? false;
  const keepMetrics = best || (callbacks?.events.onEvaluate.length ?? 0) > 0;
  const onLog = (callbacks?.events.onLog.length ?? 0) > 0;
  const exactMatch = evaluation?.metrics.includes("eval_exact_match") ?? false;

  const trainerStateFields = (fields: string[], globalStep: string): Lines => {
    const lines: Lines = [];
    for (const field of fields) {
      const value = {
        global_step: globalStep,
        epoch: "sampler.epochProgress",
        max_steps: "maxSteps",
        train_batch_size: "BATCH_SIZE",
        log_history: "log.history",
        skipped_steps: "skippedSteps",
        stateful_callbacks: "{ EarlyStoppingCallback: earlyStopping.state() }",
      }[field];
      if (value) lines.push(`${field}: ${value},`);
      else if (field === "best_metric") lines.push("...best.fields(),"); // best_metric, best_global_step, best_model_checkpoint
    }
    return lines;
  };

  const sections: Section[] = [];
  const add = (partial: string, fields: Record<string, unknown> = {}) => sections.push({ partial, ...fields });
  const groups = c.groups
    .filter((g) => g.constants.length > 0)
    .map((g) => ({ title: g.title, constants: g.constants.map((k) => ({ ...k, comment: k.comment ?? [], trailer: k.note ? ` // ${k.note}` : "" })) }));
  add("config", { spec: commentLines(plan.files.spec).join(" "), groups });
  add("setup", { resumable, afterBackend, tokenizer: tokenizerLines, dataSummary: commentLines(dataSummary).join(" "), dataCall, maxSteps, derived });
  add("model", { before: modelBefore, after: modelAfter, summary: commentLines(modelSummary).join(" "), call: modelCall, weightDecayComment: opt.weightDecay.value > 0 ? "AdamW; biases and LayerNorm parameters get no weight decay (HF's rule)." : "AdamW (no weight decay)." });
  if (fp16) add("loss-scaler", { minScale: fp16.minScale ? "LOSS_SCALE_MIN" : "null" });
  if (best) add("best-metric");
  if (callbacks?.earlyStopping) add("early-stopping");
  add("schedule", { summary: schedule.summary, expression: schedule.expression });
  add("named-gradients");
  add(fp16 ? "backward-fp16" : "backward");
  if (resumable) add("resume", { lossScale: fp16 ? ", loss scale" : "", scaler: fp16 ? ", scaler" : "" });
  const meters: Lines = [];
  if (plan.clipping) meters.push("const gradNorm = new LatestValue(); // global gradient norm of the latest step, before clipping");
  meters.push("const throughput = new Throughput();", "let schedulerStep = 0; // updates the learning-rate schedule has seen");
  if (fp16) meters.push("let skippedSteps = 0; // steps whose fp16 gradients overflowed, so no update was applied");
  const notes: Lines = [...runNotes, ...(data.kind === "jsonl" ? ["log.message(`data: ${data.stats.rows} rows of ${JSONL_FILE} (${data.stats.trainRows} for training, ${data.stats.evalRows} held out), ${data.stats.truncated} truncated to MAX_LENGTH = ${MAX_LENGTH} tokens; tokenizer: ${tokenizer.vocabularySize} tokens`);"] : [])];
  add("run-log", { console: plan.reportTo.console ? "!flags.quiet" : "false", jsonl: String(plan.reportTo.jsonl), append: resumable ? "resumed !== null" : "false", notes, meters });
  if (evaluation) add(exactMatch ? "evaluate-exact-match" : "evaluate");
  if (sample) add("samples", { topK: (sample as { topK: boolean }).topK ? "topK: SAMPLE_TOP_K, " : "", stop: plan.tokenizer ? "stopToken: tokenizer.eosTokenId ?? undefined, " : "" });
  if (callbacks) {
    const lines: Lines = [];
    if (state) {
      lines.push(
        "// What callbacks receive (HF's TrainerCallback arguments): TRAINING_ARGS, the trainer state, the",
        "// control flags they may set, and the model, optimizer and vocabulary.",
        "const state: TrainerCallbackState = { globalStep: 0, epoch: 0, maxSteps, logHistory: log.history, bestMetric: null, bestModelCheckpoint: null };",
        "const callbackContext: CallbackContext = { model, params, optimizer, vocabulary: data.vocabulary ?? null };",
      );
    }
    if (callbacks.control) lines.push("const control = newControl(); // callbacks may stop training or ask for a log/eval/save", "let lastStep = maxSteps; // the step training ends at (earlier if a callback stops it)");
    lines.push(...instances);
    add("lines", { lines });
    if (callbacks.events.onSubstepEnd.length) add("substep-end", { statements: hooks("onSubstepEnd") });
  }
  if (ckpt) {
    const intro = ["Saves checkpoint-<step> atomically (written to a temporary folder, then renamed): weights,"];
    if (ckpt.onlyModel) intro.push("and trainer_state.json (saveOnlyModel: no optimizer or resume state, so no --resume).");
    else intro.push(`AdamW state, trainer_state.json, and the resume state (data order, schedule position${fp16 ? "," : ")."}`, ...(fp16 ? ["loss scale)."] : []));
    if (ckpt.totalLimit) intro.push("Then keeps the SAVE_TOTAL_LIMIT newest checkpoints, plus the best one and always the latest.");
    const resumeFields = (ckpt.resumeState ?? []).map(
      (field) => ({ sampler: "sampler: sampler.state(),", schedulerStep: "schedulerStep,", skippedSteps: "skippedSteps,", scaler: "scaler: scaler.state(),", lossMean: "lossMean: await lossMean.state()," })[field]!,
    );
    add("save", {
      intro,
      before: resumable ? ["let savedAt = 0; // step of the latest checkpoint"] : [],
      markSaved: [...(resumable ? ["savedAt = step;"] : []), ...(best ? ["best.saved(step, dir);"] : [])],
      optimizer: ckpt.onlyModel ? "optimizer: null" : "optimizer",
      trainerState: trainerStateFields(ckpt.trainerState, "step"),
      resume: ckpt.resumeState ? ["resume: {", ...resumeFields.map((f) => `  ${f}`), "},"] : ["resume: null,"],
      after: ckpt.totalLimit ? [`rotateCheckpoints(outputDir, SAVE_TOTAL_LIMIT, [${best ? "best.checkpoint" : ""}]);`] : [],
    });
  }
  if (resumable) {
    const restore: Lines = ["startStep = resumed.globalStep + 1;", "schedulerStep = resumed.resume.schedulerStep;", "if (resumed.resume.lossMean) lossMean.restore(resumed.resume.lossMean);"];
    if (fp16) restore.push("skippedSteps = resumed.resume.skippedSteps ?? 0;");
    if (best) restore.push("best.restore(resumed.trainerState);");
    if (callbacks?.earlyStopping) restore.push("earlyStopping.restore(resumed.trainerState.stateful_callbacks.EarlyStoppingCallback as EarlyStoppingState | undefined);");
    if (state) restore.push("state.globalStep = resumed.globalStep;");
    add("restore", { restore });
  }
  const beginning = hooks("onTrainBegin");
  if (beginning.length) add("lines", { lines: beginning });

  // --- the loop body, in the fixed order of a step
  const body: Section[] = [];
  const step = (partial: string, fields: Record<string, unknown> = {}) => body.push({ partial, ...fields });
  const block = (lines: Lines) => lines.length > 0 && step("body-lines", { lines });
  if (callbacks) {
    if (callbacks.events.onEpochBegin.length) {
      step("guarded", { title: "an epoch begins", condition: `sampler.startsEpoch || step === ${firstStep}`, before: [], lines: [...(requests ? ["control.shouldEpochStop = false;"] : []), ...hooks("onEpochBegin")] });
    } else if (requests) block(["if (sampler.startsEpoch) control.shouldEpochStop = false;"]);
    const stepBegin = [...(requests ? ["// a step begins: requests for a log, eval or save are per step (HF)", "control.shouldLog = control.shouldEvaluate = control.shouldSave = false;"] : []), ...hooks("onStepBegin")];
    if (stepBegin.length) block([...stepBegin, ""]);
  }
  step("learning-rate");
  if (!accumulation) step("single-batch");
  else if (accumulation.unrolled) {
    const substep = (callbacks?.events.onSubstepEnd.length ?? 0) > 0;
    const micro: Lines = [];
    for (let i = 1; i < accumulation.steps.value; i++) {
      if (substep) micro.push(`if (micro[${i}]) {`, "  await substepEnd();", `  accumulate(total, backward(micro[${i}], items)); // micro-batch ${i + 1}`, "}");
      else micro.push(`if (micro[${i}]) accumulate(total, backward(micro[${i}], items)); // micro-batch ${i + 1}`);
    }
    step("micro-batches", { micro });
  } else {
    const substep = (callbacks?.events.onSubstepEnd.length ?? 0) > 0;
    step("micro-batches", { micro: substep ? ["for (let i = 1; i < micro.length; i++) {", "  await substepEnd();", "  accumulate(total, backward(micro[i]!, items));", "}"] : ["for (let i = 1; i < micro.length; i++) accumulate(total, backward(micro[i]!, items));"] });
  }
  if (fp16) step("unscale");
  if (plan.clipping) step("clip");
  if (plan.divergence.stopWhen === "non-finite loss or gradient norm") step("divergence-check", { norm: plan.clipping ? "norm" : "null" });
  block(hooks("onPreOptimizerStep"));
  step(fp16 ? "update-unless-overflow" : "update");
  const stepEnd = [...hooks("onOptimizerStep")];
  if (state) stepEnd.push("", "// the step ends", "state.globalStep = step;", "state.epoch = sampler.epochProgress;");
  else if (callbacks?.events.onStepEnd.length) stepEnd.push("", "// the step ends");
  stepEnd.push(...hooks("onStepEnd"));
  block(stepEnd);

  // log, eval and save: after the step (steps strategies), or at the end-of-epoch point
  const logCondition = logging
    ? `${[logging.firstStep ? "step === 1" : null, logEvery ? `step % ${logEvery} === 0` : null, logging.cadence === "epoch" ? "sampler.epochEnded" : null, "step === maxSteps"].filter(Boolean).join(" || ")}${control("shouldLog")}`
    : "";
  const logFields = logging
    ? logging.fields.map((f) => ({ epoch: "epoch: sampler.epochProgress", loss: "loss: await lossMean.take()", grad_norm: "grad_norm: await gradNorm.read()", learning_rate: "learning_rate: lr", loss_scale: "loss_scale: scaler.scale", skipped_steps: "skipped_steps: skippedSteps", tokens_per_sec: "tokens_per_sec: throughput.take()" })[f]!).join(", ")
    : "";
  const logAction = (): Section => ({
    partial: "guarded",
    title: "log",
    condition: logCondition,
    before: [],
    lines: [`${onLog ? "const logs = " : ""}log.train(step, { ${logFields} });`, ...hooks("onLog"), ...(requests ? ["control.shouldLog = false;"] : [])],
  });
  const evalAction = (): Section => {
    const lines: Lines = [];
    if (keepMetrics) {
      lines.push("const metrics = await evaluate(sampler.epochProgress);", `${onLog ? "const logs = " : ""}log.eval(step, metrics);`);
      if (best) lines.push(`${improvedFlag ? "improved = " : ""}best.update(metrics, step);`);
    } else lines.push("log.eval(step, await evaluate(sampler.epochProgress));");
    lines.push(...hooks("onLog"));
    if (state && best) lines.push("state.bestMetric = best.value;");
    else if (state && callbacks?.earlyStopping) lines.push("state.bestMetric = earlyStopping.best;");
    lines.push(...hooks("onEvaluate"));
    if (requests) lines.push("control.shouldEvaluate = false;");
    return {
      partial: "guarded",
      title: "eval",
      condition: `${when(evaluation!.cadence, evalEvery)} || step === maxSteps${control("shouldEvaluate")}`,
      before: improvedFlag ? ['let improved = false; // a new best evaluation at this step: saveStrategy "best" saves it'] : [],
      lines,
    };
  };
  const saveAction = (): Section =>
    callbacks
      ? { partial: "guarded", title: "save", condition: saveCondition, before: [], lines: ["await save(step);", ...(state && best ? ["state.bestModelCheckpoint = best.checkpoint;"] : []), ...hooks("onSave"), ...(requests ? ["control.shouldSave = false;"] : [])] }
      : { partial: "guarded-line", title: "save", condition: saveCondition, line: "await save(step);" };
  const evalAtEpoch = evaluation?.cadence === "epoch";
  const saveAtEpoch = ckpt !== null && (ckpt.cadence === "epoch" || (ckpt.cadence === "best" && evalAtEpoch));
  if (logging && logging.cadence !== "epoch") body.push(logAction());
  if (evaluation && !evalAtEpoch) body.push(evalAction());
  if (ckpt && !saveAtEpoch) body.push(saveAction());
  if (requests) block(["", "if (control.shouldEpochStop) sampler.endEpoch();"]);
  if (callbacks?.events.onEpochEnd.length) {
    step("guarded", { title: "an epoch ends (also when training stops mid-epoch, as HF)", condition: `sampler.epochEnded || step === maxSteps${callbacks.control ? " || control.shouldTrainingStop" : ""}`, before: [], lines: hooks("onEpochEnd") });
  }
  if (logging && logging.cadence === "epoch") body.push(logAction());
  if (evaluation && evalAtEpoch) body.push(evalAction());
  if (ckpt && saveAtEpoch) body.push(saveAction());
  if (resumable) step("interrupt");
  if (callbacks?.control) step("stop-request");
  add("loop", { firstStep, body });

  if (ckpt?.loadBestAtEnd) add("load-best");
  const writeModel: Lines =
    plan.output === "hf-folder"
      ? [
          "// The model folder in Hugging Face layout: AutoModelForCausalLM.from_pretrained(outputDir) loads it.",
          "await writeGpt2Folder(outputDir, {",
          "  config: modelConfig,",
          "  params,",
          ...(plan.tokenizer ? ["  tokenizerJson: tokenizer.tokenizerJson(),", "  tokenizerConfig: tokenizer.tokenizerConfig(),"] : []),
          `  generationConfig: ${plan.tokenizer ? "{ bos_token_id: modelConfig.bosTokenId, eos_token_id: modelConfig.eosTokenId }" : "{}"},`,
          `  card: modelCard({ name: RUN_NAME, architecture: \`GPT-2 (\${N_LAYER} layers, \${N_HEAD} heads, width \${N_EMBD})\`, parameters: parameterCount, data: ${data.kind === "jsonl" ? "JSONL_FILE" : data.kind === "text" ? "TEXT_FILE" : JSON.stringify(dataSummary)}, tokenizer: ${plan.tokenizer ? `${JSON.stringify(tokenizerDescription(plan.tokenizer))}` : '"one token per character"'}, steps: ${finalStep}, history: log.history }),`,
          "});",
        ]
      : ["await writeModel(outputDir, params);"];
  add("finish", {
    writeModel,
    savedWhat: plan.output === "hf-folder" ? "config.json, model.safetensors, tokenizer and model card" : "model.safetensors and trainer_state.json", trainerState: trainerStateFields(plan.trainerState, finalStep), finalStep, after: hooks("onTrainEnd") });

  const regenerate = `npx gen-trainer ${plan.files.spec}${plan.files.outDir ? ` --out-dir ${plan.files.outDir}` : ""}`;
  return {
    header: {
      name: plan.name,
      spec: commentLines(plan.files.spec).join(" "),
      regenerate: commentLines(regenerate).join(" "),
      run: commentLines(`npx tsx ${plan.files.program}`).join(" "),
      // runtime/run-flags.ts's flags (BACKEND_CHOICES of runtime/backend.ts)
      flags: `[--max-steps N] [--output-dir DIR] [--backend auto|wasm|cpu|webgpu|tensorflow] [--threads N] [--quiet]${resumable ? " [--resume [CHECKPOINT_DIR]]" : ""}`,
      stepOrder: plan.stepOrder.join(" → "),
      callbacks: callbacks ? ",\n// with the callbacks' hooks called at HF's events" : "",
    },
    externals,
    sections,
  };
}
