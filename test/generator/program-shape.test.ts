// The shape of every committed program, as a reviewer reads it: only what its spec enables (each
// feature's identifiers appear exactly when the plan turns the feature on; a one-feature program
// is minimal plus that feature), and every top-level name is declared before its first use.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ts } from "ts-morph";
import { describe, expect, it } from "vitest";
import { renderSpecs } from "../../generator/generate.ts";
import { isReference } from "../../generator/imports.ts";
import type { TrainingPlan } from "../../generator/plan.ts";
import { committedSpecs, ROOT } from "../helpers.ts";

/** Every identifier of a program: names and property names (not comments or strings). */
function identifiers(code: string): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile("train.ts", code, ts.ScriptTarget.Latest, true));
  return names;
}

/** The names a program refers to (variables, functions, constants, types; not property names). */
function references(code: string): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && isReference(node)) names.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile("train.ts", code, ts.ScriptTarget.Latest, true));
  return names;
}

/** Each feature: when the plan has it on, and identifiers that belong to it alone. */
/** `locals`: the feature's local variables, whose names also appear as properties elsewhere (checked only as references). */
const FEATURES: { feature: string; on: (p: TrainingPlan) => boolean; names: string[]; locals?: string[] }[] = [
  { feature: "fp16", on: (p) => p.fp16 !== null, names: ["scaler", "skippedSteps", "skipped_steps", "LossScaler", "allFinite", "fp16RoundWithGradient", "roundGradientsToFp16", "scaleGradients", "finite", "loss_scale", "LOSS_SCALE_INIT"] },
  { feature: "fp32 divergence check", on: (p) => p.divergence.stopWhen === "non-finite loss or gradient norm", names: ["isFiniteStep"], locals: ["values"] },
  { feature: "clipping", on: (p) => p.clipping !== null, names: ["gradNorm", "MAX_GRAD_NORM", "clipGradientsByGlobalNorm", "LatestValue", "grad_norm"] },
  { feature: "accumulation", on: (p) => p.batch.accumulation !== null, names: ["GRADIENT_ACCUMULATION_STEPS", "accumulate", "micro", "nextBatches"] },
  { feature: "evaluation", on: (p) => p.evaluation !== null, names: ["evaluate", "evaluateLoss", "EVAL_BATCH_SIZE", "eval_loss"] },
  { feature: "exact match", on: (p) => p.evaluation?.metrics.includes("eval_exact_match") ?? false, names: ["generationMetrics", "eval_exact_match"] },
  { feature: "checkpoints", on: (p) => p.checkpointing !== null, names: ["save", "saveCheckpoint", "checkpointDir", "trainerState"] },
  { feature: "resume", on: (p) => p.checkpointing?.resumable ?? false, names: ["resumed", "loadCheckpoint", "findResumeCheckpoint", "startStep", "savedAt", "watchForInterrupt", "interrupt", "resumeCommand"] },
  { feature: "rotation", on: (p) => p.checkpointing?.totalLimit != null, names: ["SAVE_TOTAL_LIMIT", "rotateCheckpoints"] },
  { feature: "best checkpoint", on: (p) => p.checkpointing?.tracksBest ?? false, names: ["best", "BestMetric"] },
  { feature: "best metric", on: (p) => p.metric !== null, names: ["METRIC_FOR_BEST_MODEL", "GREATER_IS_BETTER"] },
  { feature: "callback control", on: (p) => p.callbacks?.control ?? false, names: ["control", "newControl", "lastStep", "shouldTrainingStop"] },
  { feature: "callback state", on: (p) => p.callbacks?.state ?? false, names: ["TRAINING_ARGS", "callbackContext", "runHook", "TrainerCallbackState"] },
  { feature: "generationSample", on: (p) => p.callbacks?.list.some((c) => c.kind === "generationSample") ?? false, names: ["sampleGenerations", "sampleText", "requireGenerate", "SAMPLE_PROMPTS"] },
  { feature: "earlyStopping", on: (p) => p.callbacks?.earlyStopping ?? false, names: ["earlyStopping", "EarlyStopping", "EARLY_STOPPING_PATIENCE", "stateful_callbacks"] },
  { feature: "warmup steps", on: (p) => p.schedule.warmup !== null && "steps" in p.schedule.warmup, names: ["WARMUP_STEPS"] },
  { feature: "warmup ratio", on: (p) => p.schedule.warmup !== null && "ratio" in p.schedule.warmup, names: ["WARMUP_RATIO"] },
  { feature: "epochs", on: (p) => "epochs" in p.length, names: ["NUM_TRAIN_EPOCHS", "stepsPerEpoch"] },
  { feature: "max steps", on: (p) => "maxSteps" in p.length, names: ["MAX_STEPS"] },
  { feature: "linear schedule", on: (p) => p.schedule.type.value === "linear", names: ["linearWithWarmup"] },
  { feature: "cosine schedule", on: (p) => p.schedule.type.value === "cosine", names: ["cosineWithWarmup"] },
  { feature: "one batch per step", on: (p) => p.batch.accumulation === null, names: ["nextBatch"] },
  { feature: "logging every N steps", on: (p) => p.logging?.cadence != null && p.logging.cadence !== "epoch", names: ["LOGGING_STEPS"] },
  { feature: "char-transformer", on: (p) => p.model.kind === "char-transformer", names: ["charTransformer", "D_MODEL", "LAYERS", "HEADS", "CONTEXT_LENGTH", "dModel", "layers", "heads", "contextLength"] },
  { feature: "mlp", on: (p) => p.model.kind === "mlp", names: ["mlp", "HIDDEN", "WINDOW", "EMBEDDING"] },
  { feature: "model module", on: (p) => p.model.kind === "module", names: ["createModel"] },
  { feature: "text data", on: (p) => p.data.kind === "text", names: ["textData", "TEXT_FILE"] },
  { feature: "jsonl data", on: (p) => p.data.kind === "jsonl", names: ["jsonlData", "JSONL_FILE", "MAX_LENGTH", "COMPLETION_ONLY_LOSS", "tokenizer"] },
  { feature: "trained tokenizer", on: (p) => p.tokenizer?.kind === "train", names: ["trainBpeTokenizer", "TOKENIZER_VOCAB_SIZE"] },
  { feature: "gpt2", on: (p) => p.model.kind === "gpt2", names: ["gpt2", "N_LAYER", "N_EMBD", "modelConfig"] },
  { feature: "a Hugging Face model folder", on: (p) => p.output === "hf-folder", names: ["writeGpt2Folder", "modelCard"] },
  { feature: "weights only", on: (p) => p.output === "weights", names: ["writeModel"] },
  { feature: "addition data", on: (p) => p.data.kind === "addition", names: ["additionData", "DIGITS", "TRAIN_EXAMPLES", "EVAL_EXAMPLES", "REVERSE_ANSWER", "FIXED_WIDTH", "digits", "trainExamples", "evalExamples", "reverseAnswer", "fixedWidth"] },
  { feature: "data module", on: (p) => p.data.kind === "module", names: ["createData"] },
];

describe("the committed programs hold only what their specs enable", async () => {
  const { programs } = await renderSpecs(committedSpecs(), "generated");
  const ids = new Map(programs.map((p) => [p.plan.name, identifiers(p.code)]));

  for (const program of programs) {
    it(`${program.outputPath}: each feature's identifiers appear exactly when its plan enables it`, () => {
      const names = ids.get(program.plan.name)!;
      for (const f of FEATURES) {
        const present = f.names.filter((n) => names.has(n));
        expect({ feature: f.feature, present }).toEqual({ feature: f.feature, present: f.on(program.plan) ? f.names : [] });
      }
    });
  }

  // test/specs/<feature>.spec.ts is minimal.spec.ts plus one feature: its program keeps every name
  // of minimal's, and what it adds appears nowhere in minimal's.
  const minimal = references(programs.find((p) => p.plan.name === "minimal")!.code);
  for (const program of programs.filter((p) => p.specPath.startsWith("test/specs/") && p.plan.name !== "minimal")) {
    it(`${program.outputPath} = minimal + its feature (both ways)`, () => {
      const names = ids.get(program.plan.name)!;
      const enabled = FEATURES.filter((f) => f.on(program.plan) && !f.on(programs.find((p) => p.plan.name === "minimal")!.plan));
      // the feature's own names are in this program and not in minimal's
      for (const f of enabled) for (const n of f.names) expect({ name: n, inFeature: names.has(n), inMinimal: minimal.has(n) }).toEqual({ name: n, inFeature: true, inMinimal: false });
      // minimal's names are all still here (unless a feature replaces minimal's max steps or data)
      const replaced = new Set(FEATURES.filter((f) => !f.on(program.plan)).flatMap((f) => [...f.names, ...(f.locals ?? [])]));
      const refs = references(program.code);
      expect([...minimal].filter((n) => !refs.has(n) && !replaced.has(n))).toEqual([]);
    });
  }

  for (const program of programs) {
    it(`${program.outputPath}: every top-level name is declared before its first use`, () => {
      const file = ts.createSourceFile("train.ts", readFileSync(join(ROOT, program.outputPath), "utf8"), ts.ScriptTarget.Latest, true);
      const declaredAt = new Map<string, number>();
      file.statements.forEach((statement, i) => {
        if (ts.isVariableStatement(statement)) for (const d of statement.declarationList.declarations) collectNames(d.name, (n) => declaredAt.set(n, i));
        if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name) declaredAt.set(statement.name.text, i);
      });
      const early: string[] = [];
      file.statements.forEach((statement, i) => {
        // Names the statement declares inside itself (parameters, locals) shadow top-level ones.
        const local = new Set<string>();
        const declare = (node: ts.Node): void => {
          if (ts.isParameter(node) || (ts.isVariableDeclaration(node) && node.parent.parent !== statement)) collectNames(node.name, (n) => local.add(n));
          ts.forEachChild(node, declare);
        };
        declare(statement);
        const visit = (node: ts.Node): void => {
          if (ts.isIdentifier(node) && isReference(node) && !local.has(node.text)) {
            const at = declaredAt.get(node.text);
            if (at !== undefined && at > i) early.push(`${node.text} (line ${file.getLineAndCharacterOfPosition(node.getStart()).line + 1})`);
          }
          ts.forEachChild(node, visit);
        };
        visit(statement);
      });
      expect(early).toEqual([]);
    });
  }
});

function collectNames(name: ts.BindingName, add: (n: string) => void): void {
  if (ts.isIdentifier(name)) add(name.text);
  else for (const e of name.elements) if (!ts.isOmittedExpression(e)) collectNames(e.name, add);
}
