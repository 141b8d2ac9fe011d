/**
 * bench/fit-run.ts — trains bench/layers-model.ts's network with tfjs-layers' model.fit on the
 * same text windows a generated program sees, and prints the training time. The bench compares
 * it with the generated program training the same network.
 *
 *   tsx bench/fit-run.ts <text file> <sequence length> <batch> <backend>
 */
import * as tf from "@tensorflow/tfjs";
import { selectBackend, textData, type BackendChoice } from "../runtime/index.ts";
import { layersNetwork } from "./layers-model.ts";

const [path, T, batch, backend] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4]), (process.argv[5] ?? "wasm") as BackendChoice];
await selectBackend(backend);
const data = textData({ path, evalFraction: 0, sequenceLength: T });
const all = data.trainBatch(Array.from({ length: data.trainSize }, (_, i) => i));
const V = data.vocabulary!.tokens.length;
const ys = tf.oneHot(tf.cast(all.y, "int32") as tf.Tensor2D, V);
const network = layersNetwork(V, T);
network.compile({ optimizer: tf.train.adam(1e-3), loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred) });
const started = performance.now();
await network.fit(all.x, ys, { batchSize: batch, epochs: 1, shuffle: true, verbose: 0 });
process.stdout.write(`${JSON.stringify({ train_runtime: (performance.now() - started) / 1000, tokens: data.trainSize * T })}\n`);
