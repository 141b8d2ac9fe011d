/**
 * bench/layers-model.ts — a tf.layers model as a gen-trainer user model, for the bench's
 * comparison with `model.fit`: the same network (token embedding → dense GELU → dense logits,
 * applied at every position) is trained once by a generated program through this
 * ModelDefinition and once by tfjs-layers' own model.fit.
 */
import * as tf from "@tensorflow/tfjs";
import type { ModelContext, ModelDefinition, NamedParams } from "../runtime/index.ts";

export const LAYERS_MODEL = { embedding: 64, hidden: 256 };

/** The tf.layers network: [B, T] token ids → [B, T, V] logits. */
export function layersNetwork(vocabularySize: number, sequenceLength: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.embedding({ inputDim: vocabularySize, outputDim: LAYERS_MODEL.embedding, inputLength: sequenceLength }),
      tf.layers.dense({ units: LAYERS_MODEL.hidden, activation: "relu" }),
      tf.layers.dense({ units: vocabularySize }),
    ],
  });
}

export default function createModel(context: ModelContext): ModelDefinition {
  const network = layersNetwork(context.vocabularySize, context.sequenceLength);
  return {
    createParameters(): NamedParams {
      // The layers' own variables are the parameters (keyed by their names).
      return Object.fromEntries(network.trainableWeights.map((w) => [w.originalName, w.read() as tf.Variable]));
    },
    lossSum(_params, batch) {
      return tf.tidy(() => {
        const logits = network.apply(batch.x, { training: true }) as tf.Tensor3D;
        const logp = tf.logSoftmax(logits);
        const target = tf.oneHot(tf.cast(batch.y, "int32") as tf.Tensor2D, context.vocabularySize);
        return tf.neg(tf.sum(tf.mul(tf.sum(tf.mul(logp, target), -1), batch.mask))) as tf.Scalar;
      });
    },
  };
}
