/**
 * runtime/wasm-kernels.ts — kernels that @tensorflow/tfjs-backend-wasm 4.22 lacks, written in JS.
 *
 * The wasm backend has no `UnsortedSegmentSum`, and the gradient of `tf.gather` (hence of every
 * embedding lookup) is an unsorted segment sum, so without it any gather gradient fails with
 * "Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'". The kernel below works
 * directly on the wasm heap, like the backend's own kernels do: it allocates the output with
 * `backend.makeOutput` and fills the Float32Array/Int32Array views from `typedArrayFromHeap`.
 *
 * The kernel has no setup function, so registration works before or after the wasm backend is
 * initialised (tf.setBackend("wasm")); the registry is consulted on every kernel call.
 */
import * as tf from "@tensorflow/tfjs";

/** The part of tfjs-backend-wasm's BackendWasm that the kernel uses. */
interface WasmBackendHeap {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * out[s, ...] = sum over i with segmentIds[i] == s of x[i, ...].
 * segmentIds may have any rank r; its shape is a prefix of x's shape, so x is viewed as
 * [size(segmentIds), inner] and the output as [numSegments, inner]. Ids outside
 * [0, numSegments) are dropped, as in TensorFlow.
 */
const unsortedSegmentSumWasm: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as unknown as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  if (x.dtype !== "float32" && x.dtype !== "int32") {
    throw new Error(`UnsortedSegmentSum (wasm, JS): unsupported dtype ${x.dtype}`);
  }
  const heap = backend as unknown as WasmBackendHeap;
  const ids = sizeOf(segmentIds.shape);
  const inner = ids === 0 ? 0 : sizeOf(x.shape) / ids;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = heap.makeOutput(outShape, x.dtype);
  if (sizeOf(outShape) === 0) return out;
  // Views are taken after makeOutput: a malloc may grow (and so detach) the wasm memory.
  const o = heap.typedArrayFromHeap(out);
  const xv = heap.typedArrayFromHeap(x);
  const sv = heap.typedArrayFromHeap(segmentIds);
  o.fill(0); // malloc'd memory is not zeroed
  for (let i = 0; i < ids; i++) {
    const s = sv[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] = o[dst + j]! + xv[src + j]!;
  }
  return out;
};

/** Registers the JS kernels for the 'wasm' backend. Safe to call any number of times. */
export function registerWasmKernels(): void {
  if (tf.getKernel("UnsortedSegmentSum", "wasm") !== undefined) return;
  tf.registerKernel({ kernelName: "UnsortedSegmentSum", backendName: "wasm", kernelFunc: unsortedSegmentSumWasm });
}
