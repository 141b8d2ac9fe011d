// Callbacks: HF's event order, control flags, the built-ins (generationSample, earlyStopping),
// errors in callbacks, and what the generator checks in callback classes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateProgram, generatePrograms, readJsonl, renderSpecTexts, ROOT, runProgram, tempDir } from "../helpers.ts";

const DIR = join(ROOT, ".tmp", "callback-specs");
const MODULES = join(ROOT, "test", "specs", "modules");

function specText(name: string, args: string, callbacks: string, imports = "defineTrainer"): string {
  return `import { ${imports} } from "gen-trainer";
export default defineTrainer({
  name: "${name}",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 24, evalExamples: 16 },
  args: { perDeviceTrainBatchSize: 4, perDeviceEvalBatchSize: 16, learningRate: 1e-3, saveStrategy: "no", ${args} },
  callbacks: [${callbacks}],
});
`;
}

const generate = (name: string, text: string) => renderSpecTexts(DIR, [{ name, text }]);

const program = (name: string, text: string) => generateProgram(DIR, name, text);

const recorder = (options: Record<string, unknown>) =>
  `{ module: ${JSON.stringify(join(MODULES, "record-events.ts"))}, export: "RecordEvents", options: ${JSON.stringify(options)} }`;

describe("callbacks", () => {
  it("a recording callback sees HF's event sequence (accumulation, logging, eval, two epochs)", async () => {
    const events = join(tempDir(), "events.json");
    // 24 examples in micro-batches of 4, 2 per step: 3 steps per epoch; 4 steps cross into epoch 1.
    const { path } = await program("record-order", specText("record-order", `gradientAccumulationSteps: 2, maxSteps: 4, loggingSteps: 2, evalStrategy: "steps", evalSteps: 2`, recorder({ path: events })));
    const r = runProgram(path, ["--output-dir", tempDir(), "--backend", "cpu", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const step = (n: number, tail: string[] = []) => [`onStepBegin@${n - 1}`, `onSubstepEnd@${n - 1}`, `onPreOptimizerStep@${n - 1}`, `onOptimizerStep@${n - 1}`, `onStepEnd@${n}`, ...tail];
    expect(JSON.parse(readFileSync(events, "utf8"))).toEqual([
      "onTrainBegin@0",
      "onEpochBegin@0",
      ...step(1),
      ...step(2, ["onLog(train)@2", "onLog(eval)@2", "onEvaluate@2"]),
      ...step(3, ["onEpochEnd@3"]),
      "onEpochBegin@3",
      ...step(4, ["onLog(train)@4", "onLog(eval)@4", "onEvaluate@4", "onEpochEnd@4"]),
      "onTrainEnd@4",
    ]);
  });

  it("the same callback class listed twice: two instances with their own options, one import", async () => {
    const first = join(tempDir(), "first.json");
    const second = join(tempDir(), "second.json");
    const { path, code } = await program("two-recorders", specText("two-recorders", `maxSteps: 3, loggingSteps: 2`, `${recorder({ path: first })}, ${recorder({ path: second, logAtStep: 1 })}`));
    expect(code.match(/import \{ RecordEvents \}/g)).toHaveLength(1);
    expect(code).toContain("const recordEvents = new RecordEvents(RECORD_EVENTS_OPTIONS);");
    expect(code).toContain("const recordEvents2 = new RecordEvents(RECORD_EVENTS2_OPTIONS);");
    const r = runProgram(path, ["--output-dir", tempDir(), "--backend", "cpu", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const a = JSON.parse(readFileSync(first, "utf8")) as string[];
    const b = JSON.parse(readFileSync(second, "utf8")) as string[];
    expect(a[0]).toBe("onTrainBegin@0");
    expect(a.at(-1)).toBe("onTrainEnd@3");
    // the second instance asked for a log line at step 1: both see it, in the listed order
    expect(a).toContain("onLog(train)@1");
    expect(b).toContain("onLog(train)@1");
    expect(b.filter((e) => e.startsWith("onStepEnd"))).toEqual(["onStepEnd@1", "onStepEnd@2", "onStepEnd@3"]);
  });

  it("a user callback stops training at step 7, and can ask for a log line", async () => {
    const events = join(tempDir(), "events.json");
    const { path } = await program("stop-at-7", specText("stop-at-7", `maxSteps: 20, loggingSteps: 5`, recorder({ path: events, stopAtStep: 7, logAtStep: 3 })));
    const out = tempDir();
    const r = runProgram(path, ["--output-dir", out, "--backend", "cpu", "--quiet"]);
    expect(r.status).toBe(0);
    const train = readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "train");
    expect(train.map((e) => e.step)).toEqual([3, 5]); // 3: asked for; 5: loggingSteps; nothing after 7
    const state = JSON.parse(readFileSync(join(out, "trainer_state.json"), "utf8")) as { global_step: number };
    expect(state.global_step).toBe(7);
    const recorded = JSON.parse(readFileSync(events, "utf8")) as string[];
    expect(recorded.filter((e) => e.startsWith("onStepEnd"))).toHaveLength(7);
    expect(recorded.slice(-2)).toEqual(["onEpochEnd@7", "onTrainEnd@7"]);
  });

  it("`every` makes the generated code call onStepEnd only on those steps", async () => {
    const events = join(tempDir(), "events.json");
    const ref = `{ module: ${JSON.stringify(join(MODULES, "record-events.ts"))}, export: "RecordEvents", options: ${JSON.stringify({ path: events })}, every: 3 }`;
    const { path, code } = await program("every-3", specText("every-3", `maxSteps: 7, loggingSteps: 5`, ref));
    expect(code).toContain("if (step % RECORD_EVENTS_EVERY === 0)");
    const r = runProgram(path, ["--output-dir", tempDir(), "--backend", "cpu", "--quiet"]);
    expect(r.status).toBe(0);
    const recorded = JSON.parse(readFileSync(events, "utf8")) as string[];
    expect(recorded.filter((e) => e.startsWith("onStepEnd"))).toEqual(["onStepEnd@3", "onStepEnd@6"]);
    expect(recorded.filter((e) => e.startsWith("onStepBegin"))).toHaveLength(7);
  });

  it("a callback that throws stops the run with a message naming the callback and the event", async () => {
    const { path } = await program("throws", specText("throws", `maxSteps: 10, loggingSteps: 5`, recorder({ path: join(tempDir(), "e.json"), throwAtStep: 2 })));
    const out = tempDir();
    const r = runProgram(path, ["--output-dir", out, "--backend", "cpu", "--quiet"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("callback RecordEvents failed in onStepEnd: boom");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("a class implementing only onEvaluate gets exactly one call site, in eval", () => {
    const code = readFileSync(join(ROOT, "generated/user-callback-evaluate/train.ts"), "utf8");
    expect(code.match(/evalReporter\.on\w+\(/g)).toEqual(["evalReporter.onEvaluate("]);
    const evalBlock = code.slice(code.indexOf("  // eval\n"), code.indexOf("control.shouldEvaluate = false;"));
    expect(evalBlock).toContain("evalReporter.onEvaluate(");
  });

  it("generationSample writes samples and does not change the trajectory or leak tensors", async () => {
    const args = `maxSteps: 12, loggingSteps: 1`;
    const { "no-samples": plain, "with-samples": sampled } = await generatePrograms(DIR, [
      { name: "no-samples", text: specText("no-samples", args, "") },
      { name: "with-samples", text: specText("with-samples", args, `generationSample({ prompts: ["12+34=", "5+5="], everySteps: 4, maxNewTokens: 4, temperature: 0.8, topK: 5 })`, "defineTrainer, generationSample") },
    ]);
    const outs = [tempDir(), tempDir()];
    const env = { GEN_TRAINER_TRACE_TENSORS: "1" };
    const r1 = runProgram(plain!.path, ["--output-dir", outs[0]!, "--backend", "cpu", "--quiet"], env);
    const r2 = runProgram(sampled!.path, ["--output-dir", outs[1]!, "--backend", "cpu"], env);
    expect(r1.status).toBe(0);
    expect(r2.status).toBe(0);
    const [a, b] = outs.map((o) => readJsonl(join(o, "metrics.jsonl")));
    const losses = (events: Record<string, unknown>[]) => events.filter((e) => e.type === "train").map((e) => e.loss);
    expect(losses(b!)).toEqual(losses(a!));
    expect(readFileSync(join(outs[1]!, "model.safetensors")).equals(readFileSync(join(outs[0]!, "model.safetensors")))).toBe(true);
    const samples = b!.filter((e) => e.type === "sample");
    expect(samples.map((s) => [s.step, s.prompt])).toEqual([4, 8, 12].flatMap((s) => [[s, "12+34="], [s, "5+5="]]));
    for (const s of samples) expect(typeof s.text).toBe("string");
    expect(r2.stdout).toMatch(/\[step 4\] sample: "12\+34=/);
    const counts = b!.filter((e) => e.type === "train").map((e) => e.num_tensors);
    expect(new Set(counts.slice(1)).size).toBe(1);
  });

  it("earlyStopping stops after `patience` evaluations without an improvement above the threshold", async () => {
    // threshold 10 nats: no evaluation can improve by that much, so the counter grows at every
    // evaluation after the first: 5 → best, 10 → 1, 15 → 2 = patience: stop at step 15.
    const { path } = await program(
      "early-stop",
      specText("early-stop", `maxSteps: 40, loggingSteps: 5, evalStrategy: "steps", evalSteps: 5, metricForBestModel: "loss"`, `earlyStopping({ patience: 2, threshold: 10 })`, "defineTrainer, earlyStopping"),
    );
    const out = tempDir();
    const r = runProgram(path, ["--output-dir", out, "--backend", "cpu", "--quiet"]);
    expect(r.status).toBe(0);
    const state = JSON.parse(readFileSync(join(out, "trainer_state.json"), "utf8")) as { global_step: number; stateful_callbacks: Record<string, { attributes: { early_stopping_patience_counter: number } }> };
    expect(state.global_step).toBe(15);
    expect(state.stateful_callbacks.EarlyStoppingCallback!.attributes.early_stopping_patience_counter).toBe(2);
    expect(readJsonl(join(out, "metrics.jsonl")).filter((e) => e.type === "eval").map((e) => e.step)).toEqual([5, 10, 15]);
  });

  it("generation errors: a misspelt hook (line:col in the module, did-you-mean), earlyStopping without eval or metric, a prompt outside the vocabulary", async () => {
    const misspelt = await generate("bad-hook", specText("bad-hook", "maxSteps: 5", `{ module: ${JSON.stringify(join(MODULES, "misspelt-hook.ts"))}, export: "Misspelt" }`));
    expect(misspelt.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`)).toEqual([
      `test/specs/modules/misspelt-hook.ts:3:3 E_CALLBACK_HOOK Misspelt.onStepEnded is not a callback event; did you mean "onStepEnd"?`,
    ]);
    const early = await generate("bad-early", specText("bad-early", "maxSteps: 5", `earlyStopping({ patience: 1 })`, "defineTrainer, earlyStopping"));
    expect(early.diagnostics.map((d) => d.code).sort()).toEqual(["E_NEEDS_EVAL", "E_NEEDS_METRIC"]);
    const prompt = await generate("bad-prompt", specText("bad-prompt", "maxSteps: 5", `generationSample({ prompts: ["12*3="], everySteps: 2, maxNewTokens: 3 })`, "defineTrainer, generationSample"));
    expect(prompt.diagnostics).toHaveLength(1);
    expect(prompt.diagnostics[0]!.message).toContain(`prompt "12*3=" has characters the data's vocabulary lacks: "*"`);
    const noGenerate = await generate(
      "no-generate",
      specText("no-generate", "maxSteps: 5", `generationSample({ prompts: ["1+1="], everySteps: 2, maxNewTokens: 3 })`, "defineTrainer, generationSample").replace(
        `model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 }`,
        `model: { module: ${JSON.stringify(join(MODULES, "bigram-model.ts"))} }`,
      ),
    );
    expect(noGenerate.diagnostics.map((d) => d.code)).toEqual(["E_NO_GENERATE"]);
    expect(noGenerate.diagnostics[0]!.message).toMatch(/bigram-model\.ts defines no generate\(\)/);
    const missingClass = await generate("bad-class", specText("bad-class", "maxSteps: 5", `{ module: ${JSON.stringify(join(MODULES, "record-events.ts"))}, export: "Nope" }`));
    expect(missingClass.diagnostics[0]!.message).toMatch(/exports no class named "Nope"/);
  });
});
