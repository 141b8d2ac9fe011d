/**
 * runtime/types.ts — the contracts between a generated training program, its model and its data.
 *
 * A generated program only ever talks to a model through `ModelDefinition` and to data through
 * `DatasetDefinition`. The built-in presets (runtime/models, runtime/data) implement them, and so
 * does a user module named by `{ module: "./my-model.ts" }` in a spec: its default export is a
 * factory `(context) => ModelDefinition` (or `() => DatasetDefinition` for data).
 */
import type * as tf from "@tensorflow/tfjs";

/** Trainable parameters by name. Names become tensor names in model.safetensors. */
export type NamedParams = Record<string, tf.Variable>;

/** Tensors keyed like NamedParams (gradients, optimizer moments). */
export type NamedTensors = Record<string, tf.Tensor>;

/**
 * One batch as the model sees it. `items` is the number of loss items in the batch (tokens that
 * count, i.e. the sum of `mask`), known on the host without reading tensors back. Generated
 * programs divide summed losses by the items of a whole optimizer step, which is what makes
 * gradient accumulation exactly equal to one large batch.
 */
export interface Batch {
  /** Model inputs, e.g. int32 token ids [B, T]. */
  x: tf.Tensor;
  /** Targets, e.g. int32 next-token ids [B, T]. */
  y: tf.Tensor;
  /** float32 weights of each target: 1 counts towards the loss, 0 is padding/prompt. */
  mask: tf.Tensor;
  /** Sum of `mask`, computed on the host. */
  items: number;
}

/** Character (or any token) vocabulary of a dataset. */
export interface Vocabulary {
  /** tokens[id] is the text of token `id`. */
  readonly tokens: readonly string[];
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export interface DatasetDefinition {
  /** Vocabulary of token datasets; the built-in models need one. */
  readonly vocabulary?: Vocabulary;
  /** Length of the sequences in a batch (T), for sequence datasets. */
  readonly sequenceLength?: number;
  /** Number of training examples; the sampler permutes 0..trainSize-1. */
  readonly trainSize: number;
  /** Number of held-out examples (0 = no eval split). */
  readonly evalSize: number;
  /** Builds the batch of the given training examples (indices into 0..trainSize-1). */
  trainBatch(indices: readonly number[]): Batch;
  /** Builds the batch of the given held-out examples (indices into 0..evalSize-1). */
  evalBatch(indices: readonly number[]): Batch;
  /**
   * Metrics beyond eval_loss, computed with the model's generate (e.g. eval_exact_match of the
   * addition preset). Keys are reported with an `eval_` prefix added by the caller when missing.
   */
  generationMetrics?(generate: GenerateFn): Promise<Record<string, number>>;
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy (argmax); otherwise logits are divided by it before sampling. */
  temperature?: number;
  /** Sample only among the k most likely tokens (with temperature > 0). */
  topK?: number;
  /** Seed of the sampling generator (only used when temperature > 0). */
  seed?: number;
  /** Stop a row once it emits this token id (the token is kept in the output). */
  stopToken?: number;
}

/** Continues each prompt (token ids) and returns only the new tokens of each. */
export type GenerateFn = (prompts: readonly (readonly number[])[], options: GenerateOptions) => Promise<number[][]>;

/** Options a training program passes to a model's loss. */
export interface LossOptions {
  /**
   * Called on activations at block boundaries by the built-in models. The fp16 emulation passes
   * a function that rounds forward values and their gradients to binary16; otherwise absent.
   */
  roundActivations?: (x: tf.Tensor) => tf.Tensor;
}

export interface ModelDefinition {
  /** Creates the parameters, deterministically from `seed`. */
  createParameters(seed: number): NamedParams;
  /** Sum (not mean) over the batch of the per-item losses weighted by `batch.mask`. */
  lossSum(params: NamedParams, batch: Batch, options?: LossOptions): tf.Scalar;
  /** Autoregressive generation, for models that have it. */
  generate?(params: NamedParams, prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<number[][]>;
}

/** What a model factory learns about the data it will be trained on. */
export interface ModelContext {
  vocabularySize: number;
  sequenceLength: number;
}
