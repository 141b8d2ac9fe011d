/**
 * runtime/backend.ts — chooses the TensorFlow.js backend a program trains on.
 *
 * Order for "auto": @tensorflow/tfjs-node-gpu if it really runs on a GPU, then WebGPU on a
 * hardware adapter (@tensorflow/tfjs-backend-webgpu over Dawn's Node bindings, the npm package
 * `webgpu`), then the libtensorflow CPU bindings (@tensorflow/tfjs-node), then wasm, then the
 * pure-JS cpu backend. The native and WebGPU packages are optional dependencies (libtensorflow
 * is downloaded from outside the npm registry and may fail; Dawn needs a Vulkan/Metal/D3D
 * driver), so their absence is normal and never an error for "auto".
 *
 * WebGPU (runtime/webgpu.ts): a software adapter (Mesa's llvmpipe/lavapipe, SwiftShader, WARP) is
 * never picked by "auto", only by an explicit --backend webgpu, where it serves tests and CI on
 * machines without a GPU. Reads of webgpu tensors must be async (`await t.data()`).
 *
 * wasm needs one kernel it lacks (UnsortedSegmentSum, the gradient of gather), registered here.
 * With `threads` (--threads N) wasm runs its threaded SIMD build, which tfjs never picks under
 * Node (runtime/wasm-threads.ts); the description is then "wasm (N threads)".
 *
 * selectBackend returns a one-line description ("cpu", "wasm", "tensorflow (GPU)",
 * "webgpu (mesa, llvmpipe, software)"), which the program's first line prints; backendDevice()
 * has the details, which trainer_state.json records (runtime/trainer-state.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { UserError } from "./user-error.ts";
import { registerWasmKernels } from "./wasm-kernels.ts";
import { startWasm } from "./wasm-threads.ts";
import { adapterLine, type AdapterDescription, startWebgpu, webgpuStartError } from "./webgpu.ts";

export type { AdapterDescription } from "./webgpu.ts";

export type BackendChoice = "auto" | "webgpu" | "wasm" | "cpu" | "tensorflow";
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "webgpu", "wasm", "cpu", "tensorflow"];

/** What the program trains on, as selectBackend chose it. */
export interface BackendDevice {
  /** The tfjs backend: "webgpu", "tensorflow", "wasm" or "cpu". */
  name: string;
  /** One line for people: the name, and the device where there is one ("webgpu (mesa, llvmpipe, software)"). */
  description: string;
  /** webgpu only. */
  adapter?: AdapterDescription;
}

let selected: BackendDevice | null = null;

/** The device of the last selectBackend call (null before the first). */
export function backendDevice(): BackendDevice | null {
  return selected;
}

async function tryImport(name: string): Promise<boolean> {
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

/** tfjs-node-gpu, only when it really runs on a GPU. */
async function useTensorflowGpu(): Promise<boolean> {
  if (!(await tryImport("@tensorflow/tfjs-node-gpu"))) return false;
  if (!(await tf.setBackend("tensorflow"))) return false;
  return (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
}

/** libtensorflow on any device: tfjs-node, or tfjs-node-gpu when only it is installed. */
async function useTensorflow(): Promise<boolean> {
  if (tf.findBackendFactory("tensorflow") === null && !(await tryImport("@tensorflow/tfjs-node")) && !(await tryImport("@tensorflow/tfjs-node-gpu"))) return false;
  return tf.setBackend("tensorflow");
}

/** threads: null for tfjs's single-threaded SIMD build, N for the threaded build (runtime/wasm-threads.ts). */
async function useWasm(threads: number | null = null): Promise<boolean> {
  if (!(await tryImport("@tensorflow/tfjs-backend-wasm"))) return false;
  if (!(await startWasm(threads))) return false;
  registerWasmKernels();
  return true;
}

/**
 * Selects and initializes the backend; an explicit choice that is unavailable throws a UserError
 * naming what is missing. Returns the device's one-line description (see backendDevice()).
 * options.threads: --threads (wasm only; null or absent: the single-threaded build).
 */
export async function selectBackend(choice: BackendChoice, options: { threads?: number | null } = {}): Promise<string> {
  const requested = choice === "auto" ? ((process.env.TFJS_BACKEND as BackendChoice | undefined) ?? "auto") : choice;
  if (!BACKEND_CHOICES.includes(requested)) {
    throw new UserError(`Unknown backend "${requested}" (from TFJS_BACKEND); use one of ${BACKEND_CHOICES.join(", ")}.`);
  }
  // --threads N: the wasm backend's threaded build (runtime/wasm-threads.ts); other backends have their own threads.
  const threads = options.threads ?? null;
  if (threads !== null && requested !== "wasm" && requested !== "auto") throw new UserError(`--threads applies to the wasm backend only, not "${requested}".`, 2);
  let adapter: AdapterDescription | undefined;
  if (requested === "tensorflow" && !(await useTensorflowGpu()) && !(await useTensorflow())) {
    throw new UserError(
      `Backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu, and neither is installed ` +
        `(their install downloads libtensorflow; run "npm install @tensorflow/tfjs-node" where that host is reachable), or use --backend wasm.`,
    );
  }
  if (requested === "webgpu") {
    const start = await startWebgpu(false);
    if (!start.ok) throw webgpuStartError(start);
    adapter = start.adapter;
  }
  if (requested === "wasm" && !(await useWasm(threads))) {
    throw new UserError(`Backend "wasm" could not start (@tensorflow/tfjs-backend-wasm is missing or failed to load); use --backend cpu.`);
  }
  if (requested === "cpu") await tf.setBackend("cpu");
  if (requested === "auto" && !(await useTensorflowGpu())) {
    const webgpu = await startWebgpu(true);
    if (webgpu.ok) adapter = webgpu.adapter;
    else if (!(await useTensorflow()) && !(await useWasm(threads))) await tf.setBackend("cpu");
  }
  await tf.ready();
  const name = tf.getBackend();
  if (threads !== null && name !== "wasm") throw new UserError(`--threads applies to the wasm backend only, and "auto" chose ${name}; use --backend wasm --threads ${threads}.`, 2);
  if (name === "cpu") {
    // The cpu backend prints a banner recommending tfjs-node on first use; "auto" already prefers
    // it when installed, so the banner is noise here.
    (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  }
  const onGpu = name === "tensorflow" && (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
  const description = name === "webgpu" && adapter ? adapterLine(adapter) : onGpu ? "tensorflow (GPU)" : name === "wasm" && threads !== null ? `wasm (${threads} thread${threads === 1 ? "" : "s"})` : name;
  selected = { name, description, ...(name === "webgpu" && adapter ? { adapter } : {}) };
  return description;
}
