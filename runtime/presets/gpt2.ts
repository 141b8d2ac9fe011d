/**
 * runtime/presets/gpt2.ts — GPT-2 exactly as Hugging Face's transformers defines it
 * (modeling_gpt2.py, GPT2LMHeadModel), described without TensorFlow.js: its defaults, its
 * configuration, its parameters (HF names, HF order, shapes), and config.json read and written as
 * transformers reads and writes it.
 *
 * Why here: runtime/models/gpt2.ts creates exactly these parameters (the order fixes each matrix's
 * initialisation seed and the tensor order of model.safetensors), runtime/hf-folder.ts checks a
 * checkpoint folder against them, and the generator can count parameters and validate a folder's
 * config.json without loading TensorFlow.js, so this module imports nothing that loads it.
 *
 * Architecture (what gpt2Shapes describes):
 *   x = wte[tokens] + wpe[positions]
 *   per block:  x = x + c_proj(attn(c_attn(ln_1(x))));  x = x + mlp.c_proj(gelu_new(mlp.c_fc(ln_2(x))))
 *   logits = ln_f(x) · wteᵀ                                   (lm_head tied to wte: not a parameter)
 * c_attn, c_proj, c_fc are HF's Conv1D: weight [in, out] (x · W + b, no transpose), bias [out].
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../user-error.ts";
import type { ParameterShape } from "./char-transformer.ts";

export interface Gpt2Config {
  /** Transformer blocks (HF n_layer). */
  nLayer: number;
  /** Attention heads (HF n_head); nEmbd must be a multiple. */
  nHead: number;
  /** Width of the residual stream (HF n_embd). */
  nEmbd: number;
  /** Rows of wpe: the longest sequence (HF n_positions, formerly n_ctx). */
  nPositions: number;
  /** Rows of wte (HF vocab_size). */
  vocabSize: number;
  /** ε of every LayerNorm (HF layer_norm_epsilon). */
  layerNormEpsilon: number;
  bosTokenId?: number;
  eosTokenId?: number;
}

/** GPT-2 (the 124M "gpt2" checkpoint), which are also HF GPT2Config's defaults. */
export const GPT2_DEFAULTS = {
  nLayer: 12,
  nHead: 12,
  nEmbd: 768,
  nPositions: 1024,
  vocabSize: 50257,
  layerNormEpsilon: 1e-5,
  bosTokenId: 50256,
  eosTokenId: 50256,
} as const satisfies Required<Gpt2Config>;

/** The parameter names that get the residual init N(0, 0.02/√(2·nLayer)) (HF: names ending in "c_proj.weight"). */
export function isGpt2ResidualProjection(name: string): boolean {
  return name.endsWith(".attn.c_proj.weight") || name.endsWith(".mlp.c_proj.weight");
}

/**
 * GPT2LMHeadModel's parameters with their HF keys, in the order of its state_dict (buffers and
 * the tied lm_head.weight left out): wte, wpe, per block ln_1, attn.c_attn, attn.c_proj, ln_2,
 * mlp.c_fc, mlp.c_proj (weight then bias), then ln_f. nHead does not change the shapes.
 */
export function gpt2Shapes(config: Gpt2Config): ParameterShape[] {
  const d = config.nEmbd;
  const shapes: ParameterShape[] = [
    { name: "transformer.wte.weight", shape: [config.vocabSize, d] },
    { name: "transformer.wpe.weight", shape: [config.nPositions, d] },
  ];
  for (let l = 0; l < config.nLayer; l++) {
    const h = `transformer.h.${l}`;
    shapes.push(
      { name: `${h}.ln_1.weight`, shape: [d] },
      { name: `${h}.ln_1.bias`, shape: [d] },
      { name: `${h}.attn.c_attn.weight`, shape: [d, 3 * d] },
      { name: `${h}.attn.c_attn.bias`, shape: [3 * d] },
      { name: `${h}.attn.c_proj.weight`, shape: [d, d] },
      { name: `${h}.attn.c_proj.bias`, shape: [d] },
      { name: `${h}.ln_2.weight`, shape: [d] },
      { name: `${h}.ln_2.bias`, shape: [d] },
      { name: `${h}.mlp.c_fc.weight`, shape: [d, 4 * d] },
      { name: `${h}.mlp.c_fc.bias`, shape: [4 * d] },
      { name: `${h}.mlp.c_proj.weight`, shape: [4 * d, d] },
      { name: `${h}.mlp.c_proj.bias`, shape: [d] },
    );
  }
  shapes.push({ name: "transformer.ln_f.weight", shape: [d] }, { name: "transformer.ln_f.bias", shape: [d] });
  return shapes;
}

/** Problems of a config's numbers, in words (empty when it is usable). */
export function gpt2ConfigProblems(config: Gpt2Config): string[] {
  const problems: string[] = [];
  const positive: [string, number][] = [
    ["n_layer", config.nLayer],
    ["n_head", config.nHead],
    ["n_embd", config.nEmbd],
    ["n_positions", config.nPositions],
    ["vocab_size", config.vocabSize],
  ];
  for (const [key, value] of positive) {
    const least = key === "n_layer" ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) problems.push(`${key} must be an integer >= ${least}, got ${JSON.stringify(value)}`);
  }
  if (Number.isSafeInteger(config.nEmbd) && Number.isSafeInteger(config.nHead) && config.nHead > 0 && config.nEmbd % config.nHead !== 0) {
    problems.push(`n_embd ${config.nEmbd} is not divisible by n_head ${config.nHead}`);
  }
  if (!(typeof config.layerNormEpsilon === "number" && config.layerNormEpsilon > 0 && Number.isFinite(config.layerNormEpsilon))) {
    problems.push(`layer_norm_epsilon must be a positive number, got ${JSON.stringify(config.layerNormEpsilon)}`);
  }
  for (const [key, value] of [["bos_token_id", config.bosTokenId], ["eos_token_id", config.eosTokenId]] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) problems.push(`${key} must be a non-negative integer or null, got ${JSON.stringify(value)}`);
  }
  return problems;
}

/**
 * Settings of HF's GPT2Config that change the computation, with the only value this
 * implementation has (absent keys take HF's default, which is that value).
 */
const FIXED_SETTINGS: [key: string, required: unknown, why: string][] = [
  ["activation_function", "gelu_new", "only gelu_new (GELU, tanh approximation) is implemented"],
  ["scale_attn_weights", true, "attention scores are always scaled by 1/sqrt(head_dim)"],
  ["scale_attn_by_inverse_layer_idx", false, "attention scores are never scaled by 1/(layer_idx+1)"],
  ["add_cross_attention", false, "GPT-2 here is a decoder without cross-attention"],
  ["tie_word_embeddings", true, "lm_head is always tied to wte"],
];

/**
 * Reads `<dir>/config.json` as transformers' GPT2Config.from_pretrained does: model_type must be
 * "gpt2"; absent keys take GPT2Config's defaults (GPT2_DEFAULTS); n_positions falls back to the old
 * n_ctx, and the attribute_map names (hidden_size, num_hidden_layers, num_attention_heads,
 * max_position_embeddings) are accepted for the canonical ones. n_ctx is ignored when n_positions
 * is given, as transformers ignores it. Settings this implementation does not have
 * (activation_function other than gelu_new, untied embeddings, n_inner ≠ 4·n_embd, cross-attention,
 * unscaled or layer-scaled attention) are refused rather than silently computed differently.
 * Any problem is a UserError naming the file.
 */
export function readGpt2Config(dir: string): Gpt2Config {
  const path = join(dir, "config.json");
  if (!existsSync(path)) throw new UserError(`${path} is missing: a Hugging Face model folder needs its config.json (from save_pretrained).`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UserError(`${path} is not valid JSON (${(error as Error).message}).`);
  }
  return parseGpt2Config(raw, path);
}

/** parseGpt2Config's work on already-parsed JSON; `source` names the file in messages. */
export function parseGpt2Config(raw: unknown, source: string): Gpt2Config {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new UserError(`${source}: expected a JSON object, got ${JSON.stringify(raw)?.slice(0, 40)}.`);
  const json = raw as Record<string, unknown>;
  if (json.model_type !== "gpt2") {
    throw new UserError(`${source}: model_type is ${JSON.stringify(json.model_type)}, expected "gpt2"; this loader reads GPT-2 checkpoints (GPT2LMHeadModel) only.`);
  }
  const problems: string[] = [];
  const pick = (keys: string[], fallback: number): number => {
    for (const key of keys) {
      const value = json[key];
      if (value === undefined) continue;
      if (typeof value !== "number") {
        problems.push(`${key} must be a number, got ${JSON.stringify(value)}`);
        return fallback;
      }
      return value;
    }
    return fallback;
  };
  const tokenId = (key: string, fallback: number): number | undefined => {
    if (!(key in json)) return fallback;
    const value = json[key];
    if (value === null) return undefined;
    if (typeof value !== "number") {
      problems.push(`${key} must be a token id or null, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  };
  const config: Gpt2Config = {
    nLayer: pick(["n_layer", "num_hidden_layers"], GPT2_DEFAULTS.nLayer),
    nHead: pick(["n_head", "num_attention_heads"], GPT2_DEFAULTS.nHead),
    nEmbd: pick(["n_embd", "hidden_size"], GPT2_DEFAULTS.nEmbd),
    nPositions: pick(["n_positions", "max_position_embeddings", "n_ctx"], GPT2_DEFAULTS.nPositions),
    vocabSize: pick(["vocab_size"], GPT2_DEFAULTS.vocabSize),
    layerNormEpsilon: pick(["layer_norm_epsilon"], GPT2_DEFAULTS.layerNormEpsilon),
  };
  const bos = tokenId("bos_token_id", GPT2_DEFAULTS.bosTokenId);
  const eos = tokenId("eos_token_id", GPT2_DEFAULTS.eosTokenId);
  if (bos !== undefined) config.bosTokenId = bos;
  if (eos !== undefined) config.eosTokenId = eos;
  problems.push(...gpt2ConfigProblems(config));
  for (const [key, required, why] of FIXED_SETTINGS) {
    if (key in json && json[key] !== required) problems.push(`${key} is ${JSON.stringify(json[key])}, but ${why} (expected ${JSON.stringify(required)})`);
  }
  const inner = json.n_inner;
  if (inner !== undefined && inner !== null && inner !== 4 * config.nEmbd) {
    problems.push(`n_inner is ${JSON.stringify(inner)}, but the MLP width here is always 4·n_embd = ${4 * config.nEmbd} (expected null)`);
  }
  if (problems.length > 0) throw new UserError(`${source}: not a GPT-2 configuration this runtime can load:\n  - ${problems.join("\n  - ")}`);
  return config;
}

/**
 * HF dropout probabilities written to config.json. Decision: GPT2Config's defaults (0.1), which
 * are also the original gpt2 checkpoint's, not the 0 this runtime trains with. They never affect
 * inference (HF turns dropout off in eval mode); they are what transformers would use if someone
 * fine-tunes the saved model further, and 0.1 is what a GPT-2 fine-tune there expects. A folder
 * read and written back keeps them as the gpt2 checkpoint has them.
 */
export const GPT2_HF_DROPOUT = { attn_pdrop: 0.1, embd_pdrop: 0.1, resid_pdrop: 0.1, summary_first_dropout: 0.1 } as const;

/**
 * The config.json that transformers' save_pretrained writes for a GPT2LMHeadModel of `config`
 * (every GPT2Config field, so nothing depends on a transformers version's defaults), float32.
 * transformers_version is omitted: no transformers wrote it. Dropout: see GPT2_HF_DROPOUT.
 * Serialise with sortedJson (runtime/files.ts) for HF's own layout (sorted keys, indent 2).
 */
export function gpt2ConfigJson(config: Gpt2Config): Record<string, unknown> {
  const problems = gpt2ConfigProblems(config);
  if (problems.length > 0) throw new Error(`gpt2ConfigJson: invalid config: ${problems.join("; ")}`);
  return {
    activation_function: "gelu_new",
    architectures: ["GPT2LMHeadModel"],
    ...GPT2_HF_DROPOUT,
    bos_token_id: config.bosTokenId ?? null,
    eos_token_id: config.eosTokenId ?? null,
    initializer_range: 0.02,
    layer_norm_epsilon: config.layerNormEpsilon,
    model_type: "gpt2",
    n_ctx: config.nPositions,
    n_embd: config.nEmbd,
    n_head: config.nHead,
    n_inner: null,
    n_layer: config.nLayer,
    n_positions: config.nPositions,
    reorder_and_upcast_attn: false,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    summary_activation: null,
    summary_proj_to_labels: true,
    summary_type: "cls_index",
    summary_use_proj: true,
    tie_word_embeddings: true,
    torch_dtype: "float32",
    use_cache: true,
    vocab_size: config.vocabSize,
  };
}

/** Parameters of a GPT-2 of `config` (the tied lm_head counted once). */
export function gpt2ParameterCount(config: Gpt2Config): number {
  return gpt2Shapes(config).reduce((n, { shape }) => n + shape.reduce((a, b) => a * b, 1), 0);
}
