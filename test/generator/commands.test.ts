// The subcommands explain, init and import-hf, and --watch: each run as a user would (spawning
// bin/gen-trainer.js), with the computations behind explain checked against the runtime itself.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { explainSpec, type Explanation } from "../../generator/commands/explain.ts";
import { convertHfArgs, specSkeleton } from "../../generator/commands/import-hf.ts";
import { charTransformerShapes, mlpShapes } from "../../generator/commands/model-size.ts";
import { planSpec } from "../../generator/commands/shared.ts";
import { cosineWithWarmup } from "../../runtime/schedule.ts";
import { ROOT } from "../helpers.ts";

const BIN = join(ROOT, "bin", "gen-trainer.js");
// One folder per test process: other runs of the suite may be going on in the same checkout.
const REL = `.tmp/commands-${process.pid}`;
const TMP = join(ROOT, REL);
rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command without blocking, so two can run at once (2 cores). */
function runAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

async function explainInProcess(specPath: string): Promise<Explanation> {
  const { planned, diagnostics } = await planSpec(specPath, "generated");
  expect(diagnostics).toEqual([]);
  return explainSpec(planned!.spec, planned!.plan, planned!.outputPath);
}

const BIG = `import { defineTrainer, generationSample } from "gen-trainer";

export default defineTrainer({
  name: "explain-big",
  model: { preset: "char-transformer", dModel: 128, layers: 4, heads: 4, contextLength: 12 },
  data: { preset: "addition", digits: 3 },
  args: {
    outputDir: "out/explain-big",
    perDeviceTrainBatchSize: 32,
    gradientAccumulationSteps: 4,
    maxSteps: 10000,
    learningRate: 1e-3,
    lrSchedulerType: "cosine",
    warmupRatio: 0.05,
    evalStrategy: "steps",
    evalSteps: 1000,
    saveSteps: 1000,
    saveTotalLimit: 2,
    metricForBestModel: "loss",
    fp16: true,
  },
  callbacks: [generationSample({ prompts: ["123+456="], everySteps: 500, maxNewTokens: 5 })],
});
`;

describe("gen-trainer explain", () => {
  const big = join(TMP, "explain-big.spec.ts");
  writeFileSync(big, BIG);

  it("--json: effective batch, steps and epochs, schedule, features, a capped timeline with rotation, and sizes", () => {
    const r = cli("explain", "--json", `${REL}/explain-big.spec.ts`);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const e = JSON.parse(r.stdout) as Explanation;
    expect(e.program).toBe("generated/explain-big/train.ts");
    expect(e.batch).toMatchObject({ perDevice: 32, accumulationSteps: 4, effective: 128, tokensPerStep: 128 * 12 });
    // 20000 problems (the addition default) in batches of 32 = 625 batches; 4 per step → 157 steps per epoch.
    expect(e.data).toMatchObject({ kind: "addition", trainExamples: 20000, evalExamples: 500, sequenceLength: 12 });
    expect(e.length).toMatchObject({ from: "maxSteps", maxSteps: 10000, stepsPerEpoch: 157 });
    expect(e.length.epochs).toBeCloseTo(10000 / 157, 10);
    // warmupRatio 0.05 of 10000 steps; step s runs at scheduler step s - 1.
    expect(e.schedule).toMatchObject({ type: "cosine", peak: 1e-3, warmupSteps: 500, peakStep: 501, firstStepLearningRate: 0 });
    expect(e.schedule.finalLearningRate).toBeCloseTo(1e-3 * cosineWithWarmup(9999, 500, 10000), 18);
    const features = e.features.on.map((f) => f.feature);
    expect(features).toContain("gradient accumulation ×4 (unrolled)");
    expect(features.some((f) => f.startsWith("fp16 loss scaling"))).toBe(true);
    expect(features).toContain("clipping at 1 (HF default)");
    expect(features).toContain("checkpoints every 1,000 steps and at the last step, keep 2 + best + latest");
    expect(features).toContain("best model tracked by eval_loss (lower is better)");
    expect(features).toContain("sample 1 prompt every 500 steps (5 new tokens, greedy)");
    expect(e.features.off).toEqual(["weight decay"]);
    // 20 steps with events (every 500); shown: the first 8, then the last 3.
    expect(e.timeline.eventSteps).toBe(20);
    expect(e.timeline.entries.map((t) => t.step)).toEqual([500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 9000, 9500, 10000]);
    expect(e.timeline.entries[7]!.skippedAfter).toBe(9);
    const at = (step: number) => e.timeline.entries.find((t) => t.step === step)!.events;
    expect(at(500)).toEqual(["sample"]);
    expect(at(1000)).toEqual(["sample", "eval", "save checkpoint-1000"]);
    expect(at(3000)).toEqual(["sample", "eval", "save checkpoint-3000, rotation keeps checkpoint-2000/3000 + best"]);
    expect(at(10000)).toEqual(["sample", "eval", "save checkpoint-10000, rotation keeps checkpoint-9000/10000 + best", "last step: log, then write model.safetensors and trainer_state.json"]);
    // 2·V·d + C·d + L·(12d² + 9d) + 2d with V=14, d=128, C=12, L=4.
    expect(e.disk.parameters).toBe(2 * 14 * 128 + 12 * 128 + 4 * (12 * 128 * 128 + 9 * 128) + 2 * 128);
    expect(e.disk.modelBytes! - e.disk.parameters! * 4).toBeGreaterThan(0);
    expect(e.disk.modelBytes! - e.disk.parameters! * 4).toBeLessThan(8192); // the safetensors header
    expect(e.disk.checkpointBytes! - e.disk.parameters! * 12).toBeLessThan(3 * 8192);
    expect(e.disk).toMatchObject({ withOptimizerState: true, checkpointsSaved: 10, checkpointsKept: 3 });
  });

  it("prints the same plan as text", () => {
    const r = cli("explain", `${REL}/explain-big.spec.ts`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^batch {6}effective batch 128 = 32 per device × 4 accumulation steps/m);
    expect(r.stdout).toMatch(/^length {5}10,000 optimizer steps \(args\.maxSteps\): 63\.7 epochs of 157 steps/m);
    expect(r.stdout).toMatch(/^schedule {3}cosine, peak 0\.001; linear warmup from 0 over steps 1-500 \(ratio 0\.05 of the steps\), peak at step 501/m);
    expect(r.stdout).toContain("  + gradient accumulation ×4 (unrolled)\n");
    expect(r.stdout).toMatch(/^ {2}step 3,000 +sample; eval; save checkpoint-3000, rotation keeps checkpoint-2000\/3000 \+ best$/m);
    expect(r.stdout).toContain("  … 9 more steps with events …\n");
    expect(r.stdout).toMatch(/^disk {7}796,416 parameters: model\.safetensors ≈ 3\.19 MB; each checkpoint ≈ 9\.5\d MB/m);
  });

  it("text data: windows, vocabulary and epochs as runtime/data/text.ts computes them", async () => {
    const { textData } = await import("../../runtime/data/text.ts");
    const e = await explainInProcess("test/specs/text-mlp-epoch.spec.ts");
    const data = textData({ path: join(ROOT, "examples/data/rhymes.txt"), evalFraction: 0.2, sequenceLength: 16 });
    expect(e.data).toMatchObject({ kind: "text", trainExamples: data.trainSize, evalExamples: data.evalSize, sequenceLength: 16 });
    expect(e.model.vocabularySize).toBe(data.vocabulary!.tokens.length);
    const stepsPerEpoch = Math.ceil(data.trainSize / 8);
    expect(e.length).toMatchObject({ from: "numTrainEpochs", epochs: 2, stepsPerEpoch, maxSteps: 2 * stepsPerEpoch });
    expect(e.timeline.entries).toEqual([
      { step: stepsPerEpoch, events: ["end of epoch 1", "eval"] },
      { step: 2 * stepsPerEpoch, events: ["end of epoch 2", "eval", "last step: log, then write model.safetensors and trainer_state.json"] },
    ]);
  });

  it("module data trained for epochs: the length is known only at run time", async () => {
    const spec = join(TMP, "explain-module.spec.ts");
    writeFileSync(
      spec,
      `import { defineTrainer } from "gen-trainer";\nexport default defineTrainer({\n  name: "explain-module",\n  model: { module: "../../test/specs/modules/bigram-model.ts" },\n  data: { module: "../../test/specs/modules/counting-data.ts" },\n  args: { numTrainEpochs: 2, warmupRatio: 0.1, saveStrategy: "no" },\n});\n`,
    );
    const e = await explainInProcess(spec);
    expect(e.data).toMatchObject({ kind: "module", trainExamples: null });
    expect(e.length).toMatchObject({ maxSteps: null, stepsPerEpoch: null, epochs: 2 });
    expect(e.length.description).toMatch(/known only when the program runs/);
    expect(e.schedule.warmupSteps).toBeNull();
    expect(e.timeline.entries).toEqual([]);
    expect(e.timeline.note).toMatch(/known only when the program runs/);
    expect(e.disk.parameters).toBeNull();
  });

  it("the parameter shapes are those the built-in models create", async () => {
    const tf = await import("@tensorflow/tfjs");
    await tf.setBackend("cpu");
    const { charTransformer } = await import("../../runtime/models/char-transformer.ts");
    const { mlp } = await import("../../runtime/models/mlp.ts");
    const context = { vocabularySize: 14, sequenceLength: 9 };
    const cases = [
      { made: charTransformer({ dModel: 16, layers: 2, heads: 2, contextLength: 9 }, context).createParameters(1), expected: charTransformerShapes({ dModel: 16, layers: 2, heads: 2, contextLength: 9 }, 14) },
      { made: mlp({ hidden: [32, 16], window: 3, embedding: 8 }, context).createParameters(1), expected: mlpShapes({ hidden: [32, 16], window: 3, embedding: 8 }, 14) },
    ];
    for (const { made, expected } of cases) {
      expect(Object.entries(made).map(([name, v]) => ({ name, shape: v.shape }))).toEqual(expected);
      for (const v of Object.values(made)) v.dispose();
    }
  });
});

describe("gen-trainer init", () => {
  const dir = join(TMP, "init");

  it("writes starter specs that generate and train 2 steps as they are, and never overwrites", async () => {
    const addition = cli("init", "--dir", `${REL}/init`);
    expect(addition.status).toBe(0);
    expect(addition.stderr).toBe(`wrote ${REL}/init/my-run.spec.ts\n`);
    const text = cli("init", "story", "--preset", "text", "--dir", `${REL}/init`);
    expect(text.status).toBe(0);
    expect(text.stderr).toContain(`wrote ${REL}/init/story.spec.ts and its sample corpus ${REL}/init/story.txt`);
    const starter = readFileSync(join(dir, "my-run.spec.ts"), "utf8");
    expect(starter).toMatch(/^\/\/ my-run\.spec\.ts: a starter spec/);
    expect(readFileSync(join(dir, "story.spec.ts"), "utf8")).toContain('text: "story.txt", // relative to this spec file');

    // Refuses to overwrite: exit 2, the file named, nothing changed.
    const again = cli("init", "--preset", "addition", "--dir", `${REL}/init`);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(new RegExp(`^gen-trainer init: ${escape(REL)}/init/my-run\\.spec\\.ts already exists; init never overwrites\\.`));
    expect(readFileSync(join(dir, "my-run.spec.ts"), "utf8")).toBe(starter);

    const generated = cli("--out-dir", `${REL}/init/gen`, `${REL}/init/my-run.spec.ts`, `${REL}/init/story.spec.ts`);
    expect(generated.stderr).toBe(`wrote ${REL}/init/gen/my-run/train.ts\nwrote ${REL}/init/gen/story/train.ts\n`);
    expect(generated.status).toBe(0);

    const [explainedAddition, explainedText] = [await explainInProcess(join(dir, "my-run.spec.ts")), await explainInProcess(join(dir, "story.spec.ts"))];
    const runs = await Promise.all(
      ["my-run", "story"].map((name) =>
        runAsync(["--import", "tsx", join(dir, "gen", name, "train.ts"), "--max-steps", "2", "--backend", "cpu", "--output-dir", join(dir, "out", name)]),
      ),
    );
    for (const [i, name] of ["my-run", "story"].entries()) {
      const run = runs[i]!;
      const e = [explainedAddition, explainedText][i]!;
      expect(run.stderr).toBe("");
      expect(run.status).toBe(0);
      // The program's own report agrees with explain's parameter count and training-set size.
      expect(run.stdout).toContain(`${name}: ${e.disk.parameters} parameters, ${e.data.trainExamples} training examples, 2 steps on cpu`);
      expect(run.stdout).toMatch(/\[step 2\] eval: eval_loss \d/);
      // explain's size estimate is the size of the file written.
      expect(statSync(join(dir, "out", name, "model.safetensors")).size).toBe(e.disk.modelBytes);
      const checkpoint = join(dir, "out", name, "checkpoint-2");
      const written = statSync(join(checkpoint, "model.safetensors")).size + statSync(join(checkpoint, "optimizer.safetensors")).size;
      expect(Math.abs(written - e.disk.checkpointBytes!)).toBeLessThanOrEqual(8);
    }
  });
});

/** A TrainingArguments.to_json_string() dump as transformers 4.4x writes it (HF 5 names). */
const HF_DUMP = {
  output_dir: "runs/gpt2-wikitext",
  overwrite_output_dir: false,
  do_train: true,
  do_eval: true,
  do_predict: false,
  eval_strategy: "steps",
  prediction_loss_only: false,
  per_device_train_batch_size: 16,
  per_device_eval_batch_size: 8,
  per_gpu_train_batch_size: null,
  per_gpu_eval_batch_size: null,
  gradient_accumulation_steps: 4,
  eval_accumulation_steps: null,
  eval_delay: 0,
  torch_empty_cache_steps: null,
  learning_rate: 5e-5,
  weight_decay: 0.01,
  adam_beta1: 0.9,
  adam_beta2: 0.999,
  adam_epsilon: 1e-8,
  max_grad_norm: 1.0,
  num_train_epochs: 3.0,
  max_steps: 2000,
  lr_scheduler_type: "polynomial",
  lr_scheduler_kwargs: {},
  warmup_ratio: 0.1,
  warmup_steps: 0,
  log_level: "passive",
  log_level_replica: "warning",
  log_on_each_node: true,
  logging_dir: "runs/gpt2-wikitext/runs/Oct10_12-00-00_host",
  logging_strategy: "steps",
  logging_first_step: false,
  logging_steps: 50,
  logging_nan_inf_filter: true,
  save_strategy: "steps",
  save_steps: 500,
  save_total_limit: 2,
  save_safetensors: true,
  save_on_each_node: false,
  save_only_model: false,
  restore_callback_states_from_checkpoint: false,
  no_cuda: false,
  use_cpu: false,
  use_mps_device: false,
  seed: 42,
  data_seed: null,
  jit_mode_eval: false,
  use_ipex: false,
  bf16: true,
  fp16: false,
  fp16_opt_level: "O1",
  half_precision_backend: "auto",
  bf16_full_eval: false,
  fp16_full_eval: false,
  tf32: null,
  local_rank: 0,
  ddp_backend: null,
  tpu_num_cores: null,
  tpu_metrics_debug: false,
  debug: [],
  dataloader_drop_last: false,
  eval_steps: 500,
  dataloader_num_workers: 0,
  dataloader_prefetch_factor: null,
  past_index: -1,
  run_name: "gpt2-wikitext",
  disable_tqdm: false,
  remove_unused_columns: true,
  label_names: null,
  load_best_model_at_end: true,
  metric_for_best_model: "loss",
  greater_is_better: false,
  ignore_data_skip: false,
  fsdp: [],
  fsdp_min_num_params: 0,
  fsdp_config: { min_num_params: 0, xla: false, xla_fsdp_v2: false, xla_fsdp_grad_ckpt: false },
  fsdp_transformer_layer_cls_to_wrap: null,
  accelerator_config: { split_batches: false, dispatch_batches: null, even_batches: true, use_seedable_sampler: true, non_blocking: false, gradient_accumulation_kwargs: null },
  deepspeed: "ds_config_zero2.json",
  label_smoothing_factor: 0.0,
  optim: "adamw_torch",
  optim_args: null,
  adafactor: false,
  group_by_length: false,
  length_column_name: "length",
  report_to: ["tensorboard", "wandb"],
  ddp_find_unused_parameters: null,
  ddp_bucket_cap_mb: null,
  ddp_broadcast_buffers: null,
  dataloader_pin_memory: true,
  dataloader_persistent_workers: false,
  skip_memory_metrics: true,
  use_legacy_prediction_loop: false,
  push_to_hub: false,
  resume_from_checkpoint: null,
  hub_model_id: null,
  hub_strategy: "every_save",
  hub_token: "<HUB_TOKEN>",
  hub_private_repo: null,
  hub_always_push: false,
  gradient_checkpointing: true,
  gradient_checkpointing_kwargs: null,
  include_inputs_for_metrics: false,
  include_for_metrics: [],
  eval_do_concat_batches: true,
  fp16_backend: "auto",
  push_to_hub_model_id: null,
  push_to_hub_organization: null,
  push_to_hub_token: "<PUSH_TO_HUB_TOKEN>",
  mp_parameters: "",
  auto_find_batch_size: false,
  full_determinism: false,
  torchdynamo: null,
  ray_scope: "last",
  ddp_timeout: 1800,
  torch_compile: false,
  torch_compile_backend: null,
  torch_compile_mode: null,
  include_tokens_per_second: false,
  include_num_input_tokens_seen: false,
  neftune_noise_alpha: null,
  optim_target_modules: null,
  batch_eval_metrics: false,
  eval_on_start: false,
  use_liger_kernel: false,
  eval_use_gather_object: false,
  average_tokens_across_devices: false,
};

describe("gen-trainer import-hf", () => {
  it("maps the supported arguments to camelCase, leaving out gen-trainer's defaults", () => {
    const { args, unsupported, name } = convertHfArgs(HF_DUMP);
    expect(args).toEqual({
      outputDir: "runs/gpt2-wikitext",
      perDeviceTrainBatchSize: 16,
      maxSteps: 2000,
      weightDecay: 0.01,
      warmupRatio: 0.1,
      loggingSteps: 50,
      evalStrategy: "steps",
      evalSteps: 500,
      gradientAccumulationSteps: 4,
      saveTotalLimit: 2,
      loadBestModelAtEnd: true,
      metricForBestModel: "loss",
      greaterIsBetter: false,
    });
    expect(name).toBe("gpt2-wikitext");
    // Only arguments that ask for something gen-trainer lacks; nulls and HF's defaults are quiet.
    expect(Object.fromEntries(unsupported.map((u) => [u.key, u.reason]))).toEqual({
      deepspeed: expect.stringMatching(/no distributed training/),
      gradient_checkpointing: expect.stringMatching(/no activation \(gradient\) checkpointing/),
      lr_scheduler_type: expect.stringMatching(/unsupported schedule; gen-trainer has linear, cosine, constant, constant_with_warmup/),
      report_to: expect.stringMatching(/only to the console and metrics\.jsonl/),
      bf16: expect.stringMatching(/TensorFlow\.js has no bfloat16/),
    });
  });

  it("HF 4 names and HF's own precedence rules", () => {
    const old = convertHfArgs({
      output_dir: "out",
      evaluation_strategy: "epoch",
      lr_scheduler_type: "constant",
      warmup_steps: 100,
      save_strategy: "epoch",
      report_to: "none",
      fsdp: "",
      optim: "adafactor",
      fp16: true,
      some_future_flag: 3,
    });
    expect(old.args).toEqual({ outputDir: "out", lrSchedulerType: "constant", evalStrategy: "epoch", fp16: true, saveStrategy: "epoch" });
    expect(old.unsupported.map((u) => u.key).sort()).toEqual(["optim", "some_future_flag", "warmup_steps"]);
    expect(old.unsupported.find((u) => u.key === "warmup_steps")!.reason).toMatch(/"constant" schedule ignores warmup; use lr_scheduler_type "constant_with_warmup"/);
    const both = convertHfArgs({ output_dir: "o", warmup_steps: 30, warmup_ratio: 0.2, lr_scheduler_type: "cosine_with_restarts" });
    expect(both.args).toEqual({ outputDir: "o", warmupSteps: 30 });
    expect(both.unsupported.map((u) => u.key)).toEqual(["lr_scheduler_type", "warmup_ratio"]);
  });

  it("prints args on stdout, the report on stderr, and --out writes a spec skeleton that is valid as it is", async () => {
    const json = join(TMP, "training_args.json");
    writeFileSync(json, JSON.stringify(HF_DUMP, null, 2));
    const printed = cli("import-hf", `${REL}/training_args.json`);
    expect(printed.status).toBe(0);
    expect(printed.stdout).toMatch(/^args: \{\n {2}outputDir: "runs\/gpt2-wikitext",\n {2}perDeviceTrainBatchSize: 16,\n/);
    expect(printed.stdout).toMatch(/\n\},\n$/);
    expect(printed.stderr).toMatch(/^5 HF arguments have no equivalent in gen-trainer and were left out:\n/);
    expect(printed.stderr).toContain('  deepspeed = "ds_config_zero2.json": no DeepSpeed; no distributed training');
    expect(printed.stderr).toContain('  report_to = ["tensorboard","wandb"]: gen-trainer logs only to the console and metrics.jsonl');

    const out = cli("import-hf", `${REL}/training_args.json`, "--out", `${REL}/imported.spec.ts`);
    expect(out.status).toBe(0);
    expect(out.stdout).toBe("");
    expect(out.stderr).toContain(`wrote ${REL}/imported.spec.ts (13 args)`);
    expect(readFileSync(join(TMP, "imported.spec.ts"), "utf8")).toBe(specSkeleton(convertHfArgs(HF_DUMP), `${REL}/training_args.json`));
    const e = await explainInProcess(join(TMP, "imported.spec.ts"));
    expect(e.batch.effective).toBe(64);
    expect(e.schedule.warmupSteps).toBe(200);

    const again = cli("import-hf", `${REL}/training_args.json`, "--out", `${REL}/imported.spec.ts`);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/imported\.spec\.ts already exists; import-hf never overwrites/);
  });
});

describe("gen-trainer --watch", () => {
  it("regenerates when the spec or its text file changes, reports invalid specs and keeps watching until SIGTERM", async () => {
    const dir = join(TMP, "watch");
    mkdirSync(dir, { recursive: true });
    const spec = join(dir, "w.spec.ts");
    const corpus = join(dir, "w.txt");
    const program = join(dir, "out", "watched", "train.ts");
    const specWith = (lr: string) =>
      `import { defineTrainer } from "gen-trainer";\nexport default defineTrainer({\n  name: "watched",\n  model: { preset: "mlp", hidden: [16] },\n  data: { text: "w.txt", sequenceLength: 16 },\n  args: { maxSteps: 10, learningRate: ${lr}, saveStrategy: "no" },\n});\n`;
    copyFileSync(join(ROOT, "examples/data/rhymes.txt"), corpus);
    writeFileSync(spec, specWith("1e-2"));

    const child = spawn(process.execPath, [BIN, "--watch", "--out-dir", `${REL}/watch/out`, `${REL}/watch/w.spec.ts`], { cwd: ROOT });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const waitFor = async (what: string, ok: () => boolean) => {
      for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) if (ok()) return;
      throw new Error(`timed out waiting for ${what}; stderr so far:\n${stderr}`);
    };
    const programHas = (text: string) => () => existsSync(program) && readFileSync(program, "utf8").includes(text);
    try {
      await waitFor("the first generation", () => stderr.includes("watching 2 files in 1 folder"));
      expect(readFileSync(program, "utf8")).toContain("const LEARNING_RATE = 0.01;");

      writeFileSync(spec, specWith("2e-2"));
      await waitFor("the new learning rate", programHas("const LEARNING_RATE = 0.02;"));

      const before = stderr.length;
      writeFileSync(spec, specWith("-1"));
      await waitFor("a diagnostic", () => /w\.spec\.ts:6:\d+ error E_RANGE: args\.learningRate is -1/.test(stderr.slice(before)));
      expect(stderr.slice(before)).toContain("the previous program is kept");
      expect(child.exitCode).toBeNull();
      expect(readFileSync(program, "utf8")).toContain("const LEARNING_RATE = 0.02;");

      // A file the spec names is watched too: without it the spec is invalid; when it comes back, it generates.
      const beforeText = stderr.length;
      unlinkSync(corpus);
      writeFileSync(spec, specWith("3e-2"));
      await waitFor("the missing text file", () => /error E_FILE: data\.text: text file "w\.txt" not found/.test(stderr.slice(beforeText)));
      copyFileSync(join(ROOT, "examples/data/rhymes.txt"), corpus);
      await waitFor("regeneration after the text file came back", programHas("const LEARNING_RATE = 0.03;"));
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/stopped watching\.\n$/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
