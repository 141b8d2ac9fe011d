// Language models end to end: a GPT-2 trained on chat rows with a BPE tokenizer it trains itself
// writes a Hugging Face model folder; `gen-trainer sample` continues a prompt from it; a run that
// starts `from` that folder with learning rate 0 writes the same weights back bit for bit; a
// resumed run logs the same losses; the spec's mistakes are located errors.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readSafetensorsFile } from "../../runtime/safetensors.ts";
import { tokenizerFromFile } from "../../runtime/tokenizers/index.ts";
import { generatePrograms, readJsonl, renderSpecTexts, ROOT, runProgram, runPython, tempDir, torchMissing } from "../helpers.ts";

const DIR = join(ROOT, ".tmp", "lm-specs");
const CHAT = join(ROOT, "examples", "data", "chat.jsonl");
const PROMPT = "User: 안녕?\\nAssistant:";

function spec(name: string, body: string): { name: string; text: string } {
  return { name, text: `import { defineTrainer, generationSample } from "gen-trainer";\nexport default defineTrainer({ name: "${name}", ${body} });\nvoid generationSample;\n` };
}

const SMALL = `model: { preset: "gpt2", nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 128 }`;
const DATA = `data: { jsonl: ${JSON.stringify(CHAT)}, evalFraction: 0.05, maxLength: 96 }`;

const programs = await generatePrograms(DIR, [
  spec("lm-bpe", `tokenizer: { train: { vocabSize: 300 } }, ${SMALL}, ${DATA}, args: { perDeviceTrainBatchSize: 8, maxSteps: 12, learningRate: 3e-3, loggingSteps: 1, evalStrategy: "steps", evalSteps: 6, saveSteps: 6 }, callbacks: [generationSample({ prompts: ["${PROMPT}"], everySteps: 6, maxNewTokens: 12 })]`),
]);

describe("a GPT-2 on chat rows with a trained BPE tokenizer", () => {
  const out = tempDir();
  let run: ReturnType<typeof runProgram>;

  it("trains, says how many rows were truncated, and samples the chat prompt", () => {
    run = runProgram(programs["lm-bpe"]!.path, ["--output-dir", out, "--backend", "cpu"]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^data: 371 rows of .*chat\.jsonl \(353 for training, 18 held out\), \d+ truncated to MAX_LENGTH = 96 tokens; tokenizer: 300 tokens$/m);
    const events = readJsonl(join(out, "metrics.jsonl"));
    const losses = events.filter((e) => e.type === "train").map((e) => e.loss as number);
    expect(losses).toHaveLength(12);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    const samples = events.filter((e) => e.type === "sample");
    expect(samples.map((s) => s.prompt)).toEqual(["User: 안녕?\nAssistant:", "User: 안녕?\nAssistant:"]);
    for (const s of samples) expect(s.text as string).not.toContain("<|endoftext|>");
  });

  it("leaves a Hugging Face model folder: config, weights by HF key, tokenizer, generation config, model card", async () => {
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: "gpt2", architectures: ["GPT2LMHeadModel"], n_layer: 1, n_head: 2, n_embd: 16, n_positions: 128, vocab_size: 300, activation_function: "gelu_new" });
    const { tensors, metadata } = await readSafetensorsFile(join(out, "model.safetensors"));
    expect(metadata).toEqual({ format: "pt" });
    expect(Object.keys(tensors).slice(0, 3)).toEqual(["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight"]);
    expect(Object.keys(tensors)).not.toContain("lm_head.weight"); // tied to wte, as save_pretrained writes it
    const tokenizer = tokenizerFromFile(join(out, "tokenizer.json"));
    expect(tokenizer.vocabularySize).toBe(300);
    for (const text of ["User: 안녕?\nAssistant: 안녕하세요! 😊", "Hello, world!"]) expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    expect(JSON.parse(readFileSync(join(out, "generation_config.json"), "utf8"))).toMatchObject({ eos_token_id: tokenizer.eosTokenId });
    expect(readFileSync(join(out, "README.md"), "utf8")).toMatch(/# lm-bpe[\s\S]*eval_loss: \d/);
  });

  it.skipIf(torchMissing())("an independent PyTorch GPT-2 (HF's definition, reading config.json and the HF keys) computes the same logits from the folder", async () => {
    const script = String.raw`
import json, math, sys
import torch, torch.nn.functional as F
from gen_trainer.safetensors_io import read_safetensors
folder = sys.argv[1]
c = json.load(open(folder + "/config.json"))
sd, _ = read_safetensors(folder + "/model.safetensors")
sd = {k[len("transformer."):]: v.double() for k, v in sd.items()}
L, H, D, eps = c["n_layer"], c["n_head"], c["n_embd"], c["layer_norm_epsilon"]
tokens = torch.tensor(json.loads(sys.argv[2]))
B, T = tokens.shape
conv1d = lambda x, w, b: x @ w + b
gelu_new = lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
heads = lambda t: t.view(B, T, H, D // H).permute(0, 2, 1, 3)
x = sd["wte.weight"][tokens] + sd["wpe.weight"][torch.arange(T)].unsqueeze(0)
causal = torch.tril(torch.ones((T, T), dtype=torch.bool))
for l in range(L):
    p = f"h.{l}."
    h = F.layer_norm(x, (D,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"], eps)
    q, k, v = (heads(t) for t in conv1d(h, sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"]).split(D, dim=2))
    w = F.softmax(torch.where(causal, q @ k.transpose(-1, -2) / math.sqrt(D // H), torch.tensor(-1e30, dtype=torch.float64)), dim=-1)
    x = x + conv1d((w @ v).permute(0, 2, 1, 3).reshape(B, T, D), sd[p + "attn.c_proj.weight"], sd[p + "attn.c_proj.bias"])
    h = F.layer_norm(x, (D,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"], eps)
    x = x + conv1d(gelu_new(conv1d(h, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])), sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
x = F.layer_norm(x, (D,), sd["ln_f.weight"], sd["ln_f.bias"], eps)
print(json.dumps(F.linear(x, sd["wte.weight"]).reshape(-1).tolist()))
`;
    const tokens = [[1, 5, 9, 200, 17, 42, 299, 0]];
    const r = runPython(script, [out, JSON.stringify(tokens)]);
    expect(r.status, r.stderr).toBe(0);
    const expected = r.json() as number[];
    const tf = await import("@tensorflow/tfjs");
    await tf.setBackend("cpu");
    const { gpt2 } = await import("../../runtime/models/gpt2.ts");
    const { loadGpt2Weights, readGpt2Folder } = await import("../../runtime/hf-folder.ts");
    const folder = readGpt2Folder(out);
    const model = gpt2(folder.config, { vocabularySize: folder.config.vocabSize, sequenceLength: folder.config.nPositions });
    const params = model.createParameters(0);
    loadGpt2Weights(params, folder.tensors);
    const logits = model.logits(params, tf.tensor2d(tokens, undefined, "int32"));
    const actual = await logits.data();
    const scale = Math.max(...expected.map(Math.abs));
    const maxAbs = Math.max(...expected.map((e, i) => Math.abs(e - actual[i]!)));
    expect(actual.length).toBe(expected.length);
    expect(maxAbs / scale).toBeLessThan(1e-4);
    tf.dispose([logits, ...Object.values(params)]);
  });

  it("gen-trainer sample continues a prompt from the folder", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "bin", "gen-trainer.js"), "sample", out, "--prompt", PROMPT, "--max-new-tokens", "8", "--backend", "cpu"], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith("User: 안녕?\nAssistant:")).toBe(true);
    expect(r.stdout.length).toBeGreaterThan("User: 안녕?\nAssistant:\n".length);
    const missing = spawnSync(process.execPath, [join(ROOT, "bin", "gen-trainer.js"), "sample", join(out, "checkpoint-6"), "--prompt", "x"], { cwd: ROOT, encoding: "utf8" });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("has no config.json");
  });

  it("starting from that folder with learning rate 0 writes the same weights back, bit for bit", async () => {
    const { "lm-from": from } = await generatePrograms(DIR, [
      spec("lm-from", `model: { preset: "gpt2", from: ${JSON.stringify(out)} }, ${DATA}, args: { perDeviceTrainBatchSize: 4, maxSteps: 2, learningRate: 0, maxGradNorm: 0, saveStrategy: "no" }`),
    ]);
    expect(from!.code).toContain("const tokenizer = tokenizerFromFile("); // the folder's own tokenizer.json by default
    const again = tempDir();
    const r = runProgram(from!.path, ["--output-dir", again, "--backend", "cpu", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const before = await readSafetensorsFile(join(out, "model.safetensors"));
    const after = await readSafetensorsFile(join(again, "model.safetensors"));
    expect(Object.keys(after.tensors)).toEqual(Object.keys(before.tensors));
    for (const [name, t] of Object.entries(after.tensors)) expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).equals(Buffer.from(before.tensors[name]!.data.buffer, before.tensors[name]!.data.byteOffset, before.tensors[name]!.data.byteLength)), name).toBe(true);
  });

  it("a resumed run logs the same losses as the uninterrupted one", () => {
    const resumed = tempDir();
    const first = runProgram(programs["lm-bpe"]!.path, ["--output-dir", resumed, "--backend", "cpu", "--quiet"]);
    expect(first.status).toBe(0);
    rmSync(join(resumed, "checkpoint-12"), { recursive: true });
    const second = runProgram(programs["lm-bpe"]!.path, ["--output-dir", resumed, "--backend", "cpu", "--quiet", "--resume", join(resumed, "checkpoint-6")]);
    expect(second.stderr).toBe("");
    expect(second.status).toBe(0);
    const losses = (dir: string) => readJsonl(join(dir, "metrics.jsonl")).filter((e) => e.type === "train").map((e) => e.loss);
    expect(losses(resumed)).toEqual(losses(out));
  });
});

describe("language-model specs: located errors", () => {
  it("a malformed row, a tokenizer for addition data, a folder that is not GPT-2, and rows longer than the model are reported at generation", async () => {
    const bad = join(DIR, "bad.jsonl");
    writeFileSync(bad, `{"text": "fine"}\n{"messages": [{"role": "robot", "content": "beep"}]}\nnot json\n`);
    const notGpt2 = tempDir();
    writeFileSync(join(notGpt2, "config.json"), JSON.stringify({ model_type: "llama" }));
    const { diagnostics } = await renderSpecTexts(DIR, [
      spec("lm-bad-rows", `model: { preset: "gpt2", nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 64 }, data: { jsonl: ${JSON.stringify(bad)} }, args: { maxSteps: 1 }`),
      spec("lm-bad-tokenizer", `tokenizer: "gpt2", model: { preset: "mlp", hidden: [8] }, data: { preset: "addition", digits: 2 }, args: { maxSteps: 1 }`),
      spec("lm-bad-folder", `model: { preset: "gpt2", from: ${JSON.stringify(notGpt2)} }, ${DATA}, args: { maxSteps: 1 }`),
      spec("lm-too-long", `model: { preset: "gpt2", nLayer: 1, nHead: 2, nEmbd: 16, nPositions: 64 }, data: { jsonl: ${JSON.stringify(CHAT)}, maxLength: 128 }, args: { maxSteps: 1 }`),
    ]);
    const text = diagnostics.map((d) => `${d.file.split("/").pop()}:${d.line} ${d.code} ${d.message}`);
    expect(text.some((t) => /^lm-bad-rows\.spec\.ts:\d+ E_JSONL .*bad\.jsonl:2: .*robot/.test(t))).toBe(true);
    expect(text.some((t) => /^lm-bad-rows\.spec\.ts:\d+ E_JSONL .*bad\.jsonl:3: /.test(t))).toBe(true);
    expect(text.some((t) => /^lm-bad-tokenizer\.spec\.ts:\d+ E_TOKENIZER tokenizer "gpt2" needs rows of text/.test(t))).toBe(true);
    expect(text.some((t) => /^lm-bad-folder\.spec\.ts:\d+ E_MODEL_FOLDER .*model_type "llama"/.test(t))).toBe(true);
    expect(text.some((t) => /^lm-too-long\.spec\.ts:\d+ E_CONTEXT data\.maxLength \(128\) is longer than the model's 64 positions/.test(t))).toBe(true);
    expect(existsSync(join(DIR, "generated", "lm-bad-rows"))).toBe(false);
  });
});
