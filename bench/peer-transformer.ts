/**
 * bench/peer-transformer.ts — the char-transformer of runtime/models/char-transformer.ts written
 * the straightforward way a TensorFlow.js user would write it, as the peer that the generated
 * program is measured against (bench/backends.ts).
 *
 * Same model and sizes: token + position embeddings, per block pre-LayerNorm causal multi-head
 * self-attention without biases and a GELU (tanh approximation) MLP of width 4·d with biases, a
 * final LayerNorm and an untied lm_head without bias; no dropout. Same parameter count (q, k and
 * v are one fused [d, 3d] dense, as nanoGPT's c_attn).
 *
 * Written as usual: tf.layers (embedding, dense, layerNormalization) called with .apply, the
 * attention with a rank-5 transpose to split q/k/v and a rank-4 transpose to merge heads,
 * tf.matMul(q, k, false, true), tf.losses.softmaxCrossEntropy, and an explicit loop with
 * tf.train.adam's minimize. No custom gradients, nothing tuned for a backend.
 *
 * Only two things come from the runtime: selectBackend (on wasm it registers the
 * UnsortedSegmentSum kernel that tf.gather's gradient, hence tf.layers.embedding's, needs and
 * tfjs-backend-wasm lacks) and the text data with its sampler, so both programs train on the
 * same batches.
 *
 *   tsx bench/peer-transformer.ts --corpus FILE [--backend wasm] [--d-model 128] [--layers 2]
 *     [--heads 4] [--context 64] [--batch 32] [--steps 20] [--log-every 4] [--warmup 1]
 *     [--layer-norm layers|own]
 *
 * Prints one JSON line: { tokens_per_sec (median over the logging intervals after the first
 * --warmup ones),
 * parameters, first_loss, last_loss, backend }.
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { EpochSampler, selectBackend, textData, type BackendChoice } from "../runtime/index.ts";

export interface PeerConfig {
  vocabularySize: number;
  dModel: number;
  layers: number;
  heads: number;
  contextLength: number;
  /**
   * "layers": tf.layers.layerNormalization (the default). It tiles gamma, beta and the moments
   * to the input's shape, and tfjs-core's Tile gradient adds up one slice per tiled row, which
   * dominates this model's step on wasm and cpu. "own": LayerNorm written with tf.moments, as a
   * user who noticed that would write it.
   */
  layerNorm?: "layers" | "own";
}

/** The part of a layer the model uses. */
interface Applicable {
  apply(x: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] | tf.SymbolicTensor | tf.SymbolicTensor[];
  countParams(): number;
}

/** LayerNorm over the last axis with a gain and a bias, from tf.moments. */
class OwnLayerNorm implements Applicable {
  private readonly gamma: tf.Variable;
  private readonly beta: tf.Variable;
  constructor(d: number, private readonly epsilon: number) {
    this.gamma = tf.variable(tf.ones([d]));
    this.beta = tf.variable(tf.zeros([d]));
  }
  apply(x: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const input = x as tf.Tensor;
    const { mean, variance } = tf.moments(input, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(input, mean), tf.sqrt(tf.add(variance, this.epsilon))), this.gamma), this.beta);
  }
  countParams(): number {
    return this.gamma.size + this.beta.size;
  }
}

/** A GPT-style decoder built from tf.layers; apply() maps token ids [B, T] to logits [B, T, V]. */
export class PeerTransformer {
  readonly tokenEmbedding: tf.layers.Layer;
  readonly positionEmbedding: tf.layers.Layer;
  readonly blocks: { ln1: Applicable; qkv: tf.layers.Layer; proj: tf.layers.Layer; ln2: Applicable; fc: tf.layers.Layer; fcProj: tf.layers.Layer }[];
  readonly lnF: Applicable;
  readonly head: tf.layers.Layer;
  private readonly mask: tf.Tensor2D;

  constructor(readonly config: PeerConfig) {
    const { vocabularySize: v, dModel: d, layers, contextLength: t } = config;
    const layerNorm = (): Applicable => (config.layerNorm === "own" ? new OwnLayerNorm(d, 1e-5) : tf.layers.layerNormalization({ epsilon: 1e-5 }));
    this.tokenEmbedding = tf.layers.embedding({ inputDim: v, outputDim: d });
    this.positionEmbedding = tf.layers.embedding({ inputDim: t, outputDim: d });
    this.blocks = Array.from({ length: layers }, () => ({
      ln1: layerNorm(),
      qkv: tf.layers.dense({ units: 3 * d, useBias: false }),
      proj: tf.layers.dense({ units: d, useBias: false }),
      ln2: layerNorm(),
      fc: tf.layers.dense({ units: 4 * d, activation: "gelu_new" }),
      fcProj: tf.layers.dense({ units: d }),
    }));
    this.lnF = layerNorm();
    this.head = tf.layers.dense({ units: v, useBias: false });
    // Causal mask: 0 on and below the diagonal, -1e9 above.
    this.mask = tf.keep(tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([t, t]), -1, 0)), -1e9) as tf.Tensor2D);
  }

  private attention(block: PeerTransformer["blocks"][number], x: tf.Tensor3D): tf.Tensor3D {
    const [b, t, d] = x.shape;
    const h = this.config.heads;
    const dh = d / h;
    const qkv = block.qkv.apply(x) as tf.Tensor3D; // [B, T, 3d]
    const split = tf.transpose(tf.reshape(qkv, [b, t, 3, h, dh]), [2, 0, 3, 1, 4]); // [3, B, H, T, dh]
    const [q, k, v] = tf.unstack(split) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), tf.slice(this.mask, [0, 0], [t, t])); // [B, H, T, T]
    const y = tf.matMul(tf.softmax(scores), v); // [B, H, T, dh]
    const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [b, t, d]);
    return block.proj.apply(merged) as tf.Tensor3D;
  }

  apply(tokens: tf.Tensor2D): tf.Tensor3D {
    const t = tokens.shape[1];
    let x = tf.add(this.tokenEmbedding.apply(tokens) as tf.Tensor3D, this.positionEmbedding.apply(tf.range(0, t, 1, "int32")) as tf.Tensor2D) as tf.Tensor3D;
    for (const block of this.blocks) {
      x = tf.add(x, this.attention(block, block.ln1.apply(x) as tf.Tensor3D));
      x = tf.add(x, block.fcProj.apply(block.fc.apply(block.ln2.apply(x))) as tf.Tensor3D);
    }
    return this.head.apply(this.lnF.apply(x)) as tf.Tensor3D;
  }

  /** Mean cross-entropy of the next-token predictions. */
  loss(tokens: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
    const logits = this.apply(tokens);
    const v = this.config.vocabularySize;
    const labels = tf.cast(tf.oneHot(tf.reshape(targets, [-1]) as tf.Tensor1D, v), "float32");
    return tf.losses.softmaxCrossEntropy(labels, tf.reshape(logits, [-1, v])) as tf.Scalar;
  }

  parameterCount(): number {
    const layers: Applicable[] = [this.tokenEmbedding, this.positionEmbedding, ...this.blocks.flatMap((b) => Object.values(b) as Applicable[]), this.lnF, this.head];
    return layers.reduce((n, l) => n + l.countParams(), 0);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      corpus: { type: "string" },
      backend: { type: "string", default: "wasm" },
      "d-model": { type: "string", default: "128" },
      layers: { type: "string", default: "2" },
      heads: { type: "string", default: "4" },
      context: { type: "string", default: "64" },
      batch: { type: "string", default: "32" },
      steps: { type: "string", default: "20" },
      "log-every": { type: "string", default: "4" },
      warmup: { type: "string", default: "1" },
      "layer-norm": { type: "string", default: "layers" },
      "learning-rate": { type: "string", default: "1e-3" },
    },
  });
  if (!values.corpus) throw new Error("peer-transformer: --corpus FILE is required");
  const backend = await selectBackend(values.backend as BackendChoice);
  const [d, layers, heads, t, batchSize, steps, logEvery] = ["d-model", "layers", "heads", "context", "batch", "steps", "log-every"].map((k) => Number(values[k as keyof typeof values]));
  const data = textData({ path: values.corpus, evalFraction: 0, sequenceLength: t! });
  const sampler = new EpochSampler(data.trainSize, batchSize!, 42);
  const model = new PeerTransformer({ vocabularySize: data.vocabulary!.tokens.length, dModel: d!, layers: layers!, heads: heads!, contextLength: t!, layerNorm: values["layer-norm"] === "own" ? "own" : "layers" });
  const optimizer = tf.train.adam(Number(values["learning-rate"]), 0.9, 0.999, 1e-8);
  // tf.layers create their weights on first use; minimize() differentiates with respect to the
  // variables that exist when it is called, so build them with one forward pass first.
  tf.tidy(() => model.apply(tf.zeros([1, t!], "int32")));

  const rates: number[] = [];
  const losses: number[] = [];
  let intervalStart = performance.now();
  let intervalTokens = 0;
  for (let step = 1; step <= steps!; step++) {
    const batch = data.trainBatch(sampler.nextBatch());
    const loss = optimizer.minimize(() => model.loss(batch.x as tf.Tensor2D, batch.y as tf.Tensor2D), true)!;
    losses.push((await loss.data())[0]!);
    tf.dispose([loss, batch.x, batch.y, batch.mask]);
    intervalTokens += batch.x.size;
    if (step % logEvery! === 0 || step === steps) {
      const now = performance.now();
      rates.push(intervalTokens / ((now - intervalStart) / 1000));
      intervalStart = now;
      intervalTokens = 0;
    }
  }
  // The first intervals include the first (slower) steps: --warmup of them are left out.
  const measured = rates.slice(Math.min(Number(values.warmup), rates.length - 1));
  process.stdout.write(
    `${JSON.stringify({ tokens_per_sec: median(measured), parameters: model.parameterCount(), first_loss: losses[0], last_loss: losses[losses.length - 1], backend, num_tensors: tf.memory().numTensors })}\n`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
