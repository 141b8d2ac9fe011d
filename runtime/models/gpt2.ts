/**
 * runtime/models/gpt2.ts — GPT-2 exactly as Hugging Face's transformers computes it
 * (modeling_gpt2.py, GPT2LMHeadModel, eval mode), written for tfjs on CPUs like char-transformer.ts.
 *
 *   x = wte[tokens] + wpe[0..T)
 *   per block:  a = ln_1(x) · c_attn.weight + c_attn.bias            [B*T, 3d] → q | k | v
 *               x = x + (softmax(q·kᵀ/√dh + causal) · v) · attn.c_proj.weight + attn.c_proj.bias
 *               x = x + gelu_new(ln_2(x) · c_fc.weight + c_fc.bias) · mlp.c_proj.weight + mlp.c_proj.bias
 *   logits = ln_f(x) · wteᵀ                                            (lm_head tied to wte)
 *
 * Parameters are named by their HF keys ("transformer.h.0.attn.c_attn.weight"; Conv1D weights are
 * [in, out], so x · W needs no transpose) in the order of runtime/presets/gpt2.ts, which is the
 * order of model.safetensors. LayerNorms use config.layerNormEpsilon. No dropout (HF's eval mode,
 * and this runtime trains without it). q, k, v split the fused c_attn output along its columns
 * (q = [0, d), k = [d, 2d), v = [2d, 3d); head h = columns [h·dh, (h+1)·dh) of each), as HF's
 * split + _split_heads do.
 *
 * Wasm conventions as char-transformer.ts: the residual stream stays 2-D [B*T, d], attention uses
 * rank-4 transposes only, products and broadcasts go through matmulOpsFor (explicit transposes;
 * the tied output product is ln_f(x) · transpose(wte)), embeddings through embedTokens.
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch, GenerateOptions, LossOptions, ModelContext, ModelDefinition, NamedParams } from "../types.ts";
import { registerWasmKernels } from "../wasm-kernels.ts";
import { matmulOpsFor, transposeLast2, type Formulation, type MatmulOps } from "./matmul.ts";
import { generateWithForward } from "./generate.ts";
import { causalMask, embedTokens, gelu, layerNorm, maskedCrossEntropySum, nextVariableScope, parameterSeed } from "./char-transformer.ts";
import { gpt2ConfigProblems, gpt2Shapes, isGpt2ResidualProjection, type Gpt2Config } from "../presets/gpt2.ts";

export interface Gpt2Options {
  /** Fixed by `gen-trainer --tune`; by default chosen from the backend (see matmul.ts, embedTokens). */
  formulation?: Formulation;
}

/** A GPT-2 ModelDefinition, plus its logits (for parity checks, evaluation and tools). */
export interface Gpt2Model extends ModelDefinition {
  readonly config: Gpt2Config;
  /** int32 tokens [B, T] (T ≤ nPositions) → float32 logits [B, T, vocabSize]; the caller disposes them. */
  logits(params: NamedParams, tokens: tf.Tensor): tf.Tensor3D;
  generate(params: NamedParams, prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<number[][]>;
}

export function gpt2(config: Gpt2Config, context: ModelContext, options: Gpt2Options = {}): Gpt2Model {
  const problems = gpt2ConfigProblems(config);
  if (problems.length > 0) throw new Error(`gpt2: invalid config: ${problems.join("; ")}`);
  const { nLayer: layers, nHead: heads, nEmbd: d, nPositions, vocabSize, layerNormEpsilon: epsilon } = config;
  if (context.vocabularySize > vocabSize) {
    throw new Error(`gpt2: the data's vocabulary has ${context.vocabularySize} tokens but the model's vocab_size is ${vocabSize}`);
  }
  if (context.sequenceLength > nPositions) {
    throw new Error(`gpt2: sequenceLength ${context.sequenceLength} exceeds n_positions ${nPositions}`);
  }
  const dh = d / heads;
  const shapes = gpt2Shapes(config);
  registerWasmKernels();

  function param(params: NamedParams, name: string): tf.Variable {
    const p = params[name];
    if (p === undefined) throw new Error(`gpt2: missing parameter ${name}`);
    return p;
  }

  /** Causal self-attention of h [B*T, d] (already ln_1'd) → [B*T, d], c_proj included. */
  function attention(mm: MatmulOps, params: NamedParams, l: number, h: tf.Tensor2D, b: number, t: number): tf.Tensor2D {
    const p = (n: string) => param(params, `transformer.h.${l}.attn.${n}`);
    const qkv = mm.addBroadcast(mm.matMul2d(h, p("c_attn.weight") as tf.Tensor2D), p("c_attn.bias")); // [B*T, 3d]
    const [q2, k2, v2] = tf.split(qkv, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    // [B*T, d] → [B, T, H, dh] → q, v: [B, H, T, dh]; k directly to kᵀ: [B, H, dh, T].
    const split = (x: tf.Tensor2D) => tf.reshape(x, [b, t, heads, dh]);
    const q = tf.transpose(tf.mul(split(q2), 1 / Math.sqrt(dh)), [0, 2, 1, 3]) as tf.Tensor4D;
    const kT = tf.transpose(split(k2), [0, 2, 3, 1]) as tf.Tensor4D;
    const v = tf.transpose(split(v2), [0, 2, 1, 3]) as tf.Tensor4D;
    const scores = tf.add(mm.batchMatMul(q, kT), causalMask(t)) as tf.Tensor4D; // [B, H, T, T]
    const y = mm.batchMatMul(tf.softmax(scores), v); // [B, H, T, dh]
    const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [b * t, d]) as tf.Tensor2D;
    return mm.addBroadcast(mm.matMul2d(merged, p("c_proj.weight") as tf.Tensor2D), p("c_proj.bias"));
  }

  function mlpBlock(mm: MatmulOps, params: NamedParams, l: number, h: tf.Tensor2D): tf.Tensor2D {
    const p = (n: string) => param(params, `transformer.h.${l}.mlp.${n}`);
    const fc = gelu(mm.addBroadcast(mm.matMul2d(h, p("c_fc.weight") as tf.Tensor2D), p("c_fc.bias")));
    return mm.addBroadcast(mm.matMul2d(fc, p("c_proj.weight") as tf.Tensor2D), p("c_proj.bias"));
  }

  function norm(mm: MatmulOps, params: NamedParams, prefix: string, x: tf.Tensor2D): tf.Tensor2D {
    return layerNorm(mm, x, param(params, `${prefix}.weight`), param(params, `${prefix}.bias`), epsilon);
  }

  /** tokens int32 [B, T] → logits [B*T, V]. */
  function forward(params: NamedParams, tokens: tf.Tensor, round?: (x: tf.Tensor) => tf.Tensor): tf.Tensor2D {
    if (tokens.rank !== 2) throw new Error(`gpt2: expected tokens [B, T], got shape [${tokens.shape}]`);
    const [b, t] = tokens.shape as [number, number];
    if (t > nPositions) throw new Error(`gpt2: sequence length ${t} exceeds n_positions ${nPositions}`);
    const mm = matmulOpsFor(options.formulation, tf.getBackend());
    const wte = param(params, "transformer.wte.weight") as tf.Tensor2D;
    const wpe = tf.slice(param(params, "transformer.wpe.weight"), [0, 0], [t, d]);
    const embedded = tf.reshape(embedTokens(mm, wte, tokens, options.formulation?.embedding), [b, t, d]);
    let x = tf.reshape(mm.addBroadcast(embedded, wpe), [b * t, d]) as tf.Tensor2D;
    for (let l = 0; l < layers; l++) {
      if (round) x = round(x) as tf.Tensor2D;
      x = tf.add(x, attention(mm, params, l, norm(mm, params, `transformer.h.${l}.ln_1`, x), b, t));
      x = tf.add(x, mlpBlock(mm, params, l, norm(mm, params, `transformer.h.${l}.ln_2`, x)));
    }
    if (round) x = round(x) as tf.Tensor2D;
    const hf = norm(mm, params, "transformer.ln_f", x);
    return mm.matMul2d(hf, transposeLast2(wte)); // tied lm_head: ln_f(x) · wteᵀ
  }

  function createParameters(seed: number): NamedParams {
    const scope = nextVariableScope("gpt2");
    const params: NamedParams = {};
    let index = 0;
    // GPT-2's init (HF _init_weights): every matrix N(0, 0.02) (wte and wpe included), the two
    // c_proj weights N(0, 0.02/√(2·n_layer)), biases 0, LayerNorm weight 1 and bias 0. The i-th
    // matrix (2-D parameter, in gpt2Shapes order) is drawn with parameterSeed(seed, i).
    const residualStd = 0.02 / Math.sqrt(2 * Math.max(layers, 1));
    tf.tidy(() => {
      for (const { name, shape } of shapes) {
        let init: tf.Tensor;
        if (shape.length === 1) init = tf.fill(shape, name.endsWith(".weight") ? 1 : 0); // 1-D: LayerNorm weights 1, all biases 0
        else init = tf.randomNormal(shape, 0, isGpt2ResidualProjection(name) ? residualStd : 0.02, "float32", parameterSeed(seed, index++));
        params[name] = tf.variable(init, true, `${scope}/${name}`);
      }
    });
    return params;
  }

  return {
    config,
    createParameters,
    lossSum(params: NamedParams, batch: Batch, lossOptions?: LossOptions): tf.Scalar {
      return tf.tidy(() => maskedCrossEntropySum(forward(params, batch.x, lossOptions?.roundActivations), batch.y, batch.mask));
    },
    logits(params: NamedParams, tokens: tf.Tensor): tf.Tensor3D {
      return tf.tidy(() => {
        const [b, t] = tokens.shape as [number, number];
        return tf.reshape(forward(params, tokens), [b, t, vocabSize]) as tf.Tensor3D;
      });
    },
    /**
     * An empty prompt starts from bos_token_id (as HF's generate does), or token 0 without one
     * (or when bos_token_id lies outside the vocabulary, as GPT2Config's default 50256 does for a small one).
     * The window is the longest prompt plus maxNewTokens, capped at n_positions: no sequence
     * outgrows it, so the result equals a full n_positions window (causal mask, left-aligned
     * rows) at a fraction of the cost; longer sequences slide over the last n_positions tokens.
     */
    generate(params: NamedParams, prompts: readonly (readonly number[])[], generateOptions: GenerateOptions): Promise<number[][]> {
      const start = config.bosTokenId !== undefined && config.bosTokenId < vocabSize ? config.bosTokenId : 0;
      const rows = prompts.map((p) => (p.length === 0 ? [start] : p));
      const longest = rows.reduce((n, p) => Math.max(n, p.length), 1);
      const window = Math.min(nPositions, longest + Math.max(0, generateOptions.maxNewTokens));
      return generateWithForward((tokens) => forward(params, tokens), window, rows, generateOptions);
    },
  };
}
