/**
 * runtime/evaluate.ts — the loss on the held-out split.
 *
 * eval_loss is the mean over all held-out loss items (tokens), not the mean of per-batch means,
 * so it does not depend on the eval batch size.
 */
import * as tf from "@tensorflow/tfjs";
import type { DatasetDefinition, ModelDefinition, NamedParams } from "./types.ts";

export async function evaluateLoss(model: ModelDefinition, params: NamedParams, data: DatasetDefinition, batchSize: number): Promise<number> {
  let lossSum = 0;
  let items = 0;
  for (let start = 0; start < data.evalSize; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, data.evalSize - start) }, (_, i) => start + i);
    const batch = data.evalBatch(indices);
    const loss = tf.tidy(() => model.lossSum(params, batch));
    lossSum += (await loss.data())[0]!;
    items += batch.items;
    tf.dispose([loss, batch.x, batch.y, batch.mask]);
  }
  return lossSum / Math.max(1, items);
}
