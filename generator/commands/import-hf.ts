/**
 * generator/commands/import-hf.ts — `gen-trainer import-hf <training_args.json> [--spec] [--out FILE]`.
 *
 * Reads a dump of Hugging Face TrainingArguments (`args.to_json_string()`, snake_case; HF 4.x and
 * 5 names, e.g. eval_strategy and the older evaluation_strategy) and prints the `args: { ... }`
 * of a spec: camelCase, only the arguments gen-trainer supports (the argument table, arguments.ts).
 * Values equal to gen-trainer's defaults (generator/defaults.ts) are left out, except outputDir,
 * which is always kept. `--spec` prints a whole spec skeleton instead (placeholder model and data);
 * `--out FILE` writes that skeleton to FILE (never overwriting).
 *
 * Every argument with no equivalent here is reported on stderr with the reason. Nulls and HF's own
 * defaults of features gen-trainer lacks (deepspeed null, fsdp "" or [], ...) are not: they ask
 * for nothing. The exit code is 0 even with such reports; 2 for an unreadable or invalid file.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { ARGUMENTS, ARG_KEYS, argument } from "../arguments.ts";
import { ARG_DEFAULTS } from "../defaults.ts";
import { UsageError } from "../diagnostics.ts";
import { literal } from "../literals.ts";
import { toDisplayPath } from "../load-spec.ts";
import { parseFlags, requireFile } from "./shared.ts";

const USAGE = "gen-trainer import-hf <training_args.json> [--spec] [--out FILE]";

export interface Unsupported {
  /** The HF argument (snake_case). */
  key: string;
  value: unknown;
  reason: string;
}

export interface Conversion {
  /** camelCase args, in ARG_KEYS order. */
  args: Record<string, unknown>;
  /** HF arguments left out, with why. */
  unsupported: Unsupported[];
  /** A name for the spec, from run_name or output_dir. */
  name: string;
}

type DirectType = "string" | "number" | "integer" | "boolean";

/** Handled by convertHfArgs itself (values checked one by one). */
const SPECIAL = new Set(["lr_scheduler_type", "warmup_steps", "warmup_ratio", "logging_strategy", "eval_strategy", "evaluation_strategy", "save_strategy", "report_to", "bf16"]);

/** HF arguments that map one to one (after a type check): the table's strings, numbers and booleans, except SPECIAL. */
const DIRECT: Record<string, { key: string; type: DirectType }> = Object.fromEntries(
  ARGUMENTS.filter((a) => a.hf !== null && !SPECIAL.has(a.hf) && ["string", "number", "integer", "boolean"].includes(a.type)).map((a) => [a.hf, { key: a.name, type: a.type as DirectType }]),
);

const ONE_DEVICE = "no distributed training: a generated program is one process on one device";
const DATA_LOADER = "no data loader: the data definition builds each batch in-process";
const EVAL_SUMS = "evaluation keeps only loss sums and the data's own metrics (eval_loss, and eval_exact_match for addition)";
const NO_HUB = "no Hugging Face Hub upload";
const BACKEND = "the device is chosen when the program runs: --backend auto|wasm|cpu|webgpu|tensorflow (and --threads N)";

/**
 * Arguments with no equivalent, with HF's defaults (and other values that ask for nothing). A
 * value not listed here (nor null, "", [] or {}) is reported with the reason.
 */
const UNSUPPORTED: Record<string, { neutral: unknown[]; reason: string }> = {
  deepspeed: { neutral: [], reason: `no DeepSpeed; ${ONE_DEVICE}` },
  fsdp: { neutral: [false], reason: `no FSDP; ${ONE_DEVICE}` },
  fsdp_min_num_params: { neutral: [0], reason: `no FSDP; ${ONE_DEVICE}` },
  fsdp_transformer_layer_cls_to_wrap: { neutral: [], reason: `no FSDP; ${ONE_DEVICE}` },
  ddp_backend: { neutral: [], reason: ONE_DEVICE },
  ddp_find_unused_parameters: { neutral: [], reason: ONE_DEVICE },
  ddp_bucket_cap_mb: { neutral: [], reason: ONE_DEVICE },
  ddp_broadcast_buffers: { neutral: [], reason: ONE_DEVICE },
  tpu_num_cores: { neutral: [], reason: "no TPUs" },
  tpu_metrics_debug: { neutral: [false], reason: "no TPUs" },
  parallelism_config: { neutral: [], reason: ONE_DEVICE },
  half_precision_backend: { neutral: ["auto"], reason: "fp16 is emulated (binary16 rounding with torch GradScaler semantics); there is no apex or cpu_amp backend" },
  fp16_backend: { neutral: ["auto"], reason: "fp16 is emulated (binary16 rounding with torch GradScaler semantics); there is no apex or cpu_amp backend" },
  fp16_opt_level: { neutral: ["O1"], reason: "apex optimization levels do not apply: fp16 is emulated with torch GradScaler semantics" },
  fp16_full_eval: { neutral: [false], reason: "evaluation always runs in float32" },
  bf16_full_eval: { neutral: [false], reason: "TensorFlow.js has no bfloat16; evaluation runs in float32" },
  tf32: { neutral: [false], reason: "TensorFlow.js has no TF32 mode" },
  no_cuda: { neutral: [false], reason: BACKEND },
  use_cpu: { neutral: [false], reason: `${BACKEND} (e.g. --backend cpu)` },
  use_mps_device: { neutral: [false], reason: BACKEND },
  use_ipex: { neutral: [false], reason: "no Intel Extension for PyTorch" },
  jit_mode_eval: { neutral: [false], reason: "no JIT tracing" },
  torch_compile: { neutral: [false], reason: "no torch.compile: the generated program is already specialized to the spec" },
  torch_compile_backend: { neutral: [], reason: "no torch.compile" },
  torch_compile_mode: { neutral: [], reason: "no torch.compile" },
  torchdynamo: { neutral: [], reason: "no torch.compile" },
  torch_empty_cache_steps: { neutral: [], reason: "no CUDA cache to empty" },
  gradient_checkpointing: { neutral: [false], reason: "no activation (gradient) checkpointing" },
  gradient_checkpointing_kwargs: { neutral: [], reason: "no activation (gradient) checkpointing" },
  optim: { neutral: ["adamw_torch", "adamw_torch_fused", "adamw_hf"], reason: "the optimizer is always AdamW with decoupled weight decay (adamBeta1, adamBeta2, adamEpsilon, weightDecay)" },
  optim_args: { neutral: [], reason: "AdamW takes only adamBeta1, adamBeta2, adamEpsilon and weightDecay" },
  optim_target_modules: { neutral: [], reason: "AdamW updates every parameter" },
  adafactor: { neutral: [false], reason: "the optimizer is always AdamW" },
  lr_scheduler_kwargs: { neutral: [], reason: "schedules take no options beyond warmup (linear, cosine, constant, constant_with_warmup)" },
  label_smoothing_factor: { neutral: [0], reason: "no label smoothing: the loss is plain cross-entropy" },
  group_by_length: { neutral: [false], reason: "no length grouping: each epoch is a seeded permutation of the examples" },
  length_column_name: { neutral: ["length"], reason: "no dataset columns" },
  dataloader_drop_last: { neutral: [false], reason: "the last, partial batch of an epoch is always used (no example is dropped)" },
  dataloader_num_workers: { neutral: [0], reason: DATA_LOADER },
  dataloader_prefetch_factor: { neutral: [], reason: DATA_LOADER },
  dataloader_pin_memory: { neutral: [true], reason: DATA_LOADER },
  dataloader_persistent_workers: { neutral: [false], reason: DATA_LOADER },
  remove_unused_columns: { neutral: [true], reason: "no dataset columns: the data definition builds the batches" },
  label_names: { neutral: [], reason: "labels come from the data definition (Batch.y and its mask)" },
  eval_accumulation_steps: { neutral: [], reason: EVAL_SUMS },
  eval_do_concat_batches: { neutral: [true], reason: EVAL_SUMS },
  eval_delay: { neutral: [0], reason: "evaluation runs from the first eval step" },
  eval_on_start: { neutral: [false], reason: "no evaluation before the first step" },
  eval_use_gather_object: { neutral: [false], reason: ONE_DEVICE },
  batch_eval_metrics: { neutral: [false], reason: `no compute_metrics; ${EVAL_SUMS}` },
  include_inputs_for_metrics: { neutral: [false], reason: `no compute_metrics; ${EVAL_SUMS}` },
  include_for_metrics: { neutral: [], reason: `no compute_metrics; ${EVAL_SUMS}` },
  prediction_loss_only: { neutral: [false], reason: EVAL_SUMS },
  past_index: { neutral: [-1], reason: "no past hidden states (Transformer-XL style)" },
  data_seed: { neutral: [], reason: "the data order follows args.seed (the addition preset's problems have their own data.seed)" },
  full_determinism: { neutral: [false], reason: "runs are deterministic already: data order is a pure function of the seed, and no randomness is used while training" },
  auto_find_batch_size: { neutral: [false], reason: "the batch size is fixed by the spec" },
  neftune_noise_alpha: { neutral: [], reason: "no NEFTune embedding noise" },
  use_liger_kernel: { neutral: [false], reason: "no Liger kernels" },
  liger_kernel_config: { neutral: [], reason: "no Liger kernels" },
  skip_memory_metrics: { neutral: [true], reason: "no memory metrics are logged" },
  include_num_input_tokens_seen: { neutral: [false, "no"], reason: "not logged; tokens_per_sec is" },
  logging_nan_inf_filter: { neutral: [true], reason: "losses are logged as they are, NaN and inf included" },
  disable_tqdm: { neutral: [false], reason: "there is no progress bar to disable; the generated program takes --quiet" },
  log_level: { neutral: ["passive"], reason: "no log levels; the generated program takes --quiet" },
  save_safetensors: { neutral: [true], reason: "checkpoints are always safetensors" },
  restore_callback_states_from_checkpoint: { neutral: [false], reason: "--resume always restores the state of built-in callbacks (early stopping, best model)" },
  resume_from_checkpoint: { neutral: [], reason: "pass --resume [DIR] to the generated program instead" },
  ignore_data_skip: { neutral: [false], reason: "--resume always continues the data order exactly where it stopped" },
  push_to_hub: { neutral: [false], reason: NO_HUB },
  hub_model_id: { neutral: [], reason: NO_HUB },
  hub_strategy: { neutral: ["every_save"], reason: NO_HUB },
  hub_private_repo: { neutral: [false], reason: NO_HUB },
  hub_always_push: { neutral: [false], reason: NO_HUB },
  hub_revision: { neutral: [], reason: NO_HUB },
  push_to_hub_model_id: { neutral: [], reason: NO_HUB },
  push_to_hub_organization: { neutral: [], reason: NO_HUB },
  per_gpu_train_batch_size: { neutral: [], reason: "deprecated in HF; use per_device_train_batch_size" },
  per_gpu_eval_batch_size: { neutral: [], reason: "deprecated in HF; use per_device_eval_batch_size" },
  debug: { neutral: [], reason: "no debug modes" },
  use_legacy_prediction_loop: { neutral: [false], reason: "there is one evaluation loop" },
  predict_with_generate: { neutral: [false], reason: "evaluation does not generate, except the addition preset's exact-match decoding" },
  sortish_sampler: { neutral: [false], reason: "each epoch is a seeded permutation of the examples" },
  generation_max_length: { neutral: [], reason: "evaluation does not generate; use the generationSample callback to watch samples" },
  generation_num_beams: { neutral: [], reason: "evaluation does not generate; use the generationSample callback to watch samples" },
  generation_config: { neutral: [], reason: "evaluation does not generate; use the generationSample callback to watch samples" },
};

/**
 * Arguments that never ask for anything of a single-process run, or that HF fills with
 * environment-dependent values: never reported.
 */
const SILENT = new Set([
  "local_rank", "accelerator_config", "fsdp_config", "average_tokens_across_devices", "ddp_timeout", "log_on_each_node", "save_on_each_node",
  "log_level_replica", "mp_parameters", "ray_scope", "dispatch_batches", "split_batches", "logging_dir", "run_name", "hub_token",
  "push_to_hub_token", "overwrite_output_dir", "do_train", "do_eval", "do_predict", "include_tokens_per_second", "project", "trackio_space_id",
]);

const SCHEDULES: readonly string[] = argument("lrSchedulerType").values;
const INTERVALS: readonly string[] = argument("evalStrategy").values;
const SAVE_STRATEGIES: readonly string[] = argument("saveStrategy").values;

function isNeutral(value: unknown): boolean {
  if (value === null || value === undefined || value === "") return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A slug for the spec's name: run_name, else the last folder of output_dir. */
function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").replace(/-{2,}/g, "-");
}

function typed(value: unknown, type: DirectType): boolean {
  if (type === "string") return typeof value === "string" && value !== "";
  if (type === "boolean") return typeof value === "boolean";
  if (typeof value !== "number" || !Number.isFinite(value)) return false;
  return type === "number" || Number.isInteger(value);
}

export function convertHfArgs(hf: Record<string, unknown>): Conversion {
  const out: Record<string, unknown> = {};
  const unsupported: Unsupported[] = [];
  const skip = (key: string, reason: string) => unsupported.push({ key, value: hf[key], reason });

  for (const [key, value] of Object.entries(hf)) {
    if (key.startsWith("_") || SILENT.has(key) || SPECIAL.has(key)) continue;
    const direct = DIRECT[key];
    if (direct) {
      if (value === null) continue; // HF's "unset" (eval_steps, save_total_limit, metric_for_best_model, ...)
      if (!typed(value, direct.type)) skip(key, `expected ${direct.type === "integer" ? "an integer" : `a ${direct.type}`}, so it was left out`);
      else out[direct.key] = value;
      continue;
    }
    const known = UNSUPPORTED[key];
    if (isNeutral(value) || known?.neutral.some((n) => same(n, value))) continue;
    skip(key, known ? known.reason : "not an argument gen-trainer knows");
  }

  // Strategies (HF 5: eval_strategy; HF 4 also evaluation_strategy).
  const strategy = (key: string, target: string, allowed: readonly string[]) => {
    const value = hf[key];
    if (value === undefined || value === null) return;
    if (typeof value !== "string" || !allowed.includes(value)) skip(key, `unsupported strategy; use one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
    else out[target] = value;
  };
  strategy("logging_strategy", "loggingStrategy", INTERVALS);
  if (hf.eval_strategy !== undefined && hf.eval_strategy !== null) {
    strategy("eval_strategy", "evalStrategy", INTERVALS);
    if (hf.evaluation_strategy !== undefined && hf.evaluation_strategy !== null && hf.evaluation_strategy !== hf.eval_strategy) {
      skip("evaluation_strategy", `the older name of eval_strategy, which is set to ${show(hf.eval_strategy)} and wins`);
    }
  } else strategy("evaluation_strategy", "evalStrategy", INTERVALS);
  strategy("save_strategy", "saveStrategy", SAVE_STRATEGIES);

  // Schedule and warmup (HF: warmup_steps > 0 wins over warmup_ratio; HF 5 lets warmup_steps be a ratio).
  const scheduler = hf.lr_scheduler_type;
  let schedule: string | undefined;
  if (scheduler !== undefined && scheduler !== null) {
    if (typeof scheduler === "string" && SCHEDULES.includes(scheduler)) schedule = scheduler;
    else {
      const cosine = typeof scheduler === "string" && scheduler.startsWith("cosine");
      skip("lr_scheduler_type", `unsupported schedule; gen-trainer has ${SCHEDULES.join(", ")}. Left out, so the spec gets the default "linear"${cosine ? `; "cosine" is the closest` : ""}`);
    }
  }
  if (schedule !== undefined) out.lrSchedulerType = schedule;
  const warmupSteps = typeof hf.warmup_steps === "number" && hf.warmup_steps > 0 ? hf.warmup_steps : 0;
  const warmupRatio = typeof hf.warmup_ratio === "number" && hf.warmup_ratio > 0 ? hf.warmup_ratio : 0;
  for (const key of ["warmup_steps", "warmup_ratio"]) {
    const v = hf[key];
    if (v !== undefined && v !== null && (typeof v !== "number" || !Number.isFinite(v) || v < 0)) skip(key, "expected a number >= 0, so it was left out");
  }
  if (schedule === "constant" && (warmupSteps || warmupRatio)) {
    skip(warmupSteps ? "warmup_steps" : "warmup_ratio", `HF's "constant" schedule ignores warmup; use lr_scheduler_type "constant_with_warmup" to keep it`);
  } else {
    if (warmupSteps) out.warmupSteps = warmupSteps;
    if (warmupSteps && warmupRatio) skip("warmup_ratio", `HF ignores warmup_ratio when warmup_steps (${warmupSteps}) is > 0`);
    else if (warmupRatio) out.warmupRatio = warmupRatio;
  }

  // report_to: "none", "all", a name or a list of names.
  const reportTo = hf.report_to;
  const trackers = (Array.isArray(reportTo) ? reportTo : typeof reportTo === "string" ? [reportTo] : []).filter((t) => t !== "none");
  if (trackers.length > 0) {
    skip("report_to", `gen-trainer logs only to the console and metrics.jsonl (reportTo "console", "jsonl", both on by default); metrics.jsonl uses HF's log_history names, so a small script can forward it to ${trackers.map((t) => String(t)).join(", ")}`);
  }

  if (hf.bf16 === true) skip("bf16", `TensorFlow.js has no bfloat16 dtype, so bf16 cannot be trained or emulated faithfully; use fp16: true (emulated binary16 with dynamic loss scaling) or nothing (float32)`);
  else if (hf.bf16 !== undefined && hf.bf16 !== null && hf.bf16 !== false) skip("bf16", "expected a boolean");

  // Values equal to gen-trainer's defaults are left out; outputDir is always kept.
  const args: Record<string, unknown> = {};
  for (const key of ARG_KEYS) {
    if (!(key in out)) continue;
    const fallback = (ARG_DEFAULTS as Record<string, unknown>)[key];
    if (key !== "outputDir" && fallback !== undefined && same(fallback, out[key])) continue;
    args[key] = out[key];
  }
  const nameSource = typeof hf.run_name === "string" && hf.run_name !== "" && hf.run_name !== hf.output_dir ? hf.run_name : typeof hf.output_dir === "string" ? basename(hf.output_dir) : "";
  return { args, unsupported, name: slug(nameSource) || "imported" };
}

/** `args: { ... },` as TypeScript, indented for a spec. */
export function formatArgs(args: Record<string, unknown>, indent = ""): string {
  const entries = Object.entries(args);
  if (entries.length === 0) return `${indent}args: {},\n`;
  return `${indent}args: {\n${entries.map(([k, v]) => `${indent}  ${k}: ${literal(v)},\n`).join("")}${indent}},\n`;
}

export function specSkeleton(conversion: Conversion, source: string): string {
  return `// A spec skeleton from \`gen-trainer import-hf ${source}\`.
// args: the TrainingArguments gen-trainer supports, camelCase; values equal to gen-trainer's
// defaults are left out. model and data are placeholders: replace them with yours (README, "A spec").
import { defineTrainer } from "gen-trainer";

export default defineTrainer({
  name: ${literal(conversion.name)},
  // placeholder: a small transformer for the addition data below
  model: { preset: "char-transformer", dModel: 64, layers: 2, heads: 4, contextLength: 12 },
  // placeholder: { text: "corpus.txt" } for a character model over a file, or { module: "./my-data.ts" }
  data: { preset: "addition", digits: 3 },
${formatArgs(conversion.args, "  ")}});
`;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { out: { type: "string" }, spec: { type: "boolean" }, help: { type: "boolean", short: "h" } }, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n\nTurns an HF TrainingArguments.to_json_string() dump into a spec's args (or, with --spec or --out, a whole spec skeleton).\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`import-hf takes one JSON file, got ${positionals.length}.\nusage: ${USAGE}`);
  const file = requireFile(positionals[0]!, "JSON file", "the JSON of TrainingArguments.to_json_string(), e.g. training_args.json");
  const shown = toDisplayPath(file);
  let hf: unknown;
  try {
    hf = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`${shown} is not valid JSON (${(error as Error).message}). Write it with open("training_args.json", "w").write(args.to_json_string()).`);
  }
  if (typeof hf !== "object" || hf === null || Array.isArray(hf)) throw new UsageError(`${shown} holds ${Array.isArray(hf) ? "an array" : JSON.stringify(hf)}, not the JSON object of TrainingArguments.to_json_string().`);
  const conversion = convertHfArgs(hf as Record<string, unknown>);
  const out = values.out as string | undefined;
  if (out !== undefined) {
    const target = resolve(out);
    if (existsSync(target)) throw new UsageError(`${toDisplayPath(target)} already exists; import-hf never overwrites. Choose another --out path or move the file away.`);
    try {
      writeFileSync(target, specSkeleton(conversion, shown), { flag: "wx" });
    } catch (error) {
      throw new UsageError(`cannot write --out ${out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Give a path in a folder you can write.`);
    }
    process.stderr.write(`wrote ${toDisplayPath(target)} (${Object.keys(conversion.args).length} args); check it with: npx gen-trainer explain ${toDisplayPath(target)}\n`);
  } else {
    process.stdout.write(values.spec ? specSkeleton(conversion, shown) : formatArgs(conversion.args));
  }
  const n = conversion.unsupported.length;
  if (n > 0) {
    process.stderr.write(`${n} HF argument${n === 1 ? " has" : "s have"} no equivalent in gen-trainer and ${n === 1 ? "was" : "were"} left out:\n`);
    for (const u of conversion.unsupported) process.stderr.write(`  ${u.key} = ${show(u.value)}: ${u.reason}\n`);
  }
  return 0;
}
