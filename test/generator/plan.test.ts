// The plan: a JSON statement of what a run does, snapshotted for every committed spec, with no
// code of any output language in it; readers of the plan never evaluate code.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderSpecs } from "../../generator/generate.ts";
import type { TrainingPlan } from "../../generator/plan.ts";
import { additionProblemCount } from "../../runtime/presets/index.ts";
import { committedSpecs, renderSpecTexts, ROOT } from "../helpers.ts";

/** Strings of the plan that the generator wrote (not the spec author's values, comments or paths). */
function generatorStrings(value: unknown, key = ""): string[] {
  if (typeof value === "string") return ["source", "module", "spec", "program", "outDir"].includes(key) ? [] : [value];
  if (Array.isArray(value)) return key === "comment" ? [] : value.flatMap((v) => generatorStrings(v));
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if ("from" in o && "value" in o && o.from === "spec") return generatorStrings(o.note, "note");
    return Object.entries(o).flatMap(([k, v]) => generatorStrings(v, k));
  }
  return [];
}

const CODE = /=>|===|!==|\bawait\b|\bconst\b|\blet\b|;|\w\(.*\)|\bflags\.|\bMath\.|[A-Z]{2,}_[A-Z]+/;

describe("the training plan", async () => {
  const { programs } = await renderSpecs(committedSpecs(), "generated");

  for (const { plan } of programs) {
    it(`${plan.name}: the plan is what the planner emits (test/generator/__plans__/${plan.name}.json)`, async () => {
      await expect(`${JSON.stringify(plan, null, 2)}\n`).toMatchFileSnapshot(join(ROOT, "test", "generator", "__plans__", `${plan.name}.json`));
    });

    it(`${plan.name}: the plan is plain JSON holding no code`, () => {
      expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
      expect(generatorStrings(plan).filter((s) => CODE.test(s))).toEqual([]);
    });
  }

  it("the code check would catch code in a plan", () => {
    const plan = programs[0]!.plan;
    const withCode = { ...plan, logging: { ...plan.logging, condition: "step % LOGGING_STEPS === 0" } } as unknown as TrainingPlan;
    expect(generatorStrings(withCode).filter((s) => CODE.test(s))).toEqual(["step % LOGGING_STEPS === 0"]);
  });

  it("nothing in generator/ or test/ evaluates code strings (no new Function, no eval)", () => {
    const files = (dir: string): string[] =>
      readdirSync(join(ROOT, dir)).flatMap((f) => (statSync(join(ROOT, dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith(".ts") ? [join(dir, f)] : []));
    const offenders = [...files("generator"), ...files("test")].filter((f) => f !== join("test", "generator", "plan.test.ts") && /new Function\(|(?<![.\w])eval\(/.test(readFileSync(join(ROOT, f), "utf8")));
    expect(offenders).toEqual([]);
  });

  it("default sizes fit the preset: an addition spec with only digits is valid and its sizes exist", async () => {
    const specs = [1, 2, 3].map((digits) => ({
      name: `digits-${digits}`,
      text: `import { defineTrainer } from "gen-trainer";
export default defineTrainer({ name: "digits-${digits}", model: { preset: "mlp", hidden: [8] }, data: { preset: "addition", digits: ${digits} }, args: { maxSteps: 1 } });
`,
    }));
    const { programs: planned, diagnostics } = await renderSpecTexts(join(ROOT, ".tmp", "plan-defaults"), specs);
    expect(diagnostics).toEqual([]);
    const sizes = planned.map(({ plan }) => (plan.data.kind === "addition" ? [plan.data.digits.value, plan.data.trainExamples.value, plan.data.evalExamples.value] : null));
    expect(sizes).toEqual([
      [1, 90, 10],
      [2, 9500, 500],
      [3, 20000, 500],
    ]);
    for (const [digits, train, held] of sizes as number[][]) expect(train! + held!).toBeLessThanOrEqual(additionProblemCount(digits!));
  });
});
