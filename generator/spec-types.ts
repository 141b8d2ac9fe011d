/**
 * generator/spec-types.ts — the types of a training spec (`my.spec.ts`).
 *
 * A spec is `export default defineTrainer({ name, model, data, args })`. `args` are Hugging Face
 * TrainingArguments in camelCase, with HF's defaults (the planner is the one place that knows
 * them). These types are what a spec is type-checked against; the validator then checks values
 * (ranges, cross-field rules) that types cannot express.
 */

/** A GPT-style causal decoder over characters, written for speed on the wasm backend. */
export interface CharTransformerPreset {
  preset: "char-transformer";
  /** Width of the residual stream. */
  dModel: number;
  /** Number of transformer blocks. */
  layers: number;
  /** Attention heads; must divide dModel. */
  heads: number;
  /** Longest sequence the model attends over (position embeddings). */
  contextLength: number;
}

/** A next-token MLP over a fixed window of previous tokens (Bengio et al. 2003). */
export interface MlpPreset {
  preset: "mlp";
  /** Sizes of the hidden layers, e.g. [128, 128]. */
  hidden: number[];
  /** Previous tokens the MLP sees (default 4). */
  window?: number;
  /** Size of each token embedding (default 16). */
  embedding?: number;
}

/** A module whose default export is `(context: ModelContext) => ModelDefinition` (or a DatasetDefinition factory for data). Path relative to the spec file. */
export interface ModuleRef {
  module: string;
}

/**
 * GPT-2, exactly Hugging Face's architecture (learned positions, pre-LayerNorm, gelu_new, fused
 * c_attn, lm_head tied to wte). From scratch: give the sizes (GPT-2 small's by default); the
 * vocabulary size is the tokenizer's. Or `from` a folder in HF layout (config.json +
 * model.safetensors, as save_pretrained writes it), whose config fixes the sizes.
 */
export interface Gpt2Preset {
  preset: "gpt2";
  /** Transformer blocks (default 12). */
  nLayer?: number;
  /** Attention heads; must divide nEmbd (default 12). */
  nHead?: number;
  /** Width of the residual stream (default 768). */
  nEmbd?: number;
  /** Longest sequence the model attends over (default 1024). */
  nPositions?: number;
  /** LayerNorm epsilon (default 1e-5). */
  layerNormEpsilon?: number;
  /** A folder with config.json and model.safetensors (HF layout), relative to the spec file. */
  from?: string;
}

export type ModelSpec = CharTransformerPreset | MlpPreset | Gpt2Preset | ModuleRef;

/** Synthetic sums "123+456=579": the model learns to add. */
export interface AdditionPreset {
  preset: "addition";
  /** Digits of each operand (1-6). */
  digits: number;
  /** Training problems (default 20000, capped by the problems left after the held-out ones; see additionSizes). */
  trainExamples?: number;
  /** Held-out problems, never seen in training (default 500, at most a tenth of the problems that exist). */
  evalExamples?: number;
  /** Write answers least-significant digit first, which is much easier to learn (default true). */
  reverseAnswer?: boolean;
  /** Zero-pad operands and answer ("012+345=0357") so digits sit at fixed positions (default true); false gives uneven lengths. */
  fixedWidth?: boolean;
  /** Seed of the problem generator (default: args.seed). */
  seed?: number;
}

/** A character-level language model over a text file. */
export interface TextData {
  /** UTF-8 text file, relative to the spec file. */
  text: string;
  /** Fraction of the text (its tail) held out for evaluation (default 0.1). */
  evalFraction?: number;
  /** Characters per training sequence (default: the model's contextLength, else 64). */
  sequenceLength?: number;
}

/**
 * Rows of a JSON Lines file: { text }, { prompt, completion } or { messages: [{ role, content }] }.
 * Chat rows are rendered by the tokenizer's chat template when it has one, otherwise as
 * "User: ...\nAssistant: ..." turns followed by the end-of-text token.
 */
export interface JsonlData {
  /** The .jsonl file, relative to the spec file. */
  jsonl: string;
  /** Fraction of the rows (the last ones) held out for evaluation (default 0.1). */
  evalFraction?: number;
  /** Longest row in tokens; longer rows are truncated and counted (default: the model's context). */
  maxLength?: number;
  /** Loss only on completion / assistant tokens (TRL's completion_only_loss; default true; { text } rows always train on every token). */
  completionOnlyLoss?: boolean;
}

export type DataSpec = AdditionPreset | TextData | JsonlData | ModuleRef;

/**
 * How text becomes tokens: "char" (one token per character, today's default), "gpt2" (GPT-2's
 * byte-level BPE, offline), { file } (an HF tokenizer.json), or { train: { vocabSize } } (a byte-level
 * BPE trained on the training split when the program starts, deterministic, written as tokenizer.json).
 */
export type TokenizerSpec = "char" | "gpt2" | { file: string } | { train: { vocabSize: number } };

export type IntervalStrategy = "no" | "steps" | "epoch";
export type SaveStrategy = "no" | "steps" | "epoch" | "best";
export type LrSchedulerType = "linear" | "cosine" | "constant" | "constant_with_warmup";
export type ReportTo = "console" | "jsonl";

/** GradScaler settings (torch defaults: 2^16, 2.0, 0.5, 2000, no minimum). */
export interface Fp16ScalerArgs {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
  /** Floor of the scale, against repeated overflow driving it to 0 (default none). */
  minScale?: number;
}

/** Hugging Face TrainingArguments, camelCase. Every field is optional and has HF's default. */
export interface TrainingArgs {
  outputDir?: string;
  perDeviceTrainBatchSize?: number;
  perDeviceEvalBatchSize?: number;
  numTrainEpochs?: number;
  maxSteps?: number;
  learningRate?: number;
  weightDecay?: number;
  adamBeta1?: number;
  adamBeta2?: number;
  adamEpsilon?: number;
  lrSchedulerType?: LrSchedulerType;
  warmupSteps?: number;
  warmupRatio?: number;
  loggingStrategy?: IntervalStrategy;
  loggingSteps?: number;
  loggingFirstStep?: boolean;
  evalStrategy?: IntervalStrategy;
  evalSteps?: number;
  seed?: number;
  reportTo?: ReportTo[];
  gradientAccumulationSteps?: number;
  maxGradNorm?: number;
  fp16?: boolean;
  fp16Scaler?: Fp16ScalerArgs;
  bf16?: boolean;
  saveStrategy?: SaveStrategy;
  saveSteps?: number;
  saveTotalLimit?: number;
  saveOnlyModel?: boolean;
  loadBestModelAtEnd?: boolean;
  metricForBestModel?: string;
  greaterIsBetter?: boolean;
}

/** JSON-safe values, for callback options (emitted as literals into the program). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Built-in: every `everySteps` steps, generate from each prompt with the model being trained. */
export interface GenerationSampleCallback {
  callback: "generationSample";
  prompts: string[];
  everySteps: number;
  maxNewTokens: number;
  /** 0 (default) = greedy. */
  temperature?: number;
  topK?: number;
  /** Seed of the sampling (default 0); step N samples with seed + N, so runs and resumes agree. */
  seed?: number;
}

/** Built-in: HF's EarlyStoppingCallback. Needs evalStrategy and a metricForBestModel. */
export interface EarlyStoppingCallback {
  callback: "earlyStopping";
  /** Evaluations without improvement before training stops. */
  patience: number;
  /** How much better than the best a metric must be to count as an improvement (default 0). */
  threshold?: number;
}

/** Built-in: the console logger (what reportTo "console" selects). */
export interface ProgressBarCallback {
  callback: "progressBar";
}

/** Built-in: the metrics.jsonl logger (what reportTo "jsonl" selects). */
export interface JsonlLoggerCallback {
  callback: "jsonlLogger";
}

/** A user callback: a class implementing TrainerCallback (from "gen-trainer/runtime"). */
export interface UserCallbackRef {
  /** Path of the module, relative to the spec file. */
  module: string;
  /** Name of the exported class. */
  export: string;
  /** Passed to the class's constructor. */
  options?: { [key: string]: JsonValue };
  /** Call onStepEnd only every this many steps. */
  every?: number;
}

export type CallbackSpec = GenerationSampleCallback | EarlyStoppingCallback | ProgressBarCallback | JsonlLoggerCallback | UserCallbackRef;

export function generationSample(options: Omit<GenerationSampleCallback, "callback">): GenerationSampleCallback {
  return { callback: "generationSample", ...options };
}

export function earlyStopping(options: Omit<EarlyStoppingCallback, "callback">): EarlyStoppingCallback {
  return { callback: "earlyStopping", ...options };
}

export function progressBar(): ProgressBarCallback {
  return { callback: "progressBar" };
}

export function jsonlLogger(): JsonlLoggerCallback {
  return { callback: "jsonlLogger" };
}

export interface TrainerSpec {
  /** Slug (lowercase letters, digits, dashes): the folder generated/<name>/. */
  name: string;
  model: ModelSpec;
  data: DataSpec;
  /** Default: the `from` folder's tokenizer.json when it has one, else "char". */
  tokenizer?: TokenizerSpec;
  args: TrainingArgs;
  /** Run in this order at each event they implement. */
  callbacks?: CallbackSpec[];
}

/** Identity that gives a spec its type: `export default defineTrainer({...})`. */
export function defineTrainer(spec: TrainerSpec): TrainerSpec {
  return spec;
}
