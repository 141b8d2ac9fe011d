/**
 * runtime/models/char-transformer.ts — a GPT-2 style causal decoder over token ids, written for
 * tfjs on CPUs (the wasm backend first).
 *
 *   x = wte[tokens] + wpe[positions]
 *   for each block:  x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
 *   logits = ln_f(x) · lm_head                      (lm_head is untied from wte)
 *
 * Pre-LayerNorm, multi-head causal self-attention without biases, a GELU (tanh approximation)
 * MLP of width 4·dModel with biases, no dropout. The residual stream stays a 2-D [B*T, d] tensor;
 * only attention reshapes to [B,T,H,dh] and uses rank-4 transposes (rank-5 transposes are very slow
 * on wasm). Matrix products go through matmulOpsFor (the backend's default formulation unless
 * one is given; see matmul.ts).
 *
 * Also exports helpers shared with mlp.ts (embedTokens, maskedCrossEntropySum, gelu, parameter
 * seeding and variable naming).
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch, GenerateOptions, LossOptions, ModelContext, ModelDefinition, NamedParams } from "../types.ts";
import { registerWasmKernels } from "../wasm-kernels.ts";
import { defaultFormulation, matmulOpsFor, type Formulation, type MatmulOps } from "./matmul.ts";
import { generateWithForward } from "./generate.ts";
import { charTransformerShapes } from "../presets/char-transformer.ts";

export interface CharTransformerConfig {
  dModel: number;
  layers: number;
  heads: number;
  /** Longest sequence the model sees (rows of wpe); training batches may be shorter. */
  contextLength: number;
  dropout?: never;
  /** Fixed by `gen-trainer --tune`; by default chosen from the backend (see matmul.ts, embedTokens). */
  formulation?: Formulation;
}

/**
 * A fresh variable-name scope ("<prefix><n>") per createParameters call: tfjs variable names are
 * engine-global and must be unique. Checked against the registered variables too, in case this
 * module is loaded more than once in a process.
 */
let variableScope = 0;
export function nextVariableScope(prefix: string): string {
  const taken = new Set(Object.keys(tf.engine().registeredVariables).map((name) => name.split("/")[0]));
  do variableScope += 1;
  while (taken.has(`${prefix}${variableScope}`));
  return `${prefix}${variableScope}`;
}

/** A 32-bit seed for parameter `index` of a model initialised from `seed` (murmur3 finaliser). */
export function parameterSeed(seed: number, index: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * float32 one-hot rows [N, depth]. Made as int32 and cast: the wasm OneHot kernel ignores the
 * dtype attribute and always writes int32 bits, so tf.oneHot(..., "float32") is garbage on wasm.
 */
export function oneHotFloat(ids: tf.Tensor1D, depth: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(ids, depth), "float32") as tf.Tensor2D;
}

/**
 * Embedding lookup: table [V, e], int32 ids of any shape → [size(ids), e].
 *
 * Measured fwd+bwd for 1024 ids (median ms, wasm): V=14 e=128 gather 11 vs oneHot·matMul 3.5;
 * V=100 e=128 11 vs 9; V=300 e=64 6 vs 13; V=1000 e=64 5 vs 36. wasm's GatherV2 forward itself is
 * the slow part (~10 ms), not our JS UnsortedSegmentSum (<1 ms). On cpu gather is 7-18x slower at
 * every V (its UnsortedSegmentSum runs V full-size ops). So: oneHot·matMul, except gather on wasm
 * when V > 128. Without `embedding`, the backend's default (DEFAULT_FORMULATIONS in matmul.ts).
 */
export function embedTokens(mm: MatmulOps, table: tf.Tensor2D, ids: tf.Tensor, embedding?: Formulation["embedding"]): tf.Tensor2D {
  const flat = tf.reshape(tf.cast(ids, "int32"), [-1]) as tf.Tensor1D;
  const vocab = table.shape[0];
  const gather = (embedding ?? defaultFormulation(tf.getBackend(), vocab).embedding) === "gather";
  if (gather) return tf.gather(table, flat) as tf.Tensor2D;
  return mm.matMul2d(oneHotFloat(flat, vocab), table);
}

/**
 * Σ_i mask_i · (−log softmax(logits_i)[y_i]) over all N = B*T positions, as a scalar.
 * logits [N, V]; y int32 and mask float32 of any shape with N elements. logSoftmax subtracts
 * the row max, so this is stable for any logits.
 */
export function maskedCrossEntropySum(logits: tf.Tensor2D, y: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  const v = logits.shape[1];
  const logp = tf.logSoftmax(logits);
  const target = oneHotFloat(tf.reshape(tf.cast(y, "int32"), [-1]) as tf.Tensor1D, v);
  const nll = tf.neg(tf.sum(tf.mul(logp, target), -1));
  return tf.sum(tf.mul(nll, tf.reshape(mask, [-1])));
}

/** LayerNorm over the last axis of x [N, d] (biased variance, as torch), with ε = `epsilon`. */
export function layerNorm(mm: MatmulOps, x: tf.Tensor2D, gain: tf.Tensor, bias: tf.Tensor, epsilon = 1e-5): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const variance = tf.mean(tf.square(xc), -1, true);
  return mm.addBroadcast(mm.mulBroadcast(tf.mul(xc, tf.rsqrt(tf.add(variance, epsilon))), gain), bias);
}

/**
 * GELU, tanh approximation: 0.5·x·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³), computed as
 * the identical x·σ(2u) because wasm's Tanh is scalar code, ~15x slower than its Sigmoid.
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  const u2 = tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), 0.044715)), 2 * Math.sqrt(2 / Math.PI));
  return tf.mul(x, tf.sigmoid(u2));
}

/**
 * Causal masks by backend and T: 0 on and below the diagonal, -1e9 above, added to the attention
 * scores. Shared by all model instances, created once per (backend, T) and tf.keep'd, so a
 * training step (even inside tf.tidy) creates no persistent tensor.
 */
const causalMasks = new Map<string, tf.Tensor2D>();
export function causalMask(t: number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${t}`;
  const cached = causalMasks.get(key);
  if (cached !== undefined && !cached.isDisposed) return cached;
  const values = new Float32Array(t * t);
  for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) values[i * t + j] = -1e9;
  const mask = tf.keep(tf.tensor2d(values, [t, t]));
  causalMasks.set(key, mask);
  return mask;
}

export function charTransformer(config: CharTransformerConfig, context: ModelContext): ModelDefinition {
  const { dModel: d, layers, heads, contextLength } = config;
  const vocab = context.vocabularySize;
  if (!(d > 0 && layers >= 0 && heads > 0 && contextLength > 0 && vocab > 0)) throw new Error("charTransformer: dModel, heads, contextLength and vocabularySize must be positive");
  if (d % heads !== 0) throw new Error(`charTransformer: dModel ${d} is not divisible by heads ${heads}`);
  if (context.sequenceLength > contextLength) {
    throw new Error(`charTransformer: sequenceLength ${context.sequenceLength} exceeds contextLength ${contextLength}`);
  }
  const dh = d / heads;
  registerWasmKernels();

  function param(params: NamedParams, name: string): tf.Variable {
    const p = params[name];
    if (p === undefined) throw new Error(`charTransformer: missing parameter ${name}`);
    return p;
  }

  /** Causal self-attention of h [B*T, d] → [B*T, d]. */
  function attention(mm: MatmulOps, params: NamedParams, l: number, h: tf.Tensor2D, b: number, t: number): tf.Tensor2D {
    const p = (n: string) => param(params, `h.${l}.attn.${n}`) as tf.Tensor2D;
    // [B*T, d] → [B, T, H, dh] → q, v: [B, H, T, dh]; k directly to kᵀ: [B, H, dh, T].
    const split = (w: tf.Tensor2D) => tf.reshape(mm.matMul2d(h, w), [b, t, heads, dh]);
    const q = tf.transpose(tf.mul(split(p("wq")), 1 / Math.sqrt(dh)), [0, 2, 1, 3]) as tf.Tensor4D;
    const kT = tf.transpose(split(p("wk")), [0, 2, 3, 1]) as tf.Tensor4D;
    const v = tf.transpose(split(p("wv")), [0, 2, 1, 3]) as tf.Tensor4D;
    const scores = tf.add(mm.batchMatMul(q, kT), causalMask(t)) as tf.Tensor4D; // [B, H, T, T]
    const y = mm.batchMatMul(tf.softmax(scores), v); // [B, H, T, dh]
    const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [b * t, d]) as tf.Tensor2D;
    return mm.matMul2d(merged, p("wo"));
  }

  function mlpBlock(mm: MatmulOps, params: NamedParams, l: number, h: tf.Tensor2D): tf.Tensor2D {
    const p = (n: string) => param(params, `h.${l}.mlp.${n}`);
    const fc = gelu(mm.addBroadcast(mm.matMul2d(h, p("w_fc") as tf.Tensor2D), p("b_fc")));
    return mm.addBroadcast(mm.matMul2d(fc, p("w_proj") as tf.Tensor2D), p("b_proj"));
  }

  /** tokens int32 [B, T] → logits [B*T, V]. */
  function forward(params: NamedParams, tokens: tf.Tensor, round?: (x: tf.Tensor) => tf.Tensor): tf.Tensor2D {
    const [b, t] = tokens.shape as [number, number];
    if (tokens.rank !== 2) throw new Error(`charTransformer: expected tokens [B, T], got shape [${tokens.shape}]`);
    if (t > contextLength) throw new Error(`charTransformer: sequence length ${t} exceeds contextLength ${contextLength}`);
    const mm = matmulOpsFor(config.formulation, tf.getBackend());
    const wpe = tf.slice(param(params, "wpe"), [0, 0], [t, d]);
    let x = tf.reshape(mm.addBroadcast(tf.reshape(embedTokens(mm, param(params, "wte") as tf.Tensor2D, tokens, config.formulation?.embedding), [b, t, d]), wpe), [b * t, d]) as tf.Tensor2D;
    for (let l = 0; l < layers; l++) {
      if (round) x = round(x) as tf.Tensor2D;
      x = tf.add(x, attention(mm, params, l, layerNorm(mm, x, param(params, `h.${l}.ln_1.gain`), param(params, `h.${l}.ln_1.bias`)), b, t));
      x = tf.add(x, mlpBlock(mm, params, l, layerNorm(mm, x, param(params, `h.${l}.ln_2.gain`), param(params, `h.${l}.ln_2.bias`))));
    }
    if (round) x = round(x) as tf.Tensor2D;
    const hf = layerNorm(mm, x, param(params, "ln_f.gain"), param(params, "ln_f.bias"));
    return mm.matMul2d(hf, param(params, "lm_head") as tf.Tensor2D);
  }

  function createParameters(seed: number): NamedParams {
    const scope = nextVariableScope("charTransformer");
    const params: NamedParams = {};
    let index = 0;
    // GPT-2 init: N(0, 0.02) weights, residual output projections N(0, 0.02/√(2·layers)),
    // LayerNorm gain 1 and bias 0, biases 0.
    // Names, order and shapes are runtime/presets/char-transformer.ts's; the order fixes the
    // seeds: the i-th matrix (2-D parameter) is drawn with parameterSeed(seed, i).
    const residualStd = 0.02 / Math.sqrt(2 * Math.max(layers, 1));
    tf.tidy(() => {
      for (const { name, shape } of charTransformerShapes(config, vocab)) {
        let init: tf.Tensor;
        if (shape.length === 1) init = tf.fill(shape, name.endsWith(".gain") ? 1 : 0); // LayerNorm gains 1; LayerNorm biases and MLP biases 0
        else {
          const std = name.endsWith(".attn.wo") || name.endsWith(".mlp.w_proj") ? residualStd : 0.02;
          init = tf.randomNormal(shape, 0, std, "float32", parameterSeed(seed, index++));
        }
        params[name] = tf.variable(init, true, `${scope}/${name}`);
      }
    });
    return params;
  }

  return {
    createParameters,
    lossSum(params: NamedParams, batch: Batch, options?: LossOptions): tf.Scalar {
      return tf.tidy(() => maskedCrossEntropySum(forward(params, batch.x, options?.roundActivations), batch.y, batch.mask));
    },
    generate(params: NamedParams, prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<number[][]> {
      return generateWithForward((tokens) => forward(params, tokens), contextLength, prompts, options);
    },
  };
}
