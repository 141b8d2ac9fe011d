/**
 * runtime/wasm-threads.ts — tfjs-backend-wasm's threaded SIMD build under Node (`--threads N`).
 *
 * @tensorflow/tfjs-backend-wasm 4.22 ships three builds (plain, SIMD, threaded SIMD) and picks
 * one when the backend initialises. Under Node it never picks the threaded one, for four reasons,
 * each worked around here:
 *
 *  1. The check. The env flag WASM_HAS_MULTITHREAD_SUPPORT returns false whenever IS_NODE
 *     (flags_wasm.js: "TODO: Enable node support once this is resolved: tfjs issue 3830").
 *     → we set the flag to true before the backend initialises.
 *  2. The pthread workers. Emscripten's glue starts its pthread pool (8 workers) with
 *     `new Worker(url)`, after setting the global Worker to worker_threads.Worker, and tfjs hands
 *     it a `blob:` URL of the worker script. worker_threads.Worker accepts only file paths and
 *     file:/data: URLs. → the global Worker is pinned (for the duration of the initialisation) to
 *     a class that starts a worker_threads.Worker from a small eval'd bootstrap, reads the blob
 *     (buffer.resolveObjectURL), and sends the worker script to the bootstrap; messages posted
 *     meanwhile are queued, in order.
 *  3. The main script. Each worker must evaluate the Emscripten module factory; tfjs passes it as
 *     a Blob (mainScriptUrlOrBlob), which the worker script feeds to importScripts via another blob
 *     URL that Node's fs cannot read, and the factory's text refers to names of the Node bundle
 *     around it (require$$0 = fs, require$$1 = path, require$$3 = perf_hooks, require$$4 = os,
 *     commonjsGlobal, and tslib's __values/__read/__spreadArray). → the bootstrap defines those
 *     names, and the worker reads the Blob's text itself before handling the "load" message.
 *  4. The thread count. backend.cc caps the pool at emscripten_num_logical_cores() / 2 (and 8),
 *     and under Node that is os.cpus().length / 2: one thread on a 2-core machine, whatever
 *     setThreadsCount says. → os.cpus is made to report 2·N cores while the module initialises
 *     (its C++ globals read it once, on the main thread), then restored.
 *
 * The workers never keep the process alive (the glue refs a worker while it runs a pthread, and
 * XNNPACK's pool threads never end; those refs are ignored), so a program still exits when done.
 * One wasm module per process: the build and the thread count are fixed when the backend first
 * initialises; asking for another count afterwards is an error.
 *
 * Results: XNNPACK splits each product's output tiles among the threads and every element is
 * computed by one thread with the same kernel, so losses are bit-identical to the single-threaded
 * SIMD build (test/runtime/threads.test.ts checks it).
 */
import { resolveObjectURL } from "node:buffer";
import os from "node:os";
import { Worker as NodeWorker } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import { UserError } from "./user-error.ts";

/** tfjs-backend-wasm pre-creates 8 pthread workers and caps its pool at 8 (backend.cc). */
export const MAX_WASM_THREADS = 8;

/** The worker's first code: the Node-bundle names the factory refers to, then wait for the worker script. */
const BOOTSTRAP = `
"use strict";
globalThis.require$$0 = require("fs");
globalThis.require$$1 = require("path");
globalThis.require$$3 = require("perf_hooks");
globalThis.require$$4 = require("os");
globalThis.commonjsGlobal = globalThis;
globalThis._scriptDir = undefined;
globalThis.__values = function (o) {
  var s = typeof Symbol === "function" && Symbol.iterator, m = s && o[s], i = 0;
  if (m) return m.call(o);
  if (o && typeof o.length === "number") return { next: function () { if (o && i >= o.length) o = void 0; return { value: o && o[i++], done: !o }; } };
  throw new TypeError(s ? "Object is not iterable." : "Symbol.iterator is not defined.");
};
globalThis.__read = function (o, n) {
  var m = typeof Symbol === "function" && o[Symbol.iterator];
  if (!m) return o;
  var i = m.call(o), r, ar = [];
  while ((n === void 0 || n-- > 0) && !(r = i.next()).done) ar.push(r.value);
  return ar;
};
globalThis.__spreadArray = function (to, from) { return to.concat(Array.prototype.slice.call(from)); };
require("worker_threads").parentPort.once("message", function (message) { (0, eval)(message.workerScript); });
`;

/**
 * Appended to tfjs's worker script: importScripts evaluates the factory's text, and a "load"
 * message whose factory is a Blob waits for the Blob's text (later messages wait behind it).
 */
const WORKER_SUFFIX = `
;(function () {
  importScripts = function (text) { (0, eval)(text); };
  var handle = self.onmessage, queue = null;
  self.onmessage = function (e) {
    if (queue) { queue.push(e); return; }
    if (e.data && e.data.cmd === "load" && typeof e.data.urlOrBlob !== "string") {
      queue = [];
      e.data.urlOrBlob.text().then(function (text) {
        e.data.urlOrBlob = text;
        handle(e);
        var pending = queue;
        queue = null;
        pending.forEach(function (m) { self.onmessage(m); });
      });
      return;
    }
    handle(e);
  };
})();
`;

/** What Emscripten's `new Worker(url)` gets: a worker_threads.Worker running tfjs's worker script. */
class PthreadWorker {
  constructor(url: string) {
    const worker = new NodeWorker(BOOTSTRAP, { eval: true, execArgv: [] }); // no loaders (tsx) in the pthreads
    const post = worker.postMessage.bind(worker);
    let queue: [unknown, readonly Transferable[] | undefined][] | null = [];
    worker.postMessage = (message: unknown, transfer?: readonly Transferable[]) => {
      if (queue) queue.push([message, transfer]);
      else post(message, transfer as never);
    };
    // The glue unrefs each worker once loaded but refs it again while it runs a pthread, and
    // XNNPACK's pool threads never end: the process would never exit. They only ever work while
    // the main thread waits for them, so they need not keep it alive.
    worker.ref = () => {};
    const blob = resolveObjectURL(url);
    if (!blob) throw new Error(`wasm threads: cannot read the pthread worker script (${url})`);
    void blob.text().then((script) => {
      post({ workerScript: script + WORKER_SUFFIX });
      const pending = queue ?? [];
      queue = null;
      for (const [message, transfer] of pending) post(message, transfer as never);
    });
    return worker as unknown as PthreadWorker;
  }
}

interface WasmModuleExports {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
  version_wasm: string;
}

/** The tfjs-backend-wasm whose glue the workarounds above were written against (package.json pins it). */
const SUPPORTED_WASM_VERSION = "4.22.0";

/**
 * The wasm backend instance if it has started (or is starting). Not tf.findBackend: that starts
 * an uninitialised backend (single-threaded, before the flags below could be set).
 */
function startedWasm(): { wasm?: { PThread?: unknown } } | null {
  const engine = tf.engine() as unknown as { registry: Record<string, unknown>; pendingBackendInit?: unknown; backendName?: string | null };
  const backend = engine.registry["wasm"] as { wasm?: { PThread?: unknown } } | undefined;
  if (backend) return backend;
  // Initialising (tf.setBackend("wasm") or tf.ready() without await): too late to choose threads.
  return engine.pendingBackendInit != null && engine.backendName === "wasm" ? {} : null;
}

/** The threads of the running wasm backend: null before it starts, 1 for the single-threaded build. */
export async function wasmThreads(): Promise<number | null> {
  const backend = startedWasm();
  if (!backend) return null;
  if (!backend.wasm?.PThread) return 1;
  const wasm = (await import("@tensorflow/tfjs-backend-wasm")) as unknown as WasmModuleExports;
  return wasm.getThreadsCount();
}

/** Why `--threads` cannot be `threads` (null: it can). */
export function threadsProblem(threads: number): string | null {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    return `--threads must be an integer from 1 to ${MAX_WASM_THREADS} (the wasm backend's thread pool), got "${threads}".`;
  }
  return null;
}

/**
 * Starts the wasm backend (tf.setBackend("wasm")): threads null, the single-threaded SIMD build
 * (tfjs's choice under Node); threads N, the threaded SIMD build with a pool of N threads. False
 * when the backend fails to initialise, as tf.setBackend; a UserError when the threaded build
 * cannot be had (no SIMD, or the backend already started in this process with another count).
 */
export async function startWasm(threads: number | null): Promise<boolean> {
  if (threads === null) return tf.setBackend("wasm");
  const problem = threadsProblem(threads);
  if (problem) throw new UserError(problem, 2);
  const wasm = (await import("@tensorflow/tfjs-backend-wasm")) as unknown as WasmModuleExports;
  const started = startedWasm();
  if (started) {
    const running = started.wasm ? await wasmThreads() : null;
    if (running !== threads || !started.wasm?.PThread) {
      const how = running === null ? "starting" : running === 1 ? "single-threaded" : `${running} threads`;
      throw new UserError(`--threads ${threads}: the wasm backend already started in this process (${how}); the thread count is fixed when it first starts.`, 2);
    }
    return tf.setBackend("wasm");
  }
  if (wasm.version_wasm !== SUPPORTED_WASM_VERSION) {
    throw new UserError(`--threads works with @tensorflow/tfjs-backend-wasm ${SUPPORTED_WASM_VERSION} (it works around that version's Node glue), but ${wasm.version_wasm} is installed; drop --threads.`, 2);
  }
  if (!(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"))) {
    throw new UserError(`--threads needs WebAssembly SIMD (tfjs-backend-wasm's threaded build is a SIMD build), which this Node lacks; drop --threads.`, 2);
  }
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  wasm.setThreadsCount(threads);
  const cpus = os.cpus;
  const globals = globalThis as { Worker?: unknown };
  const hadWorker = Object.prototype.hasOwnProperty.call(globals, "Worker");
  const savedWorker = Object.getOwnPropertyDescriptor(globals, "Worker");
  // The glue assigns worker_threads.Worker to the global Worker before creating its pool; that assignment is ignored.
  Object.defineProperty(globals, "Worker", { configurable: true, get: () => PthreadWorker, set: () => {} });
  const real = cpus();
  const reported = Array.from({ length: 2 * threads }, (_, i) => real[i % real.length]!);
  os.cpus = () => reported;
  let ok: boolean;
  try {
    ok = await tf.setBackend("wasm");
  } finally {
    os.cpus = cpus;
    if (hadWorker && savedWorker) Object.defineProperty(globals, "Worker", savedWorker);
    else delete globals.Worker;
  }
  if (!ok) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    return false;
  }
  const actual = wasm.getThreadsCount();
  if (actual !== threads) {
    throw new UserError(`--threads ${threads}: the wasm backend started with ${actual} thread(s) instead.`, 2);
  }
  return true;
}
