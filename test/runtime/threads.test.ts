/**
 * test/runtime/threads.test.ts — `--threads N`: tfjs-backend-wasm's threaded SIMD build under Node
 * (runtime/wasm-threads.ts).
 *
 * A process holds one wasm module, so each configuration trains in its own process
 * (scripts/wasm-threads-steps.ts: the char-transformer, variableGrads + AdamW as the generated
 * programs do). --threads 2 must give bit-identical losses and weights to the single-threaded
 * build, leak no tensors, and let the process exit by itself (spawnSync would time out).
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers.ts";

interface Steps {
  description: string;
  threads: number;
  losses: number[];
  lossBits: string[];
  paramChecksumBits: string;
  tensorsBefore: number;
  tensorsAfter: number;
}

function steps(args: string[]): Steps {
  const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/wasm-threads-steps.ts", "--steps", "3", "--d", "32", "--layers", "2", "--heads", "4", "--batch", "4", "--context", "16", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
  });
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Steps;
}

/** Runs `code` (an ES module that may import ../../runtime/*.ts from the repository root) with argv. */
function evalModule(code: string, argv: string[] = []) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code, "--", ...argv], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("--threads on the wasm backend", () => {
  for (const vocab of [65, 200]) {
    // V=65: one-hot embedding; V=200: gather, whose gradient is our JS UnsortedSegmentSum on the shared heap.
    it(`trains bit-identically with 2 threads and with the single-threaded build (vocabulary ${vocab})`, () => {
      const single = steps(["--vocab", String(vocab)]);
      const threaded = steps(["--vocab", String(vocab), "--threads", "2"]);
      expect(single.description).toBe("wasm");
      expect(single.threads).toBe(1);
      expect(threaded.description).toBe("wasm (2 threads)");
      expect(threaded.threads).toBe(2);
      expect(single.losses.every(Number.isFinite)).toBe(true);
      expect(threaded.lossBits).toEqual(single.lossBits);
      expect(threaded.paramChecksumBits).toBe(single.paramChecksumBits);
      for (const r of [single, threaded]) expect(r.tensorsAfter).toBe(r.tensorsBefore);
    });
  }

  it("parses --threads, and rejects bad counts and other backends (exit 2)", () => {
    const parse = `import { parseRunFlags } from "./runtime/run-flags.ts"; console.log(JSON.stringify(parseRunFlags(process.argv.slice(1), { resume: false })));`;
    expect(JSON.parse(evalModule(parse, ["--backend", "wasm", "--threads", "2"]).stdout)).toMatchObject({ backend: "wasm", threads: 2 });
    expect(JSON.parse(evalModule(parse, []).stdout)).toMatchObject({ backend: "auto", threads: null });
    for (const bad of ["0", "9", "1.5", "two"]) {
      const r = evalModule(parse, ["--threads", bad]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--threads must be an integer from 1 to 8 (the wasm backend's thread pool), got "${bad}".`);
    }
    const cpu = evalModule(parse, ["--backend", "cpu", "--threads", "2"]);
    expect(cpu.status).toBe(2);
    expect(cpu.stderr).toContain(`--threads applies to the wasm backend only, not "cpu".`);
  });

  it("refuses another thread count once the wasm backend has started in the process", () => {
    const code = `
      import { selectBackend } from "./runtime/backend.ts";
      await selectBackend("wasm");
      try { await selectBackend("wasm", { threads: 2 }); console.log("no error"); } catch (e) { console.log(e.name + ": " + e.message); }`;
    const r = evalModule(code);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("UserError: --threads 2: the wasm backend already started in this process (single-threaded); the thread count is fixed when it first starts.");
  });
});
