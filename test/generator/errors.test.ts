// Error messages across the CLI: each bad input must exit with its code (1 a spec problem, 2 a
// usage or file error), name the file or field with the problem and a fix, and print no stack
// trace. Each case spawns bin/gen-trainer.js as a user would.
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers.ts";

const BIN = join(ROOT, "bin", "gen-trainer.js");
// One folder per test process: other runs of the suite may be going on in the same checkout.
const REL = `.tmp/errors-${process.pid}`;
const TMP = join(ROOT, REL);
rmSync(TMP, { recursive: true, force: true });
mkdirSync(TMP, { recursive: true });
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A spec in REL (inside the repository, so `from "gen-trainer"` resolves). */
function spec(name: string, text: string): string {
  writeFileSync(join(TMP, name), text);
  return `${REL}/${name}`;
}

const VALID_BODY = `  name: "ok",
  model: { preset: "char-transformer", dModel: 16, layers: 1, heads: 2, contextLength: 9 },
  data: { preset: "addition", digits: 2, trainExamples: 400, evalExamples: 50 },
  args: { maxSteps: 10, saveStrategy: "no" },`;

function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toMatch(/node:internal|Error: E[A-Z]+:/);
}

describe("error messages", () => {
  it("a missing spec file: exit 2, the path, what to pass", () => {
    const r = cli("no/such.spec.ts");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^gen-trainer: no\/such\.spec\.ts: spec file not found\. Pass the path of a \.spec\.ts file/);
    expectNoStack(r.stderr);
  });

  it("a syntax error in the spec: exit 1, file:line:col and the compiler's message", () => {
    const path = spec("syntax.spec.ts", `import { defineTrainer } from "gen-trainer";\nexport default defineTrainer({\n  name: "syntax"\n  model: { preset: "mlp", hidden: [8] },\n});\n`);
    const r = cli("--stdout", path);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${path}:4:3 error TS1005: ',' expected.`);
    expect(r.stderr).toMatch(/problems?; nothing was written\.\n$/);
    expectNoStack(r.stderr);
  });

  it("a spec without a default export: exit 1, and the line to add", () => {
    const path = spec("no-default.spec.ts", `import { defineTrainer } from "gen-trainer";\nexport const spec = defineTrainer({\n${VALID_BODY}\n});\n`);
    const r = cli("--stdout", path);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${path}:1:1 error E_NO_DEFAULT_EXPORT: the spec has no default export. End it with \`export default defineTrainer({ name, model, data, args });\`.`);
    expectNoStack(r.stderr);
  });

  it("unknown presets: exit 1, the field, and the presets there are", () => {
    const path = spec(
      "preset.spec.ts",
      `import { defineTrainer } from "gen-trainer";\nexport default defineTrainer({\n  name: "preset",\n  model: { preset: "gpt", dModel: 16, layers: 1, heads: 2, contextLength: 9 },\n  data: { preset: "subtraction", digits: 2 },\n  args: { maxSteps: 10 },\n});\n`,
    );
    const r = cli("--stdout", path);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${path}:4:12 error E_VALUE: model.preset is "gpt"; use one of "char-transformer", "mlp".`);
    expect(r.stderr).toContain(`${path}:5:11 error E_VALUE: data.preset is "subtraction"; use one of "addition".`);
    expectNoStack(r.stderr);
  });

  it("a directory given as data.text: exit 1, the field, 'is a directory', and what to give", () => {
    mkdirSync(join(TMP, "corpus-dir"), { recursive: true });
    const path = spec("text-dir.spec.ts", `import { defineTrainer } from "gen-trainer";\nexport default defineTrainer({\n  name: "text-dir",\n  model: { preset: "mlp", hidden: [8] },\n  data: { text: "corpus-dir" },\n  args: { maxSteps: 10 },\n});\n`);
    const r = cli("--stdout", path);
    expect(r.status).toBe(1);
    expectNoStack(r.stderr);
    expect(r.stderr).toMatch(new RegExp(`^${escape(path)}:5:11 error E_FILE: data\\.text: "corpus-dir" is a directory`, "m"));
    expect(r.stderr).toMatch(/give the path of a UTF-8 text file/);
  });

  it("--out-dir below an existing regular file: exit 2, the path, and a fix", () => {
    writeFileSync(join(TMP, "a-file"), "not a folder\n");
    const r = cli("--out-dir", `${REL}/a-file/gen`, "test/specs/minimal.spec.ts");
    expectNoStack(r.stderr);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^gen-trainer: cannot write ${escape(REL)}/a-file/gen/minimal/train\\.ts: .*--out-dir`));
  });

  it("a directory given as the spec: exit 2 and no stack trace", () => {
    const r = cli(REL);
    expectNoStack(r.stderr);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^gen-trainer: ${escape(REL)} is a directory, not a spec file`));
  });

  it("explain: an invalid spec gets generation's diagnostics and exit 1; a missing one exit 2", () => {
    const path = spec("explain-bad.spec.ts", `import { defineTrainer } from "gen-trainer";\nexport default defineTrainer({\n  name: "explain-bad",\n  model: { preset: "mlp", hidden: [8] },\n  data: { preset: "addition", digits: 2, trainExamples: 400 },\n  args: { learningRate: -1, bf16: true },\n});\n`);
    const generated = cli("--stdout", path);
    const explained = cli("explain", path);
    expect(explained.status).toBe(1);
    expect(explained.stdout).toBe("");
    const lines = (s: string) => s.split("\n").filter((l) => l.startsWith(path));
    expect(lines(explained.stderr)).toEqual(lines(generated.stderr));
    expect(lines(explained.stderr)).toEqual([
      `${path}:6:11 error E_RANGE: args.learningRate is -1 but must be a finite number >= 0.`,
      expect.stringMatching(new RegExp(`^${escape(path)}:6:29 error E_BF16: args\\.bf16 is not supported: TensorFlow\\.js has no bfloat16`)),
    ]);
    expect(explained.stderr).toMatch(/2 problems; nothing to explain\.\n$/);

    const missing = cli("explain", "no/such.spec.ts");
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^gen-trainer explain: no\/such\.spec\.ts: spec file not found\. Pass the path of a \.spec\.ts file/);
    const folder = cli("explain", REL);
    expect(folder.status).toBe(2);
    expect(folder.stderr).toMatch(new RegExp(`^gen-trainer explain: ${escape(REL)} is a directory, not a spec file`));
    expectNoStack(missing.stderr + folder.stderr);
  });

  it("subcommand usage and file errors: exit 2 with the flag or file named", () => {
    writeFileSync(join(TMP, "broken.json"), `{"output_dir": "x",`);
    writeFileSync(join(TMP, "list.json"), `[1, 2]`);
    const cases: [string[], RegExp][] = [
      [["explain", "--verbose", "x.spec.ts"], /^gen-trainer explain: Unknown option '--verbose'\nusage: gen-trainer explain <spec\.ts>/],
      [["import-hf", `${REL}/none.json`], new RegExp(`^gen-trainer import-hf: ${escape(REL)}/none\\.json: JSON file not found\\. Pass the path of the JSON of TrainingArguments\\.to_json_string\\(\\)`)],
      [["import-hf", `${REL}/broken.json`], new RegExp(`^gen-trainer import-hf: ${escape(REL)}/broken\\.json is not valid JSON \\(.+\\)\\. Write it with open\\("training_args\\.json", "w"\\)\\.write\\(args\\.to_json_string\\(\\)\\)\\.`)],
      [["import-hf", `${REL}/list.json`], new RegExp(`^gen-trainer import-hf: ${escape(REL)}/list\\.json holds an array, not the JSON object of TrainingArguments`)],
      [["init", "--preset", "gpt", "--dir", `${REL}/init`], /^gen-trainer init: --preset "gpt" is not a preset; use --preset addition \(synthetic sums\) or --preset text/],
      [["init", "My Run", "--dir", `${REL}/init`], /^gen-trainer init: name "My Run" must be a slug \(lowercase letters, digits and single dashes, e\.g\. "my-run"\)/],
      [["init", "--dir", `${REL}/a-file-2`], new RegExp(`^gen-trainer init: --dir ${escape(REL)}/a-file-2 is a file, not a folder`)],
      [["--watch", "no/such.spec.ts"], /^gen-trainer: no\/such\.spec\.ts: spec file not found\. Pass the path of a \.spec\.ts file to watch/],
    ];
    writeFileSync(join(TMP, "a-file-2"), "");
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr).toMatch(message);
      expectNoStack(r.stderr);
    }
  });
});
