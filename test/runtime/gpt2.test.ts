/**
 * test/runtime/gpt2.test.ts — GPT-2 (runtime/models/gpt2.ts), its TF-free description
 * (runtime/presets/gpt2.ts) and Hugging Face folders (runtime/hf-folder.ts).
 *
 * Parity: a Python script (plain torch, nothing of ours for the model) builds small random GPT-2s,
 * writes them in HF layout and computes GPT2LMHeadModel's forward from HF's definition; the TS
 * model loads the folders and must give the same logits within 1e-4. Then: every loading error
 * names the key/file with the expected and found shapes, a folder read and written back keeps
 * every tensor bit for bit, the model trains without leaking tensors, and gpt2Shapes is exactly
 * what createParameters creates.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { readGpt2Folder, loadGpt2Weights, writeGpt2Folder, type HostTensor } from "../../runtime/hf-folder.ts";
import { gpt2 } from "../../runtime/models/gpt2.ts";
import { parameterSeed } from "../../runtime/models/char-transformer.ts";
import { GPT2_DEFAULTS, gpt2ConfigJson, gpt2Shapes, readGpt2Config, type Gpt2Config } from "../../runtime/presets/gpt2.ts";
import { AdamW } from "../../runtime/optimizer.ts";
import { encodeSafetensors, type SafetensorsTensor } from "../../runtime/safetensors.ts";
import { sortedJson } from "../../runtime/files.ts";
import { registerWasmKernels } from "../../runtime/wasm-kernels.ts";
import { UserError } from "../../runtime/user-error.ts";
import type { Batch, NamedParams } from "../../runtime/types.ts";
import { loadsTensorFlow, runPython, tempDir, torchMissing } from "../helpers.ts";

const TORCH_MISSING = torchMissing();
const WORK = tempDir("gen-trainer-gpt2-");
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

beforeAll(async () => {
  registerWasmKernels();
  await tf.setBackend("wasm"); // initialise once, so later switches are cheap
  await tf.setBackend("cpu");
});

/**
 * GPT-2 from HF's modeling_gpt2.py (GPT2LMHeadModel in eval mode), in plain torch: Conv1D is
 * x @ W + b with W [in, out]; c_attn's output split into q|k|v, each viewed [B, T, H, dh] and
 * permuted; scores / sqrt(dh), causal mask by torch.where with finfo.min, softmax, @ v; gelu_new is
 * NewGELUActivation; lm_head is F.linear(h, wte). Computed in float64 (the reference) and float32
 * (what HF computes) from the same float32 weights.
 *
 * Writes two folders under argv[1]:
 *   A: keys with "transformer.", layer_norm_epsilon 1e-5, config.json as save_pretrained writes it;
 *   B: the original gpt2 repository's layout: no prefix, lm_head.weight (= wte), the old causal
 *      mask buffers h.<i>.attn.bias / attn.masked_bias, n_ctx instead of n_positions, eps 1e-3.
 * Prints {variants: [{name, dir, tokens, logits64, logits32, grads}]}, grads being the float64
 * gradients of the summed next-token cross-entropy by "transformer."-prefixed key.
 */
const PYTHON_GPT2 = String.raw`
import json, math, os, sys
import torch
import torch.nn.functional as F
from gen_trainer.safetensors_io import write_safetensors

L, H, D, P, V = 2, 4, 32, 16, 50

def random_weights(seed):
    g = torch.Generator().manual_seed(seed)
    rn = lambda *shape, std: torch.randn(*shape, generator=g) * std
    sd = {"wte.weight": rn(V, D, std=0.5), "wpe.weight": rn(P, D, std=0.3)}
    for l in range(L):
        h = f"h.{l}."
        sd[h + "ln_1.weight"] = 1 + rn(D, std=0.3)
        sd[h + "ln_1.bias"] = rn(D, std=0.2)
        sd[h + "attn.c_attn.weight"] = rn(D, 3 * D, std=0.3)
        sd[h + "attn.c_attn.bias"] = rn(3 * D, std=0.2)
        sd[h + "attn.c_proj.weight"] = rn(D, D, std=0.2)
        sd[h + "attn.c_proj.bias"] = rn(D, std=0.2)
        sd[h + "ln_2.weight"] = 1 + rn(D, std=0.3)
        sd[h + "ln_2.bias"] = rn(D, std=0.2)
        sd[h + "mlp.c_fc.weight"] = rn(D, 4 * D, std=0.3)
        sd[h + "mlp.c_fc.bias"] = rn(4 * D, std=0.2)
        sd[h + "mlp.c_proj.weight"] = rn(4 * D, D, std=0.15)
        sd[h + "mlp.c_proj.bias"] = rn(D, std=0.2)
    sd["ln_f.weight"] = 1 + rn(D, std=0.3)
    sd["ln_f.bias"] = rn(D, std=0.2)
    return sd

def conv1d(x, w, b):  # transformers.pytorch_utils.Conv1D
    size_out = x.size()[:-1] + (w.size(-1),)
    return torch.addmm(b, x.view(-1, x.size(-1)), w).view(size_out)

def gelu_new(x):  # transformers.activations.NewGELUActivation
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

def forward(sd, eps, tokens, dtype):
    sd = {k: v.to(dtype) for k, v in sd.items()}
    B, T = tokens.shape
    dh = D // H
    x = sd["wte.weight"][tokens] + sd["wpe.weight"][torch.arange(T)].unsqueeze(0)
    causal = torch.tril(torch.ones((T, T), dtype=torch.bool)).view(1, 1, T, T)
    split_heads = lambda t: t.view(B, T, H, dh).permute(0, 2, 1, 3)
    for l in range(L):
        p = f"h.{l}."
        h = F.layer_norm(x, (D,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"], eps)
        q, k, v = conv1d(h, sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"]).split(D, dim=2)
        q, k, v = split_heads(q), split_heads(k), split_heads(v)
        w = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=dtype)
        w = torch.where(causal, w, torch.full([], torch.finfo(dtype).min, dtype=dtype))
        w = F.softmax(w, dim=-1)
        a = torch.matmul(w, v).permute(0, 2, 1, 3).contiguous().view(B, T, D)
        x = x + conv1d(a, sd[p + "attn.c_proj.weight"], sd[p + "attn.c_proj.bias"])
        h = F.layer_norm(x, (D,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"], eps)
        m = conv1d(gelu_new(conv1d(h, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])), sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
        x = x + m
    x = F.layer_norm(x, (D,), sd["ln_f.weight"], sd["ln_f.bias"], eps)
    return F.linear(x, sd["wte.weight"])

def write_json(path, value):
    with open(path, "w") as f:
        f.write(json.dumps(value, indent=2, sort_keys=True) + "\n")

out = sys.argv[1]
variants = []
for name, seed, eps in [("A", 1, 1e-5), ("B", 2, 1e-3)]:
    sd = random_weights(seed)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    if name == "A":
        tensors = {"transformer." + k: v for k, v in sd.items()}
        config = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1, "bos_token_id": 0,
                  "embd_pdrop": 0.1, "eos_token_id": 0, "initializer_range": 0.02, "layer_norm_epsilon": eps, "model_type": "gpt2",
                  "n_ctx": P, "n_embd": D, "n_head": H, "n_inner": None, "n_layer": L, "n_positions": P, "reorder_and_upcast_attn": False,
                  "resid_pdrop": 0.1, "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True, "summary_activation": None,
                  "summary_first_dropout": 0.1, "summary_proj_to_labels": True, "summary_type": "cls_index", "summary_use_proj": True,
                  "torch_dtype": "float32", "transformers_version": "4.44.0", "use_cache": True, "vocab_size": V}
    else:
        tensors = {}
        for k, v in sd.items():
            if k.endswith("attn.c_attn.weight"):
                layer = k.split(".")[1]
                tensors[f"h.{layer}.attn.bias"] = torch.tril(torch.ones(P, P)).view(1, 1, P, P)
                tensors[f"h.{layer}.attn.masked_bias"] = torch.tensor(-1e4)
            tensors[k] = v
        tensors["lm_head.weight"] = sd["wte.weight"].clone()
        config = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "layer_norm_epsilon": eps, "model_type": "gpt2",
                  "n_ctx": P, "n_embd": D, "n_head": H, "n_layer": L, "vocab_size": V}
    write_json(os.path.join(d, "config.json"), config)
    write_safetensors(os.path.join(d, "model.safetensors"), tensors, {"format": "pt"})
    g = torch.Generator().manual_seed(100 + seed)
    tokens = torch.randint(0, V, (3, P), generator=g)
    # Gradients of the summed next-token cross-entropy (inputs tokens[:, :-1], targets tokens[:, 1:]), float64.
    leaves = {k: v.double().requires_grad_() for k, v in sd.items()}
    logits = forward(leaves, eps, tokens[:, :-1], torch.float64)
    F.cross_entropy(logits.reshape(-1, V), tokens[:, 1:].reshape(-1), reduction="sum").backward()
    variants.append({
        "name": name, "dir": d, "eps": eps, "tokens": tokens.tolist(),
        "logits64": forward(sd, eps, tokens, torch.float64).reshape(-1).tolist(),
        "logits32": forward(sd, eps, tokens, torch.float32).reshape(-1).tolist(),
        "grads": {"transformer." + k: v.grad.reshape(-1).tolist() for k, v in leaves.items()},
    })
print(json.dumps({"variants": variants}))
`;

interface Variant {
  name: string;
  dir: string;
  eps: number;
  tokens: number[][];
  logits64: number[];
  logits32: number[];
  grads: Record<string, number[]>;
}

/** Largest absolute difference, and the same relative to the largest |expected| (a normwise relative error). */
function differences(actual: ArrayLike<number>, expected: ArrayLike<number>): { maxAbs: number; maxRel: number } {
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return { maxAbs, maxRel: maxAbs / Math.max(scale, 1e-30) };
}

function disposeParams(params: NamedParams): void {
  tf.dispose(Object.values(params));
}

/** Bit patterns of float32 data, for exact comparisons (-0 vs 0, NaN payloads included). */
const bits = (data: Float32Array): Uint32Array => new Uint32Array(data.buffer, data.byteOffset, data.length);

describe.skipIf(TORCH_MISSING !== null)(`GPT-2 parity with Hugging Face's definition${TORCH_MISSING ? ` (skipped: ${TORCH_MISSING})` : ""}`, () => {
  let variants: Variant[] = [];
  beforeAll(() => {
    const dir = join(WORK, "python");
    mkdirSync(dir, { recursive: true });
    const r = runPython(PYTHON_GPT2, [dir]);
    expect(r.status, r.stderr).toBe(0);
    variants = (r.json() as { variants: Variant[] }).variants;
  });

  async function tsLogits(variant: Variant, backend: "cpu" | "wasm"): Promise<Float32Array> {
    await tf.setBackend(backend);
    try {
      const folder = readGpt2Folder(variant.dir);
      const model = gpt2(folder.config, { vocabularySize: folder.config.vocabSize, sequenceLength: folder.config.nPositions });
      const params = model.createParameters(0);
      loadGpt2Weights(params, folder.tensors);
      const tokens = tf.tensor2d(variant.tokens, undefined, "int32");
      const logits = model.logits(params, tokens);
      expect(logits.shape).toEqual([variant.tokens.length, variant.tokens[0]!.length, folder.config.vocabSize]);
      const data = (await logits.data()) as Float32Array;
      tf.dispose([tokens, logits]);
      disposeParams(params);
      return data;
    } finally {
      await tf.setBackend("cpu");
    }
  }

  it("reads both layouts' config.json (n_positions, the n_ctx alias, epsilon, token ids)", () => {
    const [a, b] = variants as [Variant, Variant];
    expect(readGpt2Config(a.dir)).toEqual({ nLayer: 2, nHead: 4, nEmbd: 32, nPositions: 16, vocabSize: 50, layerNormEpsilon: 1e-5, bosTokenId: 0, eosTokenId: 0 });
    // B has no n_positions (n_ctx alias) and no token ids (GPT2Config's defaults, 50256).
    expect(readGpt2Config(b.dir)).toEqual({ nLayer: 2, nHead: 4, nEmbd: 32, nPositions: 16, vocabSize: 50, layerNormEpsilon: 1e-3, bosTokenId: 50256, eosTokenId: 50256 });
  });

  for (const [name, what] of [
    ["A", "transformer.-prefixed keys, layer_norm_epsilon 1e-5"],
    ["B", "no prefix, lm_head.weight, old attn.bias/masked_bias buffers, n_ctx alias, layer_norm_epsilon 1e-3"],
  ] as const) {
    it(`logits equal HF's forward within 1e-4 on cpu (${name}: ${what})`, async () => {
      const variant = variants.find((v) => v.name === name)!;
      const logits = await tsLogits(variant, "cpu");
      const vs64 = differences(logits, variant.logits64);
      const vs32 = differences(logits, variant.logits32);
      const torch32 = differences(variant.logits32, variant.logits64);
      console.log(
        `gpt2 parity ${name} (cpu, ${variant.logits64.length} logits): TS vs torch float64 max abs ${vs64.maxAbs.toExponential(2)} rel (to the largest logit) ${vs64.maxRel.toExponential(2)}; ` +
          `TS vs torch float32 max abs ${vs32.maxAbs.toExponential(2)} rel ${vs32.maxRel.toExponential(2)}; torch float32 vs float64 max abs ${torch32.maxAbs.toExponential(2)}`,
      );
      expect(vs64.maxAbs).toBeLessThan(1e-4);
      expect(vs32.maxAbs).toBeLessThan(1e-4);
      // The logits are not trivially small: the comparison has something to measure.
      expect(Math.max(...variant.logits64.map(Math.abs))).toBeGreaterThan(1);
    });
  }

  it("the wasm backend (custom-gradient matmuls, explicit transposes) gives the same logits", async () => {
    const variant = variants.find((v) => v.name === "B")!;
    const logits = await tsLogits(variant, "wasm");
    const vs64 = differences(logits, variant.logits64);
    console.log(`gpt2 parity B (wasm): TS vs torch float64 max abs ${vs64.maxAbs.toExponential(2)} rel (to the largest logit) ${vs64.maxRel.toExponential(2)}`);
    expect(vs64.maxAbs).toBeLessThan(1e-4);
  });

  for (const backend of ["cpu", "wasm"] as const) {
    it(`gradients of the summed cross-entropy equal torch autograd's on ${backend} (tied wte gets both uses)`, async () => {
      const variant = variants.find((v) => v.name === "A")!;
      await tf.setBackend(backend);
      try {
        const folder = readGpt2Folder(variant.dir);
        const model = gpt2(folder.config, { vocabularySize: folder.config.vocabSize, sequenceLength: folder.config.nPositions });
        const params = model.createParameters(0);
        loadGpt2Weights(params, folder.tensors);
        const rows = variant.tokens;
        const x = tf.tensor2d(rows.map((r) => r.slice(0, -1)), undefined, "int32");
        const y = tf.tensor2d(rows.map((r) => r.slice(1)), undefined, "int32");
        const batch: Batch = { x, y, mask: tf.ones(x.shape), items: x.size };
        const { value, grads } = tf.variableGrads(() => model.lossSum(params, batch), Object.values(params));
        let worst = { name: "", maxAbs: 0, maxRel: 0 };
        for (const [name, p] of Object.entries(params)) {
          const d = differences((await grads[p.name]!.data()) as Float32Array, variant.grads[name]!);
          if (d.maxRel > worst.maxRel) worst = { name, ...d };
        }
        console.log(`gpt2 gradient parity A (${backend}): worst parameter ${worst.name}: max abs ${worst.maxAbs.toExponential(2)}, relative to its largest gradient ${worst.maxRel.toExponential(2)}`);
        expect(worst.maxRel).toBeLessThan(1e-4);
        tf.dispose([value, grads, x, y, batch.mask]);
        disposeParams(params);
      } finally {
        await tf.setBackend("cpu");
      }
    });
  }

  it("read → write → read keeps every tensor bit for bit (and model.safetensors byte for byte in HF order)", async () => {
    for (const variant of variants) {
      const first = readGpt2Folder(variant.dir);
      const model = gpt2(first.config, { vocabularySize: first.config.vocabSize, sequenceLength: 8 });
      const params = model.createParameters(3);
      loadGpt2Weights(params, first.tensors);
      const out = join(WORK, `roundtrip-${variant.name}`);
      await writeGpt2Folder(out, {
        config: first.config,
        params,
        tokenizerJson: { version: "1.0", model: { type: "BPE" } },
        tokenizerConfig: '{"model_max_length": 16}\n',
        generationConfig: { max_length: 16, do_sample: undefined },
        card: `# GPT-2 ${variant.name}\n`,
      });
      disposeParams(params);
      const second = readGpt2Folder(out);
      expect(second.config).toEqual(first.config);
      expect(Object.keys(second.tensors)).toEqual(Object.keys(first.tensors));
      for (const [name, t] of Object.entries(first.tensors)) {
        expect(second.tensors[name]!.shape, name).toEqual(t.shape);
        expect(Buffer.from(bits(second.tensors[name]!.data).buffer).equals(Buffer.from(bits(t.data).buffer)), name).toBe(true);
      }
      // A (written by Python in the same order and metadata) is reproduced byte for byte.
      if (variant.name === "A") expect(readFileSync(join(out, "model.safetensors")).equals(readFileSync(join(variant.dir, "model.safetensors")))).toBe(true);
      expect(JSON.parse(readFileSync(join(out, "generation_config.json"), "utf8"))).toEqual({
        bos_token_id: first.config.bosTokenId,
        eos_token_id: first.config.eosTokenId,
        max_length: 16,
      });
      expect(JSON.parse(readFileSync(join(out, "tokenizer.json"), "utf8"))).toEqual({ version: "1.0", model: { type: "BPE" } });
      expect(readFileSync(join(out, "tokenizer_config.json"), "utf8")).toBe('{"model_max_length": 16}\n');
      expect(readFileSync(join(out, "README.md"), "utf8")).toBe(`# GPT-2 ${variant.name}\n`);
    }
  });

  it("what writeGpt2Folder writes is read back by Python as HF's layout (keys, dtype, config fields)", async () => {
    const out = join(WORK, "roundtrip-A");
    const r = runPython(
      String.raw`
import json, sys
from gen_trainer.safetensors_io import read_safetensors
tensors, metadata = read_safetensors(sys.argv[1] + "/model.safetensors")
config = json.load(open(sys.argv[1] + "/config.json"))
print(json.dumps({"keys": list(tensors), "dtypes": sorted({str(t.dtype) for t in tensors.values()}), "metadata": metadata, "config": config}))
`,
      [out],
    );
    expect(r.status, r.stderr).toBe(0);
    const { keys, dtypes, metadata, config } = r.json() as { keys: string[]; dtypes: string[]; metadata: Record<string, string>; config: Record<string, unknown> };
    expect(keys).toEqual(gpt2Shapes(readGpt2Config(out)).map((s) => s.name));
    expect(dtypes).toEqual(["torch.float32"]);
    expect(metadata).toEqual({ format: "pt" });
    expect(config).toMatchObject({ model_type: "gpt2", architectures: ["GPT2LMHeadModel"], n_layer: 2, n_head: 4, n_embd: 32, n_positions: 16, n_ctx: 16, vocab_size: 50, tie_word_embeddings: true, activation_function: "gelu_new" });
  });
});

// ---------------------------------------------------------------------------------------------
// Errors

const SMALL: Gpt2Config = { nLayer: 2, nHead: 4, nEmbd: 32, nPositions: 16, vocabSize: 50, layerNormEpsilon: 1e-5, bosTokenId: 0, eosTokenId: 0 };

/** Host tensors of SMALL (values i·1e-3), keyed by HF key. */
function smallTensors(config = SMALL): Record<string, SafetensorsTensor> {
  const out: Record<string, SafetensorsTensor> = {};
  for (const { name, shape } of gpt2Shapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    out[name] = { dtype: "F32", shape, data: Float32Array.from({ length: n }, (_, i) => i * 1e-3) };
  }
  return out;
}

let folderCount = 0;
function writeFolder(tensors: Record<string, SafetensorsTensor> | Uint8Array, config: Record<string, unknown> = gpt2ConfigJson(SMALL)): string {
  const dir = join(WORK, `folder-${++folderCount}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), sortedJson(config));
  writeFileSync(join(dir, "model.safetensors"), tensors instanceof Uint8Array ? tensors : encodeSafetensors(tensors, { format: "pt" }));
  return dir;
}

function userError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error("expected a UserError");
}

describe("GPT-2 folders: errors name the key or file, the expected and the found", () => {
  it("a well-formed folder reads (control)", () => {
    const folder = readGpt2Folder(writeFolder(smallTensors()));
    expect(folder.config).toEqual(SMALL);
    expect(Object.keys(folder.tensors)).toEqual(gpt2Shapes(SMALL).map((s) => s.name));
  });

  it("a missing key", () => {
    const tensors = smallTensors();
    delete tensors["transformer.h.1.mlp.c_fc.bias"];
    const dir = writeFolder(tensors);
    const message = userError(() => readGpt2Folder(dir));
    expect(message).toContain(join(dir, "model.safetensors"));
    expect(message).toContain(`missing tensor "transformer.h.1.mlp.c_fc.bias": expected shape [128], found none`);
  });

  it("an unexpected key", () => {
    const tensors = smallTensors();
    tensors["transformer.h.0.attn.q_proj.weight"] = { dtype: "F32", shape: [3, 2], data: new Float32Array(6) };
    const message = userError(() => readGpt2Folder(writeFolder(tensors)));
    expect(message).toContain(`unexpected tensor "transformer.h.0.attn.q_proj.weight": expected none`);
    expect(message).toContain("found shape [3, 2]");
  });

  it("a wrong shape (named with the file's own key when it has no prefix)", () => {
    const tensors: Record<string, SafetensorsTensor> = {};
    for (const [name, t] of Object.entries(smallTensors())) tensors[name.slice("transformer.".length)] = t;
    tensors["wpe.weight"] = { dtype: "F32", shape: [8, 32], data: new Float32Array(8 * 32) };
    const message = userError(() => readGpt2Folder(writeFolder(tensors)));
    expect(message).toContain(`tensor "wpe.weight" has the wrong shape: expected [16, 32], found [8, 32]`);
    expect(message).toContain("n_positions 16");
  });

  it("a wrong model_type, an unsupported setting, a missing config.json", () => {
    const dir = writeFolder(smallTensors(), { ...gpt2ConfigJson(SMALL), model_type: "llama" });
    const message = userError(() => readGpt2Folder(dir));
    expect(message).toContain(join(dir, "config.json"));
    expect(message).toContain(`model_type is "llama", expected "gpt2"`);

    const relu = writeFolder(smallTensors(), { ...gpt2ConfigJson(SMALL), activation_function: "relu", n_inner: 64 });
    const reluMessage = userError(() => readGpt2Folder(relu));
    expect(reluMessage).toContain(join(relu, "config.json"));
    expect(reluMessage).toContain(`activation_function is "relu"`);
    expect(reluMessage).toContain(`n_inner is 64`);

    const empty = join(WORK, "empty");
    mkdirSync(empty, { recursive: true });
    expect(userError(() => readGpt2Folder(empty))).toContain(join(empty, "config.json"));
    const noWeights = join(WORK, "no-weights");
    mkdirSync(noWeights, { recursive: true });
    writeFileSync(join(noWeights, "config.json"), sortedJson(gpt2ConfigJson(SMALL)));
    writeFileSync(join(noWeights, "pytorch_model.bin"), "");
    expect(userError(() => readGpt2Folder(noWeights))).toMatch(/model\.safetensors is missing.*pytorch_model\.bin/);
  });

  it("an lm_head.weight that differs from wte (untied), and one of the wrong shape", () => {
    const tensors = smallTensors();
    const wte = tensors["transformer.wte.weight"]!;
    const lmHead = Float32Array.from(wte.data as Float32Array);
    lmHead[7] = 42;
    const message = userError(() => readGpt2Folder(writeFolder({ ...tensors, "lm_head.weight": { dtype: "F32", shape: wte.shape, data: lmHead } })));
    expect(message).toContain(`"lm_head.weight" differs from "transformer.wte.weight" (first at flat index 7`);
    const wrong = userError(() => readGpt2Folder(writeFolder({ ...tensors, "lm_head.weight": { dtype: "F32", shape: [50, 16], data: new Float32Array(800) } })));
    expect(wrong).toContain(`tensor "lm_head.weight" has the wrong shape: expected [50, 32] (tied to wte), found [50, 16]`);
    // Equal to wte: accepted and dropped.
    const ok = readGpt2Folder(writeFolder({ ...tensors, "lm_head.weight": { ...wte, data: Float32Array.from(wte.data as Float32Array) } }));
    expect(Object.keys(ok.tensors)).not.toContain("lm_head.weight");
  });

  it("F16 weights (and an old checkpoint's BOOL mask buffer) are refused with how to convert them (runtime/safetensors.ts reads F32/I32 only)", () => {
    const oneTensor = (name: string, dtype: string): Uint8Array => {
      const header = new TextEncoder().encode(JSON.stringify({ [name]: { dtype, shape: [4], data_offsets: [0, 4 * (dtype === "F16" ? 2 : 1)] } }).padEnd(64, " "));
      const bytes = new Uint8Array(8 + header.length + 4 * (dtype === "F16" ? 2 : 1));
      new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
      bytes.set(header, 8);
      return bytes;
    };
    const message = userError(() => readGpt2Folder(writeFolder(oneTensor("wte.weight", "F16"))));
    expect(message).toContain(`tensor "wte.weight": dtype F16 is not supported`);
    expect(message).toContain("torch_dtype=torch.float32");
    const buffer = userError(() => readGpt2Folder(writeFolder(oneTensor("h.0.attn.bias", "BOOL"))));
    expect(buffer).toContain(`tensor "h.0.attn.bias": dtype BOOL is not supported`);
    expect(buffer).toContain("causal-mask buffer");
  });

  it("loadGpt2Weights checks every name and shape before assigning anything", async () => {
    const model = gpt2(SMALL, { vocabularySize: 50, sequenceLength: 16 });
    const params = model.createParameters(0);
    const before = (await params["transformer.wte.weight"]!.data()).slice();
    const tensors: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(smallTensors())) tensors[name] = { shape: t.shape, data: t.data as Float32Array };
    tensors["transformer.ln_f.bias"] = { shape: [31], data: new Float32Array(31) };
    const message = userError(() => loadGpt2Weights(params, tensors));
    expect(message).toContain(`tensor "transformer.ln_f.bias" has the wrong shape: expected [32], found [31]`);
    expect(await params["transformer.wte.weight"]!.data()).toEqual(before); // nothing assigned
    disposeParams(params);
  });
});

// ---------------------------------------------------------------------------------------------
// The model itself

/** Rows of the repeating pattern 1..6 at different phases; y is x shifted by one. */
function patternBatch(b: number, t: number): Batch {
  const token = (i: number) => (i % 6) + 1;
  const x: number[] = [];
  const y: number[] = [];
  for (let r = 0; r < b; r++) for (let i = 0; i < t; i++) (x.push(token(r + i)), y.push(token(r + i + 1)));
  return { x: tf.tensor2d(x, [b, t], "int32"), y: tf.tensor2d(y, [b, t], "int32"), mask: tf.ones([b, t]), items: b * t };
}

const TINY: Gpt2Config = { nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 8, vocabSize: 11, layerNormEpsilon: 1e-5, bosTokenId: 10, eosTokenId: 10 };

describe("GPT-2 model", () => {
  it("gpt2Shapes is exactly createParameters' names, order and shapes (HF keys, no lm_head)", () => {
    const config: Gpt2Config = { ...TINY, nLayer: 3 };
    const model = gpt2(config, { vocabularySize: 11, sequenceLength: 8 });
    const params = model.createParameters(0);
    expect(Object.entries(params).map(([name, p]) => ({ name, shape: p.shape }))).toEqual(gpt2Shapes(config));
    expect(Object.keys(params).slice(0, 14)).toEqual([
      "transformer.wte.weight",
      "transformer.wpe.weight",
      "transformer.h.0.ln_1.weight",
      "transformer.h.0.ln_1.bias",
      "transformer.h.0.attn.c_attn.weight",
      "transformer.h.0.attn.c_attn.bias",
      "transformer.h.0.attn.c_proj.weight",
      "transformer.h.0.attn.c_proj.bias",
      "transformer.h.0.ln_2.weight",
      "transformer.h.0.ln_2.bias",
      "transformer.h.0.mlp.c_fc.weight",
      "transformer.h.0.mlp.c_fc.bias",
      "transformer.h.0.mlp.c_proj.weight",
      "transformer.h.0.mlp.c_proj.bias",
    ]);
    expect(Object.keys(params).slice(-2)).toEqual(["transformer.ln_f.weight", "transformer.ln_f.bias"]);
    expect(gpt2Shapes(config).find((s) => s.name === "transformer.h.2.attn.c_attn.weight")!.shape).toEqual([16, 48]);
    disposeParams(params);
  });

  it("GPT-2's init: N(0, 0.02) matrices seeded by parameterSeed(seed, i), c_proj N(0, 0.02/√(2·n_layer)), LayerNorm 1/0, biases 0; deterministic", async () => {
    const config: Gpt2Config = { ...TINY, nEmbd: 64, nHead: 4, nLayer: 2 };
    const model = gpt2(config, { vocabularySize: 11, sequenceLength: 8 });
    const params = model.createParameters(7);
    const again = model.createParameters(7);
    const std = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    const expected = tf.randomNormal([11, 64], 0, 0.02, "float32", parameterSeed(7, 0));
    expect(await params["transformer.wte.weight"]!.data()).toEqual(await expected.data());
    // matrices in order: wte 0, wpe 1, h.0.c_attn 2, h.0.attn.c_proj 3, h.0.c_fc 4, h.0.mlp.c_proj 5, ...
    const cProj = tf.randomNormal([64, 64], 0, 0.02 / Math.sqrt(4), "float32", parameterSeed(7, 3));
    expect(await params["transformer.h.0.attn.c_proj.weight"]!.data()).toEqual(await cProj.data());
    for (const [name, p] of Object.entries(params)) {
      const data = (await p.data()) as Float32Array;
      expect(await again[name]!.data(), name).toEqual(data);
      if (p.rank === 1) expect(new Set(data), name).toEqual(new Set([name.endsWith(".weight") ? 1 : 0]));
      else expect(std(data) / (name.endsWith("c_proj.weight") ? 0.01 : 0.02), name).toBeCloseTo(1, 0);
    }
    tf.dispose([expected, cProj]);
    disposeParams(params);
    disposeParams(again);
  });

  it("trains: the loss falls over a few AdamW steps on a tiny batch (cpu), with no tensor leak per step", async () => {
    const model = gpt2(TINY, { vocabularySize: 11, sequenceLength: 8 });
    const params = model.createParameters(1);
    const optimizer = new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 });
    const batch = patternBatch(4, 8);
    const losses: number[] = [];
    const counts: number[] = [];
    for (let step = 0; step < 12; step++) {
      const { value, grads } = tf.variableGrads(() => tf.div(model.lossSum(params, batch), batch.items) as tf.Scalar, Object.values(params));
      const byName: Record<string, tf.Tensor> = {};
      for (const [name, p] of Object.entries(params)) byName[name] = grads[p.name]!;
      optimizer.step(byName, 1e-2);
      losses.push((await value.data())[0]!);
      tf.dispose([value, grads]);
      counts.push(tf.memory().numTensors);
    }
    console.log(`gpt2 training losses: ${losses.map((l) => l.toFixed(3)).join(" ")}; live tensors after each step: ${counts.join(" ")}`);
    expect(losses[0]).toBeGreaterThan(Math.log(11) - 0.5); // starts near uniform
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.6);
    expect(new Set(counts).size).toBe(1);
    tf.dispose([batch.x, batch.y, batch.mask]);
    tf.dispose([...Object.values(optimizer.m), ...Object.values(optimizer.v)]);
    disposeParams(params);
  });

  it("applies roundActivations at every block boundary (fp16), and matches the unrounded loss closely", async () => {
    const model = gpt2(TINY, { vocabularySize: 11, sequenceLength: 8 });
    const params = model.createParameters(2);
    const batch = patternBatch(2, 8);
    let calls = 0;
    const spy = (x: tf.Tensor) => {
      calls++;
      return tf.add(x, 0);
    };
    const rounded = model.lossSum(params, batch, { roundActivations: spy });
    const plain = model.lossSum(params, batch);
    expect(calls).toBe(TINY.nLayer + 1);
    expect((await rounded.data())[0]).toBeCloseTo((await plain.data())[0]!, 5);
    tf.dispose([rounded, plain, batch.x, batch.y, batch.mask]);
    disposeParams(params);
  });

  it("generates greedily as the argmax of its logits; an empty prompt starts from bos_token_id", async () => {
    const model = gpt2(TINY, { vocabularySize: 11, sequenceLength: 8 });
    const params = model.createParameters(4);
    const [fromPrompt, fromEmpty] = await model.generate(params, [[1, 2, 3], []], { maxNewTokens: 4 });
    const greedy = async (prompt: number[], n: number) => {
      const seq = [...prompt];
      for (let i = 0; i < n; i++) {
        const logits = model.logits(params, tf.tensor2d([seq], undefined, "int32"));
        const last = tf.slice(logits, [0, seq.length - 1, 0], [1, 1, TINY.vocabSize]);
        seq.push((await tf.argMax(tf.reshape(last, [-1])).data())[0]!);
        tf.dispose([logits, last]);
      }
      return seq.slice(prompt.length);
    };
    expect(fromPrompt).toEqual(await greedy([1, 2, 3], 4));
    expect(fromEmpty).toEqual(await greedy([10], 4));
    // Past n_positions the window slides; it still runs.
    const long = await model.generate(params, [[1, 2, 3, 4, 5, 6, 1]], { maxNewTokens: 5 });
    expect(long[0]).toHaveLength(5);
    disposeParams(params);
  });

  it("config.json: what save_pretrained writes for GPT2LMHeadModel, read back to the same config", () => {
    const json = gpt2ConfigJson(SMALL);
    expect(json).toMatchObject({
      architectures: ["GPT2LMHeadModel"],
      model_type: "gpt2",
      n_layer: 2,
      n_head: 4,
      n_embd: 32,
      n_positions: 16,
      n_ctx: 16,
      vocab_size: 50,
      layer_norm_epsilon: 1e-5,
      activation_function: "gelu_new",
      bos_token_id: 0,
      eos_token_id: 0,
      tie_word_embeddings: true,
      attn_pdrop: 0.1,
      embd_pdrop: 0.1,
      resid_pdrop: 0.1,
      torch_dtype: "float32",
    });
    expect(json).not.toHaveProperty("transformers_version");
    const dir = writeFolder(smallTensors(), json);
    expect(readGpt2Config(dir)).toEqual(SMALL);
    expect(GPT2_DEFAULTS).toMatchObject({ nLayer: 12, nHead: 12, nEmbd: 768, nPositions: 1024, layerNormEpsilon: 1e-5 });
    // GPT-2 small: 124,439,808 parameters (the tied lm_head counted once).
    expect(gpt2Shapes({ ...GPT2_DEFAULTS }).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0)).toBe(124_439_808);
  });

  it("runtime/presets/gpt2.ts loads no TensorFlow.js", () => {
    expect(loadsTensorFlow("./runtime/presets/gpt2.ts")).toBe(false);
    expect(loadsTensorFlow("./runtime/models/gpt2.ts")).toBe(true); // the check does see TensorFlow.js
  });
});
