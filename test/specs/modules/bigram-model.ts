// A user model: a bigram table (logits of the next token given the current one).
import * as tf from "@tensorflow/tfjs";
import type { ModelContext, ModelDefinition } from "gen-trainer/runtime";

let created = 0;

export default function createModel(context: ModelContext): ModelDefinition {
  const V = context.vocabularySize;
  return {
    createParameters(seed) {
      return tf.tidy(() => ({ table: tf.variable(tf.randomNormal([V, V], 0, 0.02, "float32", seed), true, `bigram_${seed}_${created++}`) }));
    },
    lossSum(params, batch) {
      return tf.tidy(() => {
        const logits = tf.matMul(tf.oneHot(batch.x.flatten() as tf.Tensor1D, V), params.table!);
        const logp = tf.logSoftmax(logits);
        const picked = tf.sum(tf.mul(logp, tf.oneHot(batch.y.flatten() as tf.Tensor1D, V)), -1);
        return tf.neg(tf.sum(tf.mul(picked, batch.mask.flatten()))) as tf.Scalar;
      });
    },
  };
}
