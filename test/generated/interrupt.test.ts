// CTRL-C in a program that saves checkpoints: it finishes the step, saves, says how to resume,
// exits 130; resuming then ends exactly where an uninterrupted run ends.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runProgram, tempDir } from "../helpers.ts";

const PROGRAM = join(ROOT, "generated/save-steps-limit/train.ts");

function runUntilInterrupted(out: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", PROGRAM, "--output-dir", out, "--backend", "cpu"], { cwd: ROOT });
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      // Interrupt once the run is past its first log line (step 10), between checkpoints.
      if (!sent && /step 1\d\/30/.test(stdout)) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("CTRL-C", () => {
  it("saves a checkpoint, prints the resume command, and the resumed run matches an uninterrupted one", async () => {
    const reference = tempDir();
    expect(runProgram(PROGRAM, ["--output-dir", reference, "--backend", "cpu", "--quiet"]).status).toBe(0);

    const out = tempDir();
    const interrupted = await runUntilInterrupted(out);
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain("SIGINT: finishing this step and saving a checkpoint");
    const match = /interrupted at step (\d+); continue with: (.*--resume)$/m.exec(interrupted.stdout);
    expect(match).not.toBeNull();
    const step = Number(match![1]);
    expect(existsSync(join(out, `checkpoint-${step}`, "checkpoint.json"))).toBe(true);
    expect(match![2]).toContain(`--output-dir ${out} --backend cpu --resume`);

    const resumed = runProgram(PROGRAM, ["--output-dir", out, "--backend", "cpu", "--quiet", "--resume"]);
    expect(resumed.status).toBe(0);
    expect(readFileSync(join(out, "model.safetensors")).equals(readFileSync(join(reference, "model.safetensors")))).toBe(true);
  });
});
