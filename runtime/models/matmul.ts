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
 * On the cpu backend all this is neutral or slightly slower, so models pick their ops by backend:
 * DEFAULT_FORMULATIONS below (explicit-transpose on wasm, plain tf ops on cpu, webgpu and
 * tensorflow), unless `gen-trainer --tune` fixed a formulation (formulationFor decides which
 * applies when a tuned program runs on another backend).
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

/** How a model computes: chosen per backend by default, or fixed by `gen-trainer --tune`. */
export interface Formulation {
  /** "explicit-transpose": custom gradients with explicit transposes (fast on wasm); "plain": tf.matMul's own. */
  matmul: "explicit-transpose" | "plain";
  /** "one-hot": oneHot·matMul embedding; "gather": tf.gather (its gradient is UnsortedSegmentSum). */
  embedding: "one-hot" | "gather";
}

/** The backends with defaults of their own (tfjs backend names). */
export type FormulationBackend = "wasm" | "cpu" | "webgpu" | "tensorflow";
export const FORMULATION_BACKENDS: readonly FormulationBackend[] = ["wasm", "cpu", "webgpu", "tensorflow"];

/** A backend's default formulation; the embedding may depend on the vocabulary size. */
export interface DefaultFormulation {
  matmul: Formulation["matmul"];
  embedding: Formulation["embedding"];
  /** When set: "gather" instead of `embedding` for vocabularies larger than this. */
  gatherAboveVocabulary?: number;
}

/**
 * The defaults, by backend (used when a program is not tuned, or was tuned on another backend):
 *
 *   wasm        explicit-transpose matmul (transpose flags are 4-5x slower, see the top of this
 *               file); one-hot embedding, gather above 128 tokens (measured fwd+bwd for 1024 ids:
 *               V=14 gather 11 ms vs one-hot 3.5; V=100 11 vs 9; V=300 6 vs 13; V=1000 5 vs 36)
 *   cpu         plain matmul (explicit transposes are neutral or slower there); one-hot
 *               embedding (cpu's UnsortedSegmentSum runs V full-size ops: gather is 7-18x slower)
 *   webgpu      plain matmul (the GPU kernels take the transpose flags at no cost, while an
 *               explicit transpose is an extra pass over memory) and gather embedding (one lookup
 *               and one scatter-add kernel instead of an [N,V] one-hot product): chosen for GPUs,
 *               not measured on one
 *   tensorflow  plain matmul, one-hot embedding: what it had before the table (not measured)
 *
 * Any other backend gets the cpu row's choices.
 */
export const DEFAULT_FORMULATIONS: Readonly<Record<FormulationBackend, Readonly<DefaultFormulation>>> = {
  wasm: { matmul: "explicit-transpose", embedding: "one-hot", gatherAboveVocabulary: 128 },
  cpu: { matmul: "plain", embedding: "one-hot" },
  webgpu: { matmul: "plain", embedding: "gather" },
  tensorflow: { matmul: "plain", embedding: "one-hot" },
};

/** The backend's name from a tfjs name or selectBackend's description ("webgpu (mesa, llvmpipe, software)" → "webgpu"). */
function backendName(backend: string): string {
  return backend.trim().split(/[\s(]/)[0]!;
}

function defaultsOf(backend: string): Readonly<DefaultFormulation> {
  const name = backendName(backend);
  return (FORMULATION_BACKENDS as readonly string[]).includes(name) ? DEFAULT_FORMULATIONS[name as FormulationBackend] : DEFAULT_FORMULATIONS.cpu;
}

/** The default formulation on `backend` for a model with `vocabularySize` tokens. */
export function defaultFormulation(backend: string, vocabularySize: number): Formulation {
  const d = defaultsOf(backend);
  const gather = d.gatherAboveVocabulary !== undefined && vocabularySize > d.gatherAboveVocabulary;
  return { matmul: d.matmul, embedding: gather ? "gather" : d.embedding };
}

function describeFormulation(f: Formulation): string {
  return `${f.matmul} matmul, ${f.embedding} embedding`;
}

function describeDefault(backend: string): string {
  const d = defaultsOf(backend);
  return `${d.matmul} matmul, ${d.embedding} embedding${d.gatherAboveVocabulary !== undefined ? `, gather above ${d.gatherAboveVocabulary} tokens` : ""}`;
}

/** What `gen-trainer --tune` recorded: the backend it timed on and the fastest formulation there. */
export interface TunedFormulation {
  backend: string;
  choice: Formulation;
}

/**
 * The formulation a program uses on the backend it runs on. `backend`: the tfjs backend name or
 * selectBackend's description; `tuned`: the program's tuning (null when it was not tuned).
 *
 *   not tuned                       → formulation undefined: the backend's defaults (the model
 *                                     resolves them per vocabulary, see DEFAULT_FORMULATIONS); no note
 *   tuned on this backend           → the tuned formulation; no note
 *   tuned on another backend        → undefined (this backend's defaults), and a note saying so,
 *                                     for the program's first lines
 */
export function formulationFor(backend: string, tuned: TunedFormulation | null): { formulation: Formulation | undefined; note: string | null } {
  if (!tuned) return { formulation: undefined, note: null };
  const running = backendName(backend);
  const tunedOn = backendName(tuned.backend);
  if (running === tunedOn) return { formulation: { matmul: tuned.choice.matmul, embedding: tuned.choice.embedding }, note: null };
  return {
    formulation: undefined,
    note:
      `the model's formulation was tuned on the ${tunedOn} backend (${describeFormulation(tuned.choice)}), but this run is on ${running}: ` +
      `using ${running}'s defaults instead (${describeDefault(running)}); to tune for ${running}, run gen-trainer --tune --tune-backend ${running}`,
  };
}

/** The ops of a formulation; without one, the backend's default (DEFAULT_FORMULATIONS). */
export function matmulOpsFor(formulation: Formulation | undefined, backendName: string): MatmulOps {
  const matmul = formulation?.matmul ?? defaultsOf(backendName).matmul;
  return matmul === "plain" ? plainMatmul : customGradMatmul;
}

/** The backend's default ops: custom gradients on wasm, plain tf ops elsewhere (DEFAULT_FORMULATIONS). */
export function fastMatmulFor(backendName: string): MatmulOps {
  return matmulOpsFor(undefined, backendName);
}
