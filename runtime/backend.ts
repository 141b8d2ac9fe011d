/**
 * runtime/backend.ts — chooses the TensorFlow.js backend a program trains on.
 *
 * Order for "auto": the native libtensorflow bindings when installed (@tensorflow/tfjs-node-gpu
 * if it really runs on a GPU, else @tensorflow/tfjs-node), then wasm, then the pure-JS cpu
 * backend. The native packages are optional dependencies: their install downloads libtensorflow
 * from outside the npm registry and may fail, so their absence is normal and never an error for
 * "auto". wasm needs one kernel it lacks (UnsortedSegmentSum, the gradient of gather), which is
 * registered here.
 */
import * as tf from "@tensorflow/tfjs";
import { UserError } from "./user-error.ts";
import { registerWasmKernels } from "./wasm-kernels.ts";

export type BackendChoice = "auto" | "wasm" | "cpu" | "tensorflow";
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "wasm", "cpu", "tensorflow"];

async function tryImport(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

async function useTensorflow(): Promise<boolean> {
  if (await tryImport("@tensorflow/tfjs-node-gpu")) {
    await tf.setBackend("tensorflow");
    const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
    if (backend.isUsingGpuDevice) return true;
  }
  if (await tryImport("@tensorflow/tfjs-node")) {
    return tf.setBackend("tensorflow");
  }
  return tf.getBackend() === "tensorflow";
}

async function useWasm(): Promise<boolean> {
  if (!(await tryImport("@tensorflow/tfjs-backend-wasm"))) return false;
  if (!(await tf.setBackend("wasm"))) return false;
  registerWasmKernels();
  return true;
}

/** Selects and initializes the backend; an explicit choice that is unavailable throws. */
export async function selectBackend(choice: BackendChoice): Promise<string> {
  const requested = choice === "auto" ? ((process.env.TFJS_BACKEND as BackendChoice | undefined) ?? "auto") : choice;
  if (!BACKEND_CHOICES.includes(requested)) {
    throw new UserError(`Unknown backend "${requested}" (from TFJS_BACKEND); use one of ${BACKEND_CHOICES.join(", ")}.`);
  }
  if (requested === "tensorflow" && !(await useTensorflow())) {
    throw new UserError(
      `Backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu, and neither is installed ` +
        `(their install downloads libtensorflow; run "npm install @tensorflow/tfjs-node" where that host is reachable), or use --backend wasm.`,
    );
  }
  if (requested === "wasm" && !(await useWasm())) {
    throw new UserError(`Backend "wasm" could not start (@tensorflow/tfjs-backend-wasm is missing or failed to load); use --backend cpu.`);
  }
  if (requested === "cpu") await tf.setBackend("cpu");
  if (requested === "auto" && !(await useTensorflow()) && !(await useWasm())) await tf.setBackend("cpu");
  await tf.ready();
  if (tf.getBackend() === "cpu") {
    // The cpu backend prints a banner recommending tfjs-node on first use; "auto" already prefers
    // it when installed, so the banner is noise here.
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  }
  return tf.getBackend();
}
