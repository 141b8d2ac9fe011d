/**
 * runtime/models/matmul.ts — matrix products (and row broadcasts) whose gradients are fast on the
 * wasm backend.
 *
 * On tfjs-backend-wasm 4.22 a matMul with transposeA/transposeB is 4-5x slower than an explicit
 * tf.transpose followed by a plain matMul, and tfjs's built-in BatchMatMul gradient uses exactly
 * those flags. matMul2d/batchMatMul below compute the same products with a tf.customGrad whose
 * gradients transpose explicitly:
 *
 *   C = A·B      dA = dC·Bᵀ      dB = Aᵀ·dC   (or (dCᵀ·A)ᵀ when that transposes fewer elements)
 *
 * Likewise the gradient of a broadcast add/mul of a parameter row (bias, LayerNorm gain) is a
 * column sum, and wasm's tf.sum(x, 0) is ~30x slower than the same sum written as ones[1,N]·x
 * (measured on [1024,256]: 3.5 ms vs 0.1 ms). addBroadcast/mulBroadcast do that.
 *
 * On the cpu backend all this is neutral or slightly slower, so models pick their ops with
 * fastMatmulFor(tf.getBackend()): the custom-grad versions on wasm, plain tf ops elsewhere.
 */
import * as tf from "@tensorflow/tfjs";

/** The products and row broadcasts a model needs. */
export interface MatmulOps {
  /** [M,K]·[K,N] → [M,N]. */
  matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D;
  /** [B,H,M,K]·[B,H,K,N] → [B,H,M,N]. */
  batchMatMul(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D;
  /** x + b, where b's shape is the trailing dimensions of x (a bias row, a position table). */
  addBroadcast<T extends tf.Tensor>(x: T, b: tf.Tensor): T;
  /** x · g, where g's shape is the trailing dimensions of x (a LayerNorm gain). */
  mulBroadcast<T extends tf.Tensor>(x: T, g: tf.Tensor): T;
}

/** Swaps the last two axes of a rank-2 or rank-4 tensor. */
export function transposeLast2<T extends tf.Tensor2D | tf.Tensor4D>(x: T): T {
  return (x.rank === 2 ? tf.transpose(x, [1, 0]) : tf.transpose(x, [0, 1, 3, 2])) as T;
}

type SaveFn = (tensors: tf.Tensor[]) => void;
/** tfjs does not export its CustomGradientFunc type. */
type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

const matMul2dCustom = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: SaveFn) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      const [m, k] = sa.shape;
      const n = sb.shape[1];
      // Transposes cost about their element count: pick the cheaper form of each product.
      const da = k * n <= m * n + m * k ? tf.matMul(dy, transposeLast2(sb)) : transposeLast2(tf.matMul(sb, transposeLast2(dy)) as tf.Tensor2D);
      const db = m * k <= m * n + k * n ? tf.matMul(transposeLast2(sa), dy) : transposeLast2(tf.matMul(transposeLast2(dy), sa) as tf.Tensor2D);
      return [da, db];
    },
  };
}) as unknown as CustomGradientFunc);

const batchMatMulCustom = tf.customGrad(((a: tf.Tensor4D, b: tf.Tensor4D, save: SaveFn) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor4D, tf.Tensor4D];
      return [tf.matMul(dy, transposeLast2(sb)), tf.matMul(transposeLast2(sa), dy)];
    },
  };
}) as unknown as CustomGradientFunc);

/** [M,K]·[K,N] with explicit-transpose gradients (for wasm). */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMul2dCustom(a, b) as tf.Tensor2D;
}

/** [B,H,M,K]·[B,H,K,N] with explicit-transpose gradients (for wasm). */
export function batchMatMul(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D {
  return batchMatMulCustom(a, b) as tf.Tensor4D;
}

/** Column sums of x viewed as [N, size(like)], shaped like `like`: ones[1,N]·x. */
function sumToShape(x: tf.Tensor, like: tf.Tensor): tf.Tensor {
  const n = like.size;
  const rows = x.size / n;
  return tf.reshape(tf.matMul(tf.ones([1, rows]), tf.reshape(x, [rows, n])), like.shape);
}

const addBroadcastCustom = tf.customGrad(((x: tf.Tensor, b: tf.Tensor, save: SaveFn) => {
  save([b]);
  return {
    value: tf.add(x, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.clone(dy), sumToShape(dy, saved[0]!)],
  };
}) as unknown as CustomGradientFunc);

const mulBroadcastCustom = tf.customGrad(((x: tf.Tensor, g: tf.Tensor, save: SaveFn) => {
  save([x, g]);
  return {
    value: tf.mul(x, g),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sg] = saved as [tf.Tensor, tf.Tensor];
      return [tf.mul(dy, sg), sumToShape(tf.mul(dy, sx), sg)];
    },
  };
}) as unknown as CustomGradientFunc);

function checkTrailing(x: tf.Tensor, b: tf.Tensor): void {
  const tail = x.shape.slice(x.rank - b.rank);
  if (b.rank > x.rank || tail.some((d, i) => d !== b.shape[i])) {
    throw new Error(`broadcast: shape [${b.shape}] is not the trailing dimensions of [${x.shape}]`);
  }
}

/** x + b with b the trailing dimensions of x; db = ones·dy (for wasm). */
export function addBroadcast<T extends tf.Tensor>(x: T, b: tf.Tensor): T {
  checkTrailing(x, b);
  return addBroadcastCustom(x, b) as T;
}

/** x · g with g the trailing dimensions of x; dg = ones·(dy·x) (for wasm). */
export function mulBroadcast<T extends tf.Tensor>(x: T, g: tf.Tensor): T {
  checkTrailing(x, g);
  return mulBroadcastCustom(x, g) as T;
}

/** The custom-gradient ops (wasm). */
export const customGradMatmul: MatmulOps = { matMul2d, batchMatMul, addBroadcast, mulBroadcast };

/** Plain tf ops, whose built-in gradients are the better ones off wasm. */
export const plainMatmul: MatmulOps = {
  matMul2d: (a, b) => tf.matMul(a, b),
  batchMatMul: (a, b) => tf.matMul(a, b),
  addBroadcast: <T extends tf.Tensor>(x: T, b: tf.Tensor) => tf.add(x, b) as T,
  mulBroadcast: <T extends tf.Tensor>(x: T, g: tf.Tensor) => tf.mul(x, g) as T,
};

/** The ops to use on a backend: custom gradients on 'wasm', plain tf ops elsewhere. */
/** How a model computes: chosen per backend by default, or fixed by `gen-trainer --tune`. */
export interface Formulation {
  /** "explicit-transpose": custom gradients with explicit transposes (fast on wasm); "plain": tf.matMul's own. */
  matmul: "explicit-transpose" | "plain";
  /** "one-hot": oneHot·matMul embedding; "gather": tf.gather (its gradient is UnsortedSegmentSum). */
  embedding: "one-hot" | "gather";
}

export function matmulOpsFor(formulation: Formulation | undefined, backendName: string): MatmulOps {
  if (!formulation) return fastMatmulFor(backendName);
  return formulation.matmul === "plain" ? plainMatmul : customGradMatmul;
}

export function fastMatmulFor(backendName: string): MatmulOps {
  return backendName === "wasm" ? customGradMatmul : plainMatmul;
}
