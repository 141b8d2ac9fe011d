/**
 * runtime/webgpu.ts — the "webgpu" backend: @tensorflow/tfjs-backend-webgpu 4.22 over Dawn's Node
 * bindings (the npm package `webgpu`, whose tarball carries Dawn's native binary). Both are
 * optional dependencies; runtime/backend.ts decides when to use this.
 *
 * Starting it: tfjs-backend-webgpu registers its backend only if `navigator.gpu` exists when it is
 * imported, so Dawn's `create([])` goes there first, with Dawn's GPU* globals (GPUBufferUsage,
 * GPUMapMode, ...) on globalThis. Before that, one requestAdapter probe tells whether there is an
 * adapter and whether it is a software one (Mesa's llvmpipe/lavapipe, SwiftShader, WARP), which
 * "auto" never picks. On Linux "auto" loads Dawn only if a GPU device node exists, and hides the
 * software Vulkan drivers from the Vulkan loader while it looks (VK_LOADER_DRIVERS_DISABLE), so a
 * machine without a GPU gets no Vulkan warnings on stderr.
 *
 * Two fixes to tfjs-backend-webgpu 4.22, made when the backend starts:
 * - AddN binds every input as a storage buffer and has no fallback for many inputs, so tf.addN of
 *   more than maxStorageBuffersPerShaderStage − 1 tensors (7 at WebGPU's default limit, which
 *   tfjs does not raise) is a pipeline validation error: Dawn prints it and the result is silently
 *   0 (the global gradient norm of a model with 8+ parameters!). The AddN kernel is wrapped to add
 *   in chunks, left to right, which on every other backend would be the same sums in the same order.
 * - A WebGPU validation/out-of-memory error or a lost device leaves wrong values behind with no
 *   exception. Such errors are recorded, and the next read (`await t.data()`, which the training
 *   loop does every step for its divergence check) throws a UserError naming the first one.
 *
 * Reads must be async (`await t.data()`): dataSync/arraySync on a tensor that lives on the GPU
 * needs a browser's OffscreenCanvas and throws in Node.
 */
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs";
import { UserError } from "./user-error.ts";

/** The WebGPU adapter a webgpu run uses (GPUAdapterInfo's fields, plus whether it is software). */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (isFallbackAdapter, or llvmpipe/lavapipe/SwiftShader/WARP by name). */
  software: boolean;
}

/** The parts of the WebGPU API used here (the `webgpu` package's own types need @webgpu/types). */
export interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: "low-power" | "high-performance" }): Promise<{ info?: GpuAdapterInfoLike } | null>;
}
interface GpuErrorLike {
  message: string;
  constructor: { name: string };
}
interface GpuDeviceLike {
  adapterInfo?: GpuAdapterInfoLike;
  limits: { maxStorageBuffersPerShaderStage: number };
  lost: Promise<{ reason: string; message: string }>;
  addEventListener(type: "uncapturederror", listener: (event: { error: GpuErrorLike }) => void): void;
}
interface WebgpuBackendLike {
  device: GpuDeviceLike;
  read(dataId: object): Promise<unknown>;
  disposeData(dataId: object): boolean;
}

export const WEBGPU_PACKAGES = ["webgpu", "@tensorflow/tfjs-backend-webgpu"] as const;
const INSTALL = "npm install --save-optional --save-exact webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0";

const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|basic render driver|\bwarp\b/i;

/** True for a CPU implementation of WebGPU: Dawn's fallback flag, a "software" architecture, or a known software rasterizer's name. */
export function isSoftwareAdapter(info: GpuAdapterInfoLike): boolean {
  if (info.isFallbackAdapter === true) return true;
  if ((info.architecture ?? "").toLowerCase() === "software") return true;
  return SOFTWARE_NAMES.test(`${info.vendor ?? ""} ${info.device ?? ""} ${info.description ?? ""}`);
}

export function describeAdapter(info: GpuAdapterInfoLike): AdapterDescription {
  return {
    vendor: info.vendor ?? "",
    architecture: info.architecture ?? "",
    device: info.device ?? "",
    description: info.description ?? "",
    software: isSoftwareAdapter(info),
  };
}

/** "webgpu (mesa, llvmpipe, software)": vendor, the device's name, architecture, and "software" for a CPU adapter. */
export function adapterLine(adapter: AdapterDescription): string {
  // Drivers put the name first in the description ("llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) 0.0.1").
  const name = adapter.description.split(":")[0]!.trim() || adapter.device;
  const parts: string[] = [];
  for (const part of [adapter.vendor, name, adapter.architecture, adapter.software ? "software" : ""]) {
    if (part && !parts.some((p) => p.toLowerCase() === part.toLowerCase())) parts.push(part);
  }
  return parts.length ? `webgpu (${parts.join(", ")})` : "webgpu";
}

function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** On Linux, whether a GPU device node exists (without one, Dawn can find only a software adapter). */
function linuxGpuDeviceExists(): boolean {
  let dri: string[] = [];
  try {
    dri = readdirSync("/dev/dri");
  } catch {
    // no DRM devices
  }
  return dri.some((n) => n.startsWith("renderD")) || existsSync("/dev/nvidia0") || existsSync("/dev/dxg");
}

/** Software Vulkan drivers' manifests, hidden from the Vulkan loader while "auto" looks for a hardware adapter. */
const SOFTWARE_VULKAN_DRIVERS = "*lvp_icd*,*swiftshader*";

function navigatorGpu(): GpuLike | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator;
  return nav && typeof nav === "object" ? nav.gpu : undefined;
}

/** Puts Dawn's navigator.gpu and GPU* globals in place; returns how to take navigator.gpu away again. */
async function installNavigatorGpu(): Promise<() => void> {
  if (navigatorGpu()) return () => {};
  const dawn: string = "webgpu"; // by name: an optional dependency, absent from some installs
  const { create, globals } = (await import(dawn)) as { create(options: string[]): GpuLike; globals: Record<string, unknown> };
  const g = globalThis as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(globals)) if (!(name in g)) g[name] = value;
  const gpu = create([]);
  // Node 21+ has a navigator without gpu, Node 20 none.
  const nav = g.navigator;
  const owner = (nav && typeof nav === "object" ? nav : g) as Record<string, unknown>;
  const key = owner === g ? "navigator" : "gpu";
  Object.defineProperty(owner, key, { value: owner === g ? { gpu } : gpu, configurable: true, writable: true, enumerable: true });
  // Dawn keeps the process alive while navigator.gpu holds it, so an unused one is removed.
  return () => void delete owner[key];
}

/** AddN in chunks of at most `maxInputs` inputs, left to right (see the header). */
function registerChunkedAddN(maxInputs: number): void {
  const original = tf.getKernel("AddN", "webgpu");
  if (!original || (original.kernelFunc as { chunked?: boolean }).chunked) return;
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const tensors = inputs as unknown as tf.TensorInfo[];
    const add = (list: tf.TensorInfo[]) => original.kernelFunc({ inputs: list as unknown as tf.NamedTensorInfoMap, backend, attrs }) as tf.TensorInfo;
    if (tensors.length <= maxInputs) return add(tensors);
    let sum = add(tensors.slice(0, maxInputs));
    for (let i = maxInputs; i < tensors.length; i += maxInputs - 1) {
      const next = add([sum, ...tensors.slice(i, i + maxInputs - 1)]);
      (backend as unknown as WebgpuBackendLike).disposeData(sum.dataId);
      sum = next;
    }
    return sum;
  };
  Object.assign(kernelFunc, { chunked: true });
  tf.unregisterKernel("AddN", "webgpu");
  tf.registerKernel({ ...original, kernelFunc });
}

/** Makes WebGPU errors fail the next read instead of leaving wrong values behind (see the header). */
const guarded = new WeakSet<WebgpuBackendLike>();
function failReadsAfterDeviceErrors(backend: WebgpuBackendLike): void {
  if (guarded.has(backend)) return;
  guarded.add(backend);
  let first: string | null = null;
  const record = (what: string) => {
    first ??= what;
  };
  backend.device.addEventListener("uncapturederror", (event) => record(`${event.error.constructor.name}: ${event.error.message.split("\n")[0]}`));
  void backend.device.lost.then((info) => {
    if (info.reason !== "destroyed") record(`the device was lost (${info.message || info.reason})`);
  });
  const read = backend.read.bind(backend);
  backend.read = async (dataId) => {
    const values = await read(dataId);
    if (first !== null) {
      throw new UserError(`The WebGPU device reported an error, so the values computed since are wrong and the run stops: ${first}. Use --backend wasm (and report this).`);
    }
    return values;
  };
}

export type WebgpuStart = { ok: true; adapter: AdapterDescription } | { ok: false; reason: "missing" | "no GPU device" | "no adapter" | "software adapter" | "init failed" | "load failed"; detail: string };

/** Starts tfjs-backend-webgpu and makes it the backend; `auto`: only on a hardware adapter, quietly. */
export async function startWebgpu(auto: boolean): Promise<WebgpuStart> {
  const missing = WEBGPU_PACKAGES.filter((name) => !installed(name));
  if (missing.length) return { ok: false, reason: "missing", detail: missing.join(" and ") };
  if (auto && process.platform === "linux" && !navigatorGpu() && !linuxGpuDeviceExists()) return { ok: false, reason: "no GPU device", detail: "" };
  const savedDisable = process.env.VK_LOADER_DRIVERS_DISABLE;
  if (auto) process.env.VK_LOADER_DRIVERS_DISABLE = savedDisable ? `${savedDisable},${SOFTWARE_VULKAN_DRIVERS}` : SOFTWARE_VULKAN_DRIVERS;
  let uninstall = () => {};
  try {
    try {
      uninstall = await installNavigatorGpu();
    } catch (error) {
      return { ok: false, reason: "load failed", detail: (error as Error).message.split("\n")[0]! };
    }
    // tfjs-backend-webgpu asks for the same adapter (unless its WEBGPU_USE_LOW_POWER_GPU flag is set).
    const probe = await navigatorGpu()!.requestAdapter({ powerPreference: "high-performance" }).catch(() => null);
    if (!probe || (auto && isSoftwareAdapter(probe.info ?? {}))) {
      uninstall();
      return probe ? { ok: false, reason: "software adapter", detail: adapterLine(describeAdapter(probe.info ?? {})) } : { ok: false, reason: "no adapter", detail: "" };
    }
    const tfjsWebgpu: string = "@tensorflow/tfjs-backend-webgpu";
    await import(tfjsWebgpu); // registers "webgpu", now that navigator.gpu exists
    if (!(await tf.setBackend("webgpu"))) {
      uninstall();
      return { ok: false, reason: "init failed", detail: "" };
    }
    const backend = tf.backend() as unknown as WebgpuBackendLike;
    registerChunkedAddN(backend.device.limits.maxStorageBuffersPerShaderStage - 1);
    failReadsAfterDeviceErrors(backend);
    // The adapter tfjs opened its device on.
    return { ok: true, adapter: describeAdapter(backend.device.adapterInfo ?? probe.info ?? {}) };
  } finally {
    if (auto) {
      if (savedDisable === undefined) delete process.env.VK_LOADER_DRIVERS_DISABLE;
      else process.env.VK_LOADER_DRIVERS_DISABLE = savedDisable;
    }
  }
}

/** The UserError for an explicit --backend webgpu that could not start. */
export function webgpuStartError(start: Exclude<WebgpuStart, { ok: true }>): UserError {
  switch (start.reason) {
    case "missing":
      return new UserError(
        `Backend "webgpu" needs the optional packages webgpu (Dawn's Node bindings) and @tensorflow/tfjs-backend-webgpu, and ${start.detail} ${start.detail.includes(" and ") ? "are" : "is"} not installed ` +
          `(run "${INSTALL}"), or use --backend wasm.`,
      );
    case "load failed":
      return new UserError(`Backend "webgpu" could not start: the webgpu package's Dawn binary failed to load (${start.detail}); use --backend wasm.`);
    case "init failed":
      return new UserError(`Backend "webgpu" found an adapter but @tensorflow/tfjs-backend-webgpu could not start on it (see the warning above); use --backend wasm.`);
    default: {
      const driver =
        process.platform === "linux"
          ? "Dawn found no Vulkan device. It needs the Vulkan loader (libvulkan1) and a Vulkan driver; without a GPU, the software driver lavapipe of Mesa 23 or newer works " +
            `(on Debian 12: add "deb http://deb.debian.org/debian bookworm-backports main" to /etc/apt/sources.list.d/, then "apt-get update && apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1")`
          : "Dawn found no GPU adapter";
      return new UserError(`Backend "webgpu" could not start: ${driver}; or use --backend wasm.`);
    }
  }
}
