/**
 * generator/commands/report.ts — `gen-trainer report <outputDir>`: writes <outputDir>/report.html,
 * one self-contained page (uPlot inlined, no network) of what a run left in its output folder:
 *   - the loss and eval-loss curves against steps, eval metrics, learning rate, grad norm and
 *     loss scale when they were logged (metrics.jsonl "train" and "eval" events);
 *   - the generation samples by step ("sample" events);
 *   - the checkpoints: kept (on disk and complete), best (trainer_state.json's
 *     best_model_checkpoint), deleted (a "save" event whose folder is gone: rotation), and
 *     incomplete (a checkpoint-<step> folder whose checkpoint.json marker is missing or wrong).
 *
 * The same folder gives the same bytes: no clock, no absolute path, everything sorted.
 * A torn last line of metrics.jsonl (a run killed mid-write) is skipped with a note; any other
 * line that is not a valid event is an error naming its line.
 */
import { checkpointProblem } from "../../runtime/checkpoint-marker.ts";
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, join, resolve } from "node:path";
import { UsageError } from "../diagnostics.ts";
import { buildReportHtml, type ChartSeries, type ChartSpec, type CheckpointRow, formatNumber, type ReportAssets, type ReportData, type SampleRow } from "../report/html.ts";

const USAGE = "usage: gen-trainer report <outputDir>\n\nWrites <outputDir>/report.html: the curves, samples and checkpoints of a training run's output folder.";

/** One metrics.jsonl event, as read; `line` is its 1-based line number. */
export interface MetricsEvent {
  type: string;
  step: number;
  line: number;
  fields: Record<string, unknown>;
}

export interface ParsedMetrics {
  events: MetricsEvent[];
  /** The line number of a torn last line that was skipped, or null. */
  tornLine: number | null;
}

const KNOWN_TYPES = new Set(["train", "eval", "sample", "save", "summary"]);
/** Fields that must be numbers (or null: JSON's NaN/Infinity) when present. */
const NUMERIC = ["loss", "learning_rate", "grad_norm", "loss_scale", "skipped_steps", "tokens_per_sec", "epoch", "eval_loss", "train_runtime"];

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/** Reads metrics.jsonl text; `path` names it in messages. */
export function parseMetrics(text: string, path: string): ParsedMetrics {
  const lines = text.split("\n");
  const events: MetricsEvent[] = [];
  let tornLine: number | null = null;
  const endsWithNewline = text.endsWith("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const lineNo = i + 1;
    if (raw.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      if (i === lines.length - 1 && !endsWithNewline) {
        tornLine = lineNo; // a run killed while writing it
        continue;
      }
      throw new UsageError(`${path}:${lineNo}: not valid JSON (${(error as Error).message}); the file is corrupt.`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${path}:${lineNo}: expected a JSON object (an event), got ${describe(value)}.`);
    const fields = value as Record<string, unknown>;
    if (typeof fields.type !== "string") throw new UsageError(`${path}:${lineNo}: the event has no "type" string (expected train, eval, sample or save).`);
    const type = fields.type;
    if (!KNOWN_TYPES.has(type)) continue; // a newer event kind: not charted, not an error
    const step = fields.step;
    if (typeof step !== "number" || !Number.isInteger(step) || step < 0) throw new UsageError(`${path}:${lineNo}: the "${type}" event's "step" must be a step number, got ${JSON.stringify(step)}.`);
    for (const key of NUMERIC) {
      if (key in fields && fields[key] !== null && typeof fields[key] !== "number") {
        throw new UsageError(`${path}:${lineNo}: the "${type}" event's "${key}" must be a number, got ${describe(fields[key])}.`);
      }
    }
    if (type === "sample") {
      for (const key of ["prompt", "text"]) {
        if (typeof fields[key] !== "string") throw new UsageError(`${path}:${lineNo}: the "sample" event's "${key}" must be a string, got ${describe(fields[key])}.`);
      }
    }
    if (type === "save" && typeof fields.checkpoint !== "string") throw new UsageError(`${path}:${lineNo}: the "save" event's "checkpoint" must be a path, got ${describe(fields.checkpoint)}.`);
    events.push({ type, step, line: lineNo, fields });
  }
  return { events, tornLine };
}

/** A value of a series: a number, or null (logged as NaN/Infinity, which JSON writes as null). */
function seriesValue(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * One chart over the given series (key → events carrying it). Steps are the union of the
 * series' steps; at a step logged twice (a resumed run) the later event wins.
 */
function chart(id: string, title: string, wanted: { key: string; events: MetricsEvent[]; points: boolean }[], log2 = false): ChartSpec | null {
  const byKey = wanted
    .map(({ key, events, points }) => {
      const values = new Map<number, number | null>();
      for (const e of events) if (key in e.fields) values.set(e.step, seriesValue(e.fields[key]));
      return { key, points, values };
    })
    .filter((s) => [...s.values.values()].some((v) => v !== null && (!log2 || v > 0)));
  if (byKey.length === 0) return null;
  const steps = [...new Set(byKey.flatMap((s) => [...s.values.keys()]))].sort((a, b) => a - b);
  const series: ChartSeries[] = byKey.map((s) => ({
    key: s.key,
    points: s.points,
    values: steps.map((step) => {
      const v = s.values.get(step);
      return v === undefined || v === null || (log2 && v <= 0) ? null : v;
    }),
  }));
  return { id, title, steps, series, log2 };
}

export function buildCharts(events: MetricsEvent[]): ChartSpec[] {
  const train = events.filter((e) => e.type === "train");
  const evals = events.filter((e) => e.type === "eval");
  const evalKeys = [...new Set(evals.flatMap((e) => Object.keys(e.fields)))].filter((k) => k.startsWith("eval_") && k !== "eval_loss").sort();
  const charts = [
    chart("loss", "Loss", [
      { key: "loss", events: train, points: false },
      { key: "eval_loss", events: evals, points: true },
    ]),
    chart(
      "eval",
      "Eval metrics",
      evalKeys.map((key) => ({ key, events: evals, points: true })),
    ),
    chart("learning_rate", "Learning rate", [{ key: "learning_rate", events: train, points: false }]),
    chart("grad_norm", "Gradient norm (before clipping)", [{ key: "grad_norm", events: train, points: false }]),
    chart("loss_scale", "Loss scale (log2 axis)", [{ key: "loss_scale", events: train, points: false }], true),
  ];
  return charts.filter((c): c is ChartSpec => c !== null);
}

/** Samples by step (a stable sort: the prompts of one step keep their order). */
export function buildSamples(events: MetricsEvent[]): SampleRow[] {
  return events
    .filter((e) => e.type === "sample")
    .map((e) => ({ step: e.step, prompt: e.fields.prompt as string, text: e.fields.text as string }))
    .sort((a, b) => a.step - b.step);
}

const CHECKPOINT_NAME = /^checkpoint-(\d+)$/;
/** A checkpoint-<step> folder found in the output folder. */
export interface CheckpointOnDisk {
  name: string;
  step: number;
  /** null: complete; otherwise why not. */
  problem: string | null;
}

/** A "save" event: the step and the folder's name. */
export interface SavedCheckpoint {
  step: number;
  name: string;
}

/**
 * The checkpoints table: every checkpoint a "save" event announced or the folder holds, by step.
 * On disk and complete: kept; announced but gone: deleted; on disk but not complete: incomplete.
 * `bestName` is the folder name of trainer_state.json's best_model_checkpoint.
 */
export function classifyCheckpoints(saved: SavedCheckpoint[], onDisk: CheckpointOnDisk[], bestName: string | null): CheckpointRow[] {
  const rows = new Map<string, CheckpointRow>();
  const announced = new Set(saved.map((s) => s.name));
  for (const s of saved) {
    rows.set(s.name, { step: s.step, name: s.name, status: "deleted", best: false, note: "saved; no longer on disk (rotated away)" });
  }
  for (const d of onDisk) {
    rows.set(d.name, {
      step: d.step,
      name: d.name,
      status: d.problem === null ? "kept" : "incomplete",
      best: false,
      note: d.problem ?? (announced.has(d.name) ? "" : "on disk; no save event in metrics.jsonl"),
    });
  }
  for (const row of rows.values()) row.best = row.name === bestName;
  return [...rows.values()].sort((a, b) => a.step - b.step || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function checkpointsOnDisk(outputDir: string): CheckpointOnDisk[] {
  return readdirSync(outputDir)
    .sort()
    .flatMap((name) => {
      const match = CHECKPOINT_NAME.exec(name);
      const dir = join(outputDir, name);
      if (!match || !statSync(dir).isDirectory()) return [];
      return [{ name, step: Number(match[1]), problem: checkpointProblem(dir) }];
    });
}

/** The folder name of a checkpoint path as a run wrote it (absolute, or relative to where it ran). */
function checkpointName(path: string, step: number): string {
  const name = basename(path.replace(/[\\/]+$/, ""));
  return CHECKPOINT_NAME.test(name) ? name : `checkpoint-${step}`;
}

interface TrainerStateFields {
  global_step?: unknown;
  max_steps?: unknown;
  best_model_checkpoint?: unknown;
  best_metric?: unknown;
  skipped_steps?: unknown;
}

function readJsonFile(path: string): TrainerStateFields {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`${path} is not valid JSON (${(error as Error).message}).`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${path}: expected a JSON object.`);
  return value as TrainerStateFields;
}

/** Everything the page shows, read from `outputDir`. Throws UsageError for missing or corrupt files. */
export function loadReport(outputDir: string): ReportData {
  if (!existsSync(outputDir)) throw new UsageError(`${outputDir}: no such folder.`);
  if (!statSync(outputDir).isDirectory()) throw new UsageError(`${outputDir} is not a folder; give a training run's output folder.`);
  const metricsPath = join(outputDir, "metrics.jsonl");
  if (!existsSync(metricsPath)) {
    throw new UsageError(`${outputDir} has no metrics.jsonl: not a run's output folder, or the run's reportTo did not include "jsonl".`);
  }
  const { events, tornLine } = parseMetrics(readFileSync(metricsPath, "utf8"), metricsPath);
  // Notes name files relative to the output folder: the page holds no absolute path.
  const notes: string[] = [];
  if (tornLine !== null) notes.push(`metrics.jsonl:${tornLine}: skipped a torn last line (the run was probably stopped while writing it).`);
  const onDisk = checkpointsOnDisk(outputDir);

  // trainer_state.json: the run's, or (a run that has not finished) that of its newest complete checkpoint.
  let state: TrainerStateFields = {};
  let stateSource: string | null = null;
  if (existsSync(join(outputDir, "trainer_state.json"))) {
    state = readJsonFile(join(outputDir, "trainer_state.json"));
    stateSource = "trainer_state.json";
  } else {
    const newest = onDisk.filter((c) => c.problem === null && existsSync(join(outputDir, c.name, "trainer_state.json"))).at(-1);
    if (newest) {
      state = readJsonFile(join(outputDir, newest.name, "trainer_state.json"));
      stateSource = `${newest.name}/trainer_state.json`;
      notes.push(`There is no trainer_state.json (the run has not finished, or was stopped); the summary uses ${stateSource}.`);
    } else {
      notes.push("There is no trainer_state.json (the run has not finished, or was stopped).");
    }
  }
  const bestName = typeof state.best_model_checkpoint === "string" ? checkpointName(state.best_model_checkpoint, -1) : null;

  const saved = new Map<string, SavedCheckpoint>();
  for (const e of events) {
    if (e.type !== "save") continue;
    const name = checkpointName(e.fields.checkpoint as string, e.step);
    saved.set(name, { step: e.step, name });
  }
  const checkpoints = classifyCheckpoints([...saved.values()], onDisk, bestName);
  const charts = buildCharts(events);
  const nanLoss = events.filter((e) => e.type === "train" && e.fields.loss === null).map((e) => e.step);
  if (nanLoss.length > 0) notes.push(`The loss was not a number (NaN or infinite) at ${nanLoss.length === 1 ? "step" : `${nanLoss.length} steps:`} ${nanLoss.slice(0, 10).join(", ")}${nanLoss.length > 10 ? ", ..." : ""}; the loss curve has no point there.`);
  const samples = buildSamples(events);

  const summary: [string, string][] = [];
  const train = events.filter((e) => e.type === "train");
  const evals = events.filter((e) => e.type === "eval" && "eval_loss" in e.fields);
  const lastStep = events.reduce((m, e) => Math.max(m, e.step), 0);
  const globalStep = typeof state.global_step === "number" ? state.global_step : lastStep;
  summary.push(["Steps", typeof state.max_steps === "number" ? `${globalStep} of ${state.max_steps}` : String(globalStep)]);
  const lastLoss = train.at(-1);
  if (lastLoss) summary.push(["Last loss", `${lastLoss.fields.loss === null || lastLoss.fields.loss === undefined ? "NaN" : formatNumber(lastLoss.fields.loss as number)} (step ${lastLoss.step})`]);
  const lastEval = evals.at(-1);
  if (lastEval) summary.push(["Last eval loss", `${lastEval.fields.eval_loss === null ? "NaN" : formatNumber(lastEval.fields.eval_loss as number)} (step ${lastEval.step})`]);
  if (bestName !== null) summary.push(["Best checkpoint", `${bestName}${typeof state.best_metric === "number" ? ` (metric ${formatNumber(state.best_metric)})` : ""}`]);
  const lastSkipped = [...train].reverse().find((e) => typeof e.fields.skipped_steps === "number");
  const skipped = typeof state.skipped_steps === "number" ? state.skipped_steps : (lastSkipped?.fields.skipped_steps as number | undefined);
  if (typeof skipped === "number" && (skipped > 0 || charts.some((c) => c.id === "loss_scale"))) summary.push(["Skipped steps (fp16 overflow)", String(skipped)]);
  const runtime = events.filter((e) => e.type === "summary" && typeof e.fields.train_runtime === "number").at(-1);
  if (runtime) summary.push(["Train runtime", `${formatNumber(runtime.fields.train_runtime as number)} s`]);
  summary.push(["Events", `${train.length} train, ${events.filter((e) => e.type === "eval").length} eval, ${samples.length} sample, ${saved.size} save`]);
  if (checkpoints.length > 0) {
    const count = (status: string) => checkpoints.filter((c) => c.status === status).length;
    summary.push(["Checkpoints", `${count("kept")} kept, ${count("deleted")} deleted${count("incomplete") > 0 ? `, ${count("incomplete")} incomplete` : ""}`]);
  }
  return { name: basename(resolve(outputDir)), summary, charts, samples, checkpoints, notes };
}

/** uPlot's IIFE build and stylesheet, from node_modules (inlined into the page). */
export function loadAssets(): ReportAssets {
  const require = createRequire(import.meta.url);
  return {
    uplotJs: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
    uplotCss: readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
  };
}

/** Writes <outputDir>/report.html; returns its path. */
export function writeReport(outputDir: string): { path: string; notes: string[] } {
  const data = loadReport(outputDir);
  const html = buildReportHtml(data, loadAssets());
  const path = join(outputDir, "report.html");
  const temporary = join(outputDir, `.report.html.tmp-${process.pid}`);
  try {
    writeFileSync(temporary, html);
    renameSync(temporary, path);
  } catch (error) {
    throw new UsageError(`cannot write ${path}: ${(error as Error).message}`);
  }
  return { path, notes: data.notes };
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const flag = argv.find((a) => a.startsWith("-") && a !== "-");
  if (flag) throw new UsageError(`unknown option ${flag}\n${USAGE}`);
  if (argv.length !== 1) throw new UsageError(argv.length === 0 ? `missing <outputDir>\n${USAGE}` : `expected one <outputDir>, got ${argv.length}\n${USAGE}`);
  const { path, notes } = writeReport(argv[0]!);
  for (const note of notes) process.stderr.write(`note: ${argv[0]}: ${note}\n`);
  process.stdout.write(`wrote ${path}\n`);
  return 0;
}
