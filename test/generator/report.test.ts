// `gen-trainer report <outputDir>`: the HTML builder (escaping, checkpoint classification),
// metrics.jsonl reading and its errors, the command's exit codes, and the page in a real
// headless Chromium (charts drawn with the right number of points, samples and checkpoint
// rows, no console errors, no request leaving the page).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../generator/cli.ts";
import { classifyCheckpoints, loadReport, parseMetrics, writeReport } from "../../generator/commands/report.ts";
import { UsageError } from "../../generator/diagnostics.ts";
import { buildReportHtml, escapeHtml, scriptJson, type ReportData } from "../../generator/report/html.ts";
import { readJsonl, ROOT, runProgram } from "../helpers.ts";

const NASTY = `</script><b>x</b> "double" 'single' & done`;
const NASTY_PROMPT = `<img src=x onerror="document.title='pwned'">=`;

const cleanup: string[] = [];
afterAll(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanup.push(dir);
  return dir;
}

function line(event: Record<string, unknown>): string {
  return `${JSON.stringify(event)}\n`;
}

/** A complete checkpoint folder: a marker whose file sizes match. */
function completeCheckpoint(outputDir: string, name: string): void {
  mkdirSync(join(outputDir, name));
  writeFileSync(join(outputDir, name, "model.safetensors"), "abcd");
  writeFileSync(join(outputDir, name, "trainer_state.json"), "{}");
  writeFileSync(join(outputDir, name, "checkpoint.json"), JSON.stringify({ global_step: 0, files: { "model.safetensors": 4, "trainer_state.json": 2 } }));
}

/**
 * A made-up output folder with every kind of event: 41 train entries (one NaN loss), 4 evals,
 * 4 samples at 2 steps (one text and one prompt that look like markup), 4 saves of which 2
 * folders were rotated away, a best, an incomplete folder no event announced, and a torn last
 * line.
 */
function syntheticRun(): string {
  const dir = tempDir("report-synthetic-");
  let text = "";
  for (let step = 1; step <= 41; step++) {
    text += line({
      type: "train",
      epoch: step / 10,
      loss: step === 41 ? null : 3 - step / 20,
      learning_rate: 1e-3 * (1 - step / 41),
      grad_norm: 1 + 1 / step,
      loss_scale: step < 20 ? 65536 : 32768,
      skipped_steps: step < 20 ? 0 : 1,
      tokens_per_sec: 1000,
      step,
    });
    if (step % 10 === 0) {
      text += line({ type: "eval", eval_loss: 3 - step / 25, eval_exact_match: step / 100, epoch: step / 10, step });
      text += line({ type: "save", step, checkpoint: step % 20 === 0 ? `/elsewhere/run/checkpoint-${step}` : `out/run/checkpoint-${step}` });
    }
    if (step === 20 || step === 40) {
      text += line({ type: "sample", step, prompt: "12+34=", text: step === 40 ? NASTY : "46$" });
      text += line({ type: "sample", step, prompt: NASTY_PROMPT, text: "111$" });
    }
  }
  text += `{"type":"train","epoch":4.2,"lo`; // torn by a kill
  writeFileSync(join(dir, "metrics.jsonl"), text);
  completeCheckpoint(dir, "checkpoint-30");
  completeCheckpoint(dir, "checkpoint-40");
  mkdirSync(join(dir, "checkpoint-50")); // no marker
  writeFileSync(join(dir, "trainer_state.json"), JSON.stringify({ global_step: 41, max_steps: 41, best_model_checkpoint: "out/run/checkpoint-30", best_metric: 1.8, log_history: [] }));
  return dir;
}

const SYNTHETIC_POINTS: Record<string, Record<string, number>> = {
  loss: { loss: 40, eval_loss: 4 },
  eval: { eval_exact_match: 4 },
  learning_rate: { learning_rate: 41 },
  grad_norm: { grad_norm: 41 },
  loss_scale: { loss_scale: 41 },
};

const ASSETS = { uplotJs: "/* uplot */", uplotCss: "/* css */" };

function emptyData(overrides: Partial<ReportData>): ReportData {
  return { name: "run", summary: [], charts: [], samples: [], checkpoints: [], notes: [], ...overrides };
}

describe("report HTML builder", () => {
  it("escapes sample texts and prompts: data, never markup", () => {
    const html = buildReportHtml(
      emptyData({ samples: [{ step: 7, prompt: NASTY_PROMPT, text: NASTY }], summary: [["Name", `"<i>"`]], name: `<run>` }),
      ASSETS,
    );
    expect(escapeHtml(NASTY)).toBe("&lt;/script&gt;&lt;b&gt;x&lt;/b&gt; &quot;double&quot; &#39;single&#39; &amp; done");
    expect(html).toContain(`<code class="sample text">${escapeHtml(NASTY)}</code>`);
    expect(html).toContain(`<code class="sample prompt">&lt;img src=x onerror=&quot;document.title=&#39;pwned&#39;&quot;&gt;=</code>`);
    expect(html).not.toContain("<b>x</b>");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<i>");
    expect(html).toContain("<title>Training report: &lt;run&gt;</title>");
    // Only the page's own three scripts end with </script>.
    expect(html.match(/<\/script/gi)).toHaveLength(3);
  });

  it("writes chart data as script-safe JSON", () => {
    const json = scriptJson({ a: "</script><!-- \u2028" });
    expect(json).not.toMatch(/[<\u2028]/);
    expect(JSON.parse(json)).toEqual({ a: "</script><!-- \u2028" });
    expect(() => buildReportHtml(emptyData({}), { uplotJs: "x = '</script>'", uplotCss: "" })).toThrow(/cannot be inlined/);
  });

  it("classifies checkpoints: kept, best, deleted (saved but gone), incomplete", () => {
    const rows = classifyCheckpoints(
      [10, 20, 30, 40].map((step) => ({ step, name: `checkpoint-${step}` })),
      [
        { name: "checkpoint-40", step: 40, problem: null },
        { name: "checkpoint-30", step: 30, problem: null },
        { name: "checkpoint-50", step: 50, problem: "no checkpoint.json" },
        { name: "checkpoint-60", step: 60, problem: null },
      ],
      "checkpoint-30",
    );
    expect(rows.map((r) => [r.step, r.status, r.best])).toEqual([
      [10, "deleted", false],
      [20, "deleted", false],
      [30, "kept", true],
      [40, "kept", false],
      [50, "incomplete", false],
      [60, "kept", false],
    ]);
    expect(rows.find((r) => r.step === 60)!.note).toMatch(/no save event/);
    const html = buildReportHtml(emptyData({ checkpoints: rows }), ASSETS);
    expect(html).toContain(`<tr class="checkpoint status-kept best" data-step="30" data-status="kept" data-best="true">`);
    expect(html).toContain(`data-step="10" data-status="deleted" data-best="false"`);
  });
});

describe("reading an output folder", () => {
  it("skips a torn last line with a note, and names the line of any other corrupt one", () => {
    const good = line({ type: "train", step: 1, loss: 1 });
    const torn = parseMetrics(`${good}${good}{"type":"tr`, "m.jsonl");
    expect(torn.events).toHaveLength(2);
    expect(torn.tornLine).toBe(3);
    expect(() => parseMetrics(`${good}{"type":"tr\n${good}`, "m.jsonl")).toThrow(/^m\.jsonl:2: not valid JSON/);
    // A complete last line (it has its newline) that is not JSON is corruption, not a torn write.
    expect(() => parseMetrics(`${good}{"type":"tr\n`, "m.jsonl")).toThrow(/^m\.jsonl:2: not valid JSON/);
    expect(() => parseMetrics(`${good}[1]\n`, "m.jsonl")).toThrow(/^m\.jsonl:2: expected a JSON object/);
    expect(() => parseMetrics(`${good}${good}{"type":"sample","step":3,"prompt":"a","text":4}\n`, "m.jsonl")).toThrow(/^m\.jsonl:3: the "sample" event's "text" must be a string/);
    expect(() => parseMetrics(`{"type":"train","step":"1"}\n`, "m.jsonl")).toThrow(/^m\.jsonl:1: .*"step" must be a step number/);
    expect(() => parseMetrics(`{"type":"train","step":1,"loss":"low"}\n`, "m.jsonl")).toThrow(UsageError);
    expect(parseMetrics(`{"type":"future","x":1}\n${good}`, "m.jsonl").events).toHaveLength(1);
  });

  it("builds the report data of a folder, deterministically", () => {
    const dir = syntheticRun();
    const data = loadReport(dir);
    expect(Object.fromEntries(data.charts.map((c) => [c.id, Object.fromEntries(c.series.map((s) => [s.key, s.values.filter((v) => v !== null).length]))]))).toEqual(SYNTHETIC_POINTS);
    expect(data.samples.map((s) => [s.step, s.text])).toEqual([
      [20, "46$"],
      [20, "111$"],
      [40, NASTY],
      [40, "111$"],
    ]);
    expect(data.checkpoints.map((c) => [c.name, c.status, c.best])).toEqual([
      ["checkpoint-10", "deleted", false],
      ["checkpoint-20", "deleted", false],
      ["checkpoint-30", "kept", true],
      ["checkpoint-40", "kept", false],
      ["checkpoint-50", "incomplete", false],
    ]);
    expect(data.notes).toEqual([expect.stringMatching(/^metrics\.jsonl:54: skipped a torn last line/), "The loss was not a number (NaN or infinite) at step 41; the loss curve has no point there."]);
    const first = readFileSync(writeReport(dir).path);
    const second = readFileSync(writeReport(dir).path);
    expect(first.equals(second)).toBe(true);
    expect(first.toString()).not.toContain(dir); // no absolute path
  });

  it("the command: exit 2 with a clear message for a missing folder, no metrics.jsonl, a corrupt line; prints the path written", async () => {
    const stderr: string[] = [];
    const stdout: string[] = [];
    const errSpy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => (stderr.push(String(chunk)), true));
    const outSpy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (stdout.push(String(chunk)), true));
    try {
      const base = tempDir("report-cli-");
      expect(await main(["report", join(base, "nope")])).toBe(2);
      expect(stderr.join("")).toContain(`gen-trainer report: ${join(base, "nope")}: no such folder.`);
      stderr.length = 0;
      expect(await main(["report", base])).toBe(2);
      expect(stderr.join("")).toMatch(/has no metrics\.jsonl/);
      stderr.length = 0;
      writeFileSync(join(base, "metrics.jsonl"), `${line({ type: "train", step: 1, loss: 2 })}not json\n${line({ type: "train", step: 2, loss: 1 })}`);
      expect(await main(["report", base])).toBe(2);
      expect(stderr.join("")).toContain(`${join(base, "metrics.jsonl")}:2: not valid JSON`);
      stderr.length = 0;
      expect(await main(["report"])).toBe(2);
      expect(await main(["report", base, "--open"])).toBe(2);
      expect(stderr.join("")).toMatch(/missing <outputDir>[\s\S]*unknown option --open/);
      stderr.length = 0;
      writeFileSync(join(base, "metrics.jsonl"), line({ type: "train", step: 1, loss: 2 }));
      expect(await main(["report", base])).toBe(0);
      expect(stdout.join("")).toBe(`wrote ${join(base, "report.html")}\n`);
      expect(stderr.join("")).not.toMatch(/\n\s+at /);
    } finally {
      errSpy.mockRestore();
      outSpy.mockRestore();
    }
  });
});

// ---- In a real browser -------------------------------------------------------------------

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

if (!HAVE_CHROMIUM && !process.env.CI) {
  process.stderr.write(`report.test.ts: ${CHROMIUM} not found: skipping the headless-browser tests (install it with \`apt-get install -y chromium\`, or set CHROMIUM_PATH).\n`);
}

describe.runIf(!HAVE_CHROMIUM && process.env.CI)("report in a browser (CI)", () => {
  it("needs chromium", () => {
    throw new Error(`${CHROMIUM} not found: CI must install Debian's chromium (see .ci/run) to test the report page in a browser.`);
  });
});

interface PageResult {
  charts: { id: string; points: Record<string, number>; rendered: boolean; canvas: boolean; inked: boolean; dataPoints: Record<string, number>; steps: number }[];
  samples: { step: number; prompt: string; text: string }[];
  checkpoints: { step: number; status: string; best: boolean }[];
  markupInSamples: number;
  title: string;
}

describe.skipIf(!HAVE_CHROMIUM)("report in headless Chromium", () => {
  type Context = Awaited<ReturnType<typeof import("playwright-core").chromium.launchPersistentContext>>;
  let context: Context;
  let realRun: string;

  beforeAll(async () => {
    realRun = tempDir("report-real-");
    // A real run: 30 steps, a checkpoint every 10, rotation to 2 (checkpoint-10 is deleted).
    const r = runProgram("generated/save-steps-limit/train.ts", ["--output-dir", realRun, "--backend", "cpu", "--quiet"], {}, ROOT);
    expect(r.status, r.stderr).toBe(0);
    const { chromium } = await import("playwright-core");
    context = await chromium.launchPersistentContext(tempDir("report-chromium-profile-"), { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1200, height: 900 } });
  }, 90_000);

  afterAll(async () => {
    await context?.close();
  });

  /** Opens a report and reads back what the page shows; fails on console errors, page errors and any request but the page. */
  async function open(path: string): Promise<PageResult> {
    const page = await context.newPage();
    const problems: string[] = [];
    const url = pathToFileURL(path).href;
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.route("**/*", (route) => {
      if (route.request().url() === url) return route.continue();
      problems.push(`request: ${route.request().url()}`);
      return route.abort();
    });
    await page.goto(url, { waitUntil: "load" });
    await page.waitForFunction(() => document.querySelectorAll(".chart").length === document.querySelectorAll('.chart[data-rendered="true"]').length, undefined, { timeout: 10_000 });
    const result = await page.evaluate(() => {
      const charts = (window as unknown as { report: { charts: Record<string, { data: (number | null)[][]; series: { label: string }[] }> } }).report.charts;
      return {
        title: document.title,
        charts: [...document.querySelectorAll<HTMLElement>(".chart")].map((el) => {
          const id = el.dataset.chart!;
          const u = charts[id]!;
          const canvas = el.querySelector("canvas");
          let inked = false;
          if (canvas) {
            const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
            for (let i = 3; i < pixels.length && !inked; i += 4) inked = pixels[i]! > 0;
          }
          return {
            id,
            points: JSON.parse(el.dataset.points!) as Record<string, number>,
            rendered: el.dataset.rendered === "true",
            canvas: canvas !== null && canvas.width > 0 && canvas.height > 0,
            inked,
            steps: u.data[0]!.length,
            dataPoints: Object.fromEntries(u.series.slice(1).map((s, i) => [s.label, u.data[i + 1]!.filter((v) => v !== null).length])),
          };
        }),
        samples: [...document.querySelectorAll<HTMLElement>("#samples tr.sample")].map((tr) => ({
          step: Number(tr.dataset.step),
          prompt: tr.querySelector("code.prompt")!.textContent!,
          text: tr.querySelector("code.text")!.textContent!,
        })),
        markupInSamples: document.querySelectorAll("#samples b, #samples img, #samples script").length,
        checkpoints: [...document.querySelectorAll<HTMLElement>("#checkpoints tr.checkpoint")].map((tr) => ({ step: Number(tr.dataset.step), status: tr.dataset.status!, best: tr.dataset.best === "true" })),
      };
    });
    await page.close();
    expect(problems).toEqual([]);
    return result;
  }

  it("a real run's report: loss and learning-rate curves with a point per logged step, kept and deleted checkpoints", async () => {
    expect(await main(["report", realRun])).toBe(0);
    const events = readJsonl(join(realRun, "metrics.jsonl"));
    const train = events.filter((e) => e.type === "train");
    const page = await open(join(realRun, "report.html"));
    expect(page.charts.map((c) => c.id)).toEqual(["loss", "learning_rate"]);
    for (const c of page.charts) {
      expect(c.rendered && c.canvas && c.inked, c.id).toBe(true);
      expect(c.dataPoints).toEqual(c.points);
      expect(c.steps).toBe(train.length);
    }
    expect(page.charts[0]!.points).toEqual({ loss: train.length });
    expect(page.charts[1]!.points).toEqual({ learning_rate: train.length });
    const saves = events.filter((e) => e.type === "save").map((e) => e.step as number);
    expect(saves).toEqual([10, 20, 30]);
    expect(page.checkpoints).toEqual([
      { step: 10, status: "deleted", best: false },
      { step: 20, status: "kept", best: false },
      { step: 30, status: "kept", best: false },
    ]);
    expect(page.samples).toEqual([]);
  });

  it("every chart, the samples (escaped) and the checkpoints of a folder with every kind of event", async () => {
    const dir = syntheticRun();
    writeReport(dir);
    const page = await open(join(dir, "report.html"));
    expect(page.title).toBe(`Training report: ${dir.split("/").at(-1)}`);
    expect(Object.fromEntries(page.charts.map((c) => [c.id, c.points]))).toEqual(SYNTHETIC_POINTS);
    for (const c of page.charts) {
      expect(c.rendered && c.canvas && c.inked, c.id).toBe(true);
      expect(c.dataPoints, c.id).toEqual(c.points);
    }
    expect(page.charts.find((c) => c.id === "loss")!.steps).toBe(41); // eval steps are among the train steps
    expect(page.samples).toEqual([
      { step: 20, prompt: "12+34=", text: "46$" },
      { step: 20, prompt: NASTY_PROMPT, text: "111$" },
      { step: 40, prompt: "12+34=", text: NASTY },
      { step: 40, prompt: NASTY_PROMPT, text: "111$" },
    ]);
    expect(page.markupInSamples).toBe(0);
    expect(page.checkpoints).toEqual([
      { step: 10, status: "deleted", best: false },
      { step: 20, status: "deleted", best: false },
      { step: 30, status: "kept", best: true },
      { step: 40, status: "kept", best: false },
      { step: 50, status: "incomplete", best: false },
    ]);
  });
});
