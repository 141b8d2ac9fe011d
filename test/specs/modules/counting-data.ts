// A user dataset: sequences counting up modulo 5 ("0123401234..."), from a random start.
import * as tf from "@tensorflow/tfjs";
import type { Batch, DatasetDefinition } from "gen-trainer/runtime";

const T = 8;
const V = 5;

function batchOf(starts: number[]): Batch {
  const x = starts.flatMap((s) => Array.from({ length: T }, (_, t) => (s + t) % V));
  const y = starts.flatMap((s) => Array.from({ length: T }, (_, t) => (s + t + 1) % V));
  return {
    x: tf.tensor2d(x, [starts.length, T], "int32"),
    y: tf.tensor2d(y, [starts.length, T], "int32"),
    mask: tf.ones([starts.length, T]),
    items: starts.length * T,
  };
}

export default function createData(): DatasetDefinition {
  return {
    vocabulary: { tokens: ["0", "1", "2", "3", "4"], encode: (s) => [...s].map(Number), decode: (ids) => ids.join("") },
    sequenceLength: T,
    trainSize: 40,
    evalSize: 10,
    trainBatch: (indices) => batchOf(indices.map((i) => i % V)),
    evalBatch: (indices) => batchOf(indices.map((i) => (i * 3) % V)),
  };
}
