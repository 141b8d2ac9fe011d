/**
 * runtime/models/mlp.ts — a Bengio-style (2003) next-token MLP over sequence data.
 *
 * For each position t the input is the concatenation of the embeddings of the `window` tokens
 * ending at t (tokens before the start of the sequence are token 0):
 *
 *   e_t    = [wte[x_{t-w+1}], ..., wte[x_t]]            [w·embedding]
 *   h      = act(h · fc.i.weight + fc.i.bias)          for each hidden layer
 *   logits = h · head.weight + head.bias               [V]
 *
 * Same batch/loss contract as char-transformer (sum over [B, T] of mask · cross-entropy; the
 * optional roundActivations is applied to the input of each layer and to the last hidden state)
 * and the same generation loop (generate.ts), with a context of `window` tokens, which is all the
 * model looks at.
 */
import * as tf from "@tensorflow/tfjs";
import type { Batch, GenerateOptions, LossOptions, ModelContext, ModelDefinition, NamedParams } from "../types.ts";
import { registerWasmKernels } from "../wasm-kernels.ts";
import { fastMatmulFor } from "./matmul.ts";
import { generateWithForward } from "./generate.ts";
import { embedTokens, gelu, maskedCrossEntropySum, nextVariableScope, parameterSeed } from "./char-transformer.ts";
import { MLP_DEFAULTS, mlpShapes } from "../presets/mlp.ts";

export interface MlpConfig {
  /** Widths of the hidden layers, e.g. [128, 128]. */
  hidden: number[];
  /** Tokens of context per prediction (default MLP_DEFAULTS.window, 4). */
  window?: number;
  /** Embedding size per token (default MLP_DEFAULTS.embedding, 16). */
  embedding?: number;
  /** Hidden activation (default "tanh"; "gelu" is the tanh approximation). */
  activation?: "tanh" | "gelu";
}

/** tanh(x) = 2·σ(2x) − 1: wasm's Tanh is scalar code, ~15x slower than its Sigmoid. */
function tanh<T extends tf.Tensor>(x: T): T {
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
}

export function mlp(config: MlpConfig, context: ModelContext): ModelDefinition {
  const window = config.window ?? MLP_DEFAULTS.window;
  const e = config.embedding ?? MLP_DEFAULTS.embedding;
  const hidden = [...config.hidden];
  const activation = config.activation ?? "tanh";
  const vocab = context.vocabularySize;
  if (!(Number.isInteger(window) && window > 0 && e > 0 && vocab > 0 && hidden.every((n) => n > 0))) {
    throw new Error("mlp: window, embedding, hidden sizes and vocabularySize must be positive");
  }
  registerWasmKernels();

  function param(params: NamedParams, name: string): tf.Variable {
    const p = params[name];
    if (p === undefined) throw new Error(`mlp: missing parameter ${name}`);
    return p;
  }

  /**
   * tokens int32 [B, T] → logits [B*T, V]. The window is built after the embedding: embed the
   * left-padded sequence once ([B, T+w-1, e]) and concatenate its w shifted slices along the
   * feature axis, which embeds each token once instead of w times and needs no gather.
   */
  function forward(params: NamedParams, tokens: tf.Tensor, round?: (x: tf.Tensor) => tf.Tensor): tf.Tensor2D {
    if (tokens.rank !== 2) throw new Error(`mlp: expected tokens [B, T], got shape [${tokens.shape}]`);
    const [b, t] = tokens.shape as [number, number];
    const mm = fastMatmulFor(tf.getBackend());
    const padded = tf.pad(tf.cast(tokens, "int32"), [[0, 0], [window - 1, 0]]); // [B, T+w-1], 0 before the start
    const emb = tf.reshape(embedTokens(mm, param(params, "wte") as tf.Tensor2D, padded), [b, t + window - 1, e]);
    const slices: tf.Tensor[] = [];
    for (let j = 0; j < window; j++) slices.push(tf.slice(emb, [0, j, 0], [b, t, e])); // token t-w+1+j
    let h = tf.reshape(window === 1 ? slices[0]! : tf.concat(slices, 2), [b * t, window * e]) as tf.Tensor2D;
    for (let i = 0; i < hidden.length; i++) {
      if (round) h = round(h) as tf.Tensor2D;
      const pre = mm.addBroadcast(mm.matMul2d(h, param(params, `fc.${i}.weight`) as tf.Tensor2D), param(params, `fc.${i}.bias`));
      h = activation === "gelu" ? gelu(pre) : tanh(pre);
    }
    if (round) h = round(h) as tf.Tensor2D;
    return mm.addBroadcast(mm.matMul2d(h, param(params, "head.weight") as tf.Tensor2D), param(params, "head.bias"));
  }

  function createParameters(seed: number): NamedParams {
    const scope = nextVariableScope("mlp");
    const params: NamedParams = {};
    let index = 0;
    // Names, order and shapes are runtime/presets/mlp.ts's; the order fixes the seeds: the i-th
    // matrix (2-D parameter) is drawn with parameterSeed(seed, i).
    // Embeddings N(0, 1); hidden weights N(0, gain/√fan_in) with the tanh gain 5/3 (1 for gelu);
    // a small head (N(0, 0.02)) so the initial loss is close to ln(V); biases 0.
    const gain = activation === "gelu" ? 1 : 5 / 3;
    tf.tidy(() => {
      for (const { name, shape } of mlpShapes({ hidden, window, embedding: e }, vocab)) {
        let init: tf.Tensor;
        if (shape.length === 1) init = tf.zeros(shape);
        else {
          const std = name === "wte" ? 1 : name === "head.weight" ? 0.02 : gain / Math.sqrt(shape[0]!); // fc.i.weight: [fan_in, width]
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
      return generateWithForward((tokens) => forward(params, tokens), window, prompts, options);
    },
  };
}
