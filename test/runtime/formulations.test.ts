/**
 * test/runtime/formulations.test.ts — the default formulations by backend (runtime/models/matmul.ts:
 * DEFAULT_FORMULATIONS, defaultFormulation, matmulOpsFor) and formulationFor, which decides what a
 * program tuned on one backend uses on another.
 */
import { afterAll, describe, expect, it } from "vitest";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmKernels } from "../../runtime/wasm-kernels.ts";
import { embedTokens } from "../../runtime/models/char-transformer.ts";
import {
  customGradMatmul,
  DEFAULT_FORMULATIONS,
  defaultFormulation,
  fastMatmulFor,
  FORMULATION_BACKENDS,
  formulationFor,
  matmulOpsFor,
  plainMatmul,
} from "../../runtime/models/matmul.ts";

describe("default formulations by backend", () => {
  it("has one row per backend: today's wasm and cpu choices, GPU-friendly webgpu, tensorflow unchanged", () => {
    expect(Object.keys(DEFAULT_FORMULATIONS).sort()).toEqual([...FORMULATION_BACKENDS].sort());
    expect(DEFAULT_FORMULATIONS).toEqual({
      wasm: { matmul: "explicit-transpose", embedding: "one-hot", gatherAboveVocabulary: 128 },
      cpu: { matmul: "plain", embedding: "one-hot" },
      webgpu: { matmul: "plain", embedding: "gather" },
      tensorflow: { matmul: "plain", embedding: "one-hot" },
    });
  });

  it("resolves the embedding by vocabulary (wasm: gather above 128 tokens) and treats unknown backends as cpu", () => {
    expect(defaultFormulation("wasm", 65)).toEqual({ matmul: "explicit-transpose", embedding: "one-hot" });
    expect(defaultFormulation("wasm", 128)).toEqual({ matmul: "explicit-transpose", embedding: "one-hot" });
    expect(defaultFormulation("wasm", 129)).toEqual({ matmul: "explicit-transpose", embedding: "gather" });
    expect(defaultFormulation("cpu", 50257)).toEqual({ matmul: "plain", embedding: "one-hot" });
    expect(defaultFormulation("webgpu", 14)).toEqual({ matmul: "plain", embedding: "gather" });
    expect(defaultFormulation("tensorflow", 50257)).toEqual({ matmul: "plain", embedding: "one-hot" });
    expect(defaultFormulation("webgl", 500)).toEqual({ matmul: "plain", embedding: "one-hot" });
    // selectBackend's descriptions name the backend first.
    expect(defaultFormulation("webgpu (mesa, llvmpipe, software)", 14)).toEqual({ matmul: "plain", embedding: "gather" });
    expect(defaultFormulation("wasm (2 threads)", 500)).toEqual({ matmul: "explicit-transpose", embedding: "gather" });
  });

  it("gives each backend its ops unless a formulation fixes them", () => {
    expect(matmulOpsFor(undefined, "wasm")).toBe(customGradMatmul);
    for (const backend of ["cpu", "webgpu", "tensorflow", "webgl"]) expect(matmulOpsFor(undefined, backend)).toBe(plainMatmul);
    for (const backend of ["wasm", "cpu", "webgpu"]) {
      expect(fastMatmulFor(backend)).toBe(matmulOpsFor(undefined, backend));
      expect(matmulOpsFor({ matmul: "plain", embedding: "gather" }, backend)).toBe(plainMatmul);
      expect(matmulOpsFor({ matmul: "explicit-transpose", embedding: "one-hot" }, backend)).toBe(customGradMatmul);
    }
  });

  describe("embedTokens without a formulation follows the table", () => {
    let previous = "";
    afterAll(async () => {
      if (previous) await tf.setBackend(previous);
    });

    /** The kernels one lookup runs: GatherV2 for gather, OneHot for one-hot. */
    async function kernels(vocab: number): Promise<string[]> {
      const table = tf.randomNormal([vocab, 4], 0, 1, "float32", 1) as tf.Tensor2D;
      const ids = tf.tensor1d([0, 3, vocab - 1], "int32");
      const info = await tf.profile(() => embedTokens(matmulOpsFor(undefined, tf.getBackend()), table, ids));
      tf.dispose([table, ids, info.result as tf.Tensor]);
      return info.kernelNames;
    }

    it("cpu: one-hot at every vocabulary; wasm: one-hot up to 128 tokens, gather above", async () => {
      previous = tf.getBackend();
      await tf.setBackend("cpu");
      expect(await kernels(50)).toContain("OneHot");
      expect(await kernels(300)).not.toContain("GatherV2");
      await tf.setBackend("wasm");
      registerWasmKernels();
      expect(await kernels(50)).toContain("OneHot");
      expect(await kernels(50)).not.toContain("GatherV2");
      expect(await kernels(300)).toContain("GatherV2");
    });
  });
});

describe("formulationFor", () => {
  const tuned = { backend: "wasm", choice: { matmul: "plain", embedding: "gather" } } as const;

  it("untuned: the backend's defaults, no note", () => {
    for (const backend of ["wasm", "cpu", "webgpu", "tensorflow"]) expect(formulationFor(backend, null)).toEqual({ formulation: undefined, note: null });
  });

  it("tuned on the backend it runs on: the tuned choice, no note", () => {
    expect(formulationFor("wasm", tuned)).toEqual({ formulation: { matmul: "plain", embedding: "gather" }, note: null });
    expect(formulationFor("wasm (2 threads)", tuned)).toEqual({ formulation: { matmul: "plain", embedding: "gather" }, note: null });
    const onWebgpu = { backend: "webgpu", choice: { matmul: "explicit-transpose", embedding: "one-hot" } } as const;
    expect(formulationFor("webgpu (mesa, llvmpipe, software)", onWebgpu).formulation).toEqual(onWebgpu.choice);
  });

  it("tuned on another backend: that backend's defaults, and a note saying so", () => {
    const { formulation, note } = formulationFor("webgpu (nvidia, h200)", tuned);
    expect(formulation).toBeUndefined();
    expect(note).toBe(
      "the model's formulation was tuned on the wasm backend (plain matmul, gather embedding), but this run is on webgpu: " +
        "using webgpu's defaults instead (plain matmul, gather embedding); to tune for webgpu, run gen-trainer --tune --tune-backend webgpu",
    );
    expect(formulationFor("cpu", tuned).note).toContain("using cpu's defaults instead (plain matmul, one-hot embedding)");
    expect(formulationFor("tensorflow (GPU)", tuned).note).toContain("this run is on tensorflow: using tensorflow's defaults");
    expect(formulationFor("wasm", { backend: "cpu", choice: tuned.choice }).note).toContain("wasm's defaults instead (explicit-transpose matmul, one-hot embedding, gather above 128 tokens)");
  });
});
