// Strings from a spec are data: quotes, backticks, ${...}, */, newlines, U+2028 and non-ASCII
// reach the program unchanged and cannot become code.
import { mkdtempSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderSpecs } from "../../generator/generate.ts";
import { literal } from "../../generator/literals.ts";
import { runProgram, ROOT } from "../helpers.ts";
import injection from "../specs/injection.spec.ts";
import { join } from "node:path";

describe("spec strings are emitted as literals", () => {
  const nasty = injection.args.outputDir!;

  it("the injection spec's outputDir really is nasty", () => {
    for (const piece of ['"', "'", "`", "${", "*/", "\\", "\n", "\u2028", "ü", "✓"]) expect(nasty).toContain(piece);
  });

  it("literal() round-trips through JSON and escapes line separators", () => {
    expect(JSON.parse(literal(nasty))).toBe(nasty);
    expect(literal(nasty)).not.toMatch(/[\n\u2028]/);
  });

  it("the generated program holds the string as one escaped literal, and comments stay comments", async () => {
    const { programs } = await renderSpecs(["test/specs/injection.spec.ts"], "generated");
    const code = programs[0]!.code;
    expect(code).toContain(`const OUTPUT_DIR = ${literal(nasty)};`);
    // The author's comment is carried over line by line as // comments.
    expect(code).toContain("// a comment with */ and ${process.exit(1)} and `backticks`");
    expect(code).toBe(readFileSync(join(ROOT, "generated/injection/train.ts"), "utf8"));
  });

  it("running it writes into a folder with exactly that name", () => {
    const base = mkdtempSync(join(ROOT, ".tmp", "inj-"));
    // No --output-dir: OUTPUT_DIR (relative) resolves against the working directory.
    const r = runProgram(join(ROOT, "generated/injection/train.ts"), ["--max-steps", "2", "--backend", "cpu", "--quiet"], {}, base);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(join(base, nasty, "trainer_state.json"), "utf8")).toContain('"global_step": 2');
  });
});
