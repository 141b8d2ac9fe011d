// The console on a terminal: one live progress bar redrawn in place (step/total, loss, lr,
// tokens/s, ETA), other events scrolling above it. Off a terminal: plain lines (run.test.ts).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, tempDir } from "../helpers.ts";

// util-linux's `script` runs a command on a pseudo-terminal, so the program sees a TTY.
const SCRIPT = "/usr/bin/script";

describe.skipIf(!existsSync(SCRIPT))("progress display on a TTY", () => {
  it("redraws one bar in place and prints eval lines above it", () => {
    const program = join(ROOT, "generated/eval-steps/train.ts");
    const command = `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(program)} --output-dir ${JSON.stringify(tempDir())} --backend cpu`;
    const r = spawnSync(SCRIPT, ["-q", "-e", "-c", command, "/dev/null"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(0);
    const out = r.stdout;
    // In-place redraws: carriage return + clear line, then the bar.
    const redraws = out.split("\r\x1b[2K").filter((chunk) => /^\[[#-]{20}\] step \d+\/30/.test(chunk));
    expect(redraws.length).toBeGreaterThan(1);
    expect(redraws.some((chunk) => /^\[#{20}\] step 30\/30 \| loss \d/.test(chunk))).toBe(true);
    expect(redraws.every((chunk) => /eta \S+/.test(chunk))).toBe(true);
    // Eval lines are whole lines of their own, not overwritten by the bar.
    expect(out).toMatch(/\r\x1b\[2K\[step 10\] eval: eval_loss [\d.]+ \| eval_exact_match [\d.]+\r?\n/);
  });
});
